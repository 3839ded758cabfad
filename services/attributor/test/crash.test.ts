import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '@touchline/attribution';
import { topicNames } from '@touchline/contracts';
import { EmbeddedBus } from '@touchline/platform';
import { syntheticJourneyFeed, type SyntheticFeed } from '../src/synthetic.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(here, '../../..');
const script = join(here, 'fixtures', 'attributor-process.ts');

/**
 * Events (touches and conversions) the journeys stand for. The criterion is a 100,000-event
 * feed; the test runs a quarter of it to stay within a minute on two cores
 * (`ATTRIBUTOR_CRASH_EVENTS=100000 npx vitest run services/attributor/test/crash.test.ts` runs it
 * in full).
 */
const EVENTS = Number(process.env.ATTRIBUTOR_CRASH_EVENTS ?? 25_000);
const KILLS = 4;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function sizedFeed(events: number): SyntheticFeed {
  // About 3.6 events per conversion and 2.6 per null path in this feed.
  const conversions = Math.round(events / 6.2);
  return syntheticJourneyFeed({ conversions, nullPaths: conversions, seed: 42, days: 21 });
}

async function prefill(feed: SyntheticFeed): Promise<string> {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'attributor-crash-'));
  dirs.push(dir);
  const topics = topicNames('touchline.');
  const bus = await EmbeddedBus.open({ dir: join(dir, 'log'), partitions: 4 });
  await bus.ensureTopics(Object.values(topics), 4);
  for (let i = 0; i < feed.messages.length; i += 2000) {
    await bus.publish(
      topics.journeys,
      feed.messages.slice(i, i + 2000).map((m) => ({ key: m.kind === 'journey' ? m.conversion.conversionId : m.personId, value: JSON.stringify(m) })),
    );
  }
  await bus.publish(topics.costs, feed.costs.map((c) => ({ key: c.messageId, value: JSON.stringify(c) })));
  await bus.close();
  return dir;
}

interface Report {
  rows: number;
  distinctRows: number;
  inexactSums: number;
  credits: number;
  conversions: number;
  perModel: Array<{ model: string; n: string }>;
  digest: string;
  roiChannel: Array<Record<string, number | string | null>>;
  roiCampaign: Array<Record<string, number | string | null>>;
  snapshot: unknown[];
  costRows: number;
  costLines: number;
}

interface Run {
  /** Journey records committed when the process was killed (undefined: it ran to the end). */
  killedAt?: number;
  report?: Report;
}

/** Runs the attributor process; kills it with SIGKILL once `killAtProgress` journey records are committed. */
function runChild(dir: string, opts: { killAtProgress?: number; delayMs?: number }): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const args = ['--import', 'tsx', script, dir, ...(opts.killAtProgress === undefined ? ['--report'] : [])];
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killing = false;
    let lastProgress = 0;
    const safety = setTimeout(() => child.kill('SIGKILL'), 110_000);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('progress ')) {
          lastProgress = Number(line.split(' ')[1]);
          if (opts.killAtProgress !== undefined && !killing && lastProgress >= opts.killAtProgress) {
            killing = true;
            setTimeout(() => child.kill('SIGKILL'), opts.delayMs ?? 0);
          }
        } else if (line.startsWith('settled') && opts.killAtProgress !== undefined && !killing) {
          killing = true;
          child.kill('SIGKILL');
        } else if (line === 'report') {
          reported = true;
          clearTimeout(safety);
          resolvePromise({ report: JSON.parse(fs.readFileSync(join(dir, 'report.json'), 'utf8')) as Report });
        }
      }
    });
    let reported = false;
    child.on('close', (code, signal) => {
      clearTimeout(safety);
      if (killing && signal === 'SIGKILL') resolvePromise({ killedAt: lastProgress });
      else if (!reported || code !== 0) reject(new Error(`attributor process exited with ${code ?? signal}:\n${err}`));
    });
  });
}

function expectClose(a: Report['roiChannel'], b: Report['roiChannel'], what: string) {
  expect(a.length, what).toBe(b.length);
  a.forEach((ra, i) => {
    const rb = b[i]!;
    for (const [k, va] of Object.entries(ra)) {
      const vb = rb[k];
      if (typeof va === 'number' && typeof vb === 'number') expect(Math.abs(va - vb), `${what}[${i}].${k}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(va)));
      else expect(vb, `${what}[${i}].${k}`).toEqual(va);
    }
  });
}

describe(`kill -9 of the attributor during a ${EVENTS.toLocaleString('en')}-event feed`, () => {
  it('restarts into the same credit as an uninterrupted run: sums exactly 1, no row doubled, equal ROI views', async () => {
    const feed = sizedFeed(EVENTS);
    expect(feed.events).toBeGreaterThan(EVENTS * 0.9);
    const total = feed.messages.length;

    const [plainDir, crashDir] = [await prefill(feed), await prefill(feed)];
    const plain = (await runChild(plainDir, {})).report!;

    const rng = mulberry32(Date.now() % 100_000);
    const kills: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      // Kill points spread over the feed, each a little later in time than its progress mark.
      const at = Math.floor(((k + rng()) / (KILLS + 1)) * total);
      const run = await runChild(crashDir, { killAtProgress: at, delayMs: Math.floor(rng() * 300) });
      kills.push(run.killedAt!);
    }
    const crashed = (await runChild(crashDir, {})).report!;

    for (const r of [plain, crashed]) {
      expect(r.rows).toBe(r.distinctRows);
      expect(r.inexactSums).toBe(0);
      expect(r.conversions).toBeGreaterThan(feed.journeys.size * 0.9);
      // Every cost line is there; repeated lines may or may not have been merged away yet.
      expect(r.costLines).toBe(new Set(feed.costs.map((c) => c.messageId)).size);
      expect(r.costRows).toBeLessThanOrEqual(feed.costs.length);
    }
    // Kills landed in the middle of the feed, not all before it started or after it ended.
    expect(kills.some((k) => k > 0 && k < total)).toBe(true);
    expect(crashed.perModel).toEqual(plain.perModel);
    expect(crashed.credits).toBe(plain.credits);
    expect(crashed.snapshot).toEqual(plain.snapshot);
    expect(crashed.digest).toBe(plain.digest);
    expectClose(crashed.roiChannel, plain.roiChannel, 'roi_by_channel_daily');
    expectClose(crashed.roiCampaign, plain.roiCampaign, 'roi_by_campaign_daily');
  }, 180_000);
});
