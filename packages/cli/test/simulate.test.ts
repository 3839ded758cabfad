import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Event, type ConversionMessage, type IdentityMessage, type JourneyMessage, type TouchpointMessage } from '@touchline/contracts';
import { Normaliser } from '@touchline/ingest';
import { conversionModel, conversionTime, costEvents, createWorld, getScenario, Observer, unitEvents, type Scenario, type SimEvent } from '@touchline/simulator';
import { StitcherState, Windows } from '@touchline/stitcher';
import { describe, expect, it } from 'vitest';
import { simulateCommand } from '../src/commands/simulate.js';

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  out.on('data', (c: Buffer) => o.push(c));
  err.on('data', (c: Buffer) => e.push(c));
  const code = await simulateCommand(args, out, err);
  return { code, stdout: Buffer.concat(o).toString('utf8'), stderr: Buffer.concat(e).toString('utf8') };
}

interface Report {
  scenario: string;
  seed: number;
  models: { model: string; tvd: number; channels: { channel: string; attributed_share: number; true_share: number }[] }[];
}

describe('touchline simulate --offline --report json', () => {
  it('prints exactly one JSON object: scenario, seed, and every model with its TVD and shares', async () => {
    const { code, stdout, stderr } = await run(['--scenario', 'b2b', '--seed', '7', '--offline', '--report', 'json', '--units', '3000']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout.endsWith('\n')).toBe(true);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(stdout) as Report;
    expect(Object.keys(report)).toEqual(['scenario', 'seed', 'models']);
    expect(report.scenario).toBe('b2b');
    expect(report.seed).toBe(7);
    expect(report.models.map((m) => m.model)).toEqual([
      'markov',
      'shapley',
      'shapley_ordered',
      'data_driven',
      'first_touch',
      'last_touch',
      'last_non_direct',
      'linear',
      'position_based',
      'time_decay',
    ]);
    const channels = ['calls', 'direct', 'email', 'events', 'google_ads', 'linkedin', 'organic_search', 'webinar'];
    for (const m of report.models) {
      expect(Object.keys(m)).toEqual(['model', 'tvd', 'channels']);
      expect(m.channels.map((c) => c.channel)).toEqual(channels);
      for (const c of m.channels) expect(Object.keys(c)).toEqual(['channel', 'attributed_share', 'true_share']);
      const tvd = m.channels.reduce((a, c) => a + Math.abs(c.attributed_share - c.true_share), 0) / 2;
      // shares are rounded to 4 decimals, the TVD before rounding
      expect(Math.abs(tvd - m.tvd)).toBeLessThan(5e-4);
      expect(m.channels.reduce((a, c) => a + c.true_share, 0)).toBeCloseTo(1, 3);
    }
    // a direct visit causes nothing
    expect(report.models[0]!.channels.find((c) => c.channel === 'direct')!.true_share).toBe(0);
  });

  it('gives the same report for the same seed, and another for another seed', async () => {
    const a = await run(['--scenario', 'synergy', '--seed', '3', '--offline', '--report', 'json', '--units', '5000']);
    const b = await run(['--scenario', 'synergy', '--seed', '3', '--offline', '--report', 'json', '--units', '5000']);
    const c = await run(['--scenario', 'synergy', '--seed', '4', '--offline', '--report', 'json', '--units', '5000']);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).not.toBe(a.stdout);
  });

  it('with --holdout adds the incrementality-calibrated model; the table report names the lifts', async () => {
    const json = JSON.parse((await run(['--offline', '--report', 'json', '--units', '8000', '--holdout', '0.2'])).stdout) as Report;
    expect(json.scenario).toBe('b2c');
    expect(json.models.map((m) => m.model)).toContain('incrementality_calibrated');
    const table = await run(['--offline', '--units', '8000', '--holdout', '0.2']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/holdout holdout-google_ads: exposed \d+\/\d+, held out \d+\/\d+; lift/);
  });

  it('--observation model scores every unit\'s window straight into the models, apart from the pipeline\'s credit', async () => {
    const args = ['--scenario', 'b2c', '--seed', '2', '--offline', '--report', 'json', '--units', '4000'];
    const pipeline = JSON.parse((await run(args)).stdout) as Report;
    const model = JSON.parse((await run([...args, '--observation', 'model'])).stdout) as Report;
    expect(model.models.map((m) => m.model)).toEqual(pipeline.models.map((m) => m.model));
    const share = (r: Report, name: string) => JSON.stringify(r.models.find((m) => m.model === name)!.channels);
    // the true shares are the same world's; what the models see differs (units nothing touched, null paths)
    expect(model.models[0]!.channels.map((c) => c.true_share)).toEqual(pipeline.models[0]!.channels.map((c) => c.true_share));
    expect(share(model, 'data_driven')).not.toBe(share(pipeline, 'data_driven'));
  });

  it('refuses bad arguments with exit code 2 and a reason', async () => {
    for (const [args, reason] of [
      [['--scenario', 'b2x', '--offline'], /unknown scenario "b2x"/],
      [['--seed', '-1', '--offline'], /--seed must be an integer/],
      [['--offline', '--url', 'http://x', '--key', 'k'], /exclude each other/],
      [['--url', 'http://localhost:1'], /needs both --url and --key/],
      [['--offline', '--rate', '5'], /apply to a live run/],
      [['--offline', '--holdout', '2'], /--holdout must be a share/],
      [['--offline', '--fraud', 'tv'], /no channel "tv"/],
      [['--offline', '--report', 'xml'], /--report must be json or table/],
      [['--offline', '--observation', 'journeys'], /--observation must be pipeline or model/],
      [['--url', 'http://x', '--key', 'k', '--observation', 'model'], /--observation applies to an offline run/],
      [['--bogus'], /unknown argument/],
    ] as const) {
      const r = await run([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(reason);
      expect(r.stdout).toBe('');
    }
  });
});

describe('simulated events', () => {
  const check = (scenario: Scenario, seed: number) => {
    const world = createWorld(scenario, seed);
    const model = conversionModel(scenario);
    const events: SimEvent[] = [...costEvents(world)];
    for (let u = 0; u < world.unitCount; u++) {
      const unit = world.unit(u);
      events.push(...unitEvents(world, unit, conversionTime(model, unit)));
    }
    return events;
  };

  it('are valid v1 events, every one, with unique message ids (b2b accounts, b2c with click fraud)', () => {
    const b2b = { ...getScenario('b2b')!, units: 150 };
    const b2c = { ...getScenario('b2c')!, units: 1500, fraud: [{ channel: 'display', bots: 50, clicksPerBot: 5 }] };
    for (const events of [check(b2b, 1), check(b2c, 2)]) {
      const types = new Set(events.map((e) => e.type));
      expect([...types].sort()).toEqual(['conversion', 'cost', 'identify', 'touch']);
      for (const e of events) {
        const parsed = Event.safeParse(e);
        expect(parsed.success, `${JSON.stringify(e)}: ${parsed.success ? '' : parsed.error.message}`).toBe(true);
      }
      expect(new Set(events.map((e) => e.messageId)).size).toBe(events.length);
    }
  });

  it('link each B2B member to the account, and carry the deal as closed_won', () => {
    const events = check({ ...getScenario('b2b')!, units: 100 }, 3);
    const identifies = events.filter((e) => e.type === 'identify');
    expect(identifies.every((e) => e.type === 'identify' && e.traits.accountId !== undefined && e.anonymousId !== undefined)).toBe(true);
    const deal = events.find((e) => e.type === 'conversion');
    expect(deal).toMatchObject({ name: 'deal', stage: 'closed_won', currency: 'EUR' });
  });
});

describe('touchline simulate --url (live)', () => {
  /** A stand-in for ingest: validates every event with the contract, throttles the first requests. */
  async function fakeIngest(answers: { status: number; retryAfter?: string }[]) {
    const received: unknown[][] = [];
    let calls = 0;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        calls++;
        const scripted = answers.shift();
        if (req.headers.authorization !== 'Bearer wk') {
          res.writeHead(401).end('{"error":"unauthorized","message":"bad key"}');
          return;
        }
        if (scripted && scripted.status !== 200) {
          res.writeHead(scripted.status, scripted.retryAfter ? { 'retry-after': scripted.retryAfter } : {}).end('{"error":"rate_limited","message":"slow down"}');
          return;
        }
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { batch: unknown[] };
        received.push(body.batch);
        const rejected = body.batch.flatMap((e, index) => {
          const p = Event.safeParse(e);
          return p.success ? [] : [{ index, path: '', reason: p.error.message }];
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: body.batch.length - rejected.length, rejected }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, received, calls: () => calls, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it('sends every event once, in batches of at most 500, retrying 429 and 503 as told', async () => {
    const ingest = await fakeIngest([{ status: 429, retryAfter: '0' }, { status: 503 }]);
    try {
      const r = await run(['--scenario', 'b2b', '--units', '60', '--seed', '5', '--url', ingest.url, '--key', 'wk', '--rate', '50000', '--report', 'json']);
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout) as { live: { sent: number; accepted: number; rejected: number; retries: number; stoppedBy: string; units: number } };
      const batches = ingest.received;
      const events = batches.flat() as { messageId: string }[];
      expect(summary.live.retries).toBe(2);
      expect(ingest.calls()).toBe(batches.length + 2);
      expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(500);
      expect(batches.length).toBeGreaterThan(1);
      expect(summary.live).toMatchObject({ sent: events.length, accepted: events.length, rejected: 0, stoppedBy: 'done', units: 60 });
      expect(new Set(events.map((e) => e.messageId)).size).toBe(events.length);
      // the progress bar went to stderr
      expect(r.stderr).toMatch(/\[#+\] 100% · 60\/60 units/);
    } finally {
      await ingest.close();
    }
  });

  it('stops after --duration, and fails with exit code 1 on a refused key', async () => {
    const ingest = await fakeIngest([]);
    try {
      const timed = await run(['--units', '100000', '--url', ingest.url, '--key', 'wk', '--rate', '400', '--duration', '0.5', '--report', 'json']);
      expect(timed.code).toBe(0);
      const live = (JSON.parse(timed.stdout) as { live: { sent: number; stoppedBy: string } }).live;
      expect(live.stoppedBy).toBe('duration');
      expect(live.sent).toBeGreaterThan(0);
      expect(live.sent).toBeLessThanOrEqual(400 * 0.5 + 100);
      const refused = await run(['--units', '10', '--url', ingest.url, '--key', 'wrong']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/answered 401/);
    } finally {
      await ingest.close();
    }
  });
});

describe('touchline simulate --events / --journeys', () => {
  it('writes the v1 events and the converting journeys as JSON lines', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'touchline-sim-'));
    const events = path.join(dir, 'events.ndjson');
    const journeys = path.join(dir, 'journeys.ndjson');
    const r = await run(['--units', '2000', '--offline', '--report', 'json', '--events', events, '--journeys', journeys]);
    expect(r.code).toBe(0);
    const ev = readFileSync(events, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    const js = readFileSync(journeys, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { conversionId: string; touches: unknown[] });
    expect(ev.filter((e) => e.type === 'conversion')).toHaveLength(js.length);
    expect(js.length).toBeGreaterThan(20);
  });
});

describe('offline journeys are the journeys the pipeline builds', () => {
  /**
   * The simulator's events through ingest's normaliser and the stitcher's state (the pure parts of
   * the live path), with the stitcher's windows set to the scenario's lookback for every
   * interaction: each conversion's final journey must hold exactly the touches of the offline one.
   */
  const compare = (scenario: Scenario, seed: number) => {
    const world = createWorld(scenario, seed);
    const model = conversionModel(scenario);
    const observer = new Observer(world, { keepJourneys: true });
    const normaliser = new Normaliser();
    const L = scenario.lookbackDays;
    const state = new StitcherState({ windows: new Windows({ lookbackDays: L, viewThroughDays: L }) });
    const live = new Map<string, JourneyMessage>();
    for (let u = 0; u < world.unitCount; u++) {
      const unit = world.unit(u);
      const T = conversionTime(model, unit);
      observer.add(unit, T);
      for (const e of unitEvents(world, unit, T)) {
        const n = normaliser.normalise(e, { receivedAt: Date.parse('2027-01-01T00:00:00Z') });
        if (!n.ok) throw new Error(`refused ${e.messageId}: ${n.reason}`);
        const msg = JSON.parse(n.record.value as string) as TouchpointMessage | IdentityMessage | ConversionMessage;
        const out = msg.kind === 'touchpoint' ? state.applyTouch(msg) : msg.kind === 'identity' ? state.applyIdentity(msg) : state.applyConversion(msg);
        for (const j of out) if (j.kind === 'journey') live.set(j.conversion.conversionId, j);
      }
    }
    expect(observer.journeys.length).toBeGreaterThan(10);
    expect([...live.keys()].sort()).toEqual(observer.journeys.map((j) => j.conversionId).sort());
    for (const j of observer.journeys) {
      const l = live.get(j.conversionId)!;
      expect(l.touches.map((t) => t.messageId), j.conversionId).toEqual(j.touches.map((t) => t.id));
      expect(l.touches.map((t) => t.channel)).toEqual(j.touches.map((t) => t.channel));
      expect(l.conversion.timestamp).toBe(j.timestamp);
    }
    return live;
  };

  it('b2c: person journeys, cookies stitched to user ids', () => {
    compare({ ...getScenario('b2c')!, units: 3000 }, 4);
  });

  it('b2b: deals credited on the account, every member’s touches together', () => {
    const live = compare({ ...getScenario('b2b')!, units: 200 }, 4);
    expect([...live.values()].every((j) => j.level === 'account')).toBe(true);
  });
});
