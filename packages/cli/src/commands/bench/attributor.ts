import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { markovAttribution, mulberry32, parsePathsCsv, PathStats } from '@touchline/attribution';
import { ALL_MODELS, ATTRIBUTOR_DEFAULTS, AttributorState, StreamingAttributor, syntheticJourneyFeed, type AttributorPorts, type SyntheticFeed } from '@touchline/attributor';
import { JourneysTopicMessage, decodeMessage, topicNames } from '@touchline/contracts';
import { EmbeddedBus, silentLogger, type ConsumedRecord } from '@touchline/platform';
import { quantile, type BenchRow, type BenchStage } from '../bench.js';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const ANCHOR = join(ROOT, '..', 'shared', 'anchors', 'ChannelAttribution_Data.csv');
/** The attributor's stages alone in a process of their own (chdb binds one data directory per process). */
const PROCESS = join(ROOT, 'services', 'attributor', 'test', 'fixtures', 'attributor-process.ts');

/**
 * The kill -9 drill runs the cadence of the crash test: snapshots every 150 ms or 500 journeys and
 * only 500 journeys kept in memory, so that kills land in refits, restatements and read-backs.
 */
const DRILL_OPTIONS = { recomputeEveryMs: 150, recomputeEveryConversions: 500, restateThreshold: 0.02, minConversions: 50, minNullPaths: 50, maxRetainedJourneys: 500 };

const median = (xs: number[]) => quantile(xs, 0.5);

/** Equal view rows: the same keys, numbers within 1e-9 relative (sums may be added in another order). */
function sameRow(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return a === b;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return Object.keys(ra).every((k) => {
    const x = ra[k];
    const y = rb[k];
    return typeof x === 'number' && typeof y === 'number' ? Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x)) : x === y;
  });
}

function feedOf(events: number): SyntheticFeed {
  // About 3.6 events per conversion and 2.6 per null path in this feed.
  const conversions = Math.round(events / 6.2);
  return syntheticJourneyFeed({ conversions, nullPaths: conversions, seed: 42, days: 21 });
}

/** The exact Markov solve on ChannelAttribution's data set, against reading and parsing the file. */
async function markovRows(quick: boolean, log: (l: string) => void): Promise<BenchRow[]> {
  const reps = quick ? 3 : 7;
  const parse: number[] = [];
  let stats = new PathStats();
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const parsed = parsePathsCsv(await readFile(ANCHOR, 'utf8'), ';');
    if (!parsed.ok) throw new Error(`${ANCHOR}:${parsed.line}: ${parsed.error}`);
    stats = PathStats.fromRows(parsed.rows);
    parse.push(performance.now() - t0);
  }
  const rows: BenchRow[] = [];
  for (const order of [1, 2, 3]) {
    const times: number[] = [];
    let states = 0;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      states = markovAttribution(stats, { order }).stateCount;
      times.push(performance.now() - t0);
    }
    log(`markov order ${order}: ${states} states, median ${median(times).toFixed(1)} ms`);
    rows.push({
      metric: `exact Markov solve, order ${order} (${states} states), ChannelAttribution_Data.csv`,
      value: median(times),
      unit: 'ms',
      baseline: { what: 'read + parse the file into path statistics', value: median(parse) },
    });
  }
  return rows;
}

