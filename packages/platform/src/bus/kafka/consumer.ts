import type { Admin, Consumer as KafkaJsConsumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { ConsumeOptions, Consumer, TopicPartition } from '../types.js';
import {
  backoffMs,
  errorMessage,
  isGroupMembershipError,
  isKafkaJsError,
  nextOffset,
  sleep,
  toConsumedRecord,
  type BusLogger,
} from './util.js';

/** Knobs for one kafkajs consumer. Defaults suit a real cluster; tests shorten them. */
export interface KafkaConsumerTuning {
  /** Group session timeout (ms). Default 30 000. */
  sessionTimeout?: number;
  /** Heartbeat interval (ms); also bounds how fast a member notices a rebalance. Default 3 000. */
  heartbeatInterval?: number;
  /** How long the coordinator waits for members to rejoin during a rebalance (ms). Default 60 000. */
  rebalanceTimeout?: number;
  /** Broker-side long-poll wait of a fetch (ms). Default 5 000 (kafkajs default). */
  maxWaitTimeInMs?: number;
  /** Max bytes fetched per partition per request. Default 1 MiB (kafkajs default). */
  maxBytesPerPartition?: number;
  /**
   * How many partitions' batches are handled at the same time by this consumer. Default 1: the
   * handler is never called concurrently, like the embedded bus.
   */
  partitionsConsumedConcurrently?: number;
  /** First delay before a batch whose handler threw is delivered again (ms). Default 500. */
  retryInitialMs?: number;
  /** Cap of that delay (ms); the retry goes on forever (at-least-once, never skip). Default 30 000. */
  retryMaxMs?: number;
  /** kafkajs retry for its own operations (fetch loop, joins); crash+restart after exhaustion. */
  kafkaRetry?: { initialRetryTime?: number; maxRetryTime?: number; retries?: number };
}

export type ResolvedConsumerTuning = Required<Omit<KafkaConsumerTuning, 'kafkaRetry'>> &
  Pick<KafkaConsumerTuning, 'kafkaRetry'>;

export const DEFAULT_CONSUMER_TUNING: ResolvedConsumerTuning = {
  sessionTimeout: 30_000,
  heartbeatInterval: 3_000,
  rebalanceTimeout: 60_000,
  maxWaitTimeInMs: 5_000,
  maxBytesPerPartition: 1_048_576,
  partitionsConsumedConcurrently: 1,
  retryInitialMs: 500,
  retryMaxMs: 30_000,
};

const COMMIT_ATTEMPTS = 3;

/**
 * One `Bus.consume` call = one kafkajs consumer (one group member).
 *
 * Delivery: `eachBatch` with `autoCommit: false` and `eachBatchAutoResolve: false`. A fetched batch
 * is split into chunks of `maxBatchSize`; for each chunk the handler runs, then the chunk's last
 * offset is resolved and `last + 1` committed for that partition. A chunk whose handler threw is
 * neither resolved nor committed: we report it through `onError`, back off (heartbeating), and
 * return from `eachBatch`. kafkajs' next fetch of that partition starts at the resolved offset + 1,
 * i.e. at the failed chunk's first record, so it is delivered again and nothing after it is
 * committed. Handler errors never reach kafkajs, so a poison record cannot crash the consumer; it
 * blocks its partition (retried with capped backoff) until the handler accepts it.
 */
export class KafkaBusConsumer implements Consumer {
  private readonly consumer: KafkaJsConsumer;
  private readonly maxBatchSize: number;
  private readonly abort = new AbortController();
  /** Consecutive handler failures per `topic:partition`, for the backoff. */
  private readonly failures = new Map<string, number>();
  private stopping = false;
  private stopPromise: Promise<void> | null = null;
  private pausedByUser = false;
  /** Whether the last assignment announced was empty (it starts out holding nothing). */
  private announcedEmpty = true;

  constructor(
    kafka: Kafka,
    private readonly admin: Admin,
    private readonly options: ConsumeOptions,
    private readonly tuning: ResolvedConsumerTuning,
    private readonly logger: BusLogger,
    private readonly onStopped: (c: KafkaBusConsumer) => void,
  ) {
    this.maxBatchSize = Math.max(1, Math.floor(options.maxBatchSize ?? 1000));
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: tuning.sessionTimeout,
      heartbeatInterval: tuning.heartbeatInterval,
      rebalanceTimeout: tuning.rebalanceTimeout,
      maxWaitTimeInMs: tuning.maxWaitTimeInMs,
      maxBytesPerPartition: tuning.maxBytesPerPartition,
      allowAutoTopicCreation: true,
      retry: {
        ...tuning.kafkaRetry,
        // Only kafkajs-level failures get here (handler errors are retried in eachBatch). kafkajs
        // restarts (rejoins) on retriable errors when this resolves true; keep going unless we stop.
        restartOnFailure: async (err: Error) => {
          const restart = !this.stopping;
          this.logger.error(
            { groupId: options.groupId, err: errorMessage(err), restart },
            restart ? 'kafka consumer crashed; restarting' : 'kafka consumer crashed while stopping',
          );
          return restart;
        },
      },
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.logger.info(
        { groupId: options.groupId, memberId: e.payload.memberId, assignment: e.payload.memberAssignment },
        'kafka consumer joined group',
      );
      // A restart after a crash creates a fresh kafkajs consumer group without our pause.
      if (this.pausedByUser) this.applyPause();
      if (!this.stopping) this.announce(assignmentList(e.payload.memberAssignment));
    });
    // Eager rebalancing: once a member learns a rebalance began it holds nothing until it rejoined.
    this.consumer.on(this.consumer.events.REBALANCING, () => this.announce([]));
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      this.logger.error(
        { groupId: options.groupId, err: errorMessage(e.payload.error), restart: e.payload.restart },
        'kafka consumer crash',
      );
      this.announce([]);
      // kafkajs gives up for good on errors it deems non-retriable (librdkafka's mock answers some
      // SyncGroups of concurrent joins with an error kafkajs cannot parse): a member that silently
      // left its group would stop consuming for ever, so start it again ourselves.
      if (!e.payload.restart && !this.stopping) void this.restartAfterFatalCrash();
    });
  }

  /** Tells `onAssignment` what this member holds now; repeated empty announcements are skipped. */
  private announce(assignment: TopicPartition[]): void {
    if (assignment.length === 0 && this.announcedEmpty) return;
    this.announcedEmpty = assignment.length === 0;
    try {
      this.options.onAssignment?.(assignment);
    } catch (err) {
      this.logger.error({ groupId: this.options.groupId, err: errorMessage(err) }, 'kafka consumer onAssignment callback threw');
    }
  }

  async start(): Promise<void> {
    try {
      await this.connectAndRun();
    } catch (err) {
      this.stopping = true;
      await this.consumer.disconnect().catch(() => {});
      this.onStopped(this);
      throw err;
    }
  }

  private async connectAndRun(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning ?? true });
    // Resolves once the first join + sync completed (kafkajs `run` awaits it).
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.tuning.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /** After a crash kafkajs does not restart from (it has disconnected): connect, join, run again. */
  private async restartAfterFatalCrash(): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      await sleep(backoffMs(attempt, this.tuning.retryInitialMs, this.tuning.retryMaxMs), this.abort.signal);
      if (this.stopping) return;
      try {
        await this.connectAndRun();
        this.logger.warn({ groupId: this.options.groupId, attempt }, 'kafka consumer restarted after a crash kafkajs gave up on');
        return;
      } catch (err) {
        this.logger.error({ groupId: this.options.groupId, attempt, err: errorMessage(err) }, 'kafka consumer restart failed; retrying');
        await this.consumer.disconnect().catch(() => {});
      }
    }
  }

  private async eachBatch(p: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = p.batch;
    const tp = `${topic}:${partition}`;

    for (let i = 0; i < messages.length; i += this.maxBatchSize) {
      // Stopping, partition revoked/seeked, or paused: leave the rest unresolved, so it is fetched
      // again by whoever owns the partition next.
      if (this.stopping || this.pausedByUser || !p.isRunning() || p.isStale()) return;

      const chunk = messages.slice(i, i + this.maxBatchSize);
      const first = chunk[0]!.offset;
      const last = chunk[chunk.length - 1]!.offset;
      const records = chunk.map((m) => toConsumedRecord(topic, partition, m));

      // A heartbeat failure inside the handler means the group is rebalancing: that must reach
      // kafkajs (it rejoins), not be treated as a handler failure.
      let groupError: unknown;
      const heartbeat = async (): Promise<void> => {
        try {
          await p.heartbeat();
        } catch (err) {
          groupError ??= err;
          throw err;
        }
      };

      try {
        await this.options.handler({ topic, partition, records, heartbeat });
      } catch (err) {
        if (groupError !== undefined) throw groupError;
        const attempt = (this.failures.get(tp) ?? 0) + 1;
        this.failures.set(tp, attempt);
        this.reportError(err, { topic, partition, firstOffset: first }, attempt);
        await this.backoff(attempt, p);
        return; // not resolved, not committed: redelivered from `first`
      }

      this.failures.delete(tp);
      p.resolveOffset(last);
      if (this.options.commit !== false) await this.commit(p, topic, partition, nextOffset(last));
      if (!this.stopping) await p.heartbeat(); // throws on rebalance: kafkajs rejoins
    }
  }

  private reportError(
    err: unknown,
    batch: { topic: string; partition: number; firstOffset: string },
    attempt: number,
  ): void {
    if (this.options.onError) {
      try {
        this.options.onError(err, batch);
      } catch (cbErr) {
        this.logger.error({ ...batch, err: errorMessage(cbErr) }, 'kafka consumer onError callback threw');
      }
    } else {
      this.logger.error(
        { groupId: this.options.groupId, ...batch, attempt, err: errorMessage(err) },
        'kafka consumer handler failed; batch will be redelivered',
      );
    }
  }

  /** Waits before redelivery, heartbeating so the group keeps us; returns early on stop. */
  private async backoff(attempt: number, p: EachBatchPayload): Promise<void> {
    const until = Date.now() + backoffMs(attempt, this.tuning.retryInitialMs, this.tuning.retryMaxMs);
    for (;;) {
      const left = until - Date.now();
      if (left <= 0 || this.stopping || !p.isRunning()) return;
      await sleep(Math.min(left, this.tuning.heartbeatInterval), this.abort.signal);
      if (this.stopping || !p.isRunning()) return;
      await p.heartbeat(); // rebalance → throws → kafkajs rejoins; the batch stays uncommitted
    }
  }

  /**
   * Commits through the eachBatch payload (→ consumer group directly): `consumer.commitOffsets`
   * goes through the runner, which silently skips the commit once `stop()` began, and `stop()`
   * must let the batch in flight commit.
   */
  private async commit(p: EachBatchPayload, topic: string, partition: number, offset: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await p.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] });
        return;
      } catch (err) {
        // Generation gone: the commit cannot succeed; kafkajs rejoins and the new owner of the
        // partition gets the records again from the last commit (at-least-once).
        if (isGroupMembershipError(err) || attempt >= COMMIT_ATTEMPTS) throw err;
        this.logger.warn(
          { groupId: this.options.groupId, topic, partition, offset, attempt, err: errorMessage(err) },
          'kafka offset commit failed; retrying',
        );
        await sleep(backoffMs(attempt, 100, 1_000));
      }
    }
  }

  private topicList(): Array<{ topic: string }> {
    return this.options.topics.map((topic) => ({ topic }));
  }

  private applyPause(): void {
    try {
      this.consumer.pause(this.topicList());
    } catch (err) {
      // Between a crash and the restart kafkajs has no consumer group; GROUP_JOIN re-applies.
      if (!isKafkaJsError(err)) throw err;
    }
  }

  pause(): void {
    this.pausedByUser = true;
    this.applyPause();
  }

  resume(): void {
    this.pausedByUser = false;
    try {
      this.consumer.resume(this.topicList());
    } catch (err) {
      if (!isKafkaJsError(err)) throw err;
    }
  }

  async committed(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const res = await this.admin.fetchOffsets({ groupId: this.options.groupId, topics: this.options.topics });
    for (const { topic, partitions } of res) {
      for (const { partition, offset } of partitions) {
        if (offset !== '-1' && offset !== '') out.set(`${topic}:${partition}`, offset);
      }
    }
    return out;
  }

  /** Waits for the batch in flight to finish and commit, leaves the group, disconnects. */
  stop(): Promise<void> {
    this.stopPromise ??= (async () => {
      this.stopping = true;
      this.announce([]);
      this.abort.abort(); // cut a redelivery backoff short
      try {
        await this.consumer.disconnect();
      } finally {
        this.onStopped(this);
      }
    })();
    return this.stopPromise;
  }
}

/** kafkajs' `memberAssignment` (topic → partitions) as a flat, sorted list. */
function assignmentList(memberAssignment: Record<string, number[]>): TopicPartition[] {
  const out: TopicPartition[] = [];
  for (const [topic, partitions] of Object.entries(memberAssignment)) {
    for (const partition of partitions) out.push({ topic, partition });
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}
