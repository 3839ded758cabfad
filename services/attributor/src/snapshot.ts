import {
  compareStrings,
  dataDrivenAttribution,
  dataDrivenWeights,
  fitDataDriven,
  journeyWeightsFromChannelScores,
  journeyWeightsFromPositionScores,
  markovAttribution,
  orderedShapleyAttribution,
  pathHeuristicAttribution,
  positionWeights,
  shapleyAttribution,
  type ChannelCredit,
  type DataDrivenModel,
  type DataDrivenOptions,
  type ModelName,
  type PathStats,
} from '@touchline/attribution';

/** The models fitted on many journeys: they need a snapshot to credit one. */
export const ALGORITHMIC_MODELS = ['markov', 'shapley', 'shapley_ordered', 'data_driven'] as const satisfies readonly ModelName[];
export type AlgorithmicModel = (typeof ALGORITHMIC_MODELS)[number];

export function isAlgorithmicModel(m: string): m is AlgorithmicModel {
  return (ALGORITHMIC_MODELS as readonly string[]).includes(m);
}

/** Whose journeys: a person's, or an account's (its people's touches together). */
export type JourneyLevel = 'person' | 'account';
export const JOURNEY_LEVELS: readonly JourneyLevel[] = ['person', 'account'];

export interface ModelFit {
  model: AlgorithmicModel;
  /** `fallback_linear`: not enough data yet (or nothing to learn); journeys get linear weights. */
  status: 'fitted' | 'fallback_linear';
  /** Why the model fell back; empty when fitted. */
  reason: string;
  /**
   * Per channel, what the per-journey weights are proportional to: the removal effect (markov),
   * the Shapley value (shapley, shapley_ordered), the attributed conversions (data_driven).
   */
  channelScores: Map<string, number>;
  /** shapley_ordered: the channel's Shapley credit by position of first appearance. */
  positionScores?: Map<string, number[]>;
  dataDriven?: DataDrivenModel;
  /**
   * The model fitted per level, when account-level journeys or null paths exist (`computeSnapshot`):
   * a journey's weights come from its level's fit. `credits` are then the levels' credits summed,
   * and `channelScores` the summed attributed conversions.
   */
  byLevel?: Record<JourneyLevel, ModelFit>;
  /** A level's fit: the converting and non-converting journeys with a touch it learned from. */
  journeys?: { conversions: number; nulls: number };
  /** Channel-level result over all paths (attributed conversions and value), for the snapshot table. */
  credits: ChannelCredit[];
}

/** One fit of every algorithmic model on the path statistics of the moment. */
export interface ModelSnapshot {
  /** 1, 2, … in the order computed; 0 is the empty snapshot in force before the first one. */
  seq: number;
  /** When it was computed (ms since the epoch). */
  computedAt: number;
  markovOrder: number;
  /** Converting and non-converting journeys with at least one touch: what the models learn from. */
  conversions: number;
  nulls: number;
  /** Every channel of the statistics, sorted. */
  channels: string[];
  fits: Map<AlgorithmicModel, ModelFit>;
}

export interface SnapshotOptions {
  markovOrder: number;
  /** Converting journeys (with a touch) an algorithmic model needs before it replaces linear. */
  minConversions: number;
  /** Non-converting journeys (with a touch) the data-driven model needs: it learns the difference. */
  minNullPaths: number;
}

export const DEFAULT_SNAPSHOT_OPTIONS: SnapshotOptions = { markovOrder: 1, minConversions: 100, minNullPaths: 100 };

/**
 * Channels the data-driven model fits but does not credit (`DataDrivenOptions.uncredited`): direct
 * visits, the channel ingest's grouping gives an event with no source, medium, click id or
 * referrer. They stand for intent and for exposure the journey does not show, and no budget buys
 * them; on the simulator's scenarios, where direct does nothing, the model gave it up to 14 % of
 * the credit on B2B (buying groups: more members, more direct visits and more unseen touches).
 */
export const UNCREDITED_CHANNELS: readonly string[] = ['direct'];