/** The handler alone, all eleven models, snapshots on the service's cadence; no I/O. */
async function handlerRows(feed: SyntheticFeed, log: (l: string) => void): Promise<BenchRow[]> {
  const records: ConsumedRecord[] = feed.messages.map((m, i) => ({ topic: 'journeys', partition: 0, offset: String(i), key: '', value: Buffer.from(JSON.stringify(m)), headers: {}, timestamp: 0 }));
  const decode = (rs: ConsumedRecord[]) =>
    rs.map((record) => {
      const d = decodeMessage(JourneysTopicMessage, record.value);
      if (!d.ok) throw new Error(d.reason);
      return { record, message: d.value };
    });
  const d0 = performance.now();
  for (let i = 0; i < records.length; i += 1000) decode(records.slice(i, i + 1000));
  const decodeMs = performance.now() - d0;

  let credited = 0;
  const discard: AttributorPorts = {
    writeCredits: async (credits) => {
      for (const c of credits) if (c.record.message.model === 'linear') credited++;
      return credits.reduce((n, c) => n + Math.max(1, c.record.message.shares.length), 0);
    },
    writeRestatements: async () => undefined,
    writeSnapshot: async () => undefined,
    readTargets: async () => new Map(),
    readBeliefs: async () => [],
    publishCredits: async () => undefined,
  };
  const state = new AttributorState({ models: ALL_MODELS, halfLifeDays: 7, ...ATTRIBUTOR_DEFAULTS });
  const attributor = new StreamingAttributor(state, discard, { recomputeEveryConversions: ATTRIBUTOR_DEFAULTS.recomputeEveryConversions, restateThreshold: ATTRIBUTOR_DEFAULTS.restateThreshold, restatementChunkRows: 50_000 }, silentLogger());
  const t0 = performance.now();
  for (let i = 0; i < records.length; i += 1000) {
    const batch = records.slice(i, i + 1000);
    await attributor.handle(decode(batch), { topic: 'journeys', partition: 0, records: batch });
  }
  const ms = performance.now() - t0;
  const s = attributor.status();
  log(`handler: ${credited} conversions credited under 11 models in ${ms.toFixed(0)} ms; ${s.snapshots} snapshots, ${s.restated} credits restated`);
  return [
    {
      metric: `conversions credited per second, handler only, all 11 models, ${s.snapshots} model snapshots (${feed.events.toLocaleString('en')}-event feed)`,
      value: credited / (ms / 1000),
      unit: 'conv/s',
      baseline: { what: 'decoding the same records (JSON + zod)', value: credited / (decodeMs / 1000) },
    },
  ];
}

interface ChildRun {
  creditedMs?: number;
  settledMs?: number;
  killedAt?: number;
  report?: { rows: number; distinctRows: number; inexactSums: number; digest: string; roiChannel: unknown[]; roiCampaign: unknown[] };
}

/**
 * Runs the attributor's stages in a process of their own until they report, or kills them once
 * `killAt` journey records are committed (`Infinity`: once everything is credited).
 */
function runProcess(dir: string, options: object, killAt?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', PROCESS, dir, ...(killAt === undefined ? ['--report'] : []), '--options', JSON.stringify(options)];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = {};
    let out = '';
    let err = '';
    let killing = false;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        const [word, a] = line.split(' ');
        if (word === 'progress' && killAt !== undefined && !killing && Number(a) >= killAt) {
          killing = true;
          run.killedAt = Number(a);
          child.kill('SIGKILL');
        } else if (word === 'credited') {
          run.creditedMs = Number(a);
          if (killAt === Infinity && !killing) {
            killing = true;
            child.kill('SIGKILL');
          }
        } else if (word === 'settled') {
          run.settledMs = Number(a);
          if (killAt !== undefined && !killing) {
            killing = true;
            child.kill('SIGKILL');
          }
        } else if (word === 'report') run.report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ChildRun['report'];
      }
    });
    child.on('close', (code, signal) => {
      if ((killing && signal === 'SIGKILL') || (code === 0 && run.report)) resolve(run);
      else reject(new Error(`attributor process exited with ${code ?? signal}:\n${err}`));
    });
  });
}

async function prefill(feed: SyntheticFeed): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'touchline-bench-attributor-'));
  const topics = topicNames('touchline.');
  const bus = await EmbeddedBus.open({ dir: join(dir, 'log'), partitions: 4 });
  await bus.ensureTopics(Object.values(topics), 4);
  for (let i = 0; i < feed.messages.length; i += 2000) {
    await bus.publish(topics.journeys, feed.messages.slice(i, i + 2000).map((m) => ({ key: m.kind === 'journey' ? m.conversion.conversionId : m.personId, value: JSON.stringify(m) })));
  }
  await bus.publish(topics.costs, feed.costs.map((c) => ({ key: c.messageId, value: JSON.stringify(c) })));
  await bus.close();
  return dir;
}

