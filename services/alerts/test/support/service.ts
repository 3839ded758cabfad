import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { decodeMessage, groupNames, topicNames } from '@touchline/contracts';
import { ingestRoutes } from '@touchline/ingest';
import { EmbeddedBus, KeyRing, Warehouse, buildHttp, migrate, silentLogger, type Bus } from '@touchline/platform';
import { startAlerts, type Alerts, type AlertsOptionsInput, type Fetch } from '../../src/index.js';

export const KEYS = { write: 'test-write', admin: 'test-admin', read: 'test-read' };
export const keyRing = new KeyRing({ write: [KEYS.write], admin: [KEYS.admin], read: [KEYS.read] });

/** One data directory, event log and embedded warehouse per test process (chdb binds one path per process). */
export async function openInfra(prefix = 'alerts-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const topics = topicNames('t.');
  const groups = groupNames('t.');
  const bus = await EmbeddedBus.open({ dir: join(dir, 'log'), partitions: 2 });
  await bus.ensureTopics(Object.values(topics), 2);
  const warehouse = await Warehouse.open({ path: join(dir, 'warehouse') });
  await migrate(warehouse);
  return { dir, topics, groups, bus, warehouse };
}
export type Infra = Awaited<ReturnType<typeof openInfra>>;

/** Ingest and alerts on one HTTP server, as in the embedded deployment. */
export async function startService(infra: Infra, opts: { options?: AlertsOptionsInput; now?: () => number; fetch?: Fetch } = {}) {
  const app = buildHttp({ logger: silentLogger() });
  await app.register(async (s) => {
    await ingestRoutes(s, { bus: infra.bus, keys: keyRing, topics: infra.topics, options: { denyList: false } });
  });
  const alerts: Alerts = await startAlerts({
    bus: infra.bus,
    warehouse: infra.warehouse,
    logger: silentLogger(),
    topics: infra.topics,
    groups: infra.groups,
    keys: keyRing,
    app,
    dataDir: infra.dir,
    options: { evaluateEveryMs: 3_600_000, ...opts.options },
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    app,
    alerts,
    url,
    ws: `${url.replace('http', 'ws')}/v1/stream`,
    async stop() {
      await app.close();
      await alerts.stop();
    },
  };
}

/** Every message on a topic so far, decoded; waits until at least `min` are there. */
export async function readTopic<T extends z.ZodType>(bus: Bus, topic: string, schema: T, min = 0, timeoutMs = 5000): Promise<Array<z.infer<T>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const end = await bus.endOffsets(topic);
    const total = [...end.values()].reduce((s, o) => s + Number(o), 0);
    if (total >= min || Date.now() > deadline) {
      if (total === 0) return [];
      const out: Array<z.infer<T>> = [];
      let done!: () => void;
      const all = new Promise<void>((r) => (done = r));
      let seen = 0;
      const c = await bus.consume({
        groupId: `reader-${Math.random()}`,
        topics: [topic],
        commit: false,
        handler: async (b) => {
          for (const r of b.records) {
            const d = decodeMessage(schema, r.value);
            if (!d.ok) throw new Error(`undecodable record on ${topic}: ${d.reason}`);
            out.push(d.value);
          }
          seen += b.records.length;
          if (seen >= total) done();
        },
      });
      await all;
      await c.stop();
      return out;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function post(url: string, path: string, body: unknown, key: string) {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

/** Polls `probe` until it returns something other than undefined/false. */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