/**
 * How the attributor fits the data-driven model: with the ln(touch count) block, so that the
 * tenth impression of a channel is not worth as much as the first, and without the first- and
 * last-touch indicators, which describe where a channel sits rather than what it does (see
 * `DataDrivenOptions.position`). On the simulator's scenarios (`npm run bench -- accuracy`) both
 * move the credit closer to the true incremental shares. Journeys without any touch are not
 * fitted (`fitDataDriven`'s `untouched`): untouched conversions include people first seen at their
 * conversion, while untouched null paths come only from people known before the window, so their
 * rate is biased upwards (on the simulator's b2c, 20,000 units: channel TVD 0.43 with them against
 * 0.10 without); fitting the untouched null paths alone, as if no untouched person converted,
 * biases it the other way (0.12). Direct visits are fitted but not credited (`UNCREDITED_CHANNELS`).
 */
export const ATTRIBUTOR_DATA_DRIVEN_OPTIONS: DataDrivenOptions = { frequency: true, position: false, uncredited: UNCREDITED_CHANNELS };

function fallback(model: AlgorithmicModel, reason: string, linear: ChannelCredit[]): ModelFit {
  return { model, status: 'fallback_linear', reason, channelScores: new Map(), credits: linear };
}

export const EMPTY_SNAPSHOT: ModelSnapshot = {
  seq: 0,
  computedAt: 0,
  markovOrder: 1,
  conversions: 0,
  nulls: 0,
  channels: [],
  fits: new Map(ALGORITHMIC_MODELS.map((m) => [m, fallback(m, 'no snapshot computed yet', [])] as const)),
};

/**
 * Fits every algorithmic model on `stats` (taken in canonical path order, so that the result
 * depends only on the multiset of paths — the same bits as a batch fit on the same journeys).
 * With `byLevel` (the same paths split by level) holding any account-level path, each model is
 * fitted per level instead (`fitsByLevel`).
 *
 * "Enough data": a model replaces linear once the statistics hold at least `minConversions`
 * converting journeys with a touch; the data-driven model also needs `minNullPaths` non-converting
 * ones, since it learns what separates the two. A fit that cannot say anything (Markov with no
 * positive removal effect, a degenerate data-driven fit) falls back to linear too. The fall-back
 * and its reason are part of the snapshot.
 */
export function computeSnapshot(
  stats: PathStats,
  seq: number,
  computedAt: number,
  opts: SnapshotOptions,
  byLevel?: Readonly<Record<JourneyLevel, PathStats>>,
): ModelSnapshot {
  const canonical = stats.canonical();
  const conversions = canonical.totalConversions;
  const nulls = canonical.totalNulls;
  const channels = canonical.channels();
  const fits = byLevel && byLevel.account.size > 0 ? fitsByLevel(byLevel, opts) : fitModels(canonical, opts);
  return { seq, computedAt, markovOrder: opts.markovOrder, conversions, nulls, channels, fits };
}

