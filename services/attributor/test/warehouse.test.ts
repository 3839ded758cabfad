import { beforeAll, describe, expect, it } from 'vitest';
import type { CostMessage, CreditMessage, JourneysTopicMessage } from '@touchline/contracts';
import { WarehouseSink, silentLogger } from '@touchline/platform';
import { StreamingAttributor } from '../src/attributor.js';
import { ALL_MODELS } from '../src/credit.js';
import { costRow, creditRows, RESTATEMENT_SOURCE } from '../src/rows.js';
import { ALGORITHMIC_MODELS } from '../src/snapshot.js';
import { AttributorState } from '../src/state.js';
import { WarehouseAttributorStore } from '../src/store.js';
import { syntheticJourneyFeed } from '../src/synthetic.js';
import { currentCredits, embeddedForFile } from './support/embedded.js';
import { batch, OPTIONS, recordOf, sharesOf, shuffled } from './support/drive.js';

const env = embeddedForFile('attributor-wh-');

const D1 = Date.UTC(2026, 2, 2, 12);

function credit(conversionId: string, model: string, version: number, value: number, shares: Array<[string, string, number]>, at = D1): CreditMessage {
  return {
    v: 1,
    kind: 'credit',
    conversionId,
    conversionName: 'purchase',
    conversionTimestamp: at,
    personId: 'p',
    model,
    version,
    currency: 'EUR',
    conversionValue: value,
    shares: shares.map(([channel, campaign, weight], i) => ({ touchpointId: `${conversionId}-t${i}`, channel, campaign, touchTimestamp: at - 1000, weight, value: weight * value })),
  };
}

const cost = (id: string, date: string, channel: string, campaign: string, amount: number, currency = 'EUR'): CostMessage => ({
  v: 1,
  kind: 'cost',
  messageId: id,
  date,
  channel,
  campaign,
  amount,
  currency,
  receivedAt: D1,
});

async function insertCredit(c: CreditMessage, token: string) {
  await env.wh.insertRows('touchline.credits', creditRows({ message: c, snapshotSeq: 0, journeyVersion: c.version }, RESTATEMENT_SOURCE, D1), token);
}

describe('ROI views', () => {
  beforeAll(async () => {
    await insertCredit(credit('roi-1', 'linear', 1, 100, [['google_ads', 'g-a', 0.5], ['email', 'e-a', 0.5]]), 'roi-1-v1');
    // Restated: the newer version counts, the older one not at all.
    await insertCredit(credit('roi-1', 'linear', 2, 100, [['google_ads', 'g-a', 0.25], ['email', 'e-a', 0.75]]), 'roi-1-v2');
    await insertCredit(credit('roi-2', 'linear', 1, 60, [['google_ads', 'g-b', 1]]), 'roi-2-v1');
    await insertCredit(credit('roi-1', 'first_touch', 1, 100, [['google_ads', 'g-a', 1], ['email', 'e-a', 0]]), 'roi-1-ft');
    await insertCredit(credit('roi-2', 'first_touch', 1, 60, [['google_ads', 'g-b', 1]]), 'roi-2-ft');
    // Retracted: gone from every view.
    await insertCredit(credit('roi-3', 'linear', 1, 1000, [['google_ads', 'g-a', 1]]), 'roi-3-v1');
    await insertCredit({ ...credit('roi-3', 'linear', 2, 0, []), shares: [] }, 'roi-3-v2');
    const lines: Array<[CostMessage, number]> = [
      [cost('k1', '2026-03-02', 'google_ads', 'g-a', 40), 0],
      [cost('k2', '2026-03-02', 'google_ads', 'g-b', 20), 1],
      // The same cost line again at another offset (a replayed import): counted once.
      [cost('k2', '2026-03-02', 'google_ads', 'g-b', 20), 7],
      [cost('k3', '2026-03-02', 'email', 'e-a', 10), 2],
      // Spend on a day without any credit.
      [cost('k4', '2026-03-03', 'google_ads', 'g-a', 30), 3],
      [cost('k5', '2026-03-02', 'google_ads', 'g-a', 5, 'USD'), 4],
    ];
    await env.wh.insertRows(
      'touchline.costs',
      lines.map(([m, offset]) => costRow(m, { topic: 'costs', partition: 0, offset: String(offset), key: '', value: Buffer.from(''), headers: {}, timestamp: 0 })),
      'roi-costs',
    );
  });

  type Row = { day: string; model: string; channel: string; campaign?: string; currency: string; conversions: number; revenue: number; spend: number; roi: number | null; roas: number | null; cpa: number | null };
  const q = (view: string) => env.wh.query<Row>(`SELECT * FROM touchline.${view} WHERE model IN ('linear', 'first_touch') ORDER BY day, model, channel, ${view.includes('campaign') ? 'campaign, ' : ''}currency`);

  it('by channel: conversions, revenue, spend, ROI, ROAS and CPA per day and model', async () => {
    const rows = await q('roi_by_channel_daily');
    const linear = rows.filter((r) => r.model === 'linear').map((r) => [r.day, r.channel, r.currency, r.conversions, r.revenue, r.spend]);
    expect(linear).toEqual([
      ['2026-03-02', 'email', 'EUR', 0.75, 75, 10],
      ['2026-03-02', 'google_ads', 'EUR', 1.25, 85, 60],
      ['2026-03-02', 'google_ads', 'USD', 0, 0, 5],
      ['2026-03-03', 'google_ads', 'EUR', 0, 0, 30],
    ]);
    const g = rows.find((r) => r.model === 'linear' && r.day === '2026-03-02' && r.channel === 'google_ads' && r.currency === 'EUR')!;
    expect(g.roi).toBeCloseTo((85 - 60) / 60, 12);
    expect(g.roas).toBeCloseTo(85 / 60, 12);
    expect(g.cpa).toBeCloseTo(60 / 1.25, 12);
    const idle = rows.find((r) => r.model === 'linear' && r.day === '2026-03-03')!;
    expect([idle.roi, idle.roas, idle.cpa]).toEqual([-1, 0, null]);
    // Every model with credit is measured against all the spend.
    const ft = rows.filter((r) => r.model === 'first_touch').map((r) => [r.day, r.channel, r.currency, r.conversions, r.revenue, r.spend]);
    expect(ft).toEqual([
      ['2026-03-02', 'email', 'EUR', 0, 0, 10],
      ['2026-03-02', 'google_ads', 'EUR', 2, 160, 60],
      ['2026-03-02', 'google_ads', 'USD', 0, 0, 5],
      ['2026-03-03', 'google_ads', 'EUR', 0, 0, 30],
    ]);
    expect(rows.find((r) => r.model === 'first_touch' && r.channel === 'email')!.cpa).toBe(null);
  });

  it('by campaign: spend joined by day, channel and campaign', async () => {
    const rows = (await q('roi_by_campaign_daily')).filter((r) => r.model === 'linear' && r.currency === 'EUR');
    expect(rows.map((r) => [r.day, r.channel, r.campaign, r.conversions, r.revenue, r.spend, r.roi])).toEqual([
      ['2026-03-02', 'email', 'e-a', 0.75, 75, 10, 6.5],
      ['2026-03-02', 'google_ads', 'g-a', 0.25, 25, 40, -0.375],
      ['2026-03-02', 'google_ads', 'g-b', 1, 60, 20, 2],
      ['2026-03-03', 'google_ads', 'g-a', 0, 0, 30, -1],
    ]);
  });
});

