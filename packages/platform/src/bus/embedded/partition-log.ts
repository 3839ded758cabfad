import * as fs from 'node:fs';
import { join } from 'node:path';
import type { ConsumedRecord } from '../types.js';
import { type FsOps, ftruncateFd, fsyncDir, mkdirDurable, openFd, closeFd, readAt, writeAll } from './fsutil.js';
import { FrameEncoder, type RecordToWrite, checkFrame, decodeFrame } from './record.js';
import { FdCache, INDEX_INTERVAL_BYTES, SEGMENT_FILE_RE, Segment, segmentFileName } from './segment.js';

export interface EmbeddedLogger {
  warn(obj: object, msg?: string): void;
}

/** The log is damaged in a way recovery must not repair silently (e.g. a sealed segment). */
export class CorruptLogError extends Error {
  override readonly name = 'CorruptLogError';
}

/** Where a consumer stopped reading, so the next read continues without an index lookup. */
export interface ReadCursor {
  segment: Segment;
  position: number;
  offset: number;
}

export interface ReadResult {
  records: ConsumedRecord[];
  cursor: ReadCursor | undefined;
}

/** Writes of one partition in one flush cycle, laid out by `PartitionLog.plan`. */
export interface PartitionPlan {
  log: PartitionLog;
  chunks: Array<{ segment: Segment; isNew: boolean; filePosition: number; bufStart: number; bufEnd: number }>;
  /** Per touched segment: durable size and next offset once the cycle is fsynced. */
  finals: Map<Segment, { size: number; nextOffset: number }>;
}

const SCAN_CHUNK = 1024 * 1024;
const MIN_READ = 16 * 1024;
const MAX_READ = 4 * 1024 * 1024;

/**
 * One topic-partition: an ordered list of segments, the last one active. Readers only ever see
 * durable data (`Segment.size` / `nextOffset`); the writer's projection for the flush cycle in
 * progress is `writeSegment` / `writeSize` / `writeNext`.
 *
 * Retention (not implemented yet): sealed segments whose `nextOffset` <= the minimum committed
 * offset of every consumer group can be deleted from the front of `segments` (forget the fd in
 * the FdCache, close it, unlink the file, fsync the directory). Nothing else assumes the log
 * starts at 0: consumers start at `startOffset` and clamp committed offsets below it.
 */
export class PartitionLog {
  /** Durable segments, oldest first; never empty once opened. */
  readonly segments: Segment[] = [];
  /** Called (synchronously) whenever new records became durable. */
  readonly listeners = new Set<() => void>();
  private writeSegment!: Segment;
  private writeSize = 0;
  private writeNext = 0;

  private constructor(
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    private readonly fdCache: FdCache,
  ) {}

  get startOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  /** High watermark: offset after the last durable record. */
  get endOffset(): number {
    return this.segments[this.segments.length - 1]!.nextOffset;
  }

  /**
   * Opens (creating if needed) the partition directory, verifies every segment and truncates a
   * torn or corrupt tail of the last one.
   */
  static async open(
    topic: string,
    partition: number,
    dir: string,
    fdCache: FdCache,
    logger: EmbeddedLogger,
    mustExist = false,
  ): Promise<PartitionLog> {
    const log = new PartitionLog(topic, partition, dir, fdCache);
    if (!mustExist) await mkdirDurable(dir);
    let names: string[];
    try {
      names = (await fs.promises.readdir(dir)).filter((n) => SEGMENT_FILE_RE.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
      else throw err;
    }
    if (names.length === 0 && mustExist) {
      // Every partition gets its first segment before meta.json is written: this is data loss
      // from outside (deleted directory), not something to paper over with an empty partition.
      throw new CorruptLogError(`${dir}: partition of an existing topic has no segment files`);
    }
    if (names.length === 0) {
      const seg = new Segment(0, join(dir, segmentFileName(0)));
      seg.fd = await openFd(seg.path, 'wx+');
      await fsyncDir(dir);
      log.segments.push(seg);
    } else {
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        const base = Number(SEGMENT_FILE_RE.exec(name)![1]);
        if (!Number.isSafeInteger(base)) throw new CorruptLogError(`${join(dir, name)}: base offset out of range`);
        const prev = log.segments[log.segments.length - 1];
        if (prev && prev.nextOffset !== base) {
          throw new CorruptLogError(
            `${join(dir, name)}: starts at offset ${base} but the previous segment ends at ${prev.nextOffset}`,
          );
        }
        const seg = new Segment(base, join(dir, name));
        await log.recoverSegment(seg, i === names.length - 1, logger);
        log.segments.push(seg);
      }
    }
    const active = log.segments[log.segments.length - 1]!;
    active.active = true;
    log.writeSegment = active;
    log.writeSize = active.size;
    log.writeNext = active.nextOffset;
    return log;
  }

