import { PathStats, type ModelName } from '@touchline/attribution';
import type { CreditMessage, JourneyMessage, JourneysTopicMessage, NullPathMessage } from '@touchline/contracts';
import { creditMessage, journeyWeights, retractionMessage, targetOf, type CreditTarget } from './credit.js';
import {
  ALGORITHMIC_MODELS,
  EMPTY_SNAPSHOT,
  computeSnapshot,
  creditMove,
  isAlgorithmicModel,
  pathWeights,
  type AlgorithmicModel,
  type JourneyLevel,
  type ModelSnapshot,
  type SnapshotOptions,
} from './snapshot.js';

export interface AttributorStateOptions extends SnapshotOptions {
  models: readonly ModelName[];
  halfLifeDays: number;
  /** Journeys kept in memory for restatement; older ones are read back from the warehouse. */
  maxRetainedJourneys: number;
  /** Microsecond clock of algorithmic credit versions (default: wall clock). */
  nowMicros?: () => number;
  /** Millisecond clock of snapshot times (default: wall clock). */
  nowMs?: () => number;
}

/** A credit about to be written, with what is needed to know later what was written. */
export interface CreditRecord {
  message: CreditMessage;
  /** Snapshot the weights came from (0 for rule-based models and the empty snapshot). */
  snapshotSeq: number;
  /** The journey (its `emittedAt`) the credit is for. */
  journeyVersion: number;
}

/** What was last written for a conversion under an algorithmic model. */
export interface Belief {
  version: number;
  seq: number;
}

/** What the warehouse holds as the newest credit of a conversion under a model. */
export interface StoredBelief extends Belief {
  /** The journey it was computed from (0 when unknown, e.g. a retraction written at a privacy delete). */
  journeyVersion: number;
  retracted: boolean;
}

/** A conversion whose algorithmic credit the current snapshot moved: to be written again. */
export interface Restatement {
  conversionId: string;
  model: AlgorithmicModel;
  weights: number[];
  /** The channel sequence the weights are for. */
  channels: readonly string[];
  version: number;
  seq: number;
  journeyVersion: number;
  /** The conversion's value. */
  value: number;
  /** The journey, when still kept in memory; otherwise the caller reads its touches back. */
  journey?: JourneyMessage;
}

interface ConversionEntry {
  /** `emittedAt` of the newest journey in the statistics (0: none yet). */
  journeyVersion: number;
  /** Journeys built before this (µs) belong to a retracted conversion and are ignored. */
  retractedAt: number;
  /** Newest journey whose credit is durably written. */
  creditedJourney: number;
  /** Its path in the statistics, or -1. */
  pathId: number;
  /** The journey's level: which level's statistics hold it and which level's fit weighs it. */
  level: JourneyLevel;
  value: number;
  /** Per algorithmic model (`ALGORITHMIC_MODELS` order): the credit last written. */
  beliefs: Array<Belief | undefined>;
}

const KEY_SEP = '\u0000';

/**
 * The attributor's memory, without I/O: path statistics kept incrementally from journeys and null
 * paths, the current model snapshot, and per conversion which journey and which snapshot its
 * credit was last written from.
 *
 * - A journey replaces every earlier journey of its conversion (highest `emittedAt` wins; older or
 *   repeated ones change nothing), in the statistics and in credit. Null paths likewise per
 *   `pathId`; a null path with no touches withdraws it. So applying any interleaving of the same
 *   messages, with repeats, gives the same statistics: the base of "nothing double counted" after
 *   a restart. A retracted journey takes its conversion out of the statistics and out of credit.
 * - Credit versions come from one microsecond clock that stays above every version seen (journeys'
 *   `emittedAt`, the warehouse's newest version at start) or issued (`tick`), so every write
 *   supersedes all earlier ones of its conversion and model: a journey's credit, a restatement
 *   by a newer snapshot, a retraction, whatever order they come in.
 * - Credit is marked written (`markWritten`) only once it is durable, so a failed write is simply
 *   computed again.
 */