/** A bare consumer reading the prefilled journeys topic: the floor under the end-to-end rate. */
async function drainMs(dir: string): Promise<number> {
  const topic = topicNames('touchline.').journeys;
  const bus = await EmbeddedBus.open({ dir: join(dir, 'log'), partitions: 4 });
  let total = 0;
  for (const end of (await bus.endOffsets(topic)).values()) total += Number(end);
  let seen = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const t0 = performance.now();
  const consumer = await bus.consume({
    groupId: `bench-drain-${randomUUID()}`,
    topics: [topic],
    commit: false,
    fromBeginning: true,
    handler: async (batch) => {
      for (const r of batch.records) JSON.parse(r.value.toString('utf8'));
      seen += batch.records.length;
      if (seen >= total) done();
    },
  });
  await finished;
  const ms = performance.now() - t0;
  await consumer.stop();
  await bus.close();
  return ms;
}

const stage: BenchStage = {
  describe: 'attributor: credit under all 11 models (handler, end to end into ClickHouse), kill -9 drill, exact Markov',
  async run({ quick, log }) {
    const events = quick ? 20_000 : 100_000;
    const feed = feedOf(events);
    const journeys = feed.journeys.size;
    log(`feed: ${feed.events.toLocaleString('en')} events → ${feed.messages.length.toLocaleString('en')} journey records (${journeys} conversions)`);
    const rows: BenchRow[] = [...(await markovRows(quick, log)), ...(await handlerRows(feed, log))];

    const dirs: string[] = [];
    try {
      const e2eDir = await prefill(feed);
      dirs.push(e2eDir);
      const drain = await drainMs(e2eDir);
      const e2e = await runProcess(e2eDir, ATTRIBUTOR_DEFAULTS, Infinity);
      log(`end to end: every journey credited in ${e2e.creditedMs} ms`);
      rows.push({
        metric: `conversions credited per second end to end (embedded log → attributor → ClickHouse, durable; service defaults), ${journeys} conversions`,
        value: journeys / (e2e.creditedMs! / 1000),
        unit: 'conv/s',
        baseline: { what: 'bare consumer reading the same topic', value: journeys / (drain / 1000) },
      });
      if (!quick) {
        const [plainDir, crashDir] = [await prefill(feed), await prefill(feed)];
        dirs.push(plainDir, crashDir);
        const plain = await runProcess(plainDir, DRILL_OPTIONS);
        const rng = mulberry32(Date.now() % 100_000);
        const kills: number[] = [];
        for (let k = 0; k < 3; k++) {
          const run = await runProcess(crashDir, DRILL_OPTIONS, Math.floor(((k + rng()) / 4) * feed.messages.length));
          kills.push(run.killedAt ?? -1);
        }
        const crashed = (await runProcess(crashDir, DRILL_OPTIONS)).report!;
        const p = plain.report!;
        log(`kill -9 at journey records ${kills.join(', ')} of ${feed.messages.length}`);
        const differing = (a: unknown[], b: unknown[]) => a.filter((x, i) => !sameRow(x, b[i])).length + Math.abs(a.length - b.length);
        rows.push(
          { metric: 'drill cadence (150 ms timer, 500 journeys, threshold 0.02): feed start → credit settled on the final snapshot', value: plain.settledMs! / 1000, unit: 's' },
          { metric: `kill -9 drill (${events.toLocaleString('en')} events, 3 kills): credit rows doubled`, value: crashed.rows - crashed.distinctRows, unit: 'rows' },
          { metric: 'kill -9 drill: conversion × model credits not summing to exactly 1', value: crashed.inexactSums + p.inexactSums, unit: 'credits' },
          { metric: 'kill -9 drill: current credit identical to the uninterrupted run (digest)', value: crashed.digest === p.digest ? 1 : 0, unit: '1 = yes' },
          { metric: 'kill -9 drill: ROI view rows differing from the uninterrupted run', value: differing(crashed.roiChannel, p.roiChannel) + differing(crashed.roiCampaign, p.roiCampaign), unit: 'rows' },
        );
      }
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
    return rows;
  },
};
export default stage;
