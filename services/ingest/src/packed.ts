import type { BusRecord } from '@touchline/platform';
import type { Processed, ProcessResult } from './batch.js';

/**
 * A processed body in a form that crosses a thread boundary cheaply: every record value of every
 * topic in one transferable buffer (moved, not copied), keys and headers beside it. Keys travel as
 * strings: cloning a short string costs less than decoding it from bytes on the receiving thread,
 * which is the one that also writes the log.
 */
export interface PackedRecords {
  keys: string[];
  /** Per record: the end of its value in `bytes` (each starts where the last ended). */
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
    for (const r of t.records) size += typeof r.value === 'string' ? Buffer.byteLength(r.value) : r.value.length;
  }
  // Its own ArrayBuffer (never the shared allocation pool), so it can be transferred.
  const bytes = Buffer.allocUnsafeSlow(size);
  const transfer: ArrayBuffer[] = [bytes.buffer as ArrayBuffer];
  let at = 0;
  const topics = result.topics.map(({ topic, records }) => {
    const keys = new Array<string>(records.length);
    const ends = new Uint32Array(records.length);
    transfer.push(ends.buffer);
    const headers: Array<[number, Record<string, string>]> = [];
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      keys[i] = r.key;
      at += typeof r.value === 'string' ? bytes.write(r.value, at, 'utf8') : (bytes.set(r.value, at), r.value.length);
      ends[i] = at;
      if (r.headers) headers.push([i, r.headers]);
    }
    return { topic, records: { keys, ends, headers } };
  });
  return { packed: { ...result, topics, bytes: bytes.buffer as ArrayBuffer }, transfer };
}

export function unpack(packed: PackedResult): ProcessResult {
  if (!packed.ok) return packed;
  const bytes = packed.bytes;
  let start = 0;
  const topics = packed.topics.map(({ topic, records: p }) => {
    const n = p.ends.length;
    const records: BusRecord[] = new Array<BusRecord>(n);
    for (let i = 0; i < n; i++) {
      const end = p.ends[i]!;
      // A view, not a copy (Buffer.from of an ArrayBuffer range is cheaper than subarray).
      records[i] = { key: p.keys[i]!, value: Buffer.from(bytes, start, end - start) };
      start = end;
    }
    for (const [i, h] of p.headers) records[i]!.headers = h;
    return { topic, records };
  });
  return { ok: true, events: packed.events, topics, rejected: packed.rejected, dropped: packed.dropped, clamped: packed.clamped, accepted: packed.accepted };
}