export class AttributorState {
  /** Every journey and null path: what the models are fitted on while no path is at the account level. */
  readonly stats = new PathStats();
  /** The same, split by level: with account-level paths, every model is fitted per level (`computeSnapshot`). */
  readonly levelStats: Readonly<Record<JourneyLevel, PathStats>> = { person: new PathStats(), account: new PathStats() };
  private readonly entries = new Map<string, ConversionEntry>();
  private readonly nullPaths = new Map<string, { version: number; pathId: number; level: JourneyLevel }>();
  /** Retained journeys in least-recently-applied order (Map iteration order). */
  private readonly retained = new Map<string, JourneyMessage>();
  private readonly pathChannels: string[][] = [];
  private readonly pathDistinct: number[] = [];
  private readonly pathIds = new Map<string, number>();
  private readonly snapshots = new Map<number, ModelSnapshot>([[0, EMPTY_SNAPSHOT]]);
  private readonly snapshotRefs = new Map<number, number>();
  /** Weights per snapshot, model and path: journeys share paths, so restatement planning is per path. */
  private readonly weightCache = new Map<number, Map<string, Map<number, number[]>>>();
  private readonly algModels: AlgorithmicModel[];
  private currentSnapshot: ModelSnapshot = EMPTY_SNAPSHOT;
  private nextSeq = 1;
  private lastVersion = 0;
  private snapshotStatsVersion = -1;
  private conversionsSinceSnapshot = 0;
  private unsettledFlag = true;
  private readonly nowMicros: () => number;
  private readonly nowMs: () => number;

  constructor(readonly options: AttributorStateOptions) {
    this.algModels = ALGORITHMIC_MODELS.filter((m) => options.models.includes(m));
    this.nowMicros = options.nowMicros ?? (() => Math.floor((performance.timeOrigin + performance.now()) * 1000));
    this.nowMs = options.nowMs ?? Date.now;
  }

  get snapshot(): ModelSnapshot {
    return this.currentSnapshot;
  }

  /** Statistics changed since the current snapshot was computed. */
  get dirty(): boolean {
    return this.stats.version !== this.snapshotStatsVersion;
  }

  /** Some credit may still come from an older snapshot than the current one. */
  get unsettled(): boolean {
    return this.unsettledFlag;
  }

  get conversionCount(): number {
    return this.entries.size;
  }

  get nullPathCount(): number {
    return this.nullPaths.size;
  }

  get retainedJourneys(): number {
    return this.retained.size;
  }

  /** Conversions (new journeys) applied since the current snapshot. */
  get sinceSnapshot(): number {
    return this.conversionsSinceSnapshot;
  }

  /** A strictly increasing microsecond clock, above every version seen or issued. */
  tick(): number {
    const now = this.nowMicros();
    this.lastVersion = now > this.lastVersion ? now : this.lastVersion + 1;
    return this.lastVersion;
  }

  /** Raises the clock's floor (a version found in the warehouse or on a journey). */
  observeVersion(v: number): void {
    if (v > this.lastVersion) this.lastVersion = v;
  }

  // --- restoring ---------------------------------------------------------------------------

  /** A record below the committed offset: into the statistics, its credit already written. */
  restore(m: JourneysTopicMessage): void {
    if (m.kind === 'null_path') {
      this.applyNullPath(m);
      return;
    }
    const e = this.applyJourney(m);
    if (e && e.journeyVersion === m.emittedAt && m.emittedAt > e.creditedJourney) e.creditedJourney = m.emittedAt;
  }

  /** What the warehouse holds for a conversion and model (rule-based models: `seq` is ignored). */
  loadBelief(conversionId: string, model: string, b: StoredBelief): void {
    const e = this.entry(conversionId);
    if (b.journeyVersion > e.creditedJourney) e.creditedJourney = b.journeyVersion;
    this.observeVersion(b.version);
    if (b.retracted) {
      // A retraction written at a privacy delete knows no journey: journeys built before it are void.
      const at = b.journeyVersion > 0 ? b.journeyVersion : b.version;
      if (at > e.retractedAt) e.retractedAt = at;
    }
    const i = this.algModels.indexOf(model as AlgorithmicModel);
    if (i < 0) return;
    const prev = e.beliefs[i];
    if (prev && prev.version >= b.version) return;
    this.setBelief(e, i, { version: b.version, seq: b.seq });
  }