/** Every algorithmic model fitted on one set of statistics, already canonical. */
function fitModels(canonical: PathStats, opts: SnapshotOptions): Map<AlgorithmicModel, ModelFit> {
  const conversions = canonical.totalConversions;
  const nulls = canonical.totalNulls;
  const linear = pathHeuristicAttribution(canonical, 'linear').credits;
  const fits = new Map<AlgorithmicModel, ModelFit>();
  const scarce = conversions < opts.minConversions ? `${conversions} converting journeys with touches, needs ${opts.minConversions}` : '';
  const byChannel = (credits: readonly ChannelCredit[]) => new Map(credits.map((c) => [c.channel, c.conversions] as const));

  if (scarce) fits.set('markov', fallback('markov', scarce, linear));
  else {
    const r = markovAttribution(canonical, { order: opts.markovOrder });
    const scores = new Map(r.credits.map((c, i) => [c.channel, r.removalEffects[i] as number] as const));
    fits.set(
      'markov',
      r.removalEffects.some((x) => x > 0)
        ? { model: 'markov', status: 'fitted', reason: '', channelScores: scores, credits: r.credits }
        : fallback('markov', 'no channel has a positive removal effect', linear),
    );
  }

  if (scarce) {
    fits.set('shapley', fallback('shapley', scarce, linear));
    fits.set('shapley_ordered', fallback('shapley_ordered', scarce, linear));
  } else {
    const plain = shapleyAttribution(canonical);
    fits.set('shapley', { model: 'shapley', status: 'fitted', reason: '', channelScores: byChannel(plain.credits), credits: plain.credits });
    const ordered = orderedShapleyAttribution(canonical);
    fits.set('shapley_ordered', {
      model: 'shapley_ordered',
      status: 'fitted',
      reason: '',
      channelScores: byChannel(ordered.credits),
      positionScores: new Map(ordered.credits.map((c, i) => [c.channel, [...(ordered.byPosition[i]?.conversions ?? [])]] as const)),
      credits: ordered.credits,
    });
  }

  if (scarce) fits.set('data_driven', fallback('data_driven', scarce, linear));
  else if (nulls < opts.minNullPaths) fits.set('data_driven', fallback('data_driven', `${nulls} non-converting journeys with touches, needs ${opts.minNullPaths}`, linear));
  else {
    const model = fitDataDriven(canonical, ATTRIBUTOR_DATA_DRIVEN_OPTIONS);
    if (model.degenerate) fits.set('data_driven', fallback('data_driven', 'the conversion model has nothing to learn (one outcome only)', linear));
    else {
      const r = dataDrivenAttribution(canonical, model);
      fits.set('data_driven', { model: 'data_driven', status: 'fitted', reason: '', channelScores: byChannel(r.credits), dataDriven: model, credits: r.credits });
    }
  }
  return fits;
}

/**
 * Every model fitted per level: account-level conversions (deals credited on the buying group's
 * journey) against account null paths, person-level ones against person null paths, so that no
 * fit contrasts a group's touches with one person's, nor a person's with a group's. Each level
 * falls back to linear on its own (too few conversions or null paths there); a model counts as
 * fitted when a level is. The channel credit is the two levels' credit summed.
 */
function fitsByLevel(byLevel: Readonly<Record<JourneyLevel, PathStats>>, opts: SnapshotOptions): Map<AlgorithmicModel, ModelFit> {
  const levels = {} as Record<JourneyLevel, Map<AlgorithmicModel, ModelFit>>;
  for (const level of JOURNEY_LEVELS) {
    const canonical = byLevel[level].canonical();
    const journeys = { conversions: canonical.totalConversions, nulls: canonical.totalNulls };
    levels[level] = new Map([...fitModels(canonical, opts)].map(([m, f]) => [m, { ...f, journeys }] as const));
  }
  const fits = new Map<AlgorithmicModel, ModelFit>();
  for (const model of ALGORITHMIC_MODELS) {
    const parts = { person: levels.person.get(model)!, account: levels.account.get(model)! };
    const sum = new Map<string, ChannelCredit>();
    for (const level of JOURNEY_LEVELS) {
      for (const c of parts[level].credits) {
        const prev = sum.get(c.channel);
        sum.set(c.channel, prev ? { channel: c.channel, conversions: prev.conversions + c.conversions, value: prev.value + c.value } : { ...c });
      }
    }
    const credits = [...sum.values()].sort((a, b) => compareStrings(a.channel, b.channel));
    const fitted = JOURNEY_LEVELS.some((l) => parts[l].status === 'fitted');
    fits.set(model, {
      model,
      status: fitted ? 'fitted' : 'fallback_linear',
      reason: fitted ? '' : JOURNEY_LEVELS.map((l) => `${l} level: ${parts[l].reason}`).join('; '),
      channelScores: new Map(credits.map((c) => [c.channel, c.conversions] as const)),
      byLevel: parts,
      credits,
    });
  }
  return fits;
}

/**
 * Per-touch weights of a journey touching `channels` (in order) under the snapshot's fit of
 * `model`: Markov and Shapley through `journeyWeightsFromChannelScores`, ordered Shapley through
 * `journeyWeightsFromPositionScores`, data-driven through `dataDrivenWeights`, linear while the
 * model falls back. Sums to 1; [] for no touch.
 *
 * A journey on one channel only is split equally under every one of these models; it is computed
 * as `linear` always, so that its credit is the same bits whichever snapshot wrote it. With fits
 * per level (`ModelFit.byLevel`), `level`'s fit gives the weights, linear when that level fell back.
 */
