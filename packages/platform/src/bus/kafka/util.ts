import { logLevel, type IHeaders, type KafkaMessage, type logCreator, type Message } from 'kafkajs';
import type { BusRecord, ConsumedRecord } from '../types.js';

/** The structured logger the platform passes around (pino-compatible call shape). */
export interface BusLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: BusLogger = {
  info() {},
  warn() {},
  error() {},
};

/**
 * Error responses kafkajs logs at ERROR for every request although it handles them itself
 * (rejoin the group, refresh metadata, retry): routine during rebalances and topic creation. If
 * they persist, the failure surfaces as a rejected call or a consumer crash, logged at ERROR.
 */
const ROUTINE_RESPONSE_ERRORS = new Set([
  'The group is rebalancing, so a rejoin is needed', // REBALANCE_IN_PROGRESS
  'The coordinator is not aware of this member', // UNKNOWN_MEMBER_ID
  'Specified group generation id is not valid', // ILLEGAL_GENERATION
  'This is not the correct coordinator for this group', // NOT_COORDINATOR_FOR_GROUP
  "The coordinator is loading and hence can't process requests for this group", // GROUP_LOAD_IN_PROGRESS
  'There is no leader for this topic-partition as we are in the middle of a leadership election', // LEADER_NOT_AVAILABLE
  'This server is not the leader for that topic-partition', // NOT_LEADER_FOR_PARTITION
  'This server does not host this topic-partition', // UNKNOWN_TOPIC_OR_PARTITION
]);

/**
 * Routes kafkajs' own logs to `logger`. Only WARN and ERROR reach it (the Kafka client is created
 * with `logLevel: WARN`); nothing is written to the console. Routine error responses (see above)
 * are downgraded to warn.
 */
export function kafkajsLogCreator(logger: BusLogger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const obj: Record<string, unknown> = { component: 'kafkajs', namespace, ...extra };
      const msg = `kafkajs: ${message}`;
      const routine =
        namespace === 'Connection' &&
        message.startsWith('Response ') &&
        ROUTINE_RESPONSE_ERRORS.has(String(extra.error));
      if (level === logLevel.ERROR && !routine) logger.error(obj, msg);
      else if (level === logLevel.ERROR) logger.warn(obj, msg);
      else if (level === logLevel.WARN) logger.warn(obj, msg);
      else logger.info(obj, msg);
    };
}

export function toKafkaMessage(record: BusRecord, now: number): Message {
  return {
    key: record.key,
    value: record.value,
    headers: record.headers,
    timestamp: String(record.timestamp ?? now),
  };
}

function headerToString(v: IHeaders[string]): string | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    const last = v[v.length - 1];
    return last === undefined ? undefined : last.toString();
  }
  return v.toString();
}

export function toConsumedRecord(topic: string, partition: number, m: KafkaMessage): ConsumedRecord {
  const headers: Record<string, string> = {};
  if (m.headers) {
    for (const [k, v] of Object.entries(m.headers)) {
      const s = headerToString(v);
      if (s !== undefined) headers[k] = s;
    }
  }
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key ? m.key.toString('utf8') : '',
    value: m.value ?? Buffer.alloc(0),
    headers,
    timestamp: Number(m.timestamp),
  };
}

/** `offset + 1` on decimal strings (offsets may exceed 2^53 in theory). */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/** Sleeps `ms`, resolving early (without error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Exponential backoff with ±20 % jitter: initial * 2^(attempt-1), capped at max. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  const jitter = base * 0.2 * (Math.random() * 2 - 1);
  return Math.max(0, Math.round(Math.min(maxMs, base + jitter)));
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** kafkajs errors meaning "this member's generation is over; rejoin" (kafkajs' own isRebalancing + member loss). */
const GROUP_MEMBERSHIP_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'FENCED_INSTANCE_ID',
]);

export function isGroupMembershipError(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return typeof type === 'string' && GROUP_MEMBERSHIP_ERRORS.has(type);
}

/** True for errors raised by kafkajs itself (as opposed to the user's handler). */
export function isKafkaJsError(err: unknown): boolean {
  return err instanceof Error && err.name.startsWith('KafkaJS');
}
