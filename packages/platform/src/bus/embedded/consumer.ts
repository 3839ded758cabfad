import type { ConsumeOptions, ConsumedBatch, Consumer, TopicPartition } from '../types.js';
import type { GroupOffsets } from './group-offsets.js';
import type { EmbeddedLogger, PartitionLog, ReadCursor } from './partition-log.js';

export interface RetryBackoff {
  initialMs: number;
  maxMs: number;
}

const heartbeat = (): Promise<void> => Promise.resolve();

/**
 * An interruptible wait: resolves on `wake()` or after `ms` (if given). `wake` may be called before
 * `wait` is awaited; setting the waker is synchronous, so a check-then-wait never misses a wake-up.
 */
class Waiter {
  private wakeFn: (() => void) | null = null;

  wait(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        this.wakeFn = null;
        resolve();
      };
      this.wakeFn = done;
      if (ms !== undefined) timer = setTimeout(done, ms);
    });
  }

  wake(): void {
    this.wakeFn?.();
  }
}

/**
 * Delivery model: one independent loop per topic-partition. Within a partition, batches are
 * handed to the handler strictly in offset order, one at a time, and the next batch is read only
 * after the previous one's offsets are committed. Different partitions run concurrently, so the
 * handler may be running for several partitions at once, and a partition stuck retrying a failing
 * batch never holds the others back.
 */
export class EmbeddedConsumer implements Consumer {
  private stopping = false;
  private paused = false;
  private readonly workers: Promise<void>[] = [];
  /** Woken by new data, resume() and stop(). */
  private readonly waiters: Waiter[] = [];
  /** Woken by stop() only: interrupts retry backoff (new data must not shorten it). */
  private readonly stopWaiters: Waiter[] = [];
  private readonly unlisten: Array<() => void> = [];
  private stopped: Promise<void> | null = null;
  /** `commit: false` (not yet in `ConsumeOptions`; used by pipeline restore readers) disables commits. */
  private readonly commitEnabled: boolean;

  constructor(
    private readonly options: ConsumeOptions,
    private readonly group: GroupOffsets,
    private readonly logs: PartitionLog[],
    private readonly startOffsets: Map<PartitionLog, number>,
    private readonly backoff: RetryBackoff,
    private readonly logger: EmbeddedLogger,
    private readonly onStopped: () => void,
  ) {
    this.commitEnabled = options.commit !== false;
  }

  start(): void {
    // The only member of its group: it holds every partition from the start until it stops.
    this.announce(this.logs.map((log) => ({ topic: log.topic, partition: log.partition })));
    for (const log of this.logs) {
      const waiter = new Waiter();
      const stopWaiter = new Waiter();
      this.waiters.push(waiter);
      this.stopWaiters.push(stopWaiter);
      const listener = (): void => waiter.wake();
      log.listeners.add(listener);
      this.unlisten.push(() => log.listeners.delete(listener));
      this.workers.push(this.run(log, waiter, stopWaiter, this.startOffsets.get(log) ?? log.startOffset));
    }
  }

  private announce(assignment: TopicPartition[]): void {
    try {
      this.options.onAssignment?.(assignment);
    } catch (err) {
      this.logger.warn({ err, groupId: this.group.groupId }, 'embedded bus: onAssignment callback threw');
    }
  }

  private reportError(err: unknown, log: PartitionLog, firstOffset: number): void {
    const info = { topic: log.topic, partition: log.partition, firstOffset: String(firstOffset) };
    try {
      if (this.options.onError) this.options.onError(err, info);
      else this.logger.warn({ err, groupId: this.group.groupId, ...info }, 'embedded bus: consumer batch failed, retrying');
    } catch {
      // An onError that throws must not kill the partition loop.
    }
  }

  private async run(log: PartitionLog, waiter: Waiter, stopWaiter: Waiter, start: number): Promise<void> {
    const maxBatch = Math.max(1, this.options.maxBatchSize ?? 1000);
    const key = `${log.topic}:${log.partition}`;
    let offset = start;
    let cursor: ReadCursor | undefined;
    let attempt = 0;
    const backoff = (): Promise<void> => {
      const ms = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** attempt);
      attempt++;
      return stopWaiter.wait(ms);
    };
    while (!this.stopping) {
      if (this.paused) {
        await waiter.wait();
        continue;
      }
      if (offset < log.startOffset) offset = log.startOffset;
      if (offset >= log.endOffset) {
        await waiter.wait();
        continue;
      }
      let batch: ConsumedBatch;
      try {
        const res = await log.read(offset, maxBatch, cursor);
        if (res.records.length === 0) {
          // Only possible with a stale cursor; look the offset up in the index next time.
          if (cursor === undefined) await waiter.wait();
          cursor = undefined;
          continue;
        }
        cursor = res.cursor;
        batch = { topic: log.topic, partition: log.partition, records: res.records, heartbeat };
      } catch (err) {
        cursor = undefined;
        this.reportError(err, log, offset);
        await backoff();
        continue;
      }
      // Handle the batch until it succeeds; never skip it.
      attempt = 0;
      for (;;) {
        try {
          await this.options.handler(batch);
          break;
        } catch (err) {
          this.reportError(err, log, offset);
          await backoff();
          while (this.paused && !this.stopping) await waiter.wait();
          if (this.stopping) return; // not committed: redelivered on the next start
        }
      }
      const next = offset + batch.records.length;
      if (!this.commitEnabled) {
        offset = next;
        continue;
      }
      // Commit; on failure retry (the handler's work is done, redelivering it would be wasteful).
      attempt = 0;
      for (;;) {
        try {
          await this.group.commit([[key, next]]);
          break;
        } catch (err) {
          this.reportError(err, log, offset);
          if (this.stopping) return; // at-least-once: redelivered after restart
          await backoff();
        }
      }
      attempt = 0;
      offset = next;
    }
  }

  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopping = true;
      this.announce([]);
      for (const w of this.waiters) w.wake();
      for (const w of this.stopWaiters) w.wake();
      this.stopped = Promise.allSettled(this.workers).then(() => {
        for (const un of this.unlisten) un();
        this.onStopped();
      });
    }
    return this.stopped;
  }

  async committed(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [k, v] of this.group.durableOffsets) out.set(k, String(v));
    return out;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const w of this.waiters) w.wake();
  }
}
