import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { BatchRequest, Timestamp, formatIssues, type BatchResponse, type ErrorResponse, type TopicMap } from '@touchline/contracts';
import type { BusRecord } from '@touchline/platform';
import type { Subject } from './normalise.js';
import { Normaliser } from './normalise.js';

/**
 * One request's body from bytes to bus records: decompression (bounded), JSON, the batch shape,
 * then every event through the normaliser. Pure and synchronous, so it runs the same on the main
 * thread or in a worker (see `pool.ts`).
 */

export type RouteKind = 'batch' | 'event';
type TopicKey = keyof Pick<TopicMap, 'touchpoints' | 'conversions' | 'identities' | 'costs' | 'deadletter'>;
export const TOPIC_KEYS: readonly TopicKey[] = ['touchpoints', 'conversions', 'identities', 'costs', 'deadletter'];

export interface BodyInput {
  body: Uint8Array;
  /** Content-Encoding, lower-case; 'identity' when none. */
  encoding: string;
  kind: RouteKind;
  receivedAt: number;
  /** A browser's address and user agent (the request had an Origin), for events that carry none. */
  client?: { ip: string; userAgent: string } | undefined;
}

export interface Limits {
  maxEvents: number;
  maxBodyBytes: number;
}

/** Whether an event about a person must be dropped (their deletion was requested). */
export interface Denier {
  denies(s: Subject | undefined): boolean;
}

export interface Refused {
  ok: false;
  status: 400 | 413 | 415;
  error: ErrorResponse['error'];
  message: string;
  /** The reason label of touchline_ingest_requests_rejected_total. */
  reason: string;
}

export interface Processed<R> {
  ok: true;
  events: number;
  /** Records per topic, in the order of the events. */
  topics: Array<{ topic: TopicKey; records: R[] }>;
  rejected: BatchResponse['rejected'];
  dropped: number;
  clamped: number;
  accepted: { touchpoints: number; conversions: number; identities: number; costs: number };
}

export type ProcessResult<R = BusRecord> = Refused | Processed<R>;

const DECODERS: Record<string, (b: Uint8Array, o: { maxOutputLength: number }) => Buffer> = {
  gzip: gunzipSync,
  'x-gzip': gunzipSync,
  deflate: inflateSync,
  br: brotliDecompressSync,
};

export function supportedEncoding(encoding: string): boolean {
  return encoding === 'identity' || encoding in DECODERS;
}

const refuse = (status: Refused['status'], error: Refused['error'], reason: string, message: string): Refused => ({ ok: false, status, error, reason, message });

export function tooLargeMessage(limit: number): string {
  return `body too large: more than ${limit % 1024 === 0 ? `${limit / 1024} KB` : `${limit} bytes`} after decompression; split the batch`;
}

/** The JSON text of a body, decompressed with the size limit applied to the output. */
function text(input: BodyInput, limits: Limits): string | Refused {
  let bytes = input.body;
  if (input.encoding !== 'identity') {
    const decode = DECODERS[input.encoding];
    if (!decode) return refuse(415, 'unsupported_media_type', 'unsupported_media_type', `content-encoding ${JSON.stringify(input.encoding)} is not supported: send gzip, deflate, br or none`);
    try {
      // Stops inflating at the limit: a zip bomb costs at most maxBodyBytes.
      bytes = decode(bytes, { maxOutputLength: limits.maxBodyBytes });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return refuse(413, 'payload_too_large', 'payload_too_large', tooLargeMessage(limits.maxBodyBytes));
      return refuse(400, 'bad_request', 'bad_request', `body is not valid ${input.encoding} data`);
    }
  }
  if (bytes.length > limits.maxBodyBytes) return refuse(413, 'payload_too_large', 'payload_too_large', tooLargeMessage(limits.maxBodyBytes));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** Text that could spell a `__proto__` or `constructor` key; one scan (three `includes` took twice as long). */
const SUSPICIOUS = /__proto__|constructor|\\u/;

/**
 * JSON.parse, unless the text could smuggle `__proto__` or `constructor` keys (also \u-escaped):
 * those are parsed with a reviver that refuses them, like fastify's secure-json-parse does.
 */
export function parseJson(body: string): unknown {
  if (body.length === 0) throw new Error('body is empty: send a JSON object');
  const suspicious = SUSPICIOUS.test(body);
  let value: unknown;
  try {
    value = suspicious ? JSON.parse(body, refusePoison) : JSON.parse(body);
  } catch (err) {
    if (err instanceof PoisonError) throw err;
    const m = /position (\d+)/.exec((err as Error).message);
    throw new Error(`body is not valid JSON${m ? ` at position ${m[1]}` : ''}`);
  }
  return value;
}

class PoisonError extends Error {}

function refusePoison(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new PoisonError('body: a "__proto__" key is not allowed');
  if (key === 'constructor' && value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, 'prototype')) {
    throw new PoisonError('body: a "constructor.prototype" key is not allowed');
  }
  return value;
}

