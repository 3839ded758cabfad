import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PrivacyDeleteRequest, formatIssues, type BatchResponse, type ErrorResponse, type Experiment, type TopicMap } from '@touchline/contracts';
import { KeyRing, keyFromAuthorization, type Bus, type BusRecord, type Logger, type Role, type Warehouse } from '@touchline/platform';
import type { RouteKind } from './batch.js';
import { BodyError, readRaw, type RawBody } from './body.js';
import type { ChannelConfig } from './channel.js';
import { DenyList, denyListFile } from './deny-list.js';
import { forget, type PipelineGroups } from './forget.js';
import { ingestMetrics, type IngestMetrics } from './ingest-metrics.js';
import { MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { startBodyProcessor } from './pool.js';
import { pseudonymiseId } from './privacy.js';
import { RateLimiter } from './rate-limit.js';

/** Settings of the ingest front door; each has a default (see `DEFAULT_INGEST_OPTIONS`). */
export interface IngestOptions {
  /** Events per request. */
  maxEvents: number;
  /** Bytes per request body, after decompression. */
  maxBodyBytes: number;
  /** Per write key: sustained events per second (0 disables) and burst size in events. */
  rateLimit: { eventsPerSecond: number; burst: number };
  /** How long a publish may take before the request is answered 503. */
  publishTimeoutMs: number;
  /** Retry-After of a 503. */
  retryAfterSeconds: number;
  /** Events published but not yet durable, across requests; past it requests are answered 503 at once. */
  maxInFlightEvents: number;
  /** Corrected timestamps further than this in the future are clamped and flagged. */
  maxFutureMs: number;
  /** Country calling code for national phone numbers, e.g. "49" (see `normalisePhone`). */
  defaultPhoneCountryCode: string;
  /** Operator channel rules and aliases (see `ChannelConfig`). */
  channels: ChannelConfig | undefined;
  /** How long a privacy delete waits for the pipeline to catch up before deleting rows. */
  drainTimeoutMs: number;
  /** Drop events of deleted people (reads the identities topic). */
  denyList: boolean;
  /** Worker threads that parse and normalise bodies; 0 does it on the main thread. */
  threads: number;
  /** Incrementality experiments: accepted events are tagged with their unit's arms. */
  experiments: Experiment[];
}

export const DEFAULT_INGEST_OPTIONS: IngestOptions = {
  maxEvents: 1000,
  maxBodyBytes: 512 * 1024,
  rateLimit: { eventsPerSecond: 50_000, burst: 100_000 },
  publishTimeoutMs: 5_000,
  retryAfterSeconds: 1,
  maxInFlightEvents: 200_000,
  maxFutureMs: 5 * 60_000,
  defaultPhoneCountryCode: '',
  channels: undefined,
  drainTimeoutMs: 30_000,
  denyList: true,
  // One per core: the main thread mostly waits for sockets and the event log, and measured on two
  // cores, two workers take ~15% more events per second than one.
  threads: Math.min(4, availableParallelism()),
  experiments: [],
};

export interface IngestDeps {
  bus: Bus;
  keys: KeyRing;
  topics: TopicMap;
  now?: () => number;
  options?: Partial<IngestOptions>;
  /**
   * For privacy deletes: the person's rows are deleted and their credit retracted here. A function
   * opens it on the first delete, so that ingest does not wait for (or depend on) the warehouse.
   */
  warehouse?: Warehouse | (() => Promise<Warehouse>) | undefined;
  /** The data directory: the deny list keeps its snapshot under `privacy/`. */
  dataDir?: string | undefined;
  /** Consumer groups a privacy delete waits for (stitcher and warehouse sink; attributor). */
  pipeline?: PipelineGroups | undefined;
  /** Where the metrics go; `/metrics` serves it. A fresh registry when absent. */
  metrics?: MetricsRegistry;
}

/** What `ingestRoutes` leaves for its caller (tests, the composition root). */
export interface IngestHandle {
  metrics: IngestMetrics;
  denyList: DenyList;
  /** Resolves once the worker threads are up; until then bodies are processed on the main thread. */
  threadsReady: () => Promise<void>;
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, content-encoding',
  'access-control-expose-headers': 'retry-after',
  'access-control-max-age': '86400',
};

/**
 * `POST /v1/batch` and `POST /v1/events` (write key), `POST /v1/privacy/delete` (admin key),
 * `GET /docs/openapi.json`, `GET /metrics`. Each event is validated on its own; valid ones are
 * published, invalid ones answered per index and kept in the deadletter topic. The answer is 2xx
 * only once the bus has durably accepted everything (accepted events and dead letters alike).
 */
export async function ingestRoutes(app: FastifyInstance, deps: IngestDeps): Promise<IngestHandle> {
  const opts: IngestOptions = { ...DEFAULT_INGEST_OPTIONS, ...deps.options };
  const now = deps.now ?? Date.now;
  const registry = deps.metrics ?? new MetricsRegistry();
  // fastify's logger is the service's pino logger (see buildHttp).
  const log = app.log as unknown as Logger;
  const m = ingestMetrics(registry);
  const limiter = new RateLimiter({
    ratePerSecond: opts.rateLimit.eventsPerSecond,
    // A bucket smaller than a batch would refuse that batch forever.
    burst: Math.max(opts.rateLimit.burst, opts.maxEvents),
    now,
  });
  const denyList = new DenyList(deps.dataDir ? denyListFile(deps.dataDir) : undefined);
  if (opts.denyList) {
    await denyList.start({ bus: deps.bus, topic: deps.topics.identities, logger: log });
    app.addHook('onClose', async () => denyList.stop());
  }
  m.denyListIds.set(denyList.size);
  const processor = startBodyProcessor({
    threads: opts.threads,
    limits: { maxEvents: opts.maxEvents, maxBodyBytes: opts.maxBodyBytes },
    normaliser: { channels: opts.channels, defaultPhoneCountryCode: opts.defaultPhoneCountryCode, maxFutureMs: opts.maxFutureMs, experiments: opts.experiments },
    denied: denyList.snapshot(),
    logger: log,
    onUnknown: (field, value, n) => m.unknownChannelValues.inc({ field, value }, n),
  });
  denyList.onChange((ids) => processor.deny(ids));
  app.addHook('onClose', async () => processor.close());
  let inFlight = 0;

  const keyDigests = new WeakMap<object, string>();
  const fail = (reply: FastifyReply, status: number, error: ErrorResponse['error'], message: string) => reply.code(status).send({ error, message });

  const authorise = (need: Role) => async (req: FastifyRequest, reply: FastifyReply) => {
    const query = req.query as { writeKey?: unknown } | undefined;
    const fromQuery = need === 'write' && typeof query?.writeKey === 'string' ? query.writeKey : undefined;
    const key = keyFromAuthorization(req.headers.authorization) ?? fromQuery;
    const role = deps.keys.roleOf(key);
    if (!KeyRing.allows(role, need)) {
      m.requestsRejected.inc({ reason: 'unauthorized' });
      reply.header('www-authenticate', 'Bearer');
      return need === 'write'
        ? fail(reply, 401, 'unauthorized', 'send a write key as "Authorization: Bearer <key>" (or ?writeKey=<key> from sendBeacon)')
        : fail(reply, 401, 'unauthorized', 'send an admin key as "Authorization: Bearer <key>"');
    }
    if (need === 'write') {
      const digest = createHash('sha256').update(key!).digest('base64');
      keyDigests.set(req, digest);
      // Refuse an exhausted key before reading its body.
      if (!limiter.hasTokens(digest)) {
        m.requestsRejected.inc({ reason: 'rate_limited' });
        reply.header('retry-after', String(limiter.retryAfter(digest)));
        return fail(reply, 429, 'rate_limited', 'this write key is over its rate limit; resend after Retry-After seconds');
      }
    }
  };

  const accept = async (kind: RouteKind, req: FastifyRequest, reply: FastifyReply) => {
    const raw = req.body as RawBody | undefined;
    if (!raw || raw.body.length === 0) {
      m.requestsRejected.inc({ reason: 'bad_request' });
      return fail(reply, 400, 'bad_request', 'body is empty: send a JSON object with content-type application/json');
    }
    const receivedAt = now();
    let result;
    try {
      // Browsers send an Origin; their events may take the request's address and user agent. A
      // server relaying events would give its own, so those are taken from browsers only.
      const client = req.headers.origin ? { ip: req.ip, userAgent: req.headers['user-agent'] ?? '' } : undefined;
      result = await processor.process({ body: raw.body, encoding: raw.encoding, kind, receivedAt, client });
    } catch (err) {
      req.log.error({ err }, 'processing a body failed');
      return unavailable(reply, 'ingest could not process the batch; nothing was stored, resend after Retry-After seconds');
    }
    if (!result.ok) {
      m.requestsRejected.inc({ reason: result.reason });
      return fail(reply, result.status, result.error, result.message);
    }
    const taken = limiter.take(keyDigests.get(req) ?? '', result.events);
    if (!taken.ok) {
      m.eventsRejected.inc({ reason: 'rate_limited', field: '' }, result.events);
      m.requestsRejected.inc({ reason: 'rate_limited' });
      reply.header('retry-after', String(taken.retryAfterSeconds));
      return fail(reply, 429, 'rate_limited', `this write key is over its rate limit of ${opts.rateLimit.eventsPerSecond} events per second; resend after Retry-After seconds`);
    }
    let records = 0;
    for (const t of result.topics) records += t.records.length;
    if (records > 0) {
      if (inFlight + records > opts.maxInFlightEvents) {
        m.eventsRejected.inc({ reason: 'unavailable', field: '' }, result.events);
        return unavailable(reply, 'the event log is behind; nothing was stored, resend after Retry-After seconds');
      }
      const outcome = await publish(
        result.topics.map(({ topic, records: list }) => ({ topic: deps.topics[topic], records: list })),
        records,
      );
      if (outcome !== 'ok') {
        m.eventsRejected.inc({ reason: 'unavailable', field: '' }, result.events);
        if (outcome instanceof Error) req.log.error({ err: outcome }, 'publish failed; batch not accepted');
        return unavailable(
          reply,
          outcome === 'timeout'
            ? `the event log did not confirm within ${opts.publishTimeoutMs} ms; resend after Retry-After seconds (messageIds make the resend safe)`
            : 'the event log did not accept the batch; nothing was stored, resend after Retry-After seconds',
        );
      }
    }
    const { rejected, dropped, clamped, accepted: a } = result;
    for (const r of rejected) m.eventsRejected.inc({ reason: 'invalid', field: r.path });
    m.eventsAccepted.inc({ type: 'touch' }, a.touchpoints);
    m.eventsAccepted.inc({ type: 'conversion' }, a.conversions);
    m.eventsAccepted.inc({ type: 'identify' }, a.identities);
    m.eventsAccepted.inc({ type: 'cost' }, a.costs);
    if (dropped) m.eventsDropped.inc({ reason: 'privacy_deleted' }, dropped);
    if (clamped) m.clockClamped.inc(undefined, clamped);
    const accepted = result.events - rejected.length - dropped;
    const body: BatchResponse = dropped ? { accepted, rejected, dropped } : { accepted, rejected };
    return reply.code(rejected.length === result.events ? 400 : 200).send(body);
  };

  /**
   * Publishes and waits at most `publishTimeoutMs`. A publish that completes after the timeout is
   * durable although the client was answered 503 and will resend: the resend carries the same
   * messageIds (the client's, or the same content-derived ones), and every consumer deduplicates by
   * messageId, so the duplicate changes nothing downstream. Nothing is ever answered 2xx before
   * the bus confirmed it durable.
   */
  const publish = async (batches: Array<{ topic: string; records: BusRecord[] }>, records: number): Promise<'ok' | 'timeout' | Error> => {
    const t0 = performance.now();
    inFlight += records;
    m.inFlight.set(inFlight);
    const settled = deps.bus.publishMany(batches).then(
      () => {
        m.publishSeconds.observe((performance.now() - t0) / 1000);
        return 'ok' as const;
      },
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    );
    void settled.finally(() => {
      inFlight -= records;
      m.inFlight.set(inFlight);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), opts.publishTimeoutMs)));
    const outcome = await Promise.race([settled, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      m.publishTimeouts.inc();
      void settled.then((late) => m.publishLate.inc({ outcome: late === 'ok' ? 'durable' : 'failed' }));
    }
    return outcome;
  };

  const unavailable = (reply: FastifyReply, message: string) => {
    m.requestsRejected.inc({ reason: 'unavailable' });
    reply.header('retry-after', String(opts.retryAfterSeconds));
    return fail(reply, 503, 'unavailable', message);
  };

  // The event routes read their bodies as bytes: parsing happens where the events are processed.
  await app.register(async (events) => {
    events.removeContentTypeParser(['application/json', 'text/plain']);
    events.addContentTypeParser(['application/json', 'text/plain'], (req, payload, done) => {
      readRaw(req.headers, payload, opts.maxBodyBytes).then(
        (raw) => done(null, raw),
        (err: Error) => done(err, undefined),
      );
    });
    events.addHook('onError', async (_req, _reply, err) => {
      if (err instanceof BodyError) m.requestsRejected.inc({ reason: err.code });
    });
    events.addHook('onSend', async (_req, reply, payload) => {
      reply.headers(CORS);
      return payload;
    });
    events.post('/v1/batch', { onRequest: authorise('write') }, (req, reply) => accept('batch', req, reply));
    events.post('/v1/events', { onRequest: authorise('write') }, (req, reply) => accept('event', req, reply));
    for (const url of ['/v1/batch', '/v1/events']) events.options(url, async (_req, reply) => reply.code(204).send());
  });

  app.post('/v1/privacy/delete', { onRequest: authorise('admin') }, async (req, reply) => {
    const parsed = PrivacyDeleteRequest.safeParse(req.body);
    if (!parsed.success) return fail(reply, 400, 'bad_request', `body: ${formatIssues(parsed.error)}`);
    try {
      const result = await forget(parsed.data, {
        bus: deps.bus,
        topics: deps.topics,
        denyList,
        storedId: (id) => pseudonymiseId(id, opts.defaultPhoneCountryCode),
        warehouse: typeof deps.warehouse === 'function' ? await deps.warehouse() : deps.warehouse,
        pipeline: deps.pipeline,
        drainTimeoutMs: opts.drainTimeoutMs,
        logger: req.log as unknown as Logger,
        now,
      });
      m.privacyDeletes.inc();
      m.denyListIds.set(denyList.size);
      return reply.code(200).send(result);
    } catch (err) {
      req.log.error({ err }, 'privacy delete failed');
      m.denyListIds.set(denyList.size);
      reply.header('retry-after', String(opts.retryAfterSeconds));
      return fail(
        reply,
        503,
        'unavailable',
        "the deletion did not complete (the event log or the warehouse failed); ingest already drops the person's events. Resend the same request: it is idempotent",
      );
    }
  });

  const openapi = JSON.stringify(openApiDocument({ maxEvents: opts.maxEvents, maxBodyBytes: opts.maxBodyBytes }));
  app.get('/docs/openapi.json', async (_req, reply) => reply.type('application/json; charset=utf-8').send(openapi));

  app.get('/metrics', async (_req, reply) => {
    m.inFlight.set(inFlight);
    m.denyListIds.set(denyList.size);
    return reply.type(PROMETHEUS_CONTENT_TYPE).send(registry.render());
  });

  return { metrics: m, denyList, threadsReady: () => processor.ready() };
}