  /** Scans one segment: CRCs, offset continuity, sparse index; truncates a bad tail if last. */
  private async recoverSegment(seg: Segment, isLast: boolean, logger: EmbeddedLogger): Promise<void> {
    const fd = await openFd(seg.path, isLast ? 'r+' : 'r');
    let keepFd = false;
    try {
      const fileSize = (await fs.promises.stat(seg.path)).size;
      let buf = Buffer.allocUnsafe(SCAN_CHUNK);
      let filePos = 0;
      let expected = seg.baseOffset;
      let problem: string | null = null;
      scan: while (filePos < fileSize) {
        const want = Math.min(buf.length, fileSize - filePos);
        const n = await readAt(fd, buf, 0, want, filePos);
        let p = 0;
        while (p < n) {
          const c = checkFrame(buf, p, n);
          if (!c.ok) {
            if (c.reason === 'incomplete') {
              const needed = c.needed ?? 4;
              if (filePos + p + needed > fileSize || n < want) {
                problem = 'incomplete record at end of file';
                filePos += p;
                break scan;
              }
              if (p === 0) {
                buf = Buffer.allocUnsafe(needed);
                continue scan;
              }
              break;
            }
            problem = c.reason;
            filePos += p;
            break scan;
          }
          if (c.offset !== expected) {
            problem = `offset ${c.offset} where ${expected} was expected`;
            filePos += p;
            break scan;
          }
          const position = filePos + p;
          if (position - seg.index.lastPosition >= INDEX_INTERVAL_BYTES) {
            seg.index.add(expected - seg.baseOffset, position);
          }
          expected++;
          p += c.size;
        }
        filePos += p;
      }
      seg.size = filePos;
      seg.nextOffset = expected;
      if (problem !== null) {
        if (!isLast) {
          throw new CorruptLogError(
            `${seg.path}: ${problem} at byte ${filePos} of a sealed segment (${fileSize - filePos} bytes after it); ` +
              'sealed segments are fsynced before the next one is created, so this is media corruption; refusing to drop data silently',
          );
        }
        await ftruncateFd(fd, filePos);
        await fsyncFdData(fd);
        logger.warn(
          {
            topic: this.topic,
            partition: this.partition,
            segment: seg.path,
            droppedBytes: fileSize - filePos,
            keptRecords: expected - seg.baseOffset,
            nextOffset: expected,
            reason: problem,
          },
          'embedded bus: truncated a torn or corrupt tail of the log',
        );
      }
      if (isLast) {
        seg.fd = fd;
        keepFd = true;
      }
    } finally {
      if (!keepFd) await closeFd(fd);
    }
  }

  /**
   * Encodes `records` into `encoder` and decides where they go, rolling to a new segment when
   * the current one reached `segmentBytes`. Assigns offsets. Touches no file.
   */
  plan(records: RecordToWrite[], timestamps: number[], encoder: FrameEncoder, segmentBytes: number): PartitionPlan {
    const plan: PartitionPlan = { log: this, chunks: [], finals: new Map() };
    let seg = this.writeSegment;
    let chunk = { segment: seg, isNew: false, filePosition: this.writeSize, bufStart: encoder.pos, bufEnd: encoder.pos };
    plan.chunks.push(chunk);
    for (let i = 0; i < records.length; i++) {
      if (this.writeSize >= segmentBytes && this.writeNext > seg.baseOffset) {
        plan.finals.set(seg, { size: this.writeSize, nextOffset: this.writeNext });
        seg = new Segment(this.writeNext, join(this.dir, segmentFileName(this.writeNext)));
        this.writeSegment = seg;
        this.writeSize = 0;
        chunk = { segment: seg, isNew: true, filePosition: 0, bufStart: encoder.pos, bufEnd: encoder.pos };
        plan.chunks.push(chunk);
      }
      if (this.writeSize - seg.index.lastPosition >= INDEX_INTERVAL_BYTES) {
        seg.index.add(this.writeNext - seg.baseOffset, this.writeSize);
      }
      const size = encoder.write(records[i]!, this.writeNext, timestamps[i]!);
      this.writeSize += size;
      this.writeNext++;
      chunk.bufEnd = encoder.pos;
    }
    plan.finals.set(seg, { size: this.writeSize, nextOffset: this.writeNext });
    return plan;
  }

