/**
 * On-disk record framing (all integers big-endian):
 *
 *   frame  = length:u32 crc:u32 body            length = 4 + body.length (bytes after `length`)
 *   body   = magic:u8 attributes:u8 offset:u64 timestamp:i64
 *            keyLen:u32 key headerCount:u32 (hKeyLen:u32 hKey hValLen:u32 hVal)* valueLen:u32 value
 *
 * `crc` is CRC-32 (IEEE) of `body`. Strings are UTF-8. `attributes` is reserved (0).
 */
import type { ConsumedRecord } from '../types.js';
import { crc32 } from './crc32.js';

export const MAGIC = 1;
/** `length` + `crc`. */
export const FRAME_PREFIX = 8;
/** Fixed part of the body: magic, attributes, offset, timestamp, keyLen, headerCount, valueLen. */
export const BODY_FIXED = 1 + 1 + 8 + 8 + 4 + 4 + 4;
/** Smallest valid value of the `length` field. */
export const MIN_LENGTH_FIELD = 4 + BODY_FIXED;
/** Largest frame accepted on write and on read (also bounds what a corrupt length can make us read). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

const TWO_32 = 0x1_0000_0000;

export interface RecordToWrite {
  key: string;
  value: string | Buffer;
  headers?: Record<string, string> | undefined;
  timestamp?: number | undefined;
}

/** Upper bound of the frame size of `r` (UTF-8 takes at most 3 bytes per UTF-16 code unit). */
export function maxFrameSize(r: RecordToWrite): number {
  let n = FRAME_PREFIX + BODY_FIXED + r.key.length * 3;
  n += typeof r.value === 'string' ? r.value.length * 3 : r.value.length;
  if (r.headers) {
    for (const k in r.headers) n += 8 + k.length * 3 + (r.headers[k] ?? '').length * 3;
  }
  return n;
}

/** Exact frame size of `r` (slower than `maxFrameSize`: measures the UTF-8 lengths). */
export function exactFrameSize(r: RecordToWrite): number {
  let n = FRAME_PREFIX + BODY_FIXED + Buffer.byteLength(r.key);
  n += typeof r.value === 'string' ? Buffer.byteLength(r.value) : r.value.length;
  if (r.headers) {
    for (const k in r.headers) n += 8 + Buffer.byteLength(k) + Buffer.byteLength(r.headers[k] ?? '');
  }
  return n;
}

/**
 * An append-only encode buffer reused across flush cycles. Frames are written back to back;
 * `buf` may be reallocated by `ensure`, so callers keep positions, not subarrays, until done.
 */
export class FrameEncoder {
  buf: Buffer;
  pos = 0;

