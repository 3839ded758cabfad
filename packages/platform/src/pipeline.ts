import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { decodeMessage, type DeadletterMessage } from '@touchline/contracts';
import type { Bus, ConsumeOptions, ConsumedBatch, ConsumedRecord, Consumer } from './bus/types.js';
import type { Logger } from './logger.js';

export interface Decoded<T> {
  record: ConsumedRecord;
  message: T;
}

export interface StageOptions<T> {
  bus: Bus;
  logger: Logger;
  groupId: string;
  topics: string[];
  schema: z.ZodType<T>;
  deadletterTopic: string;
  /** Handles the decoded records of one topic-partition batch; outputs durable when it resolves. */
  handle: (items: Decoded<T>[], batch: ConsumedBatch) => Promise<void>;
  /**
   * Rebuilds in-memory state before consuming: called with every record below the group's committed
   * offsets, oldest first per partition, with no outputs expected. Omit for stateless stages.
   */
  restore?: (items: Decoded<T>[]) => void;
  /**
   * Runs after `restore` and before consuming (also when there was nothing to restore): the place to
   * reconcile rebuilt state with what earlier runs already published.
   */
  afterRestore?: () => Promise<void>;
  maxBatchSize?: number;
  /** Passed to `Bus.consume`: the partitions of `topics` this member of `groupId` holds. */
  onAssignment?: ConsumeOptions['onAssignment'];
}

/**
 * One stage of the pipeline: decode at the boundary, dead-letter what does not decode (a poison
 * record never blocks its partition), hand the rest to the handler, commit after it resolved.
 */
export async function startStage<T>(opts: StageOptions<T>): Promise<Consumer> {
  const { bus, logger, groupId, topics } = opts;
  if (opts.restore) await restoreState(opts);
  if (opts.afterRestore) await opts.afterRestore();
  return bus.consume({
    groupId,
    topics,
    maxBatchSize: opts.maxBatchSize ?? 1000,
    ...(opts.onAssignment ? { onAssignment: opts.onAssignment } : {}),
    handler: async (batch) => {
      const { items, dead } = decodeBatch(batch.records, opts.schema, groupId);
      if (dead.length > 0) {
        logger.warn({ groupId, topic: batch.topic, partition: batch.partition, count: dead.length }, 'records dead-lettered');
        await bus.publish(opts.deadletterTopic, dead);
      }
      await opts.handle(items, batch);
    },
    onError: (err, where) => logger.error({ err, groupId, ...where }, 'batch failed; it will be retried'),
  });
}

function decodeBatch<T>(records: ConsumedRecord[], schema: z.ZodType<T>, stage: string) {
  const items: Decoded<T>[] = [];
  const dead: Array<{ key: string; value: string }> = [];
  for (const record of records) {
    const d = decodeMessage(schema, record.value);
    if (d.ok) items.push({ record, message: d.value as T });
    else {
      const msg: DeadletterMessage = {
        v: 1,
        kind: 'deadletter',
        stage,
        reason: `${record.topic}[${record.partition}]@${record.offset}: ${d.reason}`,
        path: '',
        messageId: `${record.topic}:${record.partition}:${record.offset}`,
        payload: record.value.toString('utf8').slice(0, 64 * 1024),
        receivedAt: Date.now(),
      };
      dead.push({ key: record.key, value: JSON.stringify(msg) });
    }
  }
  return { items, dead };
}

/**
 * Replays each input partition from its beginning up to the group's committed offset into
 * `restore`, through a throw-away reader group that never commits. Records from the committed
 * offset on are left to the stage itself, which then emits what they produce.
 */
async function restoreState<T>(opts: StageOptions<T>): Promise<void> {
  const { bus, logger, groupId, topics } = opts;
  const targets = new Map<string, bigint>();
  for (const topic of topics) {
    for (const [partition, offset] of await bus.committedOffsets(groupId, topic)) {
      if (BigInt(offset) > 0n) targets.set(`${topic}:${partition}`, BigInt(offset));
    }
  }
  if (targets.size === 0) return;
  const started = Date.now();
  let restored = 0;
  const remaining = new Set(targets.keys());
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const reader = await bus.consume({
    groupId: `${groupId}.restore.${randomUUID()}`,
    topics,
    commit: false,
    fromBeginning: true,
    maxBatchSize: opts.maxBatchSize ?? 5000,
    handler: async (batch) => {
      const key = `${batch.topic}:${batch.partition}`;
      const target = targets.get(key);
      if (target === undefined) return;
      const below = batch.records.filter((r) => BigInt(r.offset) < target);
      const { items } = decodeBatch(below, opts.schema, groupId);
      opts.restore!(items);
      restored += below.length;
      const last = batch.records[batch.records.length - 1];
      if (last && BigInt(last.offset) >= target - 1n && remaining.delete(key) && remaining.size === 0) done();
    },
  });
  await finished;
  await reader.stop();
  logger.info({ groupId, records: restored, ms: Date.now() - started }, 'state restored from the log');
}

/**
 * Reads a topic from its beginning to the end it had when called, through a reader group that never
 * commits, and hands every decodable message to `each` (per partition in offset order).
 */
export async function readTopicToEnd<T>(bus: Bus, topic: string, schema: z.ZodType<T>, each: (message: T, record: ConsumedRecord) => void): Promise<number> {
  const end = await bus.endOffsets(topic);
  const remaining = new Map([...end].filter(([, o]) => BigInt(o) > 0n).map(([p, o]) => [p, BigInt(o)]));
  if (remaining.size === 0) return 0;
  let read = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const reader = await bus.consume({
    groupId: `reader.${topic}.${randomUUID()}`,
    topics: [topic],
    commit: false,
    fromBeginning: true,
    maxBatchSize: 5000,
    handler: async (batch) => {
      const target = remaining.get(batch.partition);
      if (target === undefined) return;
      for (const record of batch.records) {
        if (BigInt(record.offset) >= target) break;
        const d = decodeMessage(schema, record.value);
        if (d.ok) each(d.value as T, record);
        read++;
      }
      const last = batch.records[batch.records.length - 1];
      if (last && BigInt(last.offset) >= target - 1n) {
        remaining.delete(batch.partition);
        if (remaining.size === 0) done();
      }
    },
  });
  await finished;
  await reader.stop();
  return read;
}
