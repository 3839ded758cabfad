import { alertsOptionsFrom, startAlerts, type Alerts } from '@touchline/alerts';
import { attributorOptionsFrom, startAttributor } from '@touchline/attributor';
import { groupNames, topicNames, type TouchlineConfig } from '@touchline/contracts';
import { ingestOptionsFromConfig, ingestRoutes } from '@touchline/ingest';
import {
  KeyRing,
  buildHttp,
  openBus,
  openWarehouse,
  resolveKeys,
  type Bus,
  type Consumer,
  type Logger,
  type ResolvedKeys,
  type Warehouse,
} from '@touchline/platform';
import { Windows, probabilisticFromConfig, startStitcher } from '@touchline/stitcher';
import type { FastifyInstance } from 'fastify';
import { startDemoFeed } from './demo.js';
import { sqlRoute } from './sql-route.js';

export interface Touchline {
  app: FastifyInstance;
  bus: Bus;
  warehouse: Warehouse;
  keys: ResolvedKeys;
  alerts: Alerts;
  url: string;
  close(): Promise<void>;
}

/**
 * All four services in one process over one bus and one warehouse: the embedded deployment (or,
 * with KAFKA_BROKERS / CLICKHOUSE_URL set, the same process against Kafka and a ClickHouse server).
 */
export async function startTouchline(config: TouchlineConfig, logger: Logger): Promise<Touchline> {
  const topics = topicNames(config.TOUCHLINE_TOPIC_PREFIX);
  const groups = groupNames(config.TOUCHLINE_TOPIC_PREFIX);
  const keys = resolveKeys(config);
  const ring = new KeyRing(keys);
  const bus = await openBus(config, logger);
  const warehouse = await openWarehouse(config, logger);

  let consumers: Consumer[] = [];
  const app = buildHttp({
    logger,
    ready: async () => {
      const ping = await warehouse.client.ping();
      return { ok: ping.success && consumers.length > 0, detail: { bus: bus.kind, warehouse: warehouse.mode } };
    },
  });
  await app.register(async (scope) => {
    await ingestRoutes(scope, {
      bus,
      keys: ring,
      topics,
      warehouse,
      dataDir: config.TOUCHLINE_DATA_DIR,
      pipeline: { raw: [groups.stitcher, groups.warehouse], journeys: [groups.attributor] },
      options: ingestOptionsFromConfig(config),
    });
  });
  await app.register(async (scope) => sqlRoute(scope, { warehouse, keys: ring }));
  // Started side by side: joining a Kafka consumer group takes seconds each.
  const [alerts, stitcher, attributors] = await Promise.all([
    startAlerts({ bus, warehouse, logger, topics, groups, keys: ring, app, dataDir: config.TOUCHLINE_DATA_DIR, options: alertsOptionsFrom(config) }),
    startStitcher({ bus, logger, topics, groups, windows: Windows.fromConfig(config), maxTouchesPerJourney: config.TOUCHLINE_MAX_TOUCHES_PER_JOURNEY, probabilistic: probabilisticFromConfig(config) }),
    startAttributor({ bus, warehouse, logger, topics, groups, ...attributorOptionsFrom(config) }),
  ]);
  consumers = [stitcher.consumer, ...attributors, alerts.consumer];

  const address = await app.listen({ port: config.PORT, host: config.HOST });
  const url = address.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost');
  const stopDemo = config.TOUCHLINE_DEMO
    ? startDemoFeed({ app, writeKey: keys.write[0] ?? keys.admin[0]!, rate: config.TOUCHLINE_DEMO_RATE, logger })
    : undefined;

  return {
    app,
    bus,
    warehouse,
    keys,
    alerts,
    url,
    async close() {
      stopDemo?.();
      await app.close();
      await alerts.stop();
      for (const c of consumers) if (c !== alerts.consumer) await c.stop();
      await bus.close();
      await warehouse.close();
    },
  };
}
