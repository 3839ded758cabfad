import * as fs from 'node:fs';
import { join, resolve } from 'node:path';
import { murmur2Partitioner } from '../partitioner.js';
import type { Bus, BusRecord, ConsumeOptions, Consumer } from '../types.js';
import { EmbeddedConsumer, type RetryBackoff } from './consumer.js';
import { type FsOps, acquireDirLock, mkdirDurable, nodeFsOps, writeFileAtomic } from './fsutil.js';
import { GroupOffsets } from './group-offsets.js';
import { type EmbeddedLogger, PartitionLog } from './partition-log.js';
import { FrameEncoder, MAX_FRAME_BYTES, type RecordToWrite, exactFrameSize, maxFrameSize } from './record.js';
import { FdCache } from './segment.js';

export interface EmbeddedBusOptions {
  /** Root directory of the log (created if missing). */
  dir: string;
  /** Partition count of topics created without an explicit count. Default 4. */
  partitions?: number;
  /**
   * A segment is rolled once it holds at least this many bytes (so a segment can exceed it by one
   * record). Default 64 MiB, at most 1 GiB.
   */
  segmentBytes?: number;
  logger?: EmbeddedLogger;
  /** Handler retry backoff: `initialMs * 2^attempt`, capped at `maxMs`. Default 100 ms → 5 s. */
  retryBackoff?: RetryBackoff;
  /** Read descriptors of sealed segments kept open (LRU). Default 128. */
  maxOpenSegments?: number;
  /** @internal Test hook: replaces the write / fdatasync calls of the publish path. */
  fsOps?: Partial<FsOps>;
}

interface TopicState {
  name: string;
  partitions: PartitionLog[];
}

interface TopicMeta {
  version: 1;
  partitions: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface PendingAppend {
  records: RecordToWrite[];
  timestamps: number[];
}

const TOPIC_RE = /^[A-Za-z0-9._-]{1,249}$/;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;
const MAX_PARTITIONS = 10_000;

function validateTopic(topic: string): void {
  if (typeof topic !== 'string' || !TOPIC_RE.test(topic) || topic === '.' || topic === '..') {
    throw new Error(`EmbeddedBus: invalid topic name ${JSON.stringify(topic)} (use 1-249 of [A-Za-z0-9._-])`);
  }
}

function validatePartitions(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS) {
    throw new RangeError(`EmbeddedBus: ${what} must be an integer in [1, ${MAX_PARTITIONS}], got ${n}`);
  }
}

function validateRecords(topic: string, records: BusRecord[]): void {
  if (!Array.isArray(records)) throw new TypeError(`EmbeddedBus: records for ${topic} must be an array`);
  for (const r of records) {
    if (r === null || typeof r !== 'object') throw new TypeError(`EmbeddedBus: record for ${topic} must be an object`);
    if (typeof r.key !== 'string') throw new TypeError(`EmbeddedBus: record key for ${topic} must be a string`);
    if (typeof r.value !== 'string' && !(r.value instanceof Uint8Array)) {
      throw new TypeError(`EmbeddedBus: record value for ${topic} must be a string or a Buffer`);
    }
    if (r.headers !== undefined) {
      if (r.headers === null || typeof r.headers !== 'object') throw new TypeError('EmbeddedBus: headers must be an object');
      for (const k in r.headers) {
        if (typeof r.headers[k] !== 'string') throw new TypeError(`EmbeddedBus: header ${k} must be a string`);
      }
    }
    if (r.timestamp !== undefined && !Number.isSafeInteger(r.timestamp)) {
      throw new TypeError(`EmbeddedBus: timestamp must be an integer number of milliseconds, got ${r.timestamp}`);
    }
    if (maxFrameSize(r) > MAX_FRAME_BYTES && exactFrameSize(r) > MAX_FRAME_BYTES) {
      throw new RangeError(`EmbeddedBus: record for ${topic} exceeds ${MAX_FRAME_BYTES} bytes`);
    }
  }
}

/**
 * A durable single-process event log implementing `Bus`. See `./index.ts` for the file format
 * and the durability argument.
 */
export class EmbeddedBus implements Bus {
  readonly kind = 'embedded' as const;

