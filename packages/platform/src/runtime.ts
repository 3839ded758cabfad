import { join } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { groupNames, topicNames, type GroupMap, type TopicMap, type TouchlineConfig } from '@touchline/contracts';
import { KeyRing } from './auth.js';
import { EmbeddedBus } from './bus/embedded/index.js';
import { KafkaBus } from './bus/kafka.js';
import type { Bus } from './bus/types.js';
import { loadConfig } from './config.js';
import { resolveKeys } from './keys.js';
import { createLogger, type Logger } from './logger.js';
import { Warehouse, redactUrl } from './warehouse/client.js';
import { migrate } from './warehouse/migrate.js';

/** Kafka when KAFKA_BROKERS is set, else the embedded log under the data directory. */
export async function openBus(config: TouchlineConfig, logger: Logger): Promise<Bus> {
  const brokers = config.KAFKA_BROKERS ?? [];
  const bus: Bus =
    brokers.length > 0
      ? await KafkaBus.connect({
          brokers,
          clientId: config.KAFKA_CLIENT_ID,
          logger: logger.child({ component: 'kafka' }),
          consumer: { sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS, heartbeatInterval: config.KAFKA_HEARTBEAT_INTERVAL_MS },
        })
      : await EmbeddedBus.open({ dir: join(config.TOUCHLINE_DATA_DIR, 'log'), partitions: config.TOUCHLINE_PARTITIONS, logger });
  const topics = Object.values(topicNames(config.TOUCHLINE_TOPIC_PREFIX));
  await bus.ensureTopics(topics, config.TOUCHLINE_PARTITIONS);
  logger.info({ bus: bus.kind, ...(brokers.length ? { brokers } : {}) }, 'event log ready');
  return bus;
}

/** A ClickHouse server when CLICKHOUSE_URL is set, else the embedded engine; migrated. */
export async function openWarehouse(config: TouchlineConfig, logger: Logger): Promise<Warehouse> {
  const wh = await Warehouse.open({
    url: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    path: join(config.TOUCHLINE_DATA_DIR, 'warehouse'),
    logger,
  });
  await migrate(wh, logger);
  logger.info({ warehouse: wh.mode, ...(config.CLICKHOUSE_URL ? { url: redactUrl(config.CLICKHOUSE_URL) } : {}) }, 'warehouse ready');
  return wh;
}

export interface HttpOptions {
  logger: Logger;
  bodyLimit?: number;
  ready?: () => Promise<{ ok: boolean; detail?: Record<string, unknown> }>;
}

/** The HTTP app shell every service shares: JSON errors, `/healthz` and `/readyz`. */
export function buildHttp(opts: HttpOptions): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: opts.logger.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? 512 * 1024,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: true,
  });
  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    const message =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'body too large: split the batch'
        : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'send JSON with content-type application/json'
          : status >= 500
            ? 'internal error'
            : err.message;
    void reply.code(status).send({ error: status === 413 ? 'payload_too_large' : status >= 500 ? 'internal' : 'bad_request', message });
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = opts.ready ? await opts.ready() : { ok: true };
    return reply.code(r.ok ? 200 : 503).send({ status: r.ok ? 'ready' : 'not_ready', ...r.detail });
  });
  return app;
}

export interface StandaloneContext {
  config: TouchlineConfig;
  logger: Logger;
  bus: Bus;
  topics: TopicMap;
  groups: GroupMap;
  keys: KeyRing;
  warehouse: () => Promise<Warehouse>;
  /** The service's HTTP app, listening on PORT once setup returns. */
  http: () => Promise<FastifyInstance>;
}

/**
 * Runs one service alone (cluster mode): config, logger, bus, warehouse on demand, HTTP on demand,
 * and an orderly shutdown on SIGTERM/SIGINT (stop consuming, finish the batch in flight, close).
 */
export async function runStandalone(name: string, setup: (ctx: StandaloneContext) => Promise<() => Promise<void>>): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, `touchline-${name}`);
  const bus = await openBus(config, logger);
  const k = resolveKeys(config);
  let wh: Warehouse | undefined;
  let app: FastifyInstance | undefined;
  const ctx: StandaloneContext = {
    config,
    logger,
    bus,
    topics: topicNames(config.TOUCHLINE_TOPIC_PREFIX),
    groups: groupNames(config.TOUCHLINE_TOPIC_PREFIX),
    keys: new KeyRing(k),
    warehouse: async () => (wh ??= await openWarehouse(config, logger)),
    http: async () => (app ??= buildHttp({ logger })),
  };
  const stop = await setup(ctx);
  if (app) await app.listen({ port: config.PORT, host: config.HOST });
  logger.info({ service: name }, 'started');
  onShutdown(logger, async () => {
    await app?.close();
    await stop();
    await bus.close();
    await wh?.close();
  });
}

/** Calls `close` once on SIGTERM or SIGINT, then exits; a second signal exits at once. */
export function onShutdown(logger: Logger, close: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: string) => {
    if (closing) process.exit(1);
    closing = true;
    logger.info({ signal }, 'shutting down');
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => handler('SIGTERM'));
  process.once('SIGINT', () => handler('SIGINT'));
}
