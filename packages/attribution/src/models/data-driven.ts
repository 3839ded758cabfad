import { choleskySolveInPlace } from '../math/linear.js';
import { normalise } from '../math/normalise.js';
import type { PathStats } from '../paths/path-stats.js';
import type { ChannelAttribution } from '../types.js';

/**
 * A fitted conversion model for the data-driven attribution (see `fitDataDriven`).
 *
 * Coefficient layout for n channels (c, a, b are channel indices into `channels`):
 * - `[0]` intercept;
 * - `[1 + c]` channel c is in the journey;
 * - `[1 + n + c]` channel c is the first touch (always 0 when `position` is false);
 * - `[1 + 2n + c]` channel c is the last touch (recency, as position: path data has no timestamps;
 *   always 0 when `position` is false);
 * - `[1 + 3n + a·n + b]` (pairwise, a ≠ b) a's first touch comes before b's first touch;
 * - `[1 + 3n + (pairwise ? n² : 0) + c]` (frequency) ln(number of touches of channel c), 0 when
 *   c is touched once or not at all.
 */
export interface DataDrivenModel {
  channels: string[];
  coefficients: Float64Array;
  pairwise: boolean;
  /** The frequency block is present (absent = false: models built before it existed have none). */
  frequency?: boolean;
  /**
   * The first- and last-touch indicators are used (absent = true). When false their coefficients
   * stay in the layout and are exactly 0.
   */
  position?: boolean;
  l2: number;
  /** Newton iterations used. */
  iterations: number;
  /** ‖∇‖∞ of the regularised mean log-loss at the solution. */
  gradientNorm: number;
  converged: boolean;
  /** Mean log-loss per journey on the training paths (without the penalty). */
  logLoss: number;
  /** True if the data had no conversions or no non-conversions: nothing to learn, every drop is 0. */
  degenerate: boolean;
  /**
   * Channels of the model that get no credit (see `DataDrivenOptions.uncredited`), sorted; absent
   * or empty: every channel is credited.
   */
  uncredited?: string[];
}

export interface DataDrivenOptions {
  /** L2 penalty on every coefficient but the intercept, per journey of training data (default 1e-4). */
  l2?: number;
  /** Use pairwise order features (default: when there are at most 40 channels). */
  pairwise?: boolean;
  /**
   * Add ln(touch count) per channel (default false), so that the tenth impression of a channel is
   * not worth the same as the first: presence alone cannot tell a channel that reaches people once
   * from one that reaches them thirty times.
   */
  frequency?: boolean;
  /**
   * Use the first- and last-touch indicators (default true). They describe where a channel sits on
   * the path, not what its touches do, and the removal effect of a channel then also carries the
   * change of which channel is first or last once it is gone: on simulated markets with a known
   * truth (`npm run bench -- accuracy`) they raise the held-out likelihood yet move the credit
   * away from the true incremental shares, most for channels that act weeks after the touch
   * (trade fairs), which are rarely the last touch. Touchline's own fits leave them out.
   */
  position?: boolean;
  /**
   * Fit the journeys without any touch (`stats.untouched`) as observations of the empty path
   * (default false). Only for data where they are a complete sample: people known whether or not
   * they were touched (a CRM's accounts, a customer list, an experiment's audience). A tracker's
   * untouched journeys are not: it sees every conversion but never the non-converting people who
   * sent no event, so their conversion rate would look too high and every channel harmful.
   */
  untouched?: boolean;
  /**
   * Channels fitted like any other but given no credit (default none), like `direct` in GA4's
   * data-driven attribution: a direct visit explains conversions (intent, and exposure the journey
   * does not show: touches before its window, other members of a buying group) without being
   * anything one can spend on, so its part goes to the channels that are. Their coefficients stay
   * in the model, so the other channels' removal effects are measured with them held. A journey
   * touching only such channels is credited to them (someone must get its conversion).
   */
  uncredited?: readonly string[];
  /** Newton iteration cap (default 50). */
  maxIterations?: number;
  /** Stop when ‖∇‖∞ ≤ tolerance (default 1e-10). */
  tolerance?: number;
  /** Newton step solver: dense Cholesky, conjugate gradients, or `auto` (dense up to 600 coefficients). */
  solver?: 'auto' | 'dense' | 'cg';
}

