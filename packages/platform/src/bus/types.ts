/**
 * The event log every service talks to. Two implementations share this contract:
 * `EmbeddedBus` (a durable on-disk log, one process) and `KafkaBus` (kafkajs).
 *
 * Guarantees both must keep:
 * - `publish` resolves only once every record is durable (fsynced locally, or acknowledged by all
 *   in-sync replicas with acks=-1). If it rejects, none of the records may be assumed written.
 * - Records with the same key land in the same partition of a topic, in publish order.
 * - A consumer group's offsets are committed only after the handler for that batch resolved.
 *   A batch whose handler threw is not committed; it is delivered again (at-least-once).
 */
export interface BusRecord {
  /** Partitioning key (e.g. the identity). Same key, same partition. */
  key: string;
  /** The payload, usually a JSON envelope. */
  value: string | Buffer;
  headers?: Record<string, string>;
  /** Milliseconds since the epoch; defaults to the time of publish. */
  timestamp?: number;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  /** Offset within the partition, as a decimal string (Kafka offsets exceed 2^53 in theory). */
  offset: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  timestamp: number;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
  /** Keeps group membership alive during a long handler. Cheap to call often. */
  heartbeat(): Promise<void>;
}

export interface ConsumeOptions {
  groupId: string;
  topics: string[];
  /**
   * Called with records of one topic-partition, in offset order. The batch's offsets are committed
   * after the returned promise resolves: outputs must be durable by then. If it throws, the
   * consumer retries the same batch with backoff (the error is reported through `onError`).
   */
  handler: (batch: ConsumedBatch) => Promise<void>;
  /** Upper bound of records per batch handed to the handler. Default 1000. */
  maxBatchSize?: number;
  /** Where a group with no committed offset starts. Default 'earliest'. */
  fromBeginning?: boolean;
  onError?: (err: unknown, batch: { topic: string; partition: number; firstOffset: string }) => void;
  /**
   * Default true. A reader that never commits (false) rebuilds state from the log without moving
   * any group's position; use a throw-away group id for it.
   */
  commit?: boolean;
  /**
   * Which partitions this member of the group holds. Called with the new assignment after every
   * join (the embedded bus has one member, which holds every partition of `topics`), and with `[]`
   * as soon as the member knows it holds nothing any more: a rebalance began, the consumer crashed
   * and rejoins, or it stops. Between `[]` and the next call the member owns nothing. Must not throw.
   */
  onAssignment?: (assignment: TopicPartition[]) => void;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface Consumer {
  /** Stops fetching, waits for the batch in flight to finish and commit, leaves the group. */
  stop(): Promise<void>;
  /** Offsets committed by this group so far, per `topic:partition`. */
  committed(): Promise<Map<string, string>>;
  /** Temporarily stops handing out batches (backpressure); `resume` restarts. */
  pause(): void;
  resume(): void;
}

export interface Bus {
  readonly kind: 'embedded' | 'kafka';
  /** Makes sure the topics exist (idempotent). Partition count applies only to new topics. */
  ensureTopics(topics: string[], partitions?: number): Promise<void>;
  /** Appends the records; resolves once durable (see the guarantees above). */
  publish(topic: string, records: BusRecord[]): Promise<void>;
  /** Appends to several topics; resolves once every record of every topic is durable. */
  publishMany(batches: Array<{ topic: string; records: BusRecord[] }>): Promise<void>;
  consume(options: ConsumeOptions): Promise<Consumer>;
  /** Committed offsets (next offset to read) of `groupId` on `topic`; partitions never committed are absent. */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, string>>;
  /** Latest offset + 1 per partition (the "high watermark"), for lag and health. */
  endOffsets(topic: string): Promise<Map<number, string>>;
  /** Stops consumers and flushes; resolves when everything accepted is durable. */
  close(): Promise<void>;
}

/** Stable partition for a key: murmur2 like Kafka's default partitioner, so both buses agree. */
export type Partitioner = (key: string, partitionCount: number) => number;