  /**
   * Writes a plan and fdatasyncs every file it touched, once. When the plan rolls to a new
   * segment, the previous one is fdatasynced *before* the new file is created (and the directory
   * fsynced after), so a sealed segment never has a torn tail: only the last segment can.
   */
  async execute(plan: PartitionPlan, encoder: FrameEncoder, ops: FsOps): Promise<void> {
    let fd: number | null = null;
    let dirty = false;
    for (const chunk of plan.chunks) {
      if (chunk.isNew) {
        if (fd !== null && dirty) await ops.fdatasync(fd);
        chunk.segment.fd = await openFd(chunk.segment.path, 'wx+');
        await fsyncDir(this.dir);
        dirty = false;
      }
      fd = chunk.segment.fd;
      if (fd === null) throw new Error(`segment ${chunk.segment.path} is not open`);
      const len = chunk.bufEnd - chunk.bufStart;
      if (len > 0) {
        await writeAll(ops, fd, encoder.buf, chunk.bufStart, len, chunk.filePosition);
        dirty = true;
      }
    }
    if (fd !== null && dirty) await ops.fdatasync(fd);
  }

  /** Publishes a durable plan to readers and wakes them. */
  commit(plan: PartitionPlan): void {
    for (const [seg, fin] of plan.finals) {
      seg.size = fin.size;
      seg.nextOffset = fin.nextOffset;
    }
    for (const chunk of plan.chunks) {
      if (!chunk.isNew) continue;
      const prev = this.segments[this.segments.length - 1]!;
      chunk.segment.active = true;
      this.segments.push(chunk.segment);
      this.fdCache.sealed(prev);
    }
    for (const fn of this.listeners) fn();
  }

  private findSegment(offset: number): Segment {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (segs[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return segs[lo]!;
  }

  /**
   * Reads up to `maxRecords` durable records starting at `offset`, from one segment, with
   * positioned reads of a bounded size (never a whole segment). Returns a cursor to continue.
   */
  async read(offset: number, maxRecords: number, cursor?: ReadCursor): Promise<ReadResult> {
    if (offset < this.startOffset) {
      throw new RangeError(`offset ${offset} is below the log start ${this.startOffset} of ${this.topic}:${this.partition}`);
    }
    let seg: Segment;
    let position: number;
    let positionOffset: number;
    if (cursor && cursor.offset === offset) {
      seg = cursor.segment;
      position = cursor.position;
      positionOffset = offset;
    } else {
      seg = this.findSegment(offset);
      const e = seg.index.floor(offset - seg.baseOffset);
      position = e.position;
      positionOffset = seg.baseOffset + e.relOffset;
    }
    if (position >= seg.size && offset >= seg.nextOffset) {
      const i = this.segments.indexOf(seg);
      const next = this.segments[i + 1];
      if (!next) return { records: [], cursor: { segment: seg, position, offset } };
      seg = next;
      position = 0;
      positionOffset = seg.baseOffset;
    }
    const limit = seg.size;
    const nextOffset = seg.nextOffset;
    const records: ConsumedRecord[] = [];
    if (position >= limit) return { records, cursor: { segment: seg, position, offset } };

    const count = Math.max(1, seg.nextOffset - seg.baseOffset);
    const avg = seg.size / count;
    let readSize = Math.min(MAX_READ, Math.max(MIN_READ, Math.ceil(avg * (maxRecords + offset - positionOffset) * 1.05)));
    let buf = Buffer.allocUnsafe(Math.min(readSize, limit - position));
    const fd = await this.fdCache.acquire(seg);
    let cur = positionOffset;
    try {
      while (position < limit && records.length < maxRecords && cur < nextOffset) {
        const want = Math.min(buf.length, limit - position);
        const n = await readAt(fd, buf, 0, want, position);
        if (n < want) throw new CorruptLogError(`${seg.path}: short read at byte ${position}`);
        let p = 0;
        while (p < n && records.length < maxRecords) {
          const c = checkFrame(buf, p, n);
          if (!c.ok) {
            if (c.reason === 'incomplete') {
              if (p === 0) {
                const needed = c.needed ?? 4;
                if (position + needed > limit) throw new CorruptLogError(`${seg.path}: record crosses the durable end at ${position}`);
                readSize = needed;
                buf = Buffer.allocUnsafe(needed);
                break;
              }
              break;
            }
            throw new CorruptLogError(`${seg.path}: ${c.reason} at byte ${position + p} while reading offset ${cur}`);
          }
          if (c.offset !== cur) {
            throw new CorruptLogError(`${seg.path}: offset ${c.offset} at byte ${position + p}, expected ${cur}`);
          }
          if (cur >= offset) records.push(decodeFrame(buf, p, c.size, this.topic, this.partition));
          cur++;
          p += c.size;
        }
        position += p;
      }
    } finally {
      this.fdCache.release(seg);
    }
    return { records, cursor: { segment: seg, position, offset: cur } };
  }

  async close(): Promise<void> {
    for (const seg of this.segments) {
      this.fdCache.forget(seg);
      await seg.closeFd();
    }
    if (!this.segments.includes(this.writeSegment)) await this.writeSegment.closeFd();
  }
}

function fsyncFdData(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}
