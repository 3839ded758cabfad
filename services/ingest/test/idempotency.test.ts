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
    touchpoints: await wh.query(`SELECT message_id, anonymous_id, user_id, ts, channel, campaign FROM touchline.touchpoints FINAL ORDER BY message_id`),
    conversions: await wh.query(`SELECT message_id, conversion_id, value FROM touchline.conversions FINAL ORDER BY message_id`),
    identities: await wh.query(`SELECT message_id, email_hash FROM touchline.identity_links FINAL ORDER BY message_id`),
    costs: await wh.query(`SELECT message_id, date, channel, amount FROM touchline.costs FINAL ORDER BY message_id`),
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

    // The same events again: in another batch order, with other key order, one of them on its own.
    await send({ batch: [...batch].reverse().map((e) => Object.fromEntries(Object.entries(e).reverse())) });
    await send(batch[3]!, '/v1/events');
    await drained();
    expect(await state()).toEqual(before);
  }, 60_000);
});
