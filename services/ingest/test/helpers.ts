import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelName } from '@touchline/attribution';
import { startAttributor } from '@touchline/attributor';
import { groupNames, topicNames } from '@touchline/contracts';
import { EmbeddedBus, KeyRing, Warehouse, buildHttp, migrate, silentLogger, type Bus, type ConsumedRecord, type Consumer } from '@touchline/platform';
import { Windows, startStitcher } from '@touchline/stitcher';
import { ingestRoutes, type IngestDeps, type IngestHandle } from '../src/index.js';

export const topics = topicNames('t.');
export const groups = groupNames('t.');
export const keys = new KeyRing({ write: ['w1'], admin: ['a1'], read: ['r1'] });

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The ingest app as services compose it, with its handle (metrics, deny list) for assertions. */
export async function ingestApp(bus: Bus, extra: Partial<IngestDeps> = {}) {
  const app = buildHttp({ logger: silentLogger() });
  let handle!: IngestHandle;
  await app.register(async (s) => {
    handle = await ingestRoutes(s, { bus, keys, topics, ...extra });
  });
  await app.ready();
  // Tests that ask for threads exercise them, not the inline start-up path.
  await handle.threadsReady();
  return { app, handle };
}

/** Every record of a topic so far. */
export async function readAll(bus: Bus, topic: string): Promise<ConsumedRecord[]> {
  const end = await bus.endOffsets(topic);
  const total = [...end.values()].reduce((s, o) => s + Number(o), 0);
  const seen: ConsumedRecord[] = [];
  if (total === 0) return seen;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const c = await bus.consume({
    groupId: `reader-${Math.random()}`,
    topics: [topic],
    commit: false,
    handler: async (b) => {
      seen.push(...b.records);
      if (seen.length >= total) done();
    },
  });
  await all;
  await c.stop();
  return seen;
}

/** Polls until `probe` gives a value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The pipeline behind ingest on an embedded log and warehouse: stitcher and attributor running on
 * a fresh temp directory (or on `reopen`, the directory of a pipeline stopped with `keep`, as a
 * restart would). `stop()` shuts everything down and removes the directory unless told to keep it.
 */
export async function startPipeline(prefix: string, models: ModelName[], reopen?: string) {
  const dir = reopen ?? tempDir(prefix);
  const bus = await EmbeddedBus.open({ dir: join(dir, 'log'), partitions: 2 });
  await bus.ensureTopics(Object.values(topics), 2);
  const wh = await Warehouse.open({ path: join(dir, 'warehouse') });
  await migrate(wh);
  const logger = silentLogger();
  const stitcher = await startStitcher({ bus, logger, topics, groups, windows: new Windows({ lookbackDays: 90, viewThroughDays: 1 }) });
  const attributors = await startAttributor({ bus, warehouse: wh, logger, topics, groups, halfLifeDays: 7, models });
  const consumers: Consumer[] = [stitcher.consumer, ...attributors];
  return {
    dir,
    bus,
    wh,
    stitcher,
    async stop(opts: { keep?: boolean } = {}) {
      for (const c of consumers) await c.stop();
      await bus.close();
      await wh.close();
      if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
