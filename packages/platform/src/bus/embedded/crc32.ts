import * as zlib from 'node:zlib';

/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the one zlib, gzip and PNG use. */
const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Table-driven fallback, used when `zlib.crc32` (Node >= 20.15) is missing. */
export function crc32Table(data: Uint8Array, start = 0, end = data.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `data[start, end)`, as an unsigned 32-bit number. Native when available. */
export const crc32: (data: Uint8Array, start?: number, end?: number) => number =
  typeof nativeCrc32 === 'function'
    ? (data, start = 0, end = data.length) =>
        nativeCrc32(start === 0 && end === data.length ? data : data.subarray(start, end)) >>> 0
    : crc32Table;