describe('the attributor on the warehouse', () => {
  const feed = syntheticJourneyFeed({ conversions: 600, nullPaths: 800, seed: 21 });
  const models = ALL_MODELS;
  const beliefModels = [...ALGORITHMIC_MODELS, 'first_touch'];
  const store = () => new WarehouseAttributorStore(env.wh, new WarehouseSink(env.wh), env.bus, 'credits', beliefModels, 'first_touch');
  const run = (state: AttributorState) => new StreamingAttributor(state, store(), { recomputeEveryConversions: 100, restateThreshold: 0.02, restatementChunkRows: 3_000 }, silentLogger());
  const opts = { ...OPTIONS, models, maxRetainedJourneys: 50 };

  async function feedInto(a: StreamingAttributor, messages: readonly JourneysTopicMessage[], from: number, partition: number) {
    for (let i = 0; i < messages.length; i += 97) {
      const items = messages.slice(i, i + 97).map((message, k) => ({ message, record: recordOf(message, partition, from + i + k) }));
      await a.handle(items, { topic: 'journeys', partition, records: items.map((x) => x.record) });
    }
  }

  it('writes what a batch computation gives, across a restart that rebuilds its state from the warehouse', async () => {
    const messages = shuffled(feed.messages, 3);
    const half = Math.floor(messages.length / 2);
    const first = run(new AttributorState(opts));
    await feedInto(first, messages.slice(0, half + 150), 0, 0);

    // Restart: what was written comes from the warehouse; the journeys below the committed offset
    // (`half`) are replayed; the 150 after it are redelivered.
    const state = new AttributorState(opts);
    const loaded = await store().loadInto(state);
    expect(loaded.beliefs).toBeGreaterThan(0);
    expect(loaded.snapshots).toBeGreaterThan(0);
    for (const m of messages.slice(0, half)) state.restore(m);
    const second = run(state);
    const journeyRows = async () => (await env.wh.query<{ n: string }>(`SELECT count() AS n FROM touchline.credits WHERE src_topic = 'journeys'`))[0]!.n;
    const before = await journeyRows();
    await feedInto(second, messages.slice(half, half + 150), half, 0);
    expect(await journeyRows()).toBe(before);
    await feedInto(second, messages.slice(half + 150), half + 150, 0);
    await second.tick();
    await second.tick();
    expect(second.status()).toMatchObject({ dirty: false, unsettled: false });

    const b = batch(messages, second.state.snapshot.seq, models);
    const current = await currentCredits(env.wh, 'conv-21-');
    expect([...current.keys()].sort()).toEqual([...b.credit.keys()].sort());
    for (const [key, c] of b.credit) {
      expect(current.get(key), key).toEqual(sharesOf(c));
    }
    const [dup] = await env.wh.query<{ n: string; d: string }>(`SELECT count() AS n, uniqExact(conversion_id, model, version, touchpoint_id) AS d FROM touchline.credits WHERE conversion_id LIKE 'conv-21-%'`);
    expect(dup!.n).toBe(dup!.d);
  });
});
