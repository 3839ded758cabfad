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
 */
export class WarehouseSink {
  private readonly written = new Map<string, bigint>();

  constructor(private readonly wh: Warehouse) {}

  async write<R extends SourcePosition>(table: string, topic: string, partition: number, firstOffset: string, rows: R[]): Promise<number> {
    const key = `${table}\u0000${topic}\u0000${partition}`;
    let last = this.written.get(key);
    if (last === undefined || BigInt(firstOffset) !== last + 1n) {
      last = await this.lastWritten(table, topic, partition);
      this.written.set(key, last);
    }
    const fresh = rows.filter((r) => BigInt(r.src_offset) > (last as bigint));
    if (fresh.length === 0) return 0;
    let lo = BigInt(fresh[0]!.src_offset);
    let hi = lo;
    for (const r of fresh) {
      const o = BigInt(r.src_offset);
      if (o < lo) lo = o;
      if (o > hi) hi = o;
    }
    await this.wh.insertRows(table, fresh, `${table}|${topic}|${partition}|${lo}-${hi}|${fresh.length}`);
    this.written.set(key, hi);
    return fresh.length;
  }

  /** Marks a partition's position without writing (a batch that produced no rows for a table). */
  advance(table: string, topic: string, partition: number, lastOffset: string): void {
    const key = `${table}\u0000${topic}\u0000${partition}`;
    const prev = this.written.get(key);
    if (prev !== undefined && BigInt(lastOffset) > prev) this.written.set(key, BigInt(lastOffset));
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
