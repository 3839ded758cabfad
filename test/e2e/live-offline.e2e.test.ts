import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { creditJourney } from '@touchline/attributor';
import { ALGORITHMIC_MODELS, createWorld, JOURNEY_MODELS, pipelineSettingsFor, sendLive, simulateOffline, type ChannelSpec, type Scenario } from '@touchline/simulator';
import { startTouchlineProcess, waitFor, type RunningTouchline } from '../support/process.js';

/**
 * Streaming equals batch, against the simulator: the same seed and population sent live through
 * the ingest API of a real `touchline start` (over the Kafka protocol, so the test can see the
 * consumer groups' committed offsets) gives, per model and channel, the credit the offline run
 * computes — every model, the algorithmic ones included.
 *
 * The offline run (`simulateOffline` with `observation: 'pipeline'`) passes the same events
 * through ingest's normaliser, the stitcher's state and the attributor's state in process, then
 * credits each final journey under one fit on the final statistics: what a quiet attributor
 * settles to. Conversions without a touch are credited to a synthetic `direct` touch on both
 * sides.
 *
 * Compared once the pipeline has caught up and settled: the stitcher has committed every record
 * of the input topics, then the attributor every journey the stitcher published; its newest
 * model snapshot is the fit on the final statistics (same counts, same channel scores as the
 * offline fit), and every algorithmic credit that a fit can move (journeys over two or more
 * channels) was written under it. Refits are made quick by a short refit interval.
 *
 * Tolerance: each credit's weights are the same bits on both sides (same journeys, same fit,
 * same functions); only the order of summation differs (ClickHouse's sum over rows vs the offline
 * sum in conversion order), a relative error of about n·2⁻⁵³ for n rows — so 1e-9 relative.
 */
const WRITE = 'test-write-key';
const ADMIN = 'test-admin-key';
const SEED = 5;
const MODELS = [...ALGORITHMIC_MODELS, ...JOURNEY_MODELS];
/** Relative tolerance of a channel's summed credit: summation order only (see above). */
const TOLERANCE = 1e-9;
const brokers = inject('kafkaBrokers');

const web = (name: string, effect: number, reach: number, extra: Partial<ChannelSpec> = {}): ChannelSpec => ({
  name,
  interaction: 'click',
  campaigns: ['c1', 'c2'],
  utm: { source: name, medium: 'cpc' },
  reach,
  touchesPerWeek: 0.3,
  effect,
  saturation: 0.8,
  spreadDays: 5,
  costPerDay: 100,
  ...extra,
});

/** People identified when they convert or get an email; impressions, direct visits, delays. */
const scenario: Scenario = {
  name: 'live-offline',
  description: 'live equals offline',
  unit: 'person',
  units: 1_500,
  horizonDays: 40,
  lookbackDays: 20,
  startDate: '2026-03-02',
  baselineHazard: 0.004,
  frailtySigma: 0.5,
  conversion: { name: 'purchase', medianValue: 50, valueSigma: 0.5, currency: 'EUR' },
  channels: [
    web('search', 0.03, 0.4),
    web('social', 0.01, 0.5, { delayDays: 3, spreadDays: 10 }),
    web('banner', 0.002, 0.5, { interaction: 'impression', touchesPerWeek: 1.5, utm: { source: 'dv360', medium: 'display' } }),
    { name: 'email', interaction: 'email_click', campaigns: ['news'], byUserId: true, reach: 0.3, touchesPerWeek: 0.3, effect: 0.01, saturation: 0.8, spreadDays: 5, costPerDay: 10 },
    { name: 'direct', interaction: 'visit', campaigns: ['(none)'], direct: true, reach: 0.3, touchesPerWeek: 0.2, effect: 0, costPerDay: 0 },
  ],
  synergies: [],
};

/**
 * Buying groups: deals credited on the account's journey and contrasted with the account's null
 * windows, so every algorithmic model is fitted per level (account deals against account null
 * paths; the person level, without conversions, falls back on its own). Fewer impressions than the
 * person case: an account null path holds all its people's touches, and the mock broker keeps
 * at most 5 MB per partition (test/setup/kafka-mock.ts).
 */
const accounts: Scenario = {
  ...scenario,
  name: 'live-offline-accounts',
  unit: 'account',
  units: 400,
  groupSize: [2, 5],
  baselineHazard: 0.01,
  channels: scenario.channels.map((c) => (c.name === 'banner' ? { ...c, touchesPerWeek: 0.3 } : c)),
  conversion: { name: 'deal', stage: 'closed_won', medianValue: 5_000, valueSigma: 0.5, currency: 'EUR' },
};