  private readonly topics = new Map<string, TopicState>();
  private readonly creating = new Map<string, Promise<TopicState>>();
  /** Group → running consumer (`null` while `consume()` is still starting it). */
  private readonly consumers = new Map<string, EmbeddedConsumer | null>();
  private readonly fdCache: FdCache;
  private readonly encoder = new FrameEncoder();
  private readonly ops: FsOps;

  // Group commit state.
  private pending = new Map<PartitionLog, PendingAppend>();
  private waiters: Waiter[] = [];
  private flushScheduled = false;
  private flushing = false;
  private idleWaiters: Array<() => void> = [];
  private failure: unknown = null;
  /** Publishes that had to wait for a topic creation, chained to keep publish order. */
  private chain: Promise<void> = Promise.resolve();
  private chainDepth = 0;

  private closed = false;
  private closing: Promise<void> | null = null;

  private constructor(
    readonly dir: string,
    private readonly defaultPartitions: number,
    private readonly segmentBytes: number,
    private readonly logger: EmbeddedLogger,
    private readonly backoff: RetryBackoff,
    private readonly releaseLock: () => Promise<void>,
    maxOpenSegments: number,
    ops: Partial<FsOps> | undefined,
  ) {
    this.fdCache = new FdCache(maxOpenSegments);
    this.ops = { ...nodeFsOps, ...ops };
  }

