import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenericContainer, Wait, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { ALL_MODELS } from '@touchline/attributor';
import { loadConfig, silentLogger } from '@touchline/platform';
import { startTouchline, type Touchline } from '../../packages/cli/src/embedded.js';

/**
 * Cluster mode against real images: Apache Kafka (KRaft) and ClickHouse server. Needs a Docker
 * engine; where there is none the suite reports itself as skipped, loudly.
 */
async function dockerAvailable(): Promise<string | undefined> {
  try {
    await Promise.race([getContainerRuntimeClient(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 5000))]);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const noDocker = await dockerAvailable();
if (noDocker) {
  console.warn(`\n*** SKIPPED cluster.integration (real Kafka + ClickHouse images): no Docker engine here (${noDocker.split('\n')[0]}) ***\n`);
}

describe.skipIf(noDocker !== undefined)('cluster mode on real Kafka and ClickHouse', () => {
  let kafka: StartedTestContainer;
  let clickhouse: StartedTestContainer;
  let touchline: Touchline;
  const admin = 'admin-key';
  const write = 'write-key';

  beforeAll(async () => {
    [kafka, clickhouse] = await Promise.all([
      new GenericContainer('apache/kafka:3.9.1')
        .withExposedPorts({ container: 9092, host: 39092 })
        .withEnvironment({
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
          KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://localhost:39092',
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        })
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .start(),
      new GenericContainer('clickhouse/clickhouse-server:25.8')
        .withExposedPorts(8123)
        .withEnvironment({ CLICKHOUSE_USER: 'touchline', CLICKHOUSE_PASSWORD: 'secret', CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT: '1' })
        .withWaitStrategy(Wait.forHttp('/ping', 8123))
        .start(),
    ]);
    const config = loadConfig(
      {
        PORT: '0',
        HOST: '127.0.0.1',
        KAFKA_BROKERS: 'localhost:39092',
        CLICKHOUSE_URL: `http://${clickhouse.getHost()}:${clickhouse.getMappedPort(8123)}`,
        CLICKHOUSE_USER: 'touchline',
        CLICKHOUSE_PASSWORD: 'secret',
        TOUCHLINE_WRITE_KEYS: write,
        TOUCHLINE_ADMIN_KEYS: admin,
        TOUCHLINE_TOPIC_PREFIX: `it-${randomUUID().slice(0, 6)}.`,
        TOUCHLINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'touchline-it-')),
      },
      tmpdir(),
    );
    touchline = await startTouchline(config, silentLogger());
  }, 240_000);

  afterAll(async () => {
    await touchline?.close();
    await kafka?.stop();
    await clickhouse?.stop();
  });

  it('credits a journey end to end', async () => {
    const person = `p-${randomUUID()}`;
    const base = Date.parse('2026-11-01T09:00:00Z');
    const res = await fetch(`${touchline.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${write}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [
          { type: 'touch', anonymousId: person, interaction: 'click', channel: 'linkedin', timestamp: base },
          { type: 'touch', anonymousId: person, interaction: 'click', channel: 'google_ads', timestamp: base + 3_600_000 },
          { type: 'conversion', anonymousId: person, conversionId: `${person}-c`, name: 'deal', value: 1000, timestamp: base + 7_200_000 },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const deadline = Date.now() + 60_000;
    let rows: Array<{ model: string; weight: number }> = [];
    while (Date.now() < deadline) {
      rows = await touchline.warehouse.query(`SELECT model, weight FROM touchline.credits_current WHERE conversion_id = {c:String}`, { c: `${person}-c` });
      if (rows.length === 2 * ALL_MODELS.length) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(rows).toHaveLength(2 * ALL_MODELS.length);
    for (const model of ALL_MODELS) {
      expect(rows.filter((r) => r.model === model).reduce((s, r) => s + r.weight, 0)).toBeCloseTo(1, 12);
    }
  }, 90_000);
});