export function pathWeights(snapshot: ModelSnapshot, model: AlgorithmicModel, channels: readonly string[], level: JourneyLevel = 'person'): number[] {
  const n = channels.length;
  if (n <= 1) return n === 1 ? [1] : [];
  const whole = snapshot.fits.get(model);
  const fit = whole?.byLevel ? whole.byLevel[level] : whole;
  if (!fit || fit.status === 'fallback_linear' || channels.every((c) => c === channels[0])) return positionWeights('linear', n);
  const touches = channels.map((channel) => ({ channel }));
  switch (model) {
    case 'markov':
    case 'shapley':
      return journeyWeightsFromChannelScores(touches, fit.channelScores);
    case 'shapley_ordered':
      return journeyWeightsFromPositionScores(touches, fit.positionScores ?? new Map());
    case 'data_driven':
      return fit.dataDriven ? dataDrivenWeights(fit.dataDriven, touches) : positionWeights('linear', n);
  }
}

/** Total variation distance ½·Σ|a − b|: the share of a conversion's credit that changes hands. */
export function creditMove(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return 1;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] as number) - (b[i] as number));
  return s / 2;
}

// --- model_snapshots rows -------------------------------------------------------------------

/** One row of `touchline.model_snapshots` (columns of migrations 0001 and 0002). */
export interface SnapshotRow {
  seq: number | string;
  model: string;
  computed_at: string;
  markov_order: number;
  status: string;
  reason: string;
  conversions: number;
  null_journeys: number;
  journeys: number;
  channel: string;
  score: number;
  attributed_conversions: number;
  attributed_value: number;
  /** The fit's exact numbers for this channel as JSON, enough to rebuild the snapshot after a restart. */
  params: string;
}

const msText = (ms: number) => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');

/**
 * A snapshot as rows, one per model and channel (a model without channels gets one row with an
 * empty channel, so that every snapshot is findable by its seq). `score` is what per-journey
 * weights are proportional to; `params` holds it exactly along with the rest of the fit.
 */
export function snapshotRows(s: ModelSnapshot): SnapshotRow[] {
  const rows: SnapshotRow[] = [];
  const n = s.channels.length;
  const index = new Map(s.channels.map((c, i) => [c, i] as const));
  for (const [model, fit] of s.fits) {
    const base = {
      seq: s.seq,
      model,
      computed_at: msText(s.computedAt),
      markov_order: s.markovOrder,
      status: fit.status,
      reason: fit.reason,
      conversions: s.conversions,
      null_journeys: s.nulls,
      journeys: s.conversions + s.nulls,
    };
    const credit = new Map(fit.credits.map((c) => [c.channel, c] as const));
    if (n === 0) rows.push({ ...base, channel: '', score: 0, attributed_conversions: 0, attributed_value: 0, params: '{}' });
    for (const channel of s.channels) {
      const c = index.get(channel) as number;
      const params: Record<string, unknown> = {};
      if (fit.byLevel) {
        params.score = fit.channelScores.get(channel) ?? 0;
        params.levels = Object.fromEntries(JOURNEY_LEVELS.map((l) => [l, levelParams(fit.byLevel![l], channel)] as const));
      } else if (fit.status === 'fitted') {
        params.score = fit.channelScores.get(channel) ?? 0;
        if (fit.positionScores) params.by_position = fit.positionScores.get(channel) ?? [];
        if (fit.dataDriven) Object.assign(params, dataDrivenParams(fit.dataDriven, c));
      }
      rows.push({
        ...base,
        channel,
        score: fit.channelScores.get(channel) ?? 0,
        attributed_conversions: credit.get(channel)?.conversions ?? 0,
        attributed_value: credit.get(channel)?.value ?? 0,
        params: JSON.stringify(params),
      });
    }
  }
  return rows;
}