/** Up to this many coefficients the Newton step is solved densely; beyond, by conjugate gradients. */
const DENSE_NEWTON_LIMIT = 600;

function dimOf(n: number, pairwise: boolean, frequency: boolean): number {
  return 1 + 3 * n + (pairwise ? n * n : 0) + (frequency ? n : 0);
}

/**
 * Features of a sequence of channel indices as (index, value) pairs: the indicators are 1, the
 * frequency features ln(count). `idx` and `val` are overwritten.
 */
function featuresOf(seq: readonly number[], n: number, pairwise: boolean, frequency: boolean, position: boolean, idx: number[], val: number[]): void {
  idx.length = 0;
  val.length = 0;
  idx.push(0);
  val.push(1);
  if (seq.length === 0) return;
  const distinct: number[] = [];
  const count = new Map<number, number>();
  for (const c of seq) {
    const k = count.get(c);
    if (k !== undefined) {
      count.set(c, k + 1);
      continue;
    }
    count.set(c, 1);
    distinct.push(c);
    idx.push(1 + c);
    val.push(1);
  }
  if (position) {
    idx.push(1 + n + (seq[0] as number), 1 + 2 * n + (seq[seq.length - 1] as number));
    val.push(1, 1);
  }
  if (pairwise) {
    for (let i = 0; i < distinct.length; i++)
      for (let j = i + 1; j < distinct.length; j++) {
        idx.push(1 + 3 * n + (distinct[i] as number) * n + (distinct[j] as number));
        val.push(1);
      }
  }
  if (frequency) {
    const base = 1 + 3 * n + (pairwise ? n * n : 0);
    for (const c of distinct) {
      const k = count.get(c) as number;
      if (k > 1) {
        idx.push(base + c);
        val.push(Math.log(k));
      }
    }
  }
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
/** log(1 + e^z) without overflow. */
const softplus = (z: number): number => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));

/**
 * Fits the conversion model of the data-driven attribution: an L2-regularised logistic
 * regression of P(convert | journey) on channel presence, first- and last-touch channel (unless
 * `position` is false) and pairwise order ("a before b") indicators — the bagged logistic model
 * of Shao & Li 2011 ("Data-driven multi-touch attribution models", KDD), without bagging, with
 * order features added in the spirit of Google Analytics 4's data-driven attribution, and
 * optionally ln(touch count) per channel. Each aggregated path is a binomial observation
 * (conversions successes out of conversions + nulls).
 *
 * Journeys without any touch (`stats.untouched`) are left out on purpose: a tracker sees every
 * conversion but never sees a person who had no event at all, so the untouched conversion rate it
 * can observe is inflated by selection and would make every channel look harmful. The baseline
 * (the empty path's probability) is instead extrapolated from how conversion varies with the
 * number of channels on a path; the first- and last-touch indicators, which sum to 1 on every
 * touched path, are centred by the penalty.
 *
 * Minimises mean log-loss + (l2/2)·‖β‖² (intercept not penalised) by Newton's method (IRLS) with
 * backtracking line search: the step is solved by Cholesky on the dense Hessian up to 600
 * coefficients, beyond that by Jacobi-preconditioned conjugate gradients on Hessian-vector
 * products, so memory stays O(data + coefficients) however many channels there are.
 * Deterministic.
 *
 * Edge cases: no conversions, or no non-conversions (e.g. data with no `total_null`) → a
 * `degenerate` model with intercept ±30 and all other coefficients 0, whose per-journey weights
 * fall back to linear.
 */
