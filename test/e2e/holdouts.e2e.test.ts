import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { holdoutArm, type ExperimentLiftMessage } from '@touchline/contracts';
import { conversionModel, conversionTime, createWorld, sendLive, simulateOffline, type Scenario } from '@touchline/simulator';
import { startTouchlineProcess, waitFor, type RunningTouchline } from '../support/process.js';

/**
 * An incrementality experiment end to end: the simulator holds half of the accounts out of
 * LinkedIn (their LinkedIn touches never happen), its events go through the ingest API of a real
 * `touchline start` process configured with the same experiment, and the live lift read back from
 * the stream and from `touchline.experiment_lift` must count exactly the simulated accounts and
 * conversions per arm, and its interval must hold the true lift the simulator knows.
 */
const WRITE = 'test-write-key';
const ADMIN = 'test-admin-key';
const SEED = 11;
const EXPERIMENT = { id: 'li-holdout', channel: 'linkedin', share: 0.5 };

/** B2B accounts, all CRM contacts (identified from the start), with a strong LinkedIn effect. */
const scenario: Scenario = {
  name: 'holdout-e2e',
  description: 'accounts held out of LinkedIn',
  unit: 'account',
  units: 3_000,
  groupSize: [1, 2],
  horizonDays: 60,
  lookbackDays: 30,
  startDate: '2026-03-02',
  baselineHazard: 0.001,
  frailtySigma: 0.3,
  conversion: { name: 'deal', stage: 'closed_won', medianValue: 5_000, valueSigma: 0.5, currency: 'EUR' },
  channels: [
    { name: 'linkedin', interaction: 'click', campaigns: ['abm'], utm: { source: 'linkedin', medium: 'paid_social', clickId: 'li_fat_id' }, reach: 0.8, touchesPerWeek: 0.2, effect: 0.1, saturation: 0.8, spreadDays: 10, costPerDay: 200 },
    { name: 'email', interaction: 'email_click', campaigns: ['nurture'], byUserId: true, reach: 0.4, touchesPerWeek: 0.2, effect: 0.004, saturation: 0.8, spreadDays: 7, costPerDay: 20 },
  ],
  synergies: [],
  holdouts: [EXPERIMENT],
};

