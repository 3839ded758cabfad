import type { Warehouse } from './client.js';

export interface SourcePosition {
  src_topic: string;
  src_partition: number;
  src_offset: string;
}

/**
 * Writes rows derived from topic records into a warehouse table exactly once.
 *
 * Every row carries the topic, partition and offset it came from. The sink remembers, per table and
 * topic-partition, the highest offset already written, and skips rows at or below it. When a batch
 * does not follow on from the last one (a restart, a rebalance, a redelivery) it asks the warehouse
 * again, so rows written by a run that crashed before committing its offsets are not written twice,
 * whatever the new batch boundaries are. Each insert also carries a deduplication token, so a retry
 * of the same insert is a no-op.
 *
 * For a table given a unique column (`uniqueBy`), a row is also skipped when a row with the same
 * value in that column is already in the table or earlier in the batch: a client that resends an
 * event puts it in the log again at a new offset, and the table must still hold it once (the first
 * copy, as the stitcher keeps it).
 * Records of one event share a key and therefore a partition, and each partition has one writer at
 * a time, so checking and then inserting does not race.
 */
export class WarehouseSink {
  private readonly written = new Map<string, bigint>();

  constructor(
    private readonly wh: Warehouse,
    /** Per table, the column that identifies a row's event (e.g. `message_id`). */
    private readonly uniqueBy: Readonly<Record<string, string>> = {},
  ) {}

  async write<R extends SourcePosition>(table: string, topic: string, partition: number, firstOffset: string, rows: R[]): Promise<number> {
    const key = `${table}\u0000${topic}\u0000${partition}`;
    let last = this.written.get(key);
    if (last === undefined || BigInt(firstOffset) !== last + 1n) {
      last = await this.lastWritten(table, topic, partition);
      this.written.set(key, last);
    }
    let fresh = rows.filter((r) => BigInt(r.src_offset) > (last as bigint));
    if (fresh.length === 0) return 0;
    let batchEnd = -1n;
    for (const r of fresh) if (BigInt(r.src_offset) > batchEnd) batchEnd = BigInt(r.src_offset);
    const unique = this.uniqueBy[table];
    if (unique) {
      fresh = await this.firstOfEach(table, unique, fresh);
      if (fresh.length === 0) {
        this.written.set(key, batchEnd);
        return 0;
      }
    }
    let lo = BigInt(fresh[0]!.src_offset);
    let hi = lo;
    for (const r of fresh) {
      const o = BigInt(r.src_offset);
      if (o < lo) lo = o;
      if (o > hi) hi = o;
    }
    await this.wh.insertRows(table, fresh, `${table}|${topic}|${partition}|${lo}-${hi}|${fresh.length}`);
    this.written.set(key, batchEnd);
    return fresh.length;
  }

  /** Marks a partition's position without writing (a batch that produced no rows for a table). */
  advance(table: string, topic: string, partition: number, lastOffset: string): void {
    const key = `${table}\u0000${topic}\u0000${partition}`;
    const prev = this.written.get(key);
    if (prev !== undefined && BigInt(lastOffset) > prev) this.written.set(key, BigInt(lastOffset));
  }

  /** The rows whose `column` value is neither in the table nor in an earlier row of `rows`. */
  private async firstOfEach<R extends SourcePosition>(table: string, column: string, rows: R[]): Promise<R[]> {
    const seen = new Set<string>();
    const unique: R[] = [];
    for (const r of rows) {
      const v = String((r as unknown as Record<string, unknown>)[column]);
      if (seen.has(v)) continue;
      seen.add(v);
      unique.push(r);
    }
    const stored = await this.wh.query<{ v: string }>(
      `SELECT DISTINCT ${column} AS v FROM ${table} WHERE ${column} IN {values:Array(String)}`,
      { values: [...seen] },
    );
    if (stored.length === 0) return unique;
    const known = new Set(stored.map((r) => r.v));
    return unique.filter((r) => !known.has(String((r as unknown as Record<string, unknown>)[column])));
  }

  private async lastWritten(table: string, topic: string, partition: number): Promise<bigint> {
    const rows = await this.wh.query<{ m: string | number | null; c: string | number }>(
      `SELECT max(src_offset) AS m, count() AS c FROM ${table} WHERE src_topic = {t:String} AND src_partition = {p:UInt32}`,
      { t: topic, p: partition },
    );
    const r = rows[0];
    if (!r || Number(r.c) === 0 || r.m === null) return -1n;
    return BigInt(r.m);
  }
}
