import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { conversionWindowsFor, createWorld, JOURNEY_MODELS, sendLive, simulateOffline, type ChannelSpec, type Scenario } from '@touchline/simulator';
import { startTouchlineProcess, type RunningTouchline } from '../support/process.js';

/**
 * Streaming equals batch, against the simulator: the same seed and population sent live through
 * the ingest API of a real `touchline start` (over the Kafka protocol, so the test can see the
 * consumer groups' committed offsets) gives, per model and channel, the credit the offline run
 * computes from the simulated journeys.
 *
 * Compared once the pipeline has caught up: the stitcher has committed every record of the input
 * topics, and then the attributor every journey the stitcher published (each commits only after
 * its outputs are durable).
 *
 * One deliberate, exactly characterised difference: a conversion with no touch in its window is
 * credited by the pipeline to a synthetic `direct` touch (touchpoint id ''), so that every
 * conversion's credit sums to 1; the offline run leaves such conversions out. Rows with an empty
 * touchpoint id are therefore left out here, and the number of such conversions is checked
 * against the offline journeys without touches.
 */
const WRITE = 'test-write-key';
const ADMIN = 'test-admin-key';
const SEED = 5;
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

interface Row {
  model: string;
  channel: string;
  conversions: number;
  value: number;
}

describe.skipIf(!brokers)('live run through ingest = offline run on the same seed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'touchline-live-offline-'));
  const running: RunningTouchline[] = [];
  const prefix = `lo-${randomUUID().slice(0, 8)}.`;
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

  it('gives the same credit per rule-based model and channel', async () => {
    await admin.connect();
    const t = await startTouchlineProcess({
      TOUCHLINE_DATA_DIR: dir,
      TOUCHLINE_WRITE_KEYS: WRITE,
      TOUCHLINE_ADMIN_KEYS: ADMIN,
      KAFKA_BROKERS: brokers,
      TOUCHLINE_TOPIC_PREFIX: prefix,
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
      TOUCHLINE_MODELS: JOURNEY_MODELS.join(','),
      TOUCHLINE_LOOKBACK_DAYS: String(scenario.lookbackDays),
      TOUCHLINE_CONVERSION_WINDOWS: JSON.stringify(conversionWindowsFor(scenario)),
    });
    running.push(t);

    const offline = simulateOffline(scenario, SEED, { keepJourneys: true });
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
    const live = await sql<Row>(
      `SELECT model, channel, sum(weight) AS conversions, sum(value) AS value FROM touchline.credits_current
       WHERE touchpoint_id != '' GROUP BY model, channel ORDER BY model, channel`,
    );
    const [untouched] = await sql<{ n: string }>(
      `SELECT uniqExact(conversion_id) AS n FROM touchline.credits_current WHERE model = 'linear' AND touchpoint_id = ''`,
    );
    expect(Number(untouched!.n)).toBe(offline.journeys.filter((j) => j.touches.length === 0).length);

    const [credited] = await sql<{ n: string }>(`SELECT uniqExact(conversion_id) AS n FROM touchline.credits_current WHERE model = 'linear'`);
    expect(Number(credited!.n)).toBe(offline.journeys.length);
    expect(offline.journeys.length).toBeGreaterThan(200);

    for (const model of JOURNEY_MODELS) {
      const want = offline.credits.find((c) => c.model === model)!.credits.filter((c) => c.conversions !== 0);
      const got = live.filter((r) => r.model === model);
      expect(got.map((r) => r.channel), model).toEqual(want.map((c) => c.channel));
      for (const c of want) {
        const r = got.find((x) => x.channel === c.channel)!;
        expect(r.conversions, `${model} ${c.channel} conversions`).toBeCloseTo(c.conversions, 6);
        expect(r.value, `${model} ${c.channel} value`).toBeCloseTo(c.value, 4);
      }
    }
  }, 180_000);
});