  constructor(initial = 1024 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  reset(): void {
    // Do not keep a huge buffer around after an unusually large cycle.
    if (this.buf.length > 64 * 1024 * 1024) this.buf = Buffer.allocUnsafe(1024 * 1024);
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Appends one frame; returns its size in bytes. */
  write(r: RecordToWrite, offset: number, timestamp: number): number {
    this.ensure(maxFrameSize(r));
    const buf = this.buf;
    const start = this.pos;
    let p = start + FRAME_PREFIX;
    buf[p++] = MAGIC;
    buf[p++] = 0;
    buf.writeUInt32BE(Math.floor(offset / TWO_32), p);
    buf.writeUInt32BE(offset >>> 0, p + 4);
    buf.writeInt32BE(Math.floor(timestamp / TWO_32), p + 8);
    buf.writeUInt32BE(timestamp >>> 0, p + 12);
    p += 16;
    const keyLen = buf.write(r.key, p + 4, 'utf8');
    buf.writeUInt32BE(keyLen, p);
    p += 4 + keyLen;
    const countAt = p;
    p += 4;
    let count = 0;
    const headers = r.headers;
    if (headers) {
      for (const k in headers) {
        const v = headers[k] ?? '';
        const kl = buf.write(k, p + 4, 'utf8');
        buf.writeUInt32BE(kl, p);
        p += 4 + kl;
        const vl = buf.write(v, p + 4, 'utf8');
        buf.writeUInt32BE(vl, p);
        p += 4 + vl;
        count++;
      }
    }
    buf.writeUInt32BE(count, countAt);
    const value = r.value;
    let valueLen: number;
    if (typeof value === 'string') {
      valueLen = buf.write(value, p + 4, 'utf8');
    } else {
      valueLen = value.length;
      buf.set(value, p + 4);
    }
    buf.writeUInt32BE(valueLen, p);
    p += 4 + valueLen;
    buf.writeUInt32BE(p - start - 4, start);
    buf.writeUInt32BE(crc32(buf, start + FRAME_PREFIX, p), start + 4);
    this.pos = p;
    return p - start;
  }
}

/** Reads the u64 offset of the frame starting at `framePos`. */
export function frameOffset(buf: Buffer, framePos: number): number {
  return buf.readUInt32BE(framePos + 10) * TWO_32 + buf.readUInt32BE(framePos + 14);
}

export type FrameCheck =
  | { ok: true; size: number; offset: number }
  | { ok: false; reason: 'incomplete' | 'bad-length' | 'bad-crc' | 'bad-magic'; needed?: number };

/**
 * Validates the frame at `pos` in `buf[0, end)`. `incomplete` means more bytes are needed
 * (`needed` = full frame size when the length field is readable and plausible).
 */
export function checkFrame(buf: Buffer, pos: number, end: number): FrameCheck {
  if (end - pos < 4) return { ok: false, reason: 'incomplete' };
  const length = buf.readUInt32BE(pos);
  if (length < MIN_LENGTH_FIELD || length + 4 > MAX_FRAME_BYTES) return { ok: false, reason: 'bad-length' };
  const size = length + 4;
  if (end - pos < size) return { ok: false, reason: 'incomplete', needed: size };
  if (buf[pos + FRAME_PREFIX] !== MAGIC) return { ok: false, reason: 'bad-magic' };
  if (crc32(buf, pos + FRAME_PREFIX, pos + size) !== buf.readUInt32BE(pos + 4)) {
    return { ok: false, reason: 'bad-crc' };
  }
  return { ok: true, size, offset: frameOffset(buf, pos) };
}

function malformed(offset: number): Error {
  return new Error(`malformed record at offset ${offset}`);
}

/** Decodes a frame already validated by `checkFrame`. Copies key, headers and value out of `buf`. */
export function decodeFrame(buf: Buffer, pos: number, size: number, topic: string, partition: number): ConsumedRecord {
  const end = pos + size;
  let p = pos + FRAME_PREFIX + 2;
  const offset = buf.readUInt32BE(p) * TWO_32 + buf.readUInt32BE(p + 4);
  const timestamp = buf.readInt32BE(p + 8) * TWO_32 + buf.readUInt32BE(p + 12);
  p += 16;
  let len = buf.readUInt32BE(p);
  p += 4;
  if (p + len + 4 > end) throw malformed(offset);
  const key = buf.toString('utf8', p, p + len);
  p += len;
  const count = buf.readUInt32BE(p);
  p += 4;
  const headers: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    if (p + 4 > end) throw malformed(offset);
    len = buf.readUInt32BE(p);
    p += 4;
    if (p + len + 4 > end) throw malformed(offset);
    const k = buf.toString('utf8', p, p + len);
    p += len;
    len = buf.readUInt32BE(p);
    p += 4;
    if (p + len > end) throw malformed(offset);
    const v = buf.toString('utf8', p, p + len);
    p += len;
    if (k === '__proto__') Object.defineProperty(headers, k, { value: v, enumerable: true, writable: true, configurable: true });
    else headers[k] = v;
  }
  if (p + 4 > end) throw malformed(offset);
  len = buf.readUInt32BE(p);
  p += 4;
  if (p + len !== end) throw malformed(offset);
  const value = Buffer.allocUnsafe(len);
  buf.copy(value, 0, p, end);
  return { topic, partition, offset: String(offset), key, value, headers, timestamp };
}
