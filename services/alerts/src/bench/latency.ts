/**
 * Child process of the alerts bench (chdb binds one data directory per process): the alerts
 * service on an embedded log and warehouse, a WebSocket subscriber on `fraud`, and bursts of clicks
 * published on the touchpoints topic. Prints one JSON line: per trial, the time from the burst being
 * durable in the log to the fraud alert frame arriving, and the raw floor of the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { groupNames, topicNames, type TouchpointMessage } from '@touchline/contracts';
import { EmbeddedBus, KeyRing, Warehouse, buildHttp, migrate, silentLogger } from '@touchline/platform';
import { startAlerts } from '../index.js';

const trials = Number(process.argv[2] ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'touchline-bench-alerts-'));
try {
  const topics = topicNames('b.');
  const bus = await EmbeddedBus.open({ dir: join(dir, 'log'), partitions: 4 });
  await bus.ensureTopics(Object.values(topics), 4);
  const warehouse = await Warehouse.open({ path: join(dir, 'warehouse') });
  await migrate(warehouse);
  const app = buildHttp({ logger: silentLogger() });
  const alerts = await startAlerts({
    bus, warehouse, logger: silentLogger(), topics, groups: groupNames('b.'), keys: new KeyRing({ read: ['r'] }), app, dataDir: dir,
    options: { evaluateEveryMs: 3_600_000 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const ws = new WebSocket(`ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/stream?token=r`);
  await new Promise((r) => ws.once('open', r));
  const seen = new Map<string, number>();
  ws.on('message', (d) => {
    const f = JSON.parse(d.toString()) as { type: string; data: { campaign?: string } };
    if (f.type === 'fraud_spike' && f.data.campaign) seen.set(f.data.campaign, performance.now());
  });
  ws.send(JSON.stringify({ type: 'subscribe', channels: ['fraud'] }));
  await new Promise((r) => ws.once('message', r));

  const latencies: number[] = [];
  for (let t = 0; t < trials; t++) {
    const now = Date.now();
    const campaign = `bench-${t}`;
    const burst: TouchpointMessage[] = Array.from({ length: 25 }, (_, i) => ({
      v: 1, kind: 'touchpoint', messageId: `b${t}-${i}`, anonymousId: `b${t}-d${i}`, timestamp: now + i * 500, receivedAt: now, interaction: 'click',
      channel: 'paid_search', source: 'google', medium: 'cpc', campaign, content: '', term: '', clickId: '', clickIdType: '', url: '', referrer: '',
      cost: 0, consent: true, ip: `203.0.${t}.0`, userAgent: 'Mozilla/5.0 Bench', bot: false,
    }));
    await bus.publish(topics.touchpoints, burst.map((m) => ({ key: m.anonymousId!, value: JSON.stringify(m) })));
    const t0 = performance.now();
    while (!seen.has(campaign)) await new Promise((r) => setTimeout(r, 1));
    latencies.push(seen.get(campaign)! - t0);
  }

  // Floor: an fsynced publish, a consumer woken by it, and a one-row insert into the alerts table.
  const floor: number[] = [];
  let woke!: () => void;
  const reader = await bus.consume({ groupId: 'floor', topics: ['floor'], handler: async () => woke() });
  await bus.ensureTopics(['floor'], 1);
  for (let i = 0; i < trials; i++) {
    const t0 = performance.now();
    const got = new Promise<void>((r) => (woke = r));
    await bus.publish('floor', [{ key: 'k', value: 'x'.repeat(300) }]);
    await got;
    await warehouse.insertRows('touchline.alerts', [{ id: `floor-${i}`, ts: '2026-01-01 00:00:00.000', type: 'floor', severity: 'info', channel: '', campaign: '', model: '', summary: '', payload: '{}' }], `floor-${i}`);
    floor.push(performance.now() - t0);
  }
  await reader.stop();
  ws.close();
  await app.close();
  await alerts.stop();
  await bus.close();
  await warehouse.close();
  process.stdout.write(JSON.stringify({ latencies, floor }) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