async function sql<T>(t: RunningTouchline, query: string): Promise<T[]> {
  const res = await fetch(`${t.url}/v1/sql`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/plain' }, body: query });
  const text = await res.text();
  if (!res.ok) throw new Error(`sql ${res.status}: ${text}`);
  return text.trim() ? text.trim().split('\n').map((l) => JSON.parse(l) as T) : [];
}

const brokers = inject('kafkaBrokers');
// The restart is exercised on the embedded log; over Kafka a killed member's session timeout would
// only add time.
const variants: Array<{ name: string; env: () => Record<string, string>; skip: boolean; restart: boolean }> = [
  { name: 'embedded log', env: () => ({}), skip: false, restart: true },
  {
    name: 'Kafka protocol',
    env: () => ({ KAFKA_BROKERS: brokers, TOUCHLINE_TOPIC_PREFIX: `hold-${randomUUID().slice(0, 8)}.`, KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '500' }),
    skip: !brokers,
    restart: false,
  },
];

for (const v of variants) describe.skipIf(v.skip)(`incrementality holdout through the running pipeline over the ${v.name}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'touchline-holdouts-'));
  const running: RunningTouchline[] = [];
  afterAll(async () => {
    for (const r of running) await r.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`measures the simulated lift live, within its interval${v.restart ? ', and again after a restart' : ''}`, async () => {
    const env = {
      ...v.env(),
      TOUCHLINE_DATA_DIR: dir,
      TOUCHLINE_WRITE_KEYS: WRITE,
      TOUCHLINE_ADMIN_KEYS: ADMIN,
      TOUCHLINE_MODELS: 'linear,data_driven',
      TOUCHLINE_EXPERIMENTS: JSON.stringify([{ ...EXPERIMENT, start: '2026-01-01T00:00:00Z', unit: 'accountId' }]),
    };
    const t = await startTouchlineProcess(env);
    running.push(t);

    // What the simulator knows: every account's arm and whether it converted, and the true effect.
    const world = createWorld(scenario, SEED);
    const model = conversionModel(scenario);
    const want = { exposed: { units: 0, conversions: 0 }, holdout: { units: 0, conversions: 0 } };
    for (let u = 0; u < scenario.units; u++) {
      const unit = world.unit(u);
      const arm = want[holdoutArm(EXPERIMENT.id, unit.id, EXPERIMENT.share)];
      arm.units++;
      if (conversionTime(model, unit) !== undefined) arm.conversions++;
    }
    const offline = simulateOffline(scenario, SEED).experiments[0]!;
    // The offline experiment averages the effect over the accounts LinkedIn targeted; the live one
    // is over every account of the audience, and untargeted accounts have no effect at all.
    const targeted = offline.lift.exposed.units + offline.lift.holdout.units;
    const trueLift = (offline.expectedAbsoluteLift * targeted) / scenario.units;
    expect(trueLift).toBeGreaterThan(0.05);

    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/v1/stream`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const lifts: ExperimentLiftMessage[] = [];
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as { type: string; data: ExperimentLiftMessage };
      if (f.type === 'experiment_lift') lifts.push(f.data);
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'subscribe', channels: ['metrics'] }));

    const sent = await sendLive(world, { url: t.url, key: WRITE, rate: 20_000, progress: null });
    expect(sent.rejected).toBe(0);
    expect(sent.units).toBe(scenario.units);

    const complete = (m: { exposed: object; holdout: object }) => JSON.stringify({ exposed: m.exposed, holdout: m.holdout }) === JSON.stringify(want);
    const streamed = await waitFor(async () => lifts.find(complete), 60_000, `a streamed lift counting ${JSON.stringify(want)} (last: ${JSON.stringify(lifts.at(-1))})`);
    ws.close();
    expect(streamed.experimentId).toBe(EXPERIMENT.id);
    expect(streamed.absolute.low).toBeLessThanOrEqual(trueLift);
    expect(streamed.absolute.high).toBeGreaterThanOrEqual(trueLift);
    expect(streamed.absolute.low).toBeGreaterThan(0);

    type Row = { at: string; exposed_units: string; exposed_conversions: string; holdout_units: string; holdout_conversions: string; absolute_low: number; absolute_high: number; absolute_lift: number };
    const counts = (r: Row) => ({
      exposed: { units: Number(r.exposed_units), conversions: Number(r.exposed_conversions) },
      holdout: { units: Number(r.holdout_units), conversions: Number(r.holdout_conversions) },
    });
    const stored = await waitFor(async () => {
      const [r] = await sql<Row>(t, `SELECT * FROM touchline.experiment_lift_current WHERE experiment_id = '${EXPERIMENT.id}'`);
      return r && complete(counts(r)) ? r : undefined;
    }, 20_000, 'the stored lift');
    expect(stored.absolute_lift).toBeCloseTo(streamed.absolute.estimate, 12);

    // Analysts recompute the arms in SQL: ClickHouse's murmurHash3_32 is the holdout hash.
    const bySql = await waitFor(async () => {
      const [r] = await sql<{ held: string; accounts: string }>(
        t,
        `SELECT uniqExactIf(account_id, murmurHash3_32(concat('${EXPERIMENT.id}', ':', account_id)) < ${EXPERIMENT.share} * 4294967296) AS held,
                uniqExact(account_id) AS accounts
         FROM touchline.identity_links WHERE account_id != ''`,
      );
      return r && Number(r.accounts) === scenario.units ? r : undefined;
    }, 20_000, 'identity links of every account');
    expect(Number(bySql.held)).toBe(want.holdout.units);

    // The calibrated model sits beside data_driven and distributes the same conversions.
    const calibrated = await waitFor(async () => {
      const rows = await sql<{ channel: string; conversions: number; base_conversions: number; experiment_id: string }>(
        t,
        `SELECT channel, conversions, base_conversions, experiment_id FROM touchline.calibrated_credit_current ORDER BY channel`,
      );
      return rows.some((r) => r.experiment_id === EXPERIMENT.id) ? rows : undefined;
    }, 30_000, 'calibrated credit');
    const total = (k: 'conversions' | 'base_conversions') => calibrated.reduce((s, r) => s + r[k], 0);
    expect(total('conversions')).toBeCloseTo(total('base_conversions'), 3);

    if (!v.restart) return;
    // After a crash the state is rebuilt from the log: the same counts, not doubled.
    await t.kill9();
    const restartedAt = Date.now();
    const second = await startTouchlineProcess(env);
    running.push(second);
    const again = await waitFor(async () => {
      const [r] = await sql<Row>(second, `SELECT * FROM touchline.experiment_lift_current WHERE experiment_id = '${EXPERIMENT.id}'`);
      return r && Date.parse(`${r.at.replace(' ', 'T')}Z`) >= restartedAt ? r : undefined;
    }, 60_000, 'a lift estimated after the restart');
    expect(counts(again)).toEqual(want);
  }, 180_000);
});
