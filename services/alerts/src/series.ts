export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/**
 * Sums of a few fields over time, kept at two resolutions so memory stays bounded over weeks:
 * one bucket per minute for the last `fineMs` (1-hour and 24-hour windows are minute-exact) and
 * one per hour for the last `retentionMs`. Every value goes into both, so a window is summed from
 * hours up to the point where minutes take over, and from minutes after it: nothing counts twice.
 * Buckets are keyed by time, so a late value lands where it belongs, and `add` with a negative
 * value retracts one (restated credit).
 */
export class BucketSeries {
  private readonly fine = new Map<number, Float64Array>();
  private readonly coarse = new Map<number, Float64Array>();
  private latest = -Infinity;

  constructor(
    readonly fields: number,
    private readonly fineMs = 26 * HOUR,
    private readonly retentionMs = 35 * DAY,
  ) {}

  add(t: number, values: readonly number[]): void {
    // Minutes are kept only near the newest time seen: a window summed at `now` (never much before
    // the newest event, which ingest keeps within minutes of the present) reads minutes only after
    // now − fineMs + 1 h, so older minute buckets would never be read.
    if (t >= this.latest - this.fineMs) addTo(this.fine, Math.floor(t / MINUTE), values, this.fields);
    if (t > this.latest) this.latest = t;
    addTo(this.coarse, Math.floor(t / HOUR), values, this.fields);
  }

  /** Field sums over [from, to). The part older than the minute buckets is summed by whole hours. */
  sum(from: number, to: number, now: number): Float64Array {
    const out = new Float64Array(this.fields);
    if (to <= from) return out;
    const cut = Math.ceil((now - this.fineMs + HOUR) / HOUR) * HOUR;
    if (from < cut) {
      const hFrom = Math.floor(from / HOUR);
      const hTo = Math.floor(Math.min(to, cut) / HOUR);
      sumRange(this.coarse, hFrom, hTo, out);
    }
    if (to > cut) sumRange(this.fine, Math.floor(Math.max(from, cut) / MINUTE), Math.floor(to / MINUTE), out);
    return out;
  }

  /** Sums per whole UTC day for the days [fromDay, toDay) (day numbers since the epoch). */
  daily(fromDay: number, toDay: number): Float64Array[] {
    const days = Array.from({ length: Math.max(0, toDay - fromDay) }, () => new Float64Array(this.fields));
    for (const [h, v] of this.coarse) {
      const d = Math.floor((h * HOUR) / DAY) - fromDay;
      const row = days[d];
      if (!row) continue;
      for (let i = 0; i < this.fields; i++) row[i]! += v[i]!;
    }
    return days;
  }

  /** Drops buckets past their resolution's horizon; true when nothing is left. */
  prune(now: number): boolean {
    const fineFloor = Math.floor((now - this.fineMs) / MINUTE);
    for (const k of this.fine.keys()) if (k < fineFloor) this.fine.delete(k);
    const coarseFloor = Math.floor((now - this.retentionMs) / HOUR);
    for (const k of this.coarse.keys()) if (k < coarseFloor) this.coarse.delete(k);
    return this.coarse.size === 0 && this.fine.size === 0;
  }

  get size(): number {
    return this.fine.size + this.coarse.size;
  }
}

function addTo(map: Map<number, Float64Array>, key: number, values: readonly number[], fields: number): void {
  let b = map.get(key);
  if (!b) map.set(key, (b = new Float64Array(fields)));
  for (let i = 0; i < fields; i++) b[i]! += values[i] ?? 0;
}

function sumRange(map: Map<number, Float64Array>, from: number, to: number, out: Float64Array): void {
  if (to <= from) return;
  // Sparse maps: walk whichever is smaller, the buckets present or the range asked for.
  if (map.size < to - from) {
    for (const [k, v] of map) if (k >= from && k < to) for (let i = 0; i < out.length; i++) out[i]! += v[i]!;
  } else {
    for (let k = from; k < to; k++) {
      const v = map.get(k);
      if (v) for (let i = 0; i < out.length; i++) out[i]! += v[i]!;
    }
  }
}

/** Day number (days since the epoch, UTC) of a `YYYY-MM-DD` date. */
export function dayOf(date: string): number {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY);
}

/**
 * The part of daily amounts that falls in [from, to): each day's amount is spread evenly over its
 * 24 hours (ad platforms report spend per day, not per click).
 */
export function spreadDaily(amounts: ReadonlyMap<number, number>, from: number, to: number): number {
  if (to <= from) return 0;
  let total = 0;
  const first = Math.floor(from / DAY);
  const last = Math.floor((to - 1) / DAY);
  if (last - first + 1 > amounts.size) {
    for (const [d, amount] of amounts) if (d >= first && d <= last) total += amount * overlap(d, from, to);
  } else {
    for (let d = first; d <= last; d++) {
      const amount = amounts.get(d);
      if (amount) total += amount * overlap(d, from, to);
    }
  }
  return total;
}

function overlap(day: number, from: number, to: number): number {
  const start = day * DAY;
  return Math.max(0, Math.min(to, start + DAY) - Math.max(from, start)) / DAY;
}