function toMillis(t: string | number): number {
  return typeof t === 'number' ? t : Date.parse(t);
}

/** The events of a body and the batch's sentAt, or why the body is not a batch. */
function eventsOf(input: BodyInput, limits: Limits): { events: unknown[]; sentAt: number | undefined } | Refused {
  const t = text(input, limits);
  if (typeof t !== 'string') return t;
  let body: unknown;
  try {
    body = parseJson(t);
  } catch (err) {
    return refuse(400, 'bad_request', 'bad_request', (err as Error).message);
  }
  if (input.kind === 'batch') {
    const parsed = BatchRequest.safeParse(body);
    if (!parsed.success) return refuse(400, 'bad_request', 'bad_request', `body: ${formatIssues(parsed.error)}`);
    const sentAt = parsed.data.sentAt === undefined ? undefined : toMillis(parsed.data.sentAt);
    return { events: parsed.data.batch, sentAt };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return refuse(400, 'bad_request', 'bad_request', 'body: must be one event object');
  const { sentAt: rawSentAt, ...event } = body as Record<string, unknown>;
  let sentAt: number | undefined;
  if (rawSentAt !== undefined) {
    const parsed = Timestamp.safeParse(rawSentAt);
    if (!parsed.success) return refuse(400, 'bad_request', 'bad_request', `sentAt: ${formatIssues(parsed.error)}`);
    sentAt = toMillis(parsed.data);
  }
  return { events: [event], sentAt };
}

export function processBody(input: BodyInput, limits: Limits, normaliser: Normaliser, denier: Denier): ProcessResult {
  const got = eventsOf(input, limits);
  if ('ok' in got) return got;
  const { events, sentAt } = got;
  if (events.length > limits.maxEvents) {
    return refuse(413, 'payload_too_large', 'too_many_events', `the batch holds ${events.length} events; at most ${limits.maxEvents} per request: split it`);
  }
  const ctx = { receivedAt: input.receivedAt, sentAt, client: input.client };
  const lists: Record<TopicKey, BusRecord[]> = { touchpoints: [], conversions: [], identities: [], costs: [], deadletter: [] };
  const rejected: BatchResponse['rejected'] = [];
  const accepted = { touchpoints: 0, conversions: 0, identities: 0, costs: 0 };
  let dropped = 0;
  let clamped = 0;
  for (let index = 0; index < events.length; index++) {
    const n = normaliser.normalise(events[index], ctx);
    if (n.ok) {
      if (denier.denies(n.subject)) {
        dropped++;
        continue;
      }
      accepted[n.topic]++;
      if (n.clamped) clamped++;
      lists[n.topic].push(n.record);
    } else {
      rejected.push({ index, path: n.path, reason: n.reason });
      lists.deadletter.push(n.deadletter);
    }
  }
  const topics: Processed<BusRecord>['topics'] = [];
  for (const topic of TOPIC_KEYS) if (lists[topic].length > 0) topics.push({ topic, records: lists[topic] });
  return { ok: true, events: events.length, topics, rejected, dropped, clamped, accepted };
}
