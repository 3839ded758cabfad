import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { JourneysTopicMessage, decodeMessage, groupNames, topicNames, type ConversionMessage, type IdentityMessage, type InputMessage, type TouchpointMessage } from '@touchline/contracts';
import { EmbeddedBus } from '@touchline/platform';
import { StitcherState, Windows, stitch } from '../src/index.js';

/**
 * kill -9 of the stitcher at random points of a long feed, then restarts: the journeys and null
 * paths it ends up emitting equal those of an uninterrupted run over the same events.
 */
const H = 3_600_000;
const T0 = Date.parse('2026-09-01T00:00:00Z');
const FIXTURE = fileURLToPath(new URL('./fixtures/stitcher-process.ts', import.meta.url));
const topics = topicNames('crash.');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function rng(seed: number) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

function feed(people: number, seed: number): InputMessage[] {
  const r = rng(seed);
  const out: InputMessage[] = [];
  const touch = (id: string, anonymousId: string, at: number): TouchpointMessage => ({
    v: 1, kind: 'touchpoint', messageId: id, anonymousId, timestamp: at, receivedAt: at, interaction: r() < 0.1 ? 'impression' : 'click',
    channel: ['email', 'paid_search', 'linkedin', 'events'][Math.floor(r() * 4)]!, source: '', medium: '', campaign: '', content: '', term: '',
    clickId: '', clickIdType: '', url: '', referrer: '', cost: 0, consent: true, ip: '', userAgent: '', bot: false,
  });
  for (let p = 0; p < people; p++) {
    const start = T0 + Math.floor(r() * 60 * 24) * H;
    const devices = 1 + Math.floor(r() * 3);
    for (let d = 0; d < devices; d++) {
      const anon = `p${p}-d${d}`;
      const n = 1 + Math.floor(r() * 5);
      for (let i = 0; i < n; i++) out.push(touch(`${anon}-t${i}`, anon, start + Math.floor(r() * 20 * 24) * H));
      if (r() < 0.7) out.push({ v: 1, kind: 'identity', messageId: `${anon}-id`, anonymousId: anon, userId: `u${p}`, ...(r() < 0.2 ? { accountId: `acct${p % 7}` } : {}), timestamp: start, receivedAt: start } satisfies IdentityMessage);
    }
    if (r() < 0.4) {
      const at = start + Math.floor(r() * 25 * 24) * H;
      out.push({ v: 1, kind: 'conversion', messageId: `p${p}-c-m`, conversionId: `p${p}-c`, userId: `u${p}`, timestamp: at, receivedAt: at, name: 'deal', value: 100, currency: 'EUR', consent: true, ...(r() < 0.3 ? { stage: 'opportunity' as const } : {}) } satisfies ConversionMessage);
    }
  }
  // Arrival order unrelated to event time.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const topicOf = (m: InputMessage) => (m.kind === 'touchpoint' ? topics.touchpoints : m.kind === 'conversion' ? topics.conversions : topics.identities);
const keyOf = (m: InputMessage) => ('userId' in m && m.userId) || ('anonymousId' in m && m.anonymousId) || m.messageId;

function summarise(outputs: Iterable<JourneysTopicMessage>) {
  const journeys = new Map<string, string>();
  const nullPaths = new Map<string, string>();
  for (const o of outputs) {
    if (o.kind === 'journey') journeys.set(o.conversion.conversionId, `${o.level}|${o.retracted}|${o.touches.map((t) => t.messageId).join(',')}`);
    else if (o.untouched === true) nullPaths.set(o.pathId, 'untouched');
    else if (o.touches.length === 0) nullPaths.delete(o.pathId);
    else nullPaths.set(o.pathId, o.touches.map((t) => t.messageId).join(','));
  }
  return { journeys, nullPaths };
}

async function runUntil(dir: string, killAfterMs: number | undefined): Promise<'killed' | 'caught-up'> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  if (killAfterMs !== undefined) {
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (out.includes('started')) {
          clearInterval(check);
          setTimeout(resolve, killAfterMs);
        }
      }, 10);
    });
    child.kill('SIGKILL');
    await exited;
    return 'killed';
  }
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (out.includes('caught-up')) {
        clearInterval(check);
        resolve();
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(check);
      if (!out.includes('caught-up')) reject(new Error(`stitcher exited with ${code}: ${err}`));
    });
  });
  child.kill('SIGTERM');
  await exited;
  return 'caught-up';
}

describe('stitcher under kill -9', () => {
  it('ends in the journeys of an uninterrupted run', async () => {
    const events = feed(3000, 11);
    const dir = mkdtempSync(join(tmpdir(), 'stitcher-crash-'));
    dirs.push(dir);
    const bus = await EmbeddedBus.open({ dir, partitions: 4 });
    for (let i = 0; i < events.length; i += 250) {
      const chunk = events.slice(i, i + 250);
      const byTopic = new Map<string, Array<{ key: string; value: string }>>();
      for (const m of chunk) {
        const list = byTopic.get(topicOf(m)) ?? [];
        list.push({ key: keyOf(m), value: JSON.stringify(m) });
        byTopic.set(topicOf(m), list);
      }
      await bus.publishMany([...byTopic].map(([topic, records]) => ({ topic, records })));
    }
    await bus.close();

    const r = rng(5);
    for (let k = 0; k < 4; k++) expect(await runUntil(dir, 200 + Math.floor(r() * 1200))).toBe('killed');
    expect(await runUntil(dir, undefined)).toBe('caught-up');

    // Read back everything the crashed and the final runs emitted.
    const reader = await EmbeddedBus.open({ dir, partitions: 4 });
    const end = await reader.endOffsets(topics.journeys);
    const total = [...end.values()].reduce((s, o) => s + Number(o), 0);
    const emitted: JourneysTopicMessage[] = [];
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    let seen = 0;
    const c = await reader.consume({
      groupId: 'crash-reader',
      topics: [topics.journeys],
      commit: false,
      handler: async (b) => {
        for (const rec of b.records) {
          const d = decodeMessage(JourneysTopicMessage, rec.value);
          if (!d.ok) throw new Error(d.reason);
          emitted.push(d.value);
        }
        seen += b.records.length;
        if (seen >= total) done();
      },
    });
    await all;
    await c.stop();
    const committed = await reader.committedOffsets(groupNames('crash.').stitcher, topics.touchpoints);
    await reader.close();
    expect([...committed.values()].reduce((s, o) => s + Number(o), 0)).toBe(events.filter((e) => e.kind === 'touchpoint').length);

    // Per partition the topic keeps emission order; a conversion's journeys share a partition.
    const reference = new StitcherState({ windows: new Windows({ lookbackDays: 30, viewThroughDays: 1 }) });
    const expected = summarise(events.flatMap((e) => stitch(reference, e)).filter((o) => o.kind !== 'identity_link'));
    const actual = summarise(emitted.sort((a, b) => a.emittedAt - b.emittedAt));
    expect(actual.journeys.size).toBeGreaterThan(500);
    expect(actual.journeys).toEqual(expected.journeys);
    expect(actual.nullPaths).toEqual(expected.nullPaths);
  }, 120_000);
});
