import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topicNames } from '@touchline/contracts';
import { EmbeddedBus, KeyRing, buildHttp, silentLogger, type Bus } from '@touchline/platform';
import { ingestRoutes } from '../src/index.js';
import { readAll as readRecords } from './helpers.js';

const topics = topicNames('t.');
const keys = new KeyRing({ write: ['w1'], admin: ['a1'], read: ['r1'] });

async function appWith(bus: Bus) {
  const app = buildHttp({ logger: silentLogger() });
  await app.register(async (s) => ingestRoutes(s, { bus, keys, topics }));
  return app;
}

const readAll = async (bus: Bus, topic: string): Promise<string[]> => (await readRecords(bus, topic)).map((r) => r.value.toString());

describe('ingest routes', () => {
  let dir: string;
  let bus: EmbeddedBus;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ingest-'));
    bus = await EmbeddedBus.open({ dir, partitions: 2 });
  });
  afterEach(async () => {
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (app: Awaited<ReturnType<typeof appWith>>, payload: unknown, auth = 'Bearer w1', url = '/v1/batch') =>
    app.inject({ method: 'POST', url, headers: { authorization: auth, 'content-type': 'application/json' }, payload: payload as object });

  it('accepts valid events beside invalid ones, answers per index, dead-letters the bad', async () => {
    const app = await appWith(bus);
    const res = await post(app, {
      batch: [
        { type: 'touch', anonymousId: 'a', interaction: 'click', timestamp: 1_700_000_000_000 },
        { type: 'touch', anonymousId: 'a', interaction: 'teleport', timestamp: 1_700_000_000_000 },
        { type: 'conversion', userId: 'u', conversionId: 'c1', name: 'deal', value: 5, timestamp: '2026-01-01T00:00:00Z' },
      ],
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected).toHaveLength(1);
    expect(body.rejected[0]).toMatchObject({ index: 1, path: 'interaction' });
    expect(body.rejected[0].reason).toMatch(/interaction/);
    expect(await readAll(bus, topics.touchpoints)).toHaveLength(1);
    expect(await readAll(bus, topics.conversions)).toHaveLength(1);
    const dead = await readAll(bus, topics.deadletter);
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0]!).reason).toMatch(/interaction/);
  });

  it('refuses a missing or wrong key with 401 and publishes nothing', async () => {
    const app = await appWith(bus);
    const ev = { batch: [{ type: 'touch', anonymousId: 'a', interaction: 'click', timestamp: 1 }] };
    expect((await post(app, ev, '')).statusCode).toBe(401);
    expect((await post(app, ev, 'Bearer nope')).statusCode).toBe(401);
    expect((await post(app, ev, 'Bearer r1')).statusCode).toBe(401);
    expect(await readAll(bus, topics.touchpoints)).toHaveLength(0);
    // Basic auth with the key as user name works.
    expect((await post(app, ev, `Basic ${Buffer.from('w1:').toString('base64')}`)).statusCode).toBe(200);
  });

  it('answers malformed JSON with 400, an oversized body with 413, an empty batch with 400', async () => {
    const app = await appWith(bus);
    const bad = await app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: 'Bearer w1', 'content-type': 'application/json' }, payload: '{"batch": [' });
    expect(bad.statusCode).toBe(400);
    const big = await post(app, { batch: [{ type: 'touch', anonymousId: 'a', interaction: 'click', timestamp: 1, url: 'x'.repeat(600 * 1024) }] });
    expect(big.statusCode).toBe(413);
    expect(big.json().message).toMatch(/too large/);
    const empty = await post(app, { batch: [] });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toMatch(/batch/);
  });

  it('answers 503 with Retry-After when the bus does not accept, and never 2xx', async () => {
    const failing: Bus = Object.assign(Object.create(bus) as Bus, {
      publishMany: async () => {
        throw new Error('disk full');
      },
    });
    const app = await appWith(failing);
    const res = await post(app, { batch: [{ type: 'touch', anonymousId: 'a', interaction: 'click', timestamp: 1 }] });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
  });

  it('takes a single event on /v1/events', async () => {
    const app = await appWith(bus);
    const res = await post(app, { type: 'identify', userId: 'u', traits: { email: 'x@y.example' }, timestamp: 1 }, 'Bearer w1', '/v1/events');
    expect(res.statusCode).toBe(200);
    const ids = await readAll(bus, topics.identities);
    expect(ids).toHaveLength(1);
    expect(ids[0]).not.toContain('x@y.example');
  });
});
