import { compensatedSum } from '../math/float.js';
import type { PathRow } from './parse.js';

/** Aggregated outcome of one distinct channel path. */
export interface PathRecord {
  /** Channels in touch order (repeats kept; models collapse them if they want to). */
  readonly channels: readonly string[];
  /** Journeys on this path that converted. */
  conversions: number;
  /** Their total conversion value. */
  value: number;
  /** Journeys on this path that did not convert. */
  nulls: number;
}

const KEY_SEP = '\u0000';

function checkCounts(conversions: number, value: number, nulls: number): void {
  for (const [name, v] of [
    ['conversions', conversions],
    ['value', value],
    ['nulls', nulls],
  ] as const) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`PathStats: ${name} must be a finite non-negative number, got ${v}`);
  }
}

/**
 * Incremental sufficient statistics for the path-based models (Markov, Shapley, data-driven,
 * heuristics on positions): for each distinct channel path, the number of converting journeys,
 * their value and the number of non-converting journeys — the same aggregate ChannelAttribution
 * works on. A streaming attributor keeps one, `add`s journeys as they close, `remove`s them when
 * a journey is restated, and `merge`s partition-local instances.
 *
 * Journeys without any touch cannot be credited to a channel: they are kept apart in
 * `untouched` and left out of the path totals the models distribute.
 */
export class PathStats {
  private readonly byKey = new Map<string, PathRecord>();
  private versionCounter = 0;
  /** Conversions, value and nulls of journeys that had no touch at all. */
  readonly untouched = { conversions: 0, value: 0, nulls: 0 };

  static fromRows(rows: readonly PathRow[]): PathStats {
    const s = new PathStats();
    for (const r of rows) s.add(r.channels, r.conversions, r.value, r.nulls);
    return s;
  }

  /** Adds journeys on `channels`. Throws RangeError on a negative or non-finite count. */
  add(channels: readonly string[], conversions: number, value = 0, nulls = 0): void {
    checkCounts(conversions, value, nulls);
    this.versionCounter++;
    if (channels.length === 0) {
      this.untouched.conversions += conversions;
      this.untouched.value += value;
      this.untouched.nulls += nulls;
      return;
    }
    const key = channels.join(KEY_SEP);
    const rec = this.byKey.get(key);
    if (rec) {
      rec.conversions += conversions;
      rec.value += value;
      rec.nulls += nulls;
    } else {
      this.byKey.set(key, { channels: [...channels], conversions, value, nulls });
    }
  }

  /**
   * Takes journeys back out (a restatement: the journey was re-stitched or its conversion
   * retracted). Returns false, changing nothing, if the path holds fewer conversions or nulls
   * than asked (value is allowed to go below 0 by rounding only: it is clamped at 0). A path
   * whose conversions and nulls both reach 0 is forgotten, value rounding residue included.
   */
  remove(channels: readonly string[], conversions: number, value = 0, nulls = 0): boolean {
    checkCounts(conversions, value, nulls);
    const target = channels.length === 0 ? this.untouched : this.byKey.get(channels.join(KEY_SEP));
    if (!target || target.conversions < conversions || target.nulls < nulls) return false;
    this.versionCounter++;
    target.conversions -= conversions;
    target.nulls -= nulls;
    target.value = Math.max(0, target.value - value);
    if (channels.length > 0 && target.conversions === 0 && target.nulls === 0) this.byKey.delete(channels.join(KEY_SEP));
    return true;
  }

  /** Adds every path of `other` into this one (other is unchanged). Returns `this`. */
  merge(other: PathStats): this {
    for (const r of other.byKey.values()) this.add(r.channels, r.conversions, r.value, r.nulls);
    this.add([], other.untouched.conversions, other.untouched.value, other.untouched.nulls);
    return this;
  }

  clone(): PathStats {
    return new PathStats().merge(this);
  }

  /**
   * A copy whose paths are in key order (channels compared by code unit). Models iterate paths in
   * insertion order, and float sums depend on that order in their last bits; a streaming caller
   * that adds and removes journeys in arrival order gets, from the canonical copy, results that
   * depend only on the multiset of paths, bit for bit the same as a batch computation on it.
   */
  canonical(): PathStats {
    const out = new PathStats();
    const keys = [...this.byKey.keys()].sort(compareStrings);
    for (const k of keys) {
      const r = this.byKey.get(k) as PathRecord;
      out.add(r.channels, r.conversions, r.value, r.nulls);
    }
    out.add([], this.untouched.conversions, this.untouched.value, this.untouched.nulls);
    return out;
  }

  get(channels: readonly string[]): Readonly<PathRecord> | undefined {
    return this.byKey.get(channels.join(KEY_SEP));
  }

  /** Distinct paths, in insertion order. Do not mutate the records. */
  paths(): IterableIterator<Readonly<PathRecord>> {
    return this.byKey.values();
  }

  /** Number of distinct paths. */
  get size(): number {
    return this.byKey.size;
  }

  /** Increases on every change: lets a caller cache model results per version. */
  get version(): number {
    return this.versionCounter;
  }

  /** Conversions on paths with at least one touch (what the models distribute). */
  get totalConversions(): number {
    return compensatedSum([...this.byKey.values()].map((r) => r.conversions));
  }

  /** Conversion value on paths with at least one touch. */
  get totalValue(): number {
    return compensatedSum([...this.byKey.values()].map((r) => r.value));
  }

  /** Non-converting journeys on paths with at least one touch. */
  get totalNulls(): number {
    return compensatedSum([...this.byKey.values()].map((r) => r.nulls));
  }

  /** Every channel seen, sorted by name (code-unit order, locale-independent). */
  channels(): string[] {
    const set = new Set<string>();
    for (const r of this.byKey.values()) for (const c of r.channels) set.add(c);
    return [...set].sort(compareStrings);
  }
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
