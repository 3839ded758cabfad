import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { groupNames, topicNames, type InputMessage } from '@touchline/contracts';
import { EmbeddedBus, KafkaBus, type Bus } from '@touchline/platform';
import { LINKING, feed, linkIds, publishFeed, readJourneys, readLinks, reference, referenceOutputs, rng, summarise } from './fixtures/feed.js';

/**
 * kill -9 of the stitcher at random points of a long feed, then restarts: the journeys and null
 * paths it ends up emitting equal those of an uninterrupted run over the same events. On the
 * embedded log with probabilistic linking on (every link of the uninterrupted run is on the
 * identity-links topic, and no other), and over the Kafka protocol (librdkafka's mock cluster).
 */
const FIXTURE = fileURLToPath(new URL('./fixtures/stitcher-process.ts', import.meta.url));
const brokers = inject('kafkaBrokers');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Child {
  /** Resolves when the process printed `line` (rejects if it exits first). */
  printed(line: string): Promise<void>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

function startChild(args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return {
    printed: (line) =>
      new Promise<void>((resolve, reject) => {
        const check = setInterval(() => {
          if (out.split('\n').includes(line)) {
            clearInterval(check);
            resolve();
          }
        }, 10);
        void exited.then((code) => {
          clearInterval(check);
          reject(new Error(`stitcher exited with ${code} before printing ${line}: ${err}`));
        });
      }),
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Runs `kills` stitcher processes, each killed with SIGKILL a random time after it started while
 * the next slice of the feed is being published, then one that runs until it caught up.
 */
async function killAndRestart(bus: Bus, args: string[], prefix: string, events: InputMessage[], kills: number, killWindowMs: [number, number], seed: number) {
  const topics = topicNames(prefix);
  const r = rng(seed);
  const slice = Math.ceil(events.length / (kills + 1));
  for (let k = 0; k <= kills; k++) {
    const t0 = Date.now();
    const child = startChild(args);
    await child.printed('started');
    if (process.env.STITCH_DEBUG) console.log(`run ${k}: started after ${Date.now() - t0} ms`);
    await publishFeed(bus, topics, events.slice(k * slice, (k + 1) * slice));
    if (k < kills) {
      await new Promise((resolve) => setTimeout(resolve, killWindowMs[0] + Math.floor(r() * (killWindowMs[1] - killWindowMs[0]))));
      await child.kill9();
    } else {
      await child.printed('caught-up');
      if (process.env.STITCH_DEBUG) console.log(`run ${k}: caught up after ${Date.now() - t0} ms`);
      await child.stop();
    }
  }
}

async function expectUninterrupted(bus: Bus, prefix: string, events: InputMessage[], linking = false) {
  const topics = topicNames(prefix);
  const emitted = await readJourneys(bus, topics.journeys);
  const expected = reference(events, linking ? LINKING : undefined);
  if (linking) {
    const links = linkIds(await readLinks(bus, topics.identityLinks));
    expect(links.length).toBeGreaterThan(300);
    expect(links).toEqual(linkIds(referenceOutputs(events, LINKING)));
  }
  // Per key in topic order (what a reader of the topic ends with) and by version (what the
  // attributor keeps): both must end in the uninterrupted run's outputs.
  const byTopicOrder = summarise(emitted);
  const byVersion = summarise([...emitted].sort((a, b) => a.emittedAt - b.emittedAt));
  expect(byTopicOrder.journeys.size).toBeGreaterThan(200);
  expect(byTopicOrder.nullPaths.size).toBeGreaterThan(200);
  expect(byTopicOrder.journeys).toEqual(expected.journeys);
  expect(byTopicOrder.nullPaths).toEqual(expected.nullPaths);
  expect(byVersion.journeys).toEqual(expected.journeys);
  expect(byVersion.nullPaths).toEqual(expected.nullPaths);
  const committed = await bus.committedOffsets(groupNames(prefix).stitcher, topics.touchpoints);
  expect([...committed.values()].reduce((s, o) => s + Number(o), 0)).toBe(events.filter((e) => e.kind === 'touchpoint').length);
}

describe('stitcher under kill -9', () => {
  it('ends in the journeys and links of an uninterrupted run, probabilistic linking on (embedded log)', async () => {
    const events = feed(3000, 11, { linkable: true });
    const dir = mkdtempSync(join(tmpdir(), 'stitcher-crash-'));
    dirs.push(dir);
    const prefix = 'crash.';
    // The embedded log belongs to one process at a time: publish it all first, then crash the stitcher over it.
    const bus = await EmbeddedBus.open({ dir, partitions: 4 });
    await publishFeed(bus, topicNames(prefix), events);
    await bus.close();
    await killAndRestart(bus, ['embedded', dir, prefix, 'linking'], prefix, [], 4, [200, 1400], 5);
    const reader = await EmbeddedBus.open({ dir, partitions: 4 });
    try {
      await expectUninterrupted(reader, prefix, events, true);
    } finally {
      await reader.close();
    }
  }, 120_000);

  it.skipIf(!brokers)('ends in the journeys of an uninterrupted run (Kafka protocol)', async () => {
    // Kept small: librdkafka's mock cluster keeps only about 5 MiB per partition.
    const events = feed(800, 23);
    const prefix = `crash-${randomUUID().slice(0, 8)}.`;
    const bus = await KafkaBus.connect({ brokers: brokers.split(','), clientId: 'crash-test', topicReadyTimeoutMs: 10_000 });
    try {
      await bus.ensureTopics(Object.values(topicNames(prefix)), 4);
      await killAndRestart(bus, ['kafka', brokers, prefix], prefix, events, 3, [300, 2500], 7);
      await expectUninterrupted(bus, prefix, events);
    } finally {
      await bus.close();
    }
  }, 120_000);
});