/** One channel's coefficients of a data-driven model (`c`: the channel's index among the model's channels). */
function dataDrivenParams(dd: DataDrivenModel, c: number): Record<string, unknown> {
  const n = dd.channels.length;
  const b = dd.coefficients;
  return {
    intercept: b[0],
    presence: b[1 + c],
    first: b[1 + n + c],
    last: b[1 + 2 * n + c],
    ...(dd.pairwise ? { before: Array.from({ length: n }, (_, k) => b[1 + 3 * n + c * n + k]) } : {}),
    ...(dd.frequency ? { frequency: b[1 + 3 * n + (dd.pairwise ? n * n : 0) + c] } : {}),
    ...(dd.uncredited?.includes(dd.channels[c]!) ? { credited: false } : {}),
    pairwise: dd.pairwise,
    with_frequency: dd.frequency === true,
    with_position: dd.position !== false,
    l2: dd.l2,
    iterations: dd.iterations,
    gradient_norm: dd.gradientNorm,
    converged: dd.converged,
    log_loss: dd.logLoss,
  };
}

/**
 * One channel's part of a level's fit: the level's status and journeys, and, when the channel is
 * among the level's (a level sees only the channels of its own paths), its credit, score and
 * coefficients.
 */
function levelParams(f: ModelFit, channel: string): LevelParamsJson {
  const out: LevelParamsJson = { status: f.status, reason: f.reason, conversions: f.journeys?.conversions ?? 0, nulls: f.journeys?.nulls ?? 0 };
  const credit = f.credits.find((x) => x.channel === channel);
  if (!credit) return out;
  Object.assign(out, { in_level: true, attributed_conversions: credit.conversions, attributed_value: credit.value });
  if (f.status !== 'fitted') return out;
  out.score = f.channelScores.get(channel) ?? 0;
  if (f.positionScores) out.by_position = f.positionScores.get(channel) ?? [];
  const c = f.dataDriven ? f.dataDriven.channels.indexOf(channel) : -1;
  if (f.dataDriven && c >= 0) Object.assign(out, dataDrivenParams(f.dataDriven, c));
  return out;
}

interface LevelParamsJson extends ParamsJson {
  status: 'fitted' | 'fallback_linear';
  reason: string;
  conversions: number;
  nulls: number;
  /** The channel is among the level's. */
  in_level?: boolean;
  attributed_conversions?: number;
  attributed_value?: number;
}

/** A level's fit from the level params of the model's rows (`mine`, in channel order). */
function levelFromParams(model: AlgorithmicModel, mine: readonly SnapshotRow[], ps: readonly LevelParamsJson[]): ModelFit {
  const head = ps[0]!;
  const present = mine.map((r, i) => [r.channel, ps[i]!] as const).filter(([, p]) => p.in_level === true);
  const fit: ModelFit = {
    model,
    status: head.status === 'fitted' ? 'fitted' : 'fallback_linear',
    reason: head.reason,
    channelScores: new Map(head.status === 'fitted' ? present.map(([c, p]) => [c, p.score ?? 0] as const) : []),
    credits: present.map(([channel, p]) => ({ channel, conversions: p.attributed_conversions ?? 0, value: p.attributed_value ?? 0 })),
    journeys: { conversions: head.conversions, nulls: head.nulls },
  };
  if (fit.status !== 'fitted') return fit;
  if (model === 'shapley_ordered') fit.positionScores = new Map(present.map(([c, p]) => [c, p.by_position ?? []] as const));
  if (model === 'data_driven') fit.dataDriven = dataDrivenFromParams(present.map(([c]) => c), present.map(([, p]) => p));
  return fit;
}