  /** Snapshot seqs some written credit refers to, and that are not in memory. */
  missingSnapshots(): number[] {
    return [...this.snapshotRefs.keys()].filter((s) => !this.snapshots.has(s));
  }

  /** Makes a stored snapshot known; `current` makes it the one new credit uses. */
  addSnapshot(s: ModelSnapshot, current = false): void {
    this.snapshots.set(s.seq, s);
    if (s.seq >= this.nextSeq) this.nextSeq = s.seq + 1;
    if (current && s.seq >= this.currentSnapshot.seq) {
      this.currentSnapshot = s;
      this.unsettledFlag = true;
    }
  }

  // --- streaming ---------------------------------------------------------------------------

  /**
   * Applies one message; returns the credit to write for a journey that is newer than what was
   * written for its conversion (nothing for a repeat, an out-of-date revision or a null path).
   */
  apply(m: JourneysTopicMessage): CreditRecord[] {
    if (m.kind === 'null_path') {
      this.applyNullPath(m);
      return [];
    }
    const e = this.applyJourney(m);
    if (!e || e.journeyVersion !== m.emittedAt || m.emittedAt <= e.creditedJourney) return [];
    const target = targetOf(m);
    const j = m.emittedAt;
    if (m.retracted) return this.options.models.map((model) => ({ message: retractionMessage(target, model, this.tick()), snapshotSeq: 0, journeyVersion: j }));
    const out: CreditRecord[] = [];
    for (const model of this.options.models) {
      if (isAlgorithmicModel(model)) {
        const w = this.weightsOf(this.currentSnapshot, model, e.pathId, e.level);
        out.push({ message: creditMessage(target, model, w, this.tick()), snapshotSeq: this.currentSnapshot.seq, journeyVersion: j });
      } else {
        const w = journeyWeights(model, m, { halfLifeDays: this.options.halfLifeDays, snapshot: this.currentSnapshot });
        out.push({ message: creditMessage(target, model, w, this.tick()), snapshotSeq: 0, journeyVersion: j });
      }
    }
    return out;
  }

  /** Records credit as durably written. */
  markWritten(records: readonly CreditRecord[]): void {
    for (const r of records) {
      const e = this.entry(r.message.conversionId);
      if (r.journeyVersion > e.creditedJourney) e.creditedJourney = r.journeyVersion;
      const i = this.algModels.indexOf(r.message.model as AlgorithmicModel);
      if (i < 0) continue;
      const prev = e.beliefs[i];
      if (!prev || prev.version < r.message.version) this.setBelief(e, i, { version: r.message.version, seq: r.snapshotSeq });
    }
    this.releaseUnused();
  }

  /** Forgets what was written for these conversions (a write turned out to have been made before). */
  forgetWritten(conversionIds: Iterable<string>): void {
    for (const id of conversionIds) {
      const e = this.entries.get(id);
      if (!e) continue;
      e.creditedJourney = 0;
      e.beliefs.forEach((_, i) => this.setBelief(e, i, undefined));
    }
  }

  /** Whether enough conversions arrived since the last snapshot to compute the next one. */
  dueForSnapshot(everyConversions: number): boolean {
    return this.conversionsSinceSnapshot >= everyConversions && this.dirty;
  }

  /**
   * Fits the models on the current statistics. The snapshot is not in force until `adopt`: the
   * caller stores it first, so that credit never refers to a snapshot that is not durable. Every
   * call takes a new seq, so a snapshot whose write failed halfway is never confused with another.
   */
  computeSnapshot(): { snapshot: ModelSnapshot; statsVersion: number } {
    const seq = this.nextSeq++;
    return { snapshot: computeSnapshot(this.stats, seq, this.nowMs(), this.options, this.levelStats), statsVersion: this.stats.version };
  }