export function fitDataDriven(stats: PathStats, options: DataDrivenOptions = {}): DataDrivenModel {
  const channels = stats.channels();
  const n = channels.length;
  const pairwise = options.pairwise ?? n <= 40;
  const frequency = options.frequency ?? false;
  const position = options.position ?? true;
  const l2 = options.l2 ?? 1e-4;
  const tol = options.tolerance ?? 1e-10;
  const maxIt = options.maxIterations ?? 50;
  const dim = dimOf(n, pairwise, frequency);
  const dense = options.solver === 'dense' || (options.solver !== 'cg' && dim <= DENSE_NEWTON_LIMIT);
  const index = new Map(channels.map((c, i) => [c, i] as const));

  const rowPtr: number[] = [0];
  const cols: number[] = [];
  const vals: number[] = [];
  const pos: number[] = [];
  const tot: number[] = [];
  const idxBuf: number[] = [];
  const valBuf: number[] = [];
  let W = 0;
  let C = 0;
  const addRow = (seq: readonly number[], conversions: number, nulls: number): void => {
    const t = conversions + nulls;
    if (!(t > 0)) return;
    featuresOf(seq, n, pairwise, frequency, position, idxBuf, valBuf);
    for (let k = 0; k < idxBuf.length; k++) {
      cols.push(idxBuf[k] as number);
      vals.push(valBuf[k] as number);
    }
    rowPtr.push(cols.length);
    pos.push(conversions);
    tot.push(t);
    W += t;
    C += conversions;
  };
  for (const rec of stats.paths()) addRow(rec.channels.map((c) => index.get(c) as number), rec.conversions, rec.nulls);
  if (options.untouched) addRow([], stats.untouched.conversions, stats.untouched.nulls);
  const beta = new Float64Array(dim);
  const m = pos.length;
  if (m === 0 || C === 0 || C === W) {
    beta[0] = C > 0 ? 30 : -30;
    return { channels, coefficients: beta, pairwise, frequency, position, l2, iterations: 0, gradientNorm: 0, converged: true, logLoss: 0, degenerate: true, ...uncreditedOf(channels, options) };
  }
  const ptr = Int32Array.from(rowPtr);
  const col = Int32Array.from(cols);
  const xv = Float64Array.from(vals);
  beta[0] = Math.log(C / (W - C));

  const z = new Float64Array(m);
  const hw = new Float64Array(m);
  const grad = new Float64Array(dim);
  const linear = (b: Float64Array, out: Float64Array): void => {
    for (let p = 0; p < m; p++) {
      let s = 0;
      for (let k = ptr[p] as number; k < (ptr[p + 1] as number); k++) s += (b[col[k] as number] as number) * (xv[k] as number);
      out[p] = s;
    }
  };
  const objective = (b: Float64Array): number => {
    linear(b, z);
    let f = 0;
    for (let p = 0; p < m; p++) {
      const zp = z[p] as number;
      const c = pos[p] as number;
      f += c * softplus(-zp) + ((tot[p] as number) - c) * softplus(zp);
    }
    let r = 0;
    for (let j = 1; j < dim; j++) r += (b[j] as number) ** 2;
    return f / W + 0.5 * l2 * r;
  };
  /** Gradient at `beta` and the Hessian weights; `z` must hold X·beta. */
  const gradient = (): number => {
    grad.fill(0);
    for (let p = 0; p < m; p++) {
      const s = sigmoid(z[p] as number);
      const t = tot[p] as number;
      const resid = (t * s - (pos[p] as number)) / W;
      hw[p] = (t * s * (1 - s)) / W;
      for (let k = ptr[p] as number; k < (ptr[p + 1] as number); k++) grad[col[k] as number] = (grad[col[k] as number] as number) + resid * (xv[k] as number);
    }
    let g = 0;
    for (let j = 0; j < dim; j++) {
      if (j > 0) grad[j] = (grad[j] as number) + l2 * (beta[j] as number);
      g = Math.max(g, Math.abs(grad[j] as number));
    }
    return g;
  };
  const xw = new Float64Array(m);
  const hessVec = (v: Float64Array, out: Float64Array): void => {
    linear(v, xw);
    out.fill(0);
    for (let p = 0; p < m; p++) {
      const a = (hw[p] as number) * (xw[p] as number);
      if (a === 0) continue;
      for (let k = ptr[p] as number; k < (ptr[p + 1] as number); k++) out[col[k] as number] = (out[col[k] as number] as number) + a * (xv[k] as number);
    }
    for (let j = 1; j < dim; j++) out[j] = (out[j] as number) + l2 * (v[j] as number);
  };

  /** Newton direction from the dense Hessian XᵀDX + l2·I (Cholesky): cheap while dim is small. */
  const hess = new Float64Array(dim * dim);
  const denseNewtonStep = (): void => {
    hess.fill(0);
    for (let p = 0; p < m; p++) {
      const h = hw[p] as number;
      const a = ptr[p] as number;
      const b = ptr[p + 1] as number;
      for (let k = a; k < b; k++) {
        const r = (col[k] as number) * dim;
        const hk = h * (xv[k] as number);
        for (let l = a; l < b; l++) {
          const c = col[l] as number;
          hess[r + c] = (hess[r + c] as number) + hk * (xv[l] as number);
        }
      }
    }
    for (let j = 0; j < dim; j++) hess[j * dim + j] = (hess[j * dim + j] as number) + (j > 0 ? l2 : 0) || 1;
    step.set(grad);
    if (!choleskySolveInPlace(hess, step, dim)) step.set(grad);
  };

  let f = objective(beta);
  let gNorm = gradient();
  let it = 0;
  const step = new Float64Array(dim);
  const trial = new Float64Array(dim);
  while (gNorm > tol && it < maxIt) {
    it++;
    if (dense) denseNewtonStep();
    else {
      // Jacobi preconditioner: the Hessian diagonal.
      const diag = new Float64Array(dim);
      for (let p = 0; p < m; p++)
        for (let k = ptr[p] as number; k < (ptr[p + 1] as number); k++) diag[col[k] as number] = (diag[col[k] as number] as number) + (hw[p] as number) * (xv[k] as number) ** 2;
      for (let j = 0; j < dim; j++) diag[j] = (diag[j] as number) + (j > 0 ? l2 : 0) || 1;
      conjugateGradient(hessVec, grad, diag, step, 1e-12, 4 * dim + 20);
    }
    let gs = 0;
    for (let j = 0; j < dim; j++) gs -= (grad[j] as number) * (step[j] as number);
    let t = 1;
    let fNew = f;
    for (let ls = 0; ls < 40; ls++) {
      for (let j = 0; j < dim; j++) trial[j] = (beta[j] as number) - t * (step[j] as number);
      fNew = objective(trial);
      if (fNew <= f + 1e-4 * t * gs) break;
      t /= 2;
    }
    if (!(fNew <= f)) break;
    beta.set(trial);
    f = fNew;
    gNorm = gradient(); // z holds X·trial (= X·beta) from the last objective call
  }
  linear(beta, z);
  let ll = 0;
  for (let p = 0; p < m; p++) ll += (pos[p] as number) * softplus(-(z[p] as number)) + ((tot[p] as number) - (pos[p] as number)) * softplus(z[p] as number);
  return { channels, coefficients: beta, pairwise, frequency, position, l2, iterations: it, gradientNorm: gNorm, converged: gNorm <= tol, logLoss: ll / W, degenerate: false, ...uncreditedOf(channels, options) };
}