/** A data-driven model from its channels' params (in the model's channel order). */
function dataDrivenFromParams(channels: string[], params: readonly ParamsJson[]): DataDrivenModel {
  const n = channels.length;
  const p0 = params[0] as ParamsJson;
  const pairwise = p0.pairwise === true;
  const frequency = p0.with_frequency === true;
  const b = new Float64Array(1 + 3 * n + (pairwise ? n * n : 0) + (frequency ? n : 0));
  b[0] = p0.intercept ?? 0;
  params.forEach((p, c) => {
    b[1 + c] = p.presence ?? 0;
    b[1 + n + c] = p.first ?? 0;
    b[1 + 2 * n + c] = p.last ?? 0;
    if (pairwise) (p.before ?? []).forEach((x, k) => (b[1 + 3 * n + c * n + k] = x));
    if (frequency) b[1 + 3 * n + (pairwise ? n * n : 0) + c] = p.frequency ?? 0;
  });
  const uncredited = channels.filter((_, c) => params[c]?.credited === false).sort();
  return {
    channels,
    coefficients: b,
    pairwise,
    frequency,
    ...(uncredited.length ? { uncredited } : {}),
    position: p0.with_position !== false,
    l2: p0.l2 ?? 0,
    iterations: p0.iterations ?? 0,
    gradientNorm: p0.gradient_norm ?? 0,
    converged: p0.converged ?? true,
    logLoss: p0.log_loss ?? 0,
    degenerate: false,
  };
}

interface ParamsJson {
  score?: number;
  by_position?: number[];
  intercept?: number;
  presence?: number;
  first?: number;
  last?: number;
  before?: number[];
  frequency?: number;
  /** false: the data-driven model fits the channel but gives it no credit (`DataDrivenModel.uncredited`). */
  credited?: boolean;
  pairwise?: boolean;
  with_frequency?: boolean;
  /** Absent in snapshots stored before the option existed: they used the indicators. */
  with_position?: boolean;
  l2?: number;
  iterations?: number;
  gradient_norm?: number;
  converged?: boolean;
  log_loss?: number;
  /** A model fitted per level (`ModelFit.byLevel`): each level's part. */
  levels?: Record<JourneyLevel, LevelParamsJson>;
}

/**
 * Rebuilds a snapshot from its rows (`snapshotRows`' inverse): scores and coefficients come from
 * `params`, exact to the bit, so credit computed after a restart equals credit computed before.
 */
export function snapshotFromRows(rows: readonly SnapshotRow[]): ModelSnapshot {
  const first = rows[0];
  if (!first) throw new Error('a snapshot needs at least one row');
  const channels = [...new Set(rows.map((r) => r.channel).filter((c) => c !== ''))].sort(compareStrings);
  const fits = new Map<AlgorithmicModel, ModelFit>();
  for (const model of ALGORITHMIC_MODELS) {
    const mine = rows.filter((r) => r.model === model).sort((a, b) => compareStrings(a.channel, b.channel));
    const head = mine[0];
    if (!head) continue;
    const credits = mine.filter((r) => r.channel !== '').map((r) => ({ channel: r.channel, conversions: Number(r.attributed_conversions), value: Number(r.attributed_value) }));
    const params = mine.map((r) => JSON.parse(r.params) as ParamsJson);
    const scores = () => new Map(mine.map((r, i) => [r.channel, params[i]?.score ?? 0] as const));
    if (params[0]?.levels) {
      const byLevel = Object.fromEntries(JOURNEY_LEVELS.map((l) => [l, levelFromParams(model, mine, params.map((p) => p.levels![l]))] as const)) as Record<JourneyLevel, ModelFit>;
      fits.set(model, { model, status: head.status === 'fitted' ? 'fitted' : 'fallback_linear', reason: head.reason, channelScores: scores(), byLevel, credits });
      continue;
    }
    if (head.status !== 'fitted') {
      fits.set(model, { model, status: 'fallback_linear', reason: head.reason, channelScores: new Map(), credits });
      continue;
    }
    const fit: ModelFit = { model, status: 'fitted', reason: '', channelScores: scores(), credits };
    if (model === 'shapley_ordered') fit.positionScores = new Map(mine.map((r, i) => [r.channel, params[i]?.by_position ?? []] as const));
    if (model === 'data_driven') fit.dataDriven = dataDrivenFromParams(channels, params);
    fits.set(model, fit);
  }
  for (const m of ALGORITHMIC_MODELS) if (!fits.has(m)) fits.set(m, fallback(m, 'not in the stored snapshot', []));
  return {
    seq: Number(first.seq),
    computedAt: Date.parse(`${first.computed_at.replace(' ', 'T')}Z`),
    markovOrder: Number(first.markov_order),
    conversions: Number(first.conversions),
    nulls: Number(first.null_journeys),
    channels,
    fits,
  };
}