  adopt(s: ModelSnapshot, statsVersion: number): void {
    this.snapshots.set(s.seq, s);
    this.currentSnapshot = s;
    this.snapshotStatsVersion = statsVersion;
    this.conversionsSinceSnapshot = 0;
    this.unsettledFlag = true;
    this.releaseUnused();
  }

  /**
   * The conversions whose algorithmic credit, recomputed with the current snapshot, moves by
   * more than `threshold` (total variation distance of the weights; 0: by anything at all), and
   * those never credited under a model (a model newly enabled). Conversions with fewer than two
   * distinct channels never move. Each gets a fresh version.
   */
  planRestatements(threshold: number): Restatement[] {
    const cur = this.currentSnapshot;
    const out: Restatement[] = [];
    const moved = new Map<string, boolean>();
    for (const [conversionId, e] of this.entries) {
      if (e.pathId < 0 || e.creditedJourney < e.journeyVersion) continue;
      for (let i = 0; i < this.algModels.length; i++) {
        const model = this.algModels[i] as AlgorithmicModel;
        const b = e.beliefs[i];
        if (b && b.seq === cur.seq) continue;
        if (b && (this.pathDistinct[e.pathId] as number) < 2) continue;
        let restate = !b;
        if (b) {
          const old = this.snapshots.get(b.seq);
          const key = `${b.seq}|${model}|${e.pathId}|${e.level}`;
          let m = moved.get(key);
          if (m === undefined) {
            const move = old ? creditMove(this.weightsOf(old, model, e.pathId, e.level), this.weightsOf(cur, model, e.pathId, e.level)) : 1;
            m = threshold > 0 ? move > threshold : move > 0;
            moved.set(key, m);
          }
          restate = m;
        }
        if (!restate) continue;
        const journey = this.retained.get(conversionId);
        out.push({
          conversionId,
          model,
          weights: this.weightsOf(cur, model, e.pathId, e.level),
          channels: this.pathChannels[e.pathId] as string[],
          version: this.tick(),
          seq: cur.seq,
          journeyVersion: e.journeyVersion,
          value: e.value,
          ...(journey && journey.emittedAt === e.journeyVersion ? { journey } : {}),
        });
      }
    }
    return out;
  }

  /** The credit message of a planned restatement, given the conversion's touches. */
  restatementRecord(r: Restatement, target: CreditTarget): CreditRecord {
    return { message: creditMessage(target, r.model, r.weights, r.version), snapshotSeq: r.seq, journeyVersion: r.journeyVersion };
  }

  /** After a settle pass (threshold 0) fully written: all credit is from the current snapshot. */
  markSettled(): void {
    this.unsettledFlag = false;
  }

  // --- internals ---------------------------------------------------------------------------

  private entry(id: string): ConversionEntry {
    let e = this.entries.get(id);
    if (!e) {
      e = { journeyVersion: 0, retractedAt: 0, creditedJourney: 0, pathId: -1, level: 'person', value: 0, beliefs: this.algModels.map(() => undefined) };
      this.entries.set(id, e);
    }
    return e;
  }

  private pathIdOf(channels: readonly string[]): number {
    const key = channels.join(KEY_SEP);
    let id = this.pathIds.get(key);
    if (id === undefined) {
      id = this.pathChannels.length;
      this.pathIds.set(key, id);
      this.pathChannels.push([...channels]);
      this.pathDistinct.push(new Set(channels).size);
    }
    return id;
  }

