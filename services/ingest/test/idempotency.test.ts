import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedBus, Warehouse } from '@touchline/platform';
import { derivedMessageId } from '../src/index.js';
import { groups, ingestApp, startPipeline, topics, waitFor } from './helpers.js';

/**
 * At-least-once delivery means clients resend (after a timeout, a 503, a lost answer). A resent
 * event, with its own messageId or with none (then derived from its content), must change nothing
 * downstream: no second journey, no second credit, one row per event in the warehouse.
 */
const H = 3_600_000;

describe('a resent event', () => {
  let bus: EmbeddedBus;
  let wh: Warehouse;
  let pipeline: Awaited<ReturnType<typeof startPipeline>>;
  let ingest: Awaited<ReturnType<typeof ingestApp>>;

  beforeAll(async () => {
    pipeline = await startPipeline('ingest-idem-', ['first_touch', 'linear', 'time_decay']);
    ({ bus, wh } = pipeline);
    ingest = await ingestApp(bus, { options: { threads: 1 } });
  }, 60_000);

  afterAll(async () => {
    await ingest.app.close();
    await pipeline.stop();
  });

  /** Until every group has committed everything on every topic it reads. */
  const drained = async () => {
    const reads: Array<[string, string[]]> = [
      [groups.stitcher, [topics.touchpoints, topics.conversions, topics.identities]],
      [groups.warehouse, [topics.touchpoints, topics.conversions, topics.identities, topics.costs, topics.deadletter]],
      [groups.attributor, [topics.journeys]],
    ];
    await waitFor(async () => {
      for (const [group, list] of reads) {
        for (const topic of list) {
          const ends = await bus.endOffsets(topic);
          const committed = await bus.committedOffsets(group, topic);
          for (const [p, end] of ends) if (BigInt(committed.get(p) ?? '0') < BigInt(end)) return undefined;
        }
      }
      return true;
    }, 'the pipeline to consume everything');
  };

  const state = async () => ({
    credits: await wh.query(`SELECT conversion_id, model, touchpoint_id, channel, round(weight, 12) AS w, round(value, 9) AS v FROM touchline.credits_current ORDER BY conversion_id, model, touchpoint_id`),
    creditRows: await wh.query(`SELECT count() AS n, uniqExact(conversion_id, model, version) AS versions FROM touchline.credits`),
    // As analysts read them: no FINAL, no uniqExact.
    touchpoints: await wh.query(`SELECT message_id, anonymous_id, user_id, ts, channel, campaign FROM touchline.touchpoints ORDER BY message_id`),
    conversions: await wh.query(`SELECT message_id, conversion_id, value FROM touchline.conversions ORDER BY message_id`),
    identities: await wh.query(`SELECT message_id, email_hash FROM touchline.identity_links ORDER BY message_id`),
    costs: await wh.query(`SELECT message_id, day, channel, amount FROM touchline.costs_current ORDER BY message_id`),
    spend: await wh.query(`SELECT day, model, channel, spend FROM touchline.roi_by_channel_daily ORDER BY day, model, channel`),
    distinct: await wh.query(`SELECT (SELECT uniqExact(message_id) FROM touchline.touchpoints) AS t, (SELECT uniqExact(conversion_id) FROM touchline.conversions) AS c`),
  });

  it('changes nothing downstream, with or without a messageId', async () => {
    const base = Date.parse('2026-11-02T08:00:00Z');
    const at = (h: number) => new Date(base + h * H).toISOString();
    const batch = [
      { type: 'touch', anonymousId: 'p1', interaction: 'click', url: 'https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=brand', timestamp: at(0) },
      { type: 'touch', messageId: 'p1-email', anonymousId: 'p1', interaction: 'email_click', channel: 'email', timestamp: at(5) },
      { type: 'identify', anonymousId: 'p1', userId: 'u1', traits: { email: 'p1@example.com' }, timestamp: at(6) },
      { type: 'conversion', userId: 'u1', conversionId: 'order-1', name: 'purchase', value: 240, currency: 'EUR', timestamp: at(7) },
      { type: 'cost', date: '2026-11-02', channel: 'paid_search', campaign: 'brand', amount: 80, currency: 'EUR' },
    ];
    const send = async (payload: object, url = '/v1/batch') => {
      const res = await ingest.app.inject({ method: 'POST', url, headers: { authorization: 'Bearer w1' }, payload });
      expect(res.statusCode).toBe(200);
    };
    await send({ batch });
    await waitFor(async () => ((await wh.query(`SELECT 1 FROM touchline.credits_current WHERE conversion_id = 'order-1'`)).length === 2 * 3 ? true : undefined), 'credit');
    await drained();
    const before = await state();
    expect(before.touchpoints.map((r) => (r as { message_id: string }).message_id)).toContain(derivedMessageId(batch[0]));

    // The same events again: in another batch order, with other key order, one of them on its own,
    // and from a client whose clock is an hour behind (its corrected timestamps differ from the
    // first copies'; the stored rows stay the first copies).
    await send({ batch: [...batch].reverse().map((e) => Object.fromEntries(Object.entries(e).reverse())) });
    await send(batch[3]!, '/v1/events');
    await send({ batch, sentAt: new Date(Date.now() - H).toISOString() });
    await drained();
    expect(await state()).toEqual(before);
  }, 60_000);

  it('takes a corrected spend export as a replacement, never as extra spend', async () => {
    // What `touchline import costs` sends: one line per day, channel and campaign, its id derived from them.
    const line = (campaign: string, amount: number) => ({ type: 'cost', messageId: `cost-2026-11-03|paid_social|${campaign}`, date: '2026-11-03', channel: 'paid_social', campaign, amount, currency: 'EUR' });
    const spend = () => wh.query<{ campaign: string; amount: number }>(`SELECT campaign, amount FROM touchline.costs_current WHERE day = '2026-11-03' ORDER BY campaign`);
    const roi = () => wh.query<{ spend: number }>(`SELECT spend FROM touchline.roi_by_channel_daily WHERE day = '2026-11-03' AND channel = 'paid_social' AND model = 'linear'`);
    const send = async (batch: object[]) => {
      const res = await ingest.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: 'Bearer w1' }, payload: { batch } });
      expect(res.statusCode).toBe(200);
    };
    await send([line('abm', 100), line('retargeting', 50)]);
    await drained();
    expect(await spend()).toEqual([{ campaign: 'abm', amount: 100 }, { campaign: 'retargeting', amount: 50 }]);
    expect((await roi())[0]!.spend).toBe(150);

    // The export corrected by the platform a day later: one amount changed, one line unchanged.
    await new Promise((r) => setTimeout(r, 5));
    await send([line('abm', 120), line('retargeting', 50)]);
    await drained();
    expect(await spend()).toEqual([{ campaign: 'abm', amount: 120 }, { campaign: 'retargeting', amount: 50 }]);
    expect((await roi())[0]!.spend).toBe(170);
  }, 60_000);

  it('writes the clamp flag of a future timestamp to the warehouse', async () => {
    const future = new Date(Date.now() + 48 * H).toISOString();
    const res = await ingest.app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { authorization: 'Bearer w1' },
      payload: {
        batch: [
          { type: 'touch', messageId: 'clk-future', anonymousId: 'p9', interaction: 'visit', timestamp: future },
          { type: 'touch', messageId: 'clk-past', anonymousId: 'p9', interaction: 'visit', timestamp: '2026-11-02T10:00:00Z' },
          { type: 'conversion', messageId: 'clk-conv', anonymousId: 'p9', conversionId: 'order-9', name: 'purchase', value: 1, timestamp: future },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    await drained();
    const flags = await wh.query(
      `SELECT * FROM (SELECT message_id, timestamp_clamped AS f FROM touchline.touchpoints WHERE anonymous_id = 'p9'
       UNION ALL SELECT message_id, timestamp_clamped AS f FROM touchline.conversions WHERE anonymous_id = 'p9') ORDER BY message_id`,
    );
    expect(flags).toEqual([
      { message_id: 'clk-conv', f: 1 },
      { message_id: 'clk-future', f: 1 },
      { message_id: 'clk-past', f: 0 },
    ]);
  }, 60_000);
});
