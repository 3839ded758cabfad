import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { topicNames } from '@touchline/contracts';
import { EmbeddedBus, buildHttp, silentLogger } from '@touchline/platform';
import { BenchUsageError } from '../src/commands/bench.js';
import { benchBatch, parseIngestFlags } from '../src/commands/bench/ingest.js';
import { floorRoutes } from '../src/commands/bench/ingest-floor.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('bench ingest flags', () => {
  it('chooses the server and refuses what it does not know', () => {
    expect(parseIngestFlags(new Map([['server', 'floor']]))).toEqual({ server: 'floor' });
    expect(parseIngestFlags(undefined)).toEqual({});
    expect(() => parseIngestFlags(new Map([['server', 'fast']]))).toThrow(/--server: ingest \(the default\) or floor/);
    expect(() => parseIngestFlags(new Map([['rounds', '3']]))).toThrow(BenchUsageError);
    expect(() => parseIngestFlags(new Map([['rounds', '3']]))).toThrow(/unknown flag --rounds; flags: --server/);
  });
});

describe('the floor server of the ingest bench', () => {
  it('writes each event of a batch to the log as its JSON, durably before the 200, and wants the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-floor-'));
    dirs.push(dir);
    const topics = topicNames('floor.');
    const bus = await EmbeddedBus.open({ dir, partitions: 4 });
    await bus.ensureTopics([topics.touchpoints], 4);
    const app = buildHttp({ logger: silentLogger() });
    const end = await floorRoutes(app, { bus, topics, writeKey: 'k', threads: 2, maxBodyBytes: 1024 * 1024 });
    const batch = benchBatch(3);
    const payload = JSON.stringify({ batch });
    const headers = { 'content-type': 'application/json' };
    expect((await app.inject({ method: 'POST', url: '/v1/batch', headers: { ...headers, authorization: 'Bearer wrong' }, payload })).statusCode).toBe(401);
    const ok = await app.inject({ method: 'POST', url: '/v1/batch', headers: { ...headers, authorization: 'Bearer k' }, payload });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ accepted: batch.length });

    const ends = await bus.endOffsets(topics.touchpoints);
    const total = [...ends.values()].reduce((s, o) => s + Number(o), 0);
    expect(total).toBe(batch.length);
    const seen = new Map<string, string>();
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const c = await bus.consume({
      groupId: 'floor-check',
      topics: [topics.touchpoints],
      commit: false,
      handler: async (b) => {
        for (const r of b.records) seen.set(r.key!, r.value.toString());
        if (seen.size === batch.length) done();
      },
    });
    await all;
    await c.stop();
    for (const e of batch as Array<{ messageId: string }>) expect(seen.get(e.messageId)).toBe(JSON.stringify(e));
    await app.close();
    await end();
    await bus.close();
  });
});