interface Row {
  model: string;
  channel: string;
  conversions: number;
  value: number;
}

describe.skipIf(!brokers)('live run through ingest = offline run on the same seed', () => {
  liveEqualsOffline('people', scenario, 'gives the same credit per model and channel, algorithmic models included');
  liveEqualsOffline('accounts', accounts, 'gives the same credit with deals credited on accounts and every model fitted per level');
});

function liveEqualsOffline(label: string, scenario: Scenario, title: string): void {
  const dir = mkdtempSync(join(tmpdir(), `touchline-live-offline-${label}-`));
  const running: RunningTouchline[] = [];
  const prefix = `lo-${label}-${randomUUID().slice(0, 8)}.`;
  const kafka = new Kafka({ clientId: 'live-offline-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  afterAll(async () => {
    await admin.disconnect();
    for (const r of running) await r.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Resolves once `group` has committed every record now in `topics`. */
  async function caughtUp(group: string, topics: string[], timeoutMs: number): Promise<void> {
    const ends = new Map<string, number>();
    for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}:${p.partition}`, Number(p.high));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const committed = new Map<string, number>();
      for (const t of await admin.fetchOffsets({ groupId: group, topics })) for (const p of t.partitions) committed.set(`${t.topic}:${p.partition}`, Number(p.offset));
      // An empty partition has nothing to commit (kafkajs reports -1 for no commit).
      const behind = [...ends].filter(([k, end]) => end > 0 && (committed.get(k) ?? -1) < end);
      if (behind.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${group} still behind on ${behind.map(([k, e]) => `${k} (${committed.get(k)} < ${e})`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it(title, async () => {
    await admin.connect();
    const settings = pipelineSettingsFor(scenario);
    const t = await startTouchlineProcess({
      TOUCHLINE_DATA_DIR: dir,
      TOUCHLINE_WRITE_KEYS: WRITE,
      TOUCHLINE_ADMIN_KEYS: ADMIN,
      KAFKA_BROKERS: brokers,
      TOUCHLINE_TOPIC_PREFIX: prefix,
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
      TOUCHLINE_MODELS: MODELS.join(','),
      TOUCHLINE_MODEL_RECOMPUTE_MS: '250',
      ...settings,
    });
    running.push(t);

    const offline = simulateOffline(scenario, SEED, { observation: 'pipeline', settings });
    const pipeline = offline.pipeline!;
    for (const [model, fit] of pipeline.snapshot.fits) expect(fit.status, `${model} is fitted offline`).toBe('fitted');
    expect(pipeline.journeys.length).toBeGreaterThan(scenario.unit === 'account' ? 100 : 200);
    expect(pipeline.nullPaths.filter((n) => n.untouched === true).length).toBeGreaterThan(0);
    if (scenario.unit === 'account') {
      expect(pipeline.journeys.every((j) => j.level === 'account')).toBe(true);
      expect(pipeline.nullPaths.filter((n) => n.level === 'account' && n.touches.length > 0).length).toBeGreaterThan(100);
    }

    // Per conversion and algorithmic model, the weights of each touch under the offline fit.
    const weightsUnderFit = new Map<string, Map<string, number>>();
    for (const j of pipeline.journeys) {
      for (const c of creditJourney(j, { models: ALGORITHMIC_MODELS, halfLifeDays: 7, snapshot: pipeline.snapshot })) {
        weightsUnderFit.set(`${c.conversionId}\u0000${c.model}`, new Map(c.shares.map((x) => [x.touchpointId, x.weight] as const)));
      }
    }

    const sent = await sendLive(createWorld(scenario, SEED), { url: t.url, key: WRITE, rate: 20_000, progress: null });
    expect(sent.rejected).toBe(0);
    expect(sent.units).toBe(scenario.units);

    await caughtUp(`${prefix}stitcher`, ['touchpoints', 'conversions', 'identities'].map((x) => `${prefix}${x}`), 60_000);
    await caughtUp(`${prefix}attributor`, [`${prefix}journeys`], 60_000);

    const sql = async <T>(query: string): Promise<T[]> => {
      const res = await fetch(`${t.url}/v1/sql`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` }, body: query });
      const text = await res.text();
      if (!res.ok) throw new Error(`sql ${res.status}: ${text}`);
      return text.trim() ? text.trim().split('\n').map((l) => JSON.parse(l) as T) : [];
    };
    const algorithmic = ALGORITHMIC_MODELS.map((m) => `'${m}'`).join(',');

    // Settled: the newest snapshot is the offline fit, and all movable credit was written under it.
    const settled = await waitFor(
      async () => {
        const rows = await sql<{ seq: string; model: string; channel: string; status: string; conversions: string; null_journeys: string; score: number }>(
          `SELECT seq, model, channel, status, conversions, null_journeys, score FROM touchline.model_snapshots
           WHERE seq = (SELECT max(seq) FROM touchline.model_snapshots)`,
        );
        const seq = rows[0]?.seq;
        if (seq === undefined) throw new Error('no snapshot yet');
        const s = pipeline.snapshot;
        for (const r of rows) {
          const at = `snapshot ${seq} ${r.model} ${r.channel}`;
          if (Number(r.conversions) !== s.conversions || Number(r.null_journeys) !== s.nulls) {
            throw new Error(`${at}: ${r.conversions} conversions, ${r.null_journeys} null journeys; offline ${s.conversions}, ${s.nulls}`);
          }
          const fit = s.fits.get(r.model as (typeof ALGORITHMIC_MODELS)[number]);
          if (r.status !== fit?.status) throw new Error(`${at}: ${r.status}, offline ${fit?.status}`);
          const want = fit.channelScores.get(r.channel) ?? 0;
          if (Math.abs(r.score - want) > TOLERANCE * Math.max(1, Math.abs(want))) throw new Error(`${at}: score ${r.score}, offline ${want}`);
        }
        // Credit from an older snapshot is settled only when the new fit gives it the same weights
        // (the attributor rewrites credit that moves at all, and nothing else).
        const stale = await sql<{ conversion_id: string; model: string; seq: string; ids: string[]; weights: number[] }>(
          `SELECT conversion_id, model, seq, ids, weights FROM (
             SELECT conversion_id, model, argMax(snapshot_seq, version) AS seq, argMax(retracted, version) AS gone
             FROM touchline.credits WHERE model IN (${algorithmic}) GROUP BY conversion_id, model
           ) AS b INNER JOIN (
             SELECT conversion_id, model, uniqExact(channel) AS channels, groupArray(touchpoint_id) AS ids, groupArray(weight) AS weights
             FROM touchline.credits_current WHERE model IN (${algorithmic}) GROUP BY conversion_id, model
           ) AS c USING (conversion_id, model)
           WHERE gone = 0 AND channels >= 2 AND seq != ${Number(seq)}`,
        );
        const moved = stale.filter((c) => {
          const want = weightsUnderFit.get(`${c.conversion_id}\u0000${c.model}`);
          return !want || c.ids.some((id, i) => want.get(id) !== c.weights[i]);
        });
        if (moved.length > 0) {
          const c = moved[0]!;
          throw new Error(`${moved.length} credits not yet restated under snapshot ${seq}, e.g. ${c.conversion_id} ${c.model} (snapshot ${c.seq})`);
        }
        return Number(seq);
      },
      120_000,
      'the attributor to settle on the fit of the final statistics',
    );
    expect(settled).toBeGreaterThan(0);

    const live = await sql<Row>(
      `SELECT model, channel, sum(weight) AS conversions, sum(value) AS value FROM touchline.credits_current
       GROUP BY model, channel ORDER BY model, channel`,
    );
    const [untouched] = await sql<{ n: string }>(
      `SELECT uniqExact(conversion_id) AS n FROM touchline.credits_current WHERE model = 'linear' AND touchpoint_id = ''`,
    );
    expect(Number(untouched!.n)).toBe(pipeline.untouchedConversions);
    expect(pipeline.untouchedConversions).toBeGreaterThan(0);
    const [credited] = await sql<{ n: string }>(`SELECT uniqExact(conversion_id) AS n FROM touchline.credits_current WHERE model = 'linear'`);
    expect(Number(credited!.n)).toBe(pipeline.journeys.length);

    const close = (got: number, want: number) => Math.abs(got - want) <= TOLERANCE * Math.max(1, Math.abs(want));
    for (const model of MODELS) {
      const want = pipeline.credits.find((c) => c.model === model)!.credits;
      const got = live.filter((r) => r.model === model);
      expect(got.map((r) => r.channel), model).toEqual(want.map((c) => c.channel));
      for (const c of want) {
        const r = got.find((x) => x.channel === c.channel)!;
        expect(close(r.conversions, c.conversions), `${model} ${c.channel} conversions: live ${r.conversions}, offline ${c.conversions}`).toBe(true);
        expect(close(r.value, c.value), `${model} ${c.channel} value: live ${r.value}, offline ${c.value}`).toBe(true);
      }
    }
  }, 300_000);
}