/** The model's `uncredited` field: the options' uncredited channels among `channels`, sorted. */
function uncreditedOf(channels: readonly string[], options: DataDrivenOptions): { uncredited?: string[] } {
  if (!options.uncredited?.length) return {};
  const wanted = new Set(options.uncredited);
  const present = channels.filter((c) => wanted.has(c)).sort();
  return present.length ? { uncredited: present } : {};
}

/** Per channel index of the model: whether it may get credit. */
function creditable(model: DataDrivenModel): boolean[] {
  let cached = creditableCache.get(model);
  if (!cached) {
    const none = new Set(model.uncredited ?? []);
    cached = model.channels.map((c) => !none.has(c));
    creditableCache.set(model, cached);
  }
  return cached;
}
const creditableCache = new WeakMap<DataDrivenModel, boolean[]>();

/** Preconditioned conjugate gradients for H x = b (H SPD via `mul`); x overwritten. */
function conjugateGradient(mul: (v: Float64Array, out: Float64Array) => void, b: Float64Array, diag: Float64Array, x: Float64Array, relTol: number, maxIt: number): void {
  const d = b.length;
  x.fill(0);
  const r = Float64Array.from(b);
  const zv = new Float64Array(d);
  const p = new Float64Array(d);
  const hp = new Float64Array(d);
  let bNorm = 0;
  for (let j = 0; j < d; j++) bNorm += (b[j] as number) ** 2;
  bNorm = Math.sqrt(bNorm);
  if (bNorm === 0) return;
  for (let j = 0; j < d; j++) zv[j] = (r[j] as number) / (diag[j] as number);
  p.set(zv);
  let rz = 0;
  for (let j = 0; j < d; j++) rz += (r[j] as number) * (zv[j] as number);
  for (let it = 0; it < maxIt; it++) {
    mul(p, hp);
    let php = 0;
    for (let j = 0; j < d; j++) php += (p[j] as number) * (hp[j] as number);
    if (!(php > 0)) return;
    const alpha = rz / php;
    let rNorm = 0;
    for (let j = 0; j < d; j++) {
      x[j] = (x[j] as number) + alpha * (p[j] as number);
      r[j] = (r[j] as number) - alpha * (hp[j] as number);
      rNorm += (r[j] as number) ** 2;
    }
    if (Math.sqrt(rNorm) <= relTol * bNorm) return;
    let rzNew = 0;
    for (let j = 0; j < d; j++) {
      zv[j] = (r[j] as number) / (diag[j] as number);
      rzNew += (r[j] as number) * (zv[j] as number);
    }
    const beta = rzNew / rz;
    rz = rzNew;
    for (let j = 0; j < d; j++) p[j] = (zv[j] as number) + beta * (p[j] as number);
  }
}

