import { closeFd, openFd } from './fsutil.js';

/** One sparse index entry every this many bytes of log (like Kafka's `index.interval.bytes`). */
export const INDEX_INTERVAL_BYTES = 4096;

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

export const SEGMENT_FILE_RE = /^(\d{20})\.log$/;

/**
 * Sparse offset → file position index of one segment: pairs (offset - baseOffset, position) in a
 * growable Uint32Array, one pair per ~INDEX_INTERVAL_BYTES. 8 bytes per 4 KiB of log, so a 64 MiB
 * segment costs at most 128 KiB of index however small its records are. The first record
 * (relative offset 0, position 0) is implicit.
 */
export class SparseIndex {
  private data = new Uint32Array(64);
  private count = 0;
  /** Position of the most recent entry (0 = the implicit first one). */
  lastPosition = 0;

  get entries(): number {
    return this.count;
  }

  add(relOffset: number, position: number): void {
    if (this.count * 2 + 2 > this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.count * 2] = relOffset;
    this.data[this.count * 2 + 1] = position;
    this.count++;
    this.lastPosition = position;
  }

  /** The entry with the greatest relative offset <= `relOffset` (or the implicit first record). */
  floor(relOffset: number): { relOffset: number; position: number } {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.data[mid * 2]! <= relOffset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return { relOffset: 0, position: 0 };
    return { relOffset: this.data[found * 2]!, position: this.data[found * 2 + 1]! };
  }

  /** Bytes held by the index (for tests and diagnostics). */
  get memoryBytes(): number {
    return this.data.byteLength;
  }
}

/**
 * A segment file `<baseOffset 20 digits>.log`. `size` and `nextOffset` describe only what readers
 * may see: bytes that are written, fsynced and acknowledged. The writer's projection of a flush
 * cycle in progress lives in the PartitionLog, and is published here when the cycle is durable.
 */
export class Segment {
  /** Durable, valid bytes. */
  size = 0;
  /** Offset after the last durable record. */
  nextOffset: number;
  readonly index = new SparseIndex();
  /** Open descriptor (read-write for the active segment, read-only otherwise) or null. */
  fd: number | null = null;
  /** Reads in progress using `fd`; a pinned descriptor is never closed by the cache. */
  pins = 0;
  /** True while this is the segment being appended to (its descriptor is not evictable). */
  active = false;
  private opening: Promise<number> | null = null;

  constructor(
    readonly baseOffset: number,
    readonly path: string,
  ) {
    this.nextOffset = baseOffset;
  }

  async openForRead(): Promise<number> {
    if (this.fd !== null) return this.fd;
    if (!this.opening) {
      this.opening = openFd(this.path, 'r').then(
        (fd) => {
          this.fd = fd;
          this.opening = null;
          return fd;
        },
        (err: unknown) => {
          this.opening = null;
          throw err;
        },
      );
    }
    return this.opening;
  }

  async closeFd(): Promise<void> {
    if (this.opening) await this.opening.catch(() => undefined);
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) await closeFd(fd);
  }
}

/**
 * Keeps at most `max` read descriptors of sealed segments open, closing the least recently used
 * unpinned ones. Active segments' descriptors are owned by their PartitionLog.
 */
export class FdCache {
  private readonly lru = new Set<Segment>();

  constructor(private readonly max = 128) {}

  async acquire(seg: Segment): Promise<number> {
    seg.pins++;
    try {
      const fd = await seg.openForRead();
      if (!seg.active) {
        this.lru.delete(seg);
        this.lru.add(seg);
        this.evict();
      }
      return fd;
    } catch (err) {
      seg.pins--;
      throw err;
    }
  }

  release(seg: Segment): void {
    seg.pins--;
  }

  /** A segment stopped being active: its descriptor becomes evictable. */
  sealed(seg: Segment): void {
    seg.active = false;
    if (seg.fd !== null) {
      this.lru.add(seg);
      this.evict();
    }
  }

  forget(seg: Segment): void {
    this.lru.delete(seg);
  }

  private evict(): void {
    if (this.lru.size <= this.max) return;
    for (const seg of this.lru) {
      if (this.lru.size <= this.max) break;
      if (seg.pins > 0 || seg.active) continue;
      this.lru.delete(seg);
      seg.closeFd().catch(() => undefined);
    }
  }
}
