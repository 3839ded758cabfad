import type { BusRecord } from '@touchline/platform';
import type { Processed, ProcessResult } from './batch.js';

/**
 * A processed body in a form that crosses a thread boundary cheaply: every record value of every
 * topic in one transferable buffer (moved, not copied), keys and headers beside it.
 */
export interface PackedRecords {
  /** Per record: end of its key, then end of its value, in `bytes` (each starts where the last ended). */
  ends: Uint32Array;
  headers: Array<[number, Record<string, string>]>;
}

export type PackedResult =
  | Exclude<ProcessResult, Processed<BusRecord>>
  | (Omit<Processed<PackedRecords>, 'topics'> & { topics: Array<{ topic: Processed<BusRecord>['topics'][number]['topic']; records: PackedRecords }>; bytes: ArrayBuffer });

export function pack(result: ProcessResult): { packed: PackedResult; transfer: ArrayBuffer[] } {
  if (!result.ok) return { packed: result, transfer: [] };
  let size = 0;
  for (const t of result.topics) {
    for (const r of t.records) size += Buffer.byteLength(r.key) + (typeof r.value === 'string' ? Buffer.byteLength(r.value) : r.value.length);
  }
  // Its own ArrayBuffer (never the shared allocation pool), so it can be transferred.
  const bytes = Buffer.allocUnsafeSlow(size);
  const transfer: ArrayBuffer[] = [bytes.buffer as ArrayBuffer];
  let at = 0;
  const topics = result.topics.map(({ topic, records }) => {
    const ends = new Uint32Array(records.length * 2);
    transfer.push(ends.buffer);
    const headers: Array<[number, Record<string, string>]> = [];
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      at += bytes.write(r.key, at, 'utf8');
      ends[2 * i] = at;
      at += typeof r.value === 'string' ? bytes.write(r.value, at, 'utf8') : (bytes.set(r.value, at), r.value.length);
      ends[2 * i + 1] = at;
      if (r.headers) headers.push([i, r.headers]);
    }
    return { topic, records: { ends, headers } };
  });
  return { packed: { ...result, topics, bytes: bytes.buffer as ArrayBuffer }, transfer };
}

export function unpack(packed: PackedResult): ProcessResult {
  if (!packed.ok) return packed;
  const bytes = Buffer.from(packed.bytes);
  let start = 0;
  const topics = packed.topics.map(({ topic, records: p }) => {
    const n = p.ends.length / 2;
    const records: BusRecord[] = new Array<BusRecord>(n);
    for (let i = 0; i < n; i++) {
      const keyEnd = p.ends[2 * i]!;
      const end = p.ends[2 * i + 1]!;
      records[i] = { key: bytes.toString('utf8', start, keyEnd), value: bytes.subarray(keyEnd, end) };
      start = end;
    }
    for (const [i, h] of p.headers) records[i]!.headers = h;
    return { topic, records };
  });
  return { ok: true, events: packed.events, topics, rejected: packed.rejected, dropped: packed.dropped, clamped: packed.clamped, accepted: packed.accepted };
}