function channelIndexOf(model: DataDrivenModel): Map<string, number> {
  let cached = indexCache.get(model);
  if (!cached) {
    cached = new Map(model.channels.map((c, i) => [c, i] as const));
    indexCache.set(model, cached);
  }
  return cached;
}
const indexCache = new WeakMap<DataDrivenModel, Map<string, number>>();

/** Scratch space for `featuresOf` while predicting, so a prediction allocates nothing. */
interface Scratch {
  idx: number[];
  val: number[];
}
const scratch = (): Scratch => ({ idx: [], val: [] });

function probabilityOfSeq(model: DataDrivenModel, seq: readonly number[], buf: Scratch): number {
  featuresOf(seq, model.channels.length, model.pairwise, model.frequency === true, model.position !== false, buf.idx, buf.val);
  let zz = 0;
  for (let k = 0; k < buf.idx.length; k++) zz += (model.coefficients[buf.idx[k] as number] as number) * (buf.val[k] as number);
  return sigmoid(zz);
}

/**
 * Predicted conversion probability of a journey touching `channels` in this order. Channels the
 * model never saw are ignored (as if the touch had not happened). Empty journey → σ(intercept).
 */
export function predictConversion(model: DataDrivenModel, channels: readonly string[]): number {
  const index = channelIndexOf(model);
  const seq: number[] = [];
  for (const c of channels) {
    const i = index.get(c);
    if (i !== undefined) seq.push(i);
  }
  return probabilityOfSeq(model, seq, scratch());
}

