import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { groupNames, topicNames, type InputMessage, type TopicMap } from '@touchline/contracts';
import { KafkaBus, createLogger, silentLogger } from '@touchline/platform';
import { Windows, startStitcher, type Stitcher } from '../src/index.js';
import { LINKING, WINDOWS, feed, linkIds, publishFeed, readJourneys, readLinks, reference, referenceOutputs, summarise } from './fixtures/feed.js';
import { KAFKA_TEST_TUNING } from '../../../test/support/kafka-tuning.js';

/**
 * Several stitcher instances over the Kafka protocol (librdkafka's mock cluster, 4 partitions):
 * every instance holds the whole state, each publishes the outputs whose key hashes to a partition
 * it holds in the stitcher group, and ownership changes end in exactly one instance's journeys.
 */
const brokers = inject('kafkaBrokers');
const FIXTURE = fileURLToPath(new URL('./fixtures/stitcher-process.ts', import.meta.url));
/** The two tests run side by side; each keeps its own list of what to close. */
type Cleanups = Array<() => Promise<void>>;

async function cleanUp(cleanups: Cleanups): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
}

async function connect(cleanups: Cleanups, name: string): Promise<KafkaBus> {
  const bus = await KafkaBus.connect({ brokers: brokers.split(','), clientId: name, consumer: KAFKA_TEST_TUNING, topicReadyTimeoutMs: 10_000 });
  cleanups.push(() => bus.close());
  return bus;
}

async function instance(cleanups: Cleanups, prefix: string, linking = false): Promise<{ stitcher: Stitcher; stop: () => Promise<void> }> {
  const bus = await connect(cleanups, `stitcher-${randomUUID().slice(0, 6)}`);
  const logger = debug ? createLogger('info', 'stitcher') : silentLogger();
  const stitcher = await startStitcher({
    bus,
    logger,
    topics: topicNames(prefix),
    groups: groupNames(prefix),
    windows: new Windows(WINDOWS),
    ...(linking ? { probabilistic: LINKING } : {}),
  });
  const stop = async () => {
    await stitcher.consumer.stop();
    await bus.close();
  };
  cleanups.push(stop);
  return { stitcher, stop };
}

const debug = process.env.TOUCHLINE_KAFKA_TEST_LOG === '1';
const T0 = Date.now();

