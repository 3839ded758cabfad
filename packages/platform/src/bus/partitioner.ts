import type { Partitioner } from './types.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Java-compatible murmur2 (Kafka `Utils.murmur2`) over the UTF-8 bytes of `data`, as a signed
 * 32-bit integer. Kafka's Java code works in 32-bit `int` arithmetic, which `Math.imul` and the
 * bitwise operators reproduce exactly.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = (data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24)) | 0;
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const encoder = new TextEncoder();

/** murmur2 of the UTF-8 bytes of `key`, without allocating for ASCII keys. */
export function murmur2String(key: string): number {
  const length = key.length;
  for (let i = 0; i < length; i++) {
    if (key.charCodeAt(i) > 0x7f) return murmur2(encoder.encode(key));
  }
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k =
      (key.charCodeAt(i4) | (key.charCodeAt(i4 + 1) << 8) | (key.charCodeAt(i4 + 2) << 16) | (key.charCodeAt(i4 + 3) << 24)) | 0;
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= key.charCodeAt(tail + 2) << 16;
  if (rest >= 2) h ^= key.charCodeAt(tail + 1) << 8;
  if (rest >= 1) {
    h ^= key.charCodeAt(tail);
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partition Kafka's (and kafkajs's `Partitioners.DefaultPartitioner`'s) default partitioner
 * picks for a string key: `toPositive(murmur2(utf8(key))) % partitionCount`, where `toPositive`
 * masks the sign bit (it is not `Math.abs`).
 */
export const murmur2Partitioner: Partitioner = (key: string, partitionCount: number): number => {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partitionCount must be a positive integer, got ${partitionCount}`);
  }
  return (murmur2String(key) & 0x7fffffff) % partitionCount;
};