/**
 * Per-touch weights of one journey under the data-driven model (counterfactual removal, as in
 * Shao & Li 2011 and GA4's data-driven attribution): with p = predicted P(convert | journey),
 * 1. each distinct channel c gets drop_c = p − p(journey without any touch of c), floored at 0;
 * 2. c's drop is split over its own touches in proportion to each touch's individual drop
 *    p − p(journey without that touch) (floored at 0), or equally if none of them moves p.
 * Weights are then normalised within the journey.
 *
 * Why two steps: removing ONE touch of a channel that is touched twice leaves the channel present,
 * so a purely per-touch leave-one-out gives a repeated channel nothing at all; removing the
 * channel asks the counterfactual that matters, and the per-touch drops only decide which of its
 * touches (first? last?) carried it.
 *
 * Channels the model does not credit (`uncredited`) get no weight: their drops are not counted.
 *
 * Edge cases: no touches → `[]`; one touch → `[1]`; if no credited channel raises p (all drops 0,
 * a degenerate model, or only unknown channels) → linear over the touches of credited or unknown
 * channels, or over all touches when every one is of an uncredited channel. `touches` in time order.
 */
export function dataDrivenWeights(model: DataDrivenModel, touches: readonly { channel: string }[]): number[] {
  return dataDrivenWeightsOfSeq(
    model,
    touches.map((t) => channelIndexOf(model).get(t.channel) ?? -1),
  );
}

function dataDrivenWeightsOfSeq(model: DataDrivenModel, raw: readonly number[]): number[] {
  const L = raw.length;
  if (L === 0) return [];
  if (L === 1) return [1];
  const buf = scratch();
  const known = (s: readonly number[]): number[] => s.filter((c) => c >= 0);
  const p = probabilityOfSeq(model, known(raw), buf);
  const touchDrop = (i: number): number => Math.max(0, p - probabilityOfSeq(model, known(raw.filter((_, j) => j !== i)), buf));
  const ok = creditable(model);
  const w = new Array<number>(L).fill(0);
  let any = false;
  for (const c of new Set(raw)) {
    if (c < 0 || !ok[c]) continue;
    const drop = Math.max(0, p - probabilityOfSeq(model, known(raw.filter((x) => x !== c)), buf));
    if (!(drop > 0)) continue;
    any = true;
    const mine: number[] = [];
    raw.forEach((x, i) => {
      if (x === c) mine.push(i);
    });
    if (mine.length === 1) {
      w[mine[0] as number] = drop;
      continue;
    }
    const drops = mine.map(touchDrop);
    let s = 0;
    for (const d of drops) s += d;
    mine.forEach((i, k) => {
      w[i] = s > 0 ? (drop * (drops[k] as number)) / s : drop / mine.length;
    });
  }
  if (any) return normalise(w);
  const open = raw.map((c) => (c < 0 || ok[c] ? 1 : 0));
  return normalise(open.some((x) => x > 0) ? open : new Array<number>(L).fill(1));
}

export interface DataDrivenResult extends ChannelAttribution {
  model: 'data_driven';
  fitted: DataDrivenModel;
  /**
   * Per channel, aligned with `credits`: the conversions the fitted model says the channel caused,
   * Σ over journeys (converting or not) of P(convert | path) − P(convert | path without the
   * channel). Negative when the model finds the channel lowers conversion. Reported for uncredited
   * channels too.
   */
  incrementalConversions: number[];
  /** How the credits were formed (see `dataDrivenAttribution`). */
  credit: 'incremental' | 'journey';
}

export interface DataDrivenAttributionOptions {
  /**
   * `incremental` (default): channel credit in proportion to the model's incremental
   * conversions. `journey`: the sum of each converting path's `dataDrivenWeights`.
   */
  credit?: 'incremental' | 'journey';
}