async function waitFor(cond: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  if (debug) console.log(`+${Date.now() - T0} ms waiting for ${what}`);
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every instance settled, and the stitcher group committed every input record. */
async function settled(bus: KafkaBus, prefix: string, stitchers: Stitcher[]): Promise<boolean> {
  const topics = topicNames(prefix);
  for (const s of stitchers) if (!(await s.caughtUp())) return false;
  for (const t of [topics.touchpoints, topics.conversions, topics.identities]) {
    const done = await bus.committedOffsets(groupNames(prefix).stitcher, t);
    for (const [p, o] of await bus.endOffsets(t)) if (o !== '0' && done.get(p) !== o) return false;
  }
  return true;
}

/**
 * A stitcher instance in its own process (killed with SIGKILL by the tests). `settledOwning` tells
 * whether it last reported itself settled while owning partitions (fixtures/stitcher-process.ts).
 */
function child(cleanups: Cleanups, args: string[]): { settledOwning: () => boolean; kill9: () => Promise<void> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const kill9 = async () => {
    proc.kill('SIGKILL');
    await exited;
  };
  cleanups.push(kill9);
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const settledOwning = () => {
    const lines = out.split('\n').filter((l) => l !== '');
    const owns = lines.findLast((l) => l.startsWith('partitions '));
    return lines[lines.length - 1] === 'caught-up' && owns !== undefined && owns !== 'partitions ';
  };
  return { settledOwning, kill9 };
}

async function expectJourneysOf(bus: KafkaBus, topics: TopicMap, events: InputMessage[], writers?: Map<string, number>, linking = false) {
  const emitted = await readJourneys(bus, topics.journeys, writers);
  const expected = reference(events, linking ? LINKING : undefined);
  if (linking) {
    // One record per link at least (a reconciliation may publish a link again), none the state lacks.
    const links = linkIds(await readLinks(bus, topics.identityLinks));
    expect(links.length).toBeGreaterThan(40);
    expect(links).toEqual(linkIds(referenceOutputs(events, LINKING)));
  }
  const byTopicOrder = summarise(emitted);
  const byVersion = summarise([...emitted].sort((a, b) => a.emittedAt - b.emittedAt));
  expect(byTopicOrder.journeys.size).toBeGreaterThan(80);
  expect(byTopicOrder.nullPaths.size).toBeGreaterThan(80);
  expect(byTopicOrder.journeys).toEqual(expected.journeys);
  expect(byTopicOrder.nullPaths).toEqual(expected.nullPaths);
  expect(byVersion.journeys).toEqual(expected.journeys);
  expect(byVersion.nullPaths).toEqual(expected.nullPaths);
}

describe.skipIf(!brokers)('stitcher instances on Kafka', () => {
  it.concurrent('two instances give the journeys of one, merges across partitions included; one leaving hands over to the other', async ({ onTestFinished }) => {
    const prefix = `inst-${randomUUID().slice(0, 8)}.`;
    const topics = topicNames(prefix);
    const cleanups: Cleanups = [];
    onTestFinished(() => cleanUp(cleanups));
    const bus = await connect(cleanups, 'feeder-a');
    await bus.ensureTopics(Object.values(topics), 4);
    // Kept small: librdkafka's mock cluster keeps only about 5 MiB per partition.
    const events = feed(700, 31);
    const [first, second, third] = [events.slice(0, 300), events.slice(300, 2400), events.slice(2400)];
    await publishFeed(bus, topics, first);

    const [a, b] = await Promise.all([instance(cleanups, prefix), instance(cleanups, prefix)]);
    await publishFeed(bus, topics, second);
    await waitFor(() => settled(bus, prefix, [a.stitcher, b.stitcher]), 'both instances settled');
    // The group split the partitions: each instance owns and published a share.
    const pa = a.stitcher.ownership.partitions;
    const pb = b.stitcher.ownership.partitions;
    expect(pa.length).toBeGreaterThan(0);
    expect(pb.length).toBeGreaterThan(0);
    expect([...pa, ...pb].sort()).toEqual([0, 1, 2, 3]);
    const writers = new Map<string, number>();
    await expectJourneysOf(bus, topics, [...first, ...second], writers);
    expect([...writers.values()].filter((n) => n > 50).length).toBe(2);

    // A leaves; B takes its partitions over, reconciles them, and goes on alone.
    await a.stop();
    await publishFeed(bus, topics, third);
    await waitFor(async () => b.stitcher.ownership.partitions.length === 4 && (await settled(bus, prefix, [b.stitcher])), 'B alone settled');
    await expectJourneysOf(bus, topics, events);
  }, 60_000);

  it.concurrent('an instance killed with SIGKILL mid-feed: the survivor takes over, journeys as one instance gives', async ({ onTestFinished }) => {
    const prefix = `kill-${randomUUID().slice(0, 8)}.`;
    const topics = topicNames(prefix);
    const cleanups: Cleanups = [];
    onTestFinished(() => cleanUp(cleanups));
    const bus = await connect(cleanups, 'feeder-b');
    await bus.ensureTopics(Object.values(topics), 4);
    const events = feed(700, 47);
    const [first, second, third] = [events.slice(0, 900), events.slice(900, 2200), events.slice(2200)];
    await publishFeed(bus, topics, first);

    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, 'kafka', brokers, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const b = await instance(cleanups, prefix);
    await waitFor(async () => out.includes('caught-up') && (await b.stitcher.caughtUp()) && b.stitcher.ownership.partitions.length < 4, 'both instances running');

    // Killed while the second part is being published and processed.
    const publishing = publishFeed(bus, topics, second, 100);
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGKILL');
    await exited;
    await publishing;
    await publishFeed(bus, topics, third);
    await waitFor(async () => b.stitcher.ownership.partitions.length === 4 && (await settled(bus, prefix, [b.stitcher])), 'survivor settled');
    await expectJourneysOf(bus, topics, events);
  }, 60_000);
  it.concurrent('probabilistic linking on: two instances publish the journeys and links of one; after a SIGKILL and a restart no link is missing', async ({ onTestFinished }) => {
    const prefix = `link-${randomUUID().slice(0, 8)}.`;
    const topics = topicNames(prefix);
    const cleanups: Cleanups = [];
    onTestFinished(() => cleanUp(cleanups));
    const bus = await connect(cleanups, 'feeder-c');
    await bus.ensureTopics(Object.values(topics), 4);
    const events = feed(700, 59, { linkable: true });
    const [first, second, third] = [events.slice(0, 600), events.slice(600, 2000), events.slice(2000)];
    await publishFeed(bus, topics, first);

    // Links found while an instance catches up are not published then; its reconciliation does.
    const killed = child(cleanups, ['kafka', brokers, prefix, 'linking']);
    const b = await instance(cleanups, prefix, true);
    await publishFeed(bus, topics, second);
    await waitFor(async () => killed.settledOwning() && (await settled(bus, prefix, [b.stitcher])) && b.stitcher.ownership.partitions.length < 4, 'both instances settled');
    const writers = new Map<string, number>();
    await expectJourneysOf(bus, topics, [...first, ...second], writers, true);
    expect([...writers.values()].filter((n) => n > 50).length).toBe(2);

    // Killed while the third part is being published; a new instance starts in its place.
    const publishing = publishFeed(bus, topics, third, 100);
    await new Promise((r) => setTimeout(r, 150));
    await killed.kill9();
    const restarted = child(cleanups, ['kafka', brokers, prefix, 'linking']);
    await publishing;
    await waitFor(
      async () => restarted.settledOwning() && (await settled(bus, prefix, [b.stitcher])) && b.stitcher.ownership.partitions.length < 4,
      'survivor and restarted instance settled',
      45_000,
    );
    await expectJourneysOf(bus, topics, events, undefined, true);
  }, 90_000);
});