  /** Opens (creating if needed) the log in `opts.dir`, recovering every partition. */
  static async open(opts: EmbeddedBusOptions): Promise<EmbeddedBus> {
    const dir = resolve(opts.dir);
    const partitions = opts.partitions ?? 4;
    validatePartitions(partitions, 'partitions');
    const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isInteger(segmentBytes) || segmentBytes < 1 || segmentBytes > MAX_SEGMENT_BYTES) {
      throw new RangeError(`EmbeddedBus: segmentBytes must be an integer in [1, ${MAX_SEGMENT_BYTES}]`);
    }
    const logger: EmbeddedLogger = opts.logger ?? { warn: (obj, msg) => console.warn(msg ?? '', obj) };
    const backoff = opts.retryBackoff ?? { initialMs: 100, maxMs: 5000 };
    await mkdirDurable(dir);
    const release = await acquireDirLock(dir);
    const bus = new EmbeddedBus(dir, partitions, segmentBytes, logger, backoff, release, opts.maxOpenSegments ?? 128, opts.fsOps);
    try {
      await bus.recover();
    } catch (err) {
      await bus.closeLogs().catch(() => undefined);
      await release();
      throw err;
    }
    return bus;
  }

  private get topicsDir(): string {
    return join(this.dir, 'topics');
  }

  private get groupsDir(): string {
    return join(this.dir, 'groups');
  }

  private async recover(): Promise<void> {
    await mkdirDurable(this.topicsDir);
    await mkdirDurable(this.groupsDir);
    const entries = await fs.promises.readdir(this.topicsDir, { withFileTypes: true });
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (!TOPIC_RE.test(e.name)) {
        this.logger.warn({ dir: join(this.topicsDir, e.name) }, 'embedded bus: ignoring a directory that is not a topic');
        continue;
      }
      const tdir = join(this.topicsDir, e.name);
      let meta: TopicMeta;
      try {
        meta = JSON.parse(await fs.promises.readFile(join(tdir, 'meta.json'), 'utf8')) as TopicMeta;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          // meta.json is written last at creation, and nothing is appended before it exists.
          this.logger.warn({ topic: e.name }, 'embedded bus: ignoring a topic whose creation did not complete');
          continue;
        }
        throw new Error(`EmbeddedBus: unreadable ${join(tdir, 'meta.json')}`, { cause: err });
      }
      validatePartitions(meta.partitions, `partitions in ${join(tdir, 'meta.json')}`);
      const logs = await Promise.all(
        Array.from({ length: meta.partitions }, (_, p) =>
          PartitionLog.open(e.name, p, join(tdir, String(p)), this.fdCache, this.logger, true),
        ),
      );
      this.topics.set(e.name, { name: e.name, partitions: logs });
    }
  }

  private topicState(topic: string, partitions?: number): Promise<TopicState> {
    const existing = this.topics.get(topic);
    if (existing) return Promise.resolve(existing);
    let p = this.creating.get(topic);
    if (!p) {
      p = this.createTopic(topic, partitions ?? this.defaultPartitions).finally(() => this.creating.delete(topic));
      this.creating.set(topic, p);
    }
    return p;
  }

  private async createTopic(topic: string, partitions: number): Promise<TopicState> {
    validateTopic(topic);
    validatePartitions(partitions, 'partitions');
    const tdir = join(this.topicsDir, topic);
    await mkdirDurable(tdir);
    const logs = await Promise.all(
      Array.from({ length: partitions }, (_, p) => PartitionLog.open(topic, p, join(tdir, String(p)), this.fdCache, this.logger)),
    );
    const meta: TopicMeta = { version: 1, partitions };
    await writeFileAtomic(join(tdir, 'meta.json'), `${JSON.stringify(meta)}\n`);
    const state = { name: topic, partitions: logs };
    this.topics.set(topic, state);
    return state;
  }

  async ensureTopics(topics: string[], partitions?: number): Promise<void> {
    if (this.closed) throw new Error('EmbeddedBus is closed');
    for (const t of topics) validateTopic(t);
    if (partitions !== undefined) validatePartitions(partitions, 'partitions');
    await Promise.all(topics.map((t) => this.topicState(t, partitions)));
  }

  publish(topic: string, records: BusRecord[]): Promise<void> {
    return this.publishMany([{ topic, records }]);
  }

  async publishMany(batches: Array<{ topic: string; records: BusRecord[] }>): Promise<void> {
    if (this.closed) throw new Error('EmbeddedBus is closed');
    if (this.failure) throw this.failedError();
    for (const b of batches) {
      validateTopic(b.topic);
      validateRecords(b.topic, b.records);
    }
    const now = Date.now();
    const missing = batches.some((b) => !this.topics.has(b.topic));
    if (!missing && this.chainDepth === 0) return this.enqueue(batches, now).done;
    // Slow path: wait for topic creation, chained so that publish order is kept across calls.
    this.chainDepth++;
    const step = this.chain.then(async () => {
      try {
        for (const b of batches) await this.topicState(b.topic);
        return this.enqueue(batches, now);
      } finally {
        this.chainDepth--;
      }
    });
    this.chain = step.then(
      () => undefined,
      () => undefined,
    );
    const { done } = await step;
    return done;
  }

  /** Queues records for the next flush cycle; `done` settles when they are durable. */
  private enqueue(batches: Array<{ topic: string; records: BusRecord[] }>, now: number): { done: Promise<void> } {
    if (this.failure) return { done: Promise.reject(this.failedError()) };
    let total = 0;
    for (const b of batches) {
      const state = this.topics.get(b.topic)!;
      const n = state.partitions.length;
      for (const r of b.records) {
        const log = state.partitions[n === 1 ? 0 : murmur2Partitioner(r.key, n)]!;
        let p = this.pending.get(log);
        if (!p) {
          p = { records: [], timestamps: [] };
          this.pending.set(log, p);
        }
        p.records.push(r);
        p.timestamps.push(r.timestamp ?? now);
        total++;
      }
    }
    if (total === 0) return { done: Promise.resolve() };
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushScheduled && !this.flushing) {
      this.flushScheduled = true;
      setImmediate(() => void this.flushLoop());
    }
    return { done };
  }

  private failedError(): Error {
    return new Error(
      'EmbeddedBus: the log stopped accepting writes after an I/O error; reopen it to recover (open() re-verifies the files)',
      { cause: this.failure },
    );
  }

  /**
   * Group commit: every cycle takes everything queued so far, appends it to all partitions,
   * fdatasyncs each touched file once, then settles every waiter of the cycle. Publishes arriving
   * meanwhile queue up for the next cycle.
   *
   * Any write or fsync error rejects every waiter of the cycle and stops the bus from accepting
   * writes (like Kafka taking a log dir offline): after a failed fsync the page cache no longer
   * tells what is on disk, so only a reopen, which re-verifies the files, can be trusted.
   */
  private async flushLoop(): Promise<void> {
    this.flushScheduled = false;
    this.flushing = true;
    try {
      while (this.pending.size > 0) {
        const pending = this.pending;
        const waiters = this.waiters;
        this.pending = new Map();
        this.waiters = [];
        if (this.failure) {
          const err = this.failedError();
          for (const w of waiters) w.reject(err);
          continue;
        }
        try {
          this.encoder.reset();
          const plans = [];
          for (const [log, p] of pending) plans.push(log.plan(p.records, p.timestamps, this.encoder, this.segmentBytes));
          const results = await Promise.allSettled(plans.map((pl) => pl.log.execute(pl, this.encoder, this.ops)));
          const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed) throw failed.reason;
          for (const pl of plans) pl.log.commit(pl);
          for (const w of waiters) w.resolve();
        } catch (err) {
          this.failure = err;
          this.logger.warn({ err }, 'embedded bus: write or fsync failed; rejecting the batch and refusing further writes');
          const e = this.failedError();
          for (const w of waiters) w.reject(e);
        }
      }
    } finally {
      this.flushing = false;
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const fn of idle) fn();
    }
  }

  private whenIdle(): Promise<void> {
    if (!this.flushing && !this.flushScheduled && this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    if (this.closed || this.closing) throw new Error('EmbeddedBus is closed');
    const { groupId } = options;
    if (typeof groupId !== 'string' || groupId.length === 0) throw new Error('EmbeddedBus: groupId is required');
    if (this.consumers.has(groupId)) {
      throw new Error(
        `EmbeddedBus: consumer group "${groupId}" already has a running consumer in this process; stop() it before consuming again`,
      );
    }
    this.consumers.set(groupId, null);
    try {
      const topics = [...new Set(options.topics)];
      if (topics.length === 0) throw new Error('EmbeddedBus: consume() needs at least one topic');
      for (const t of topics) validateTopic(t);
      const states = await Promise.all(topics.map((t) => this.topicState(t)));
      const group = await GroupOffsets.load(this.groupsDir, groupId);
      const logs = states.flatMap((s) => s.partitions);
      const starts = new Map<PartitionLog, number>();
      const initial: Array<[string, number]> = [];
      for (const log of logs) {
        const key = `${log.topic}:${log.partition}`;
        const c = group.offsets.get(key);
        let start: number;
        if (c === undefined) {
          if (options.fromBeginning === false) {
            start = log.endOffset;
            // Commit the starting point now, so a restart before the first record does not move
            // the group to a later "end" and skip what was published in between.
            initial.push([key, start]);
          } else {
            start = log.startOffset;
          }
        } else if (c > log.endOffset) {
          this.logger.warn(
            { groupId, topic: log.topic, partition: log.partition, committed: c, endOffset: log.endOffset },
            'embedded bus: committed offset is beyond the end of the log (was the log truncated?); resuming at the end',
          );
          start = log.endOffset;
        } else {
          start = Math.max(c, log.startOffset);
        }
        starts.set(log, start);
      }
      if (initial.length > 0 && options.commit !== false) await group.commit(initial);
      const consumer: EmbeddedConsumer = new EmbeddedConsumer(options, group, logs, starts, this.backoff, this.logger, () => {
        if (this.consumers.get(groupId) === consumer) this.consumers.delete(groupId);
      });
      this.consumers.set(groupId, consumer);
      consumer.start();
      return consumer;
    } catch (err) {
      if (this.consumers.get(groupId) === null) this.consumers.delete(groupId);
      throw err;
    }
  }

  /**
   * Durable committed offsets of `groupId` for `topic`, per partition (partitions without a
   * commit are absent). Not part of `Bus` yet; `pipeline.ts` expects it.
   */
  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    const running = this.consumers.get(groupId);
    const offsets = running ? await running.committed() : await GroupOffsets.load(this.groupsDir, groupId).then((g) => g.durableOffsets);
    const out = new Map<number, string>();
    const prefix = `${topic}:`;
    for (const [k, v] of offsets) {
      if (k.startsWith(prefix)) out.set(Number(k.slice(prefix.length)), String(v));
    }
    return out;
  }

  /** High watermark per partition. An unknown topic gives an empty map (it is not created). */
  async endOffsets(topic: string): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const state = this.topics.get(topic);
    if (!state) return out;
    for (const log of state.partitions) out.set(log.partition, String(log.endOffset));
    return out;
  }

  /** Stops consumers, waits for every accepted publish to be durable, closes files, unlocks. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        await Promise.allSettled([...this.consumers.values()].map((c) => c?.stop()));
        this.closed = true;
        await this.chain;
        await Promise.allSettled([...this.creating.values()]);
        await this.whenIdle();
        await this.closeLogs();
        await this.releaseLock();
      })();
    }
    return this.closing;
  }

  private async closeLogs(): Promise<void> {
    for (const t of this.topics.values()) {
      for (const log of t.partitions) await log.close();
    }
  }
}