  /** Newest journey of a conversion into the statistics; returns its entry, or undefined if stale. */
  private applyJourney(m: JourneyMessage): ConversionEntry | undefined {
    this.observeVersion(m.emittedAt);
    const e = this.entry(m.conversion.conversionId);
    if (m.emittedAt < e.journeyVersion || m.emittedAt < e.retractedAt) return undefined;
    if (m.emittedAt > e.journeyVersion) {
      // Path statistics hold non-negative values; a refund-like negative value counts as 0 there.
      if (e.pathId >= 0) this.removePath(e.level, this.pathChannels[e.pathId] as string[], 1, Math.max(0, e.value), 0);
      e.value = m.conversion.value;
      e.journeyVersion = m.emittedAt;
      if (m.retracted) {
        e.pathId = -1;
        e.retractedAt = m.emittedAt;
      } else {
        const channels = m.touches.map((t) => t.channel);
        e.pathId = this.pathIdOf(channels);
        e.level = m.level;
        this.addPath(e.level, channels, 1, Math.max(0, e.value), 0);
      }
      this.conversionsSinceSnapshot++;
    }
    if (m.retracted) this.retained.delete(m.conversion.conversionId);
    else this.retain(m);
    return e;
  }

  /**
   * A null path replaces its earlier version; one with no touches withdraws it (pathId -1), unless
   * it is an untouched one (a known person's idle window), which counts in `stats.untouched`.
   */
  private applyNullPath(m: NullPathMessage): void {
    const prev = this.nullPaths.get(m.pathId);
    if (prev && prev.version >= m.emittedAt) return;
    if (prev && prev.pathId >= 0) this.removePath(prev.level, this.pathChannels[prev.pathId] as string[], 0, 0, 1);
    let pathId = -1;
    const level = m.level ?? 'person';
    if (m.touches.length > 0 || m.untouched === true) {
      const channels = m.touches.map((t) => t.channel);
      pathId = this.pathIdOf(channels);
      this.addPath(level, channels, 0, 0, 1);
    }
    this.nullPaths.set(m.pathId, { version: m.emittedAt, pathId, level });
  }

  /** Into the statistics of every level and of its own. */
  private addPath(level: JourneyLevel, channels: readonly string[], conversions: number, value: number, nulls: number): void {
    this.stats.add(channels, conversions, value, nulls);
    this.levelStats[level].add(channels, conversions, value, nulls);
  }

  private removePath(level: JourneyLevel, channels: readonly string[], conversions: number, value: number, nulls: number): void {
    this.stats.remove(channels, conversions, value, nulls);
    this.levelStats[level].remove(channels, conversions, value, nulls);
  }

  private retain(m: JourneyMessage): void {
    const id = m.conversion.conversionId;
    this.retained.delete(id);
    if (this.options.maxRetainedJourneys <= 0) return;
    this.retained.set(id, m);
    while (this.retained.size > this.options.maxRetainedJourneys) {
      const oldest = this.retained.keys().next().value as string;
      this.retained.delete(oldest);
    }
  }

  private setBelief(e: ConversionEntry, i: number, b: Belief | undefined): void {
    const prev = e.beliefs[i];
    if (prev) this.snapshotRefs.set(prev.seq, (this.snapshotRefs.get(prev.seq) ?? 1) - 1);
    if (b) this.snapshotRefs.set(b.seq, (this.snapshotRefs.get(b.seq) ?? 0) + 1);
    e.beliefs[i] = b;
  }

  /** Drops snapshots no written credit refers to any more (the empty and the current one stay). */
  private releaseUnused(): void {
    for (const seq of [...this.snapshots.keys()]) {
      if (seq === 0 || seq === this.currentSnapshot.seq || (this.snapshotRefs.get(seq) ?? 0) > 0) continue;
      this.snapshots.delete(seq);
      this.weightCache.delete(seq);
      this.snapshotRefs.delete(seq);
    }
  }

  private weightsOf(s: ModelSnapshot, model: AlgorithmicModel, pathId: number, level: JourneyLevel): number[] {
    let bySnapshot = this.weightCache.get(s.seq);
    if (!bySnapshot) this.weightCache.set(s.seq, (bySnapshot = new Map()));
    const key = `${model}|${level}`;
    let byModel = bySnapshot.get(key);
    if (!byModel) bySnapshot.set(key, (byModel = new Map()));
    let w = byModel.get(pathId);
    if (!w) byModel.set(pathId, (w = pathWeights(s, model, this.pathChannels[pathId] as string[], level)));
    return w;
  }
}