/**
 * Channel totals of the data-driven model over aggregated paths. Fits the model on the same
 * stats unless one is given.
 *
 * `incremental` (default) — credit by removal effect, as Markov attribution does with its chain
 * (Anderl et al. 2016) but with the fitted conversion model as the counterfactual: channel c's
 * incremental conversions are I_c = Σ_paths (conversions + nulls) × (p(path) − p(path without c)),
 * its incremental value V_c = Σ_converting paths value × (p(path) − p(path without c)) / p(path)
 * (each conversion's value times the probability that c was necessary for it), and the totals are
 * split in proportion: conversions_c = total × max(0, I_c) / Σ max(0, I), value likewise with V,
 * the sums over the credited channels (an `uncredited` channel's I_c is reported, not credited).
 * This estimates each channel's share of the conversions marketing causes. Splitting every
 * converting journey to 100% instead (`journey`, GA4's way) also hands out the conversions that
 * would have happened anyway, to whichever channels happened to be on those paths: frequent,
 * low-effect channels then collect credit in proportion to how often they are present.
 *
 * `journey` — every converting path's conversions and value are spread over its touches with
 * `dataDrivenWeights` and summed per channel; the streaming per-journey credit adds up to this.
 *
 * Edge cases: no paths → no credits; credits sum to the totals; when no channel has a positive
 * incremental effect (or the model is degenerate) the incremental credit falls back to `journey`
 * (which is linear for a degenerate model).
 */
export function dataDrivenAttribution(stats: PathStats, model: DataDrivenModel = fitDataDriven(stats), options: DataDrivenAttributionOptions = {}): DataDrivenResult {
  const channels = stats.channels();
  const index = channelIndexOf(model);
  const credited = channels.map((c) => index.get(c) ?? -1);
  const incConv = new Float64Array(model.channels.length);
  const incValue = new Float64Array(model.channels.length);
  const buf = scratch();
  for (const rec of stats.paths()) {
    const seq = rec.channels.map((c) => index.get(c) ?? -1).filter((c) => c >= 0);
    const journeys = rec.conversions + rec.nulls;
    if (seq.length === 0 || !(journeys > 0 || rec.value > 0)) continue;
    const p = probabilityOfSeq(model, seq, buf);
    for (const c of new Set(seq)) {
      const drop = p - probabilityOfSeq(
        model,
        seq.filter((x) => x !== c),
        buf,
      );
      incConv[c] = (incConv[c] as number) + journeys * drop;
      if (p > 0) incValue[c] = (incValue[c] as number) + (rec.value * drop) / p;
    }
  }
  const incremental = credited.map((i) => (i >= 0 ? (incConv[i] as number) : 0));
  const ok = creditable(model);
  const creditedIncremental = credited.map((i) => (i >= 0 && ok[i] ? (incConv[i] as number) : 0));
  const incrementalValue = credited.map((i) => (i >= 0 && ok[i] ? (incValue[i] as number) : 0));
  const positive = (xs: number[]) => xs.reduce((a, x) => a + Math.max(0, x), 0);
  const sumI = positive(creditedIncremental);
  const sumV = positive(incrementalValue);
  if ((options.credit ?? 'incremental') === 'incremental' && !model.degenerate && sumI > 0) {
    const totalC = stats.totalConversions;
    const totalV = stats.totalValue;
    const credits = channels.map((channel, i) => ({
      channel,
      conversions: (totalC * Math.max(0, creditedIncremental[i] as number)) / sumI,
      value: sumV > 0 ? (totalV * Math.max(0, incrementalValue[i] as number)) / sumV : (totalV * Math.max(0, creditedIncremental[i] as number)) / sumI,
    }));
    return { model: 'data_driven', credits, fitted: model, incrementalConversions: incremental, credit: 'incremental' };
  }
  const out = new Map(channels.map((c) => [c, { channel: c, conversions: 0, value: 0 }] as const));
  for (const rec of stats.paths()) {
    if (!(rec.conversions > 0) && !(rec.value > 0)) continue;
    const w = dataDrivenWeightsOfSeq(
      model,
      rec.channels.map((c) => index.get(c) ?? -1),
    );
    rec.channels.forEach((c, i) => {
      const row = out.get(c) as { conversions: number; value: number };
      row.conversions += rec.conversions * (w[i] as number);
      row.value += rec.value * (w[i] as number);
    });
  }
  return { model: 'data_driven', credits: [...out.values()], fitted: model, incrementalConversions: incremental, credit: 'journey' };
}
