import { afterAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '@touchline/platform';
import { groups, ingestApp, readAll, startPipeline, topics, waitFor } from './helpers.js';

/**
 * A deleted person's pseudonymous records stay in the event log (until its retention), followed by
 * the privacy_delete record. Everything that rebuilds state from the log at start (the stitcher
 * replays the raw topics, the attributor the journeys topic and the warehouse, ingest its deny
 * list) must keep them forgotten: after a restart, and after more traffic, none of their rows or
 * credit comes back, and someone else's credit is unchanged.
 */
const H = 3_600_000;
const MODELS = ['first_touch', 'linear', 'markov'] as const;

describe('a privacy delete across a restart', () => {
  let pipeline: Awaited<ReturnType<typeof startPipeline>> | undefined;
  afterAll(async () => {
    await pipeline?.stop();
  });

  const journey = (who: string, base: number) => [
    { type: 'touch', messageId: `${who}-t1`, anonymousId: `anon-${who}`, interaction: 'click', url: 'https://shop.example/?utm_source=linkedin&utm_medium=paid_social', timestamp: base },
    { type: 'identify', messageId: `${who}-id`, anonymousId: `anon-${who}`, userId: `user-${who}`, traits: { email: `${who}@example.org` }, timestamp: base + H },
    { type: 'touch', messageId: `${who}-t2`, userId: `user-${who}`, interaction: 'email_click', channel: 'email', timestamp: base + 2 * H },
    { type: 'conversion', messageId: `${who}-c`, userId: `user-${who}`, conversionId: `${who}-order`, name: 'purchase', value: 500, timestamp: base + 3 * H },
  ];

  it('does not bring the person back', async () => {
    pipeline = await startPipeline('ingest-privacy-restart-', [...MODELS]);
    const dir = pipeline.dir;
    const open = async (p: NonNullable<typeof pipeline>) =>
      ingestApp(p.bus, { warehouse: p.wh, pipeline: { raw: [groups.stitcher, groups.warehouse], journeys: [groups.attributor] }, options: { threads: 0 } });
    let ingest = await open(pipeline);
    const send = async (batch: object[]) => {
      const res = await ingest.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: 'Bearer w1' }, payload: { batch } });
      expect(res.statusCode).toBe(200);
      return res.json() as { accepted: number; dropped?: number };
    };
    const base = Date.parse('2026-11-01T09:00:00Z');
    await send([...journey('erika', base), ...journey('max', base)]);
    const wh = (): Warehouse => pipeline!.wh;
    const count = async (sql: string) => Number((await wh().query<{ n: string }>(sql))[0]?.n ?? 0);
    await waitFor(async () => ((await count(`SELECT count() AS n FROM touchline.credits_current`)) === 2 * 2 * MODELS.length ? true : undefined), 'credit of both');

    const res = await ingest.app.inject({ method: 'POST', url: '/v1/privacy/delete', headers: { authorization: 'Bearer a1' }, payload: { userId: 'user-erika' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ drained: true, retractedConversions: 1 });

    const erikaLeft = async () => ({
      touchpoints: await count(`SELECT count() AS n FROM touchline.touchpoints WHERE anonymous_id = 'anon-erika' OR user_id = 'user-erika'`),
      conversions: await count(`SELECT count() AS n FROM touchline.conversions WHERE conversion_id = 'erika-order'`),
      identities: await count(`SELECT count() AS n FROM touchline.identity_links WHERE anonymous_id = 'anon-erika' OR user_id = 'user-erika'`),
      credit: await count(`SELECT count() AS n FROM touchline.credits_current WHERE conversion_id = 'erika-order'`),
      creditRows: await count(`SELECT count() AS n FROM touchline.credits WHERE conversion_id = 'erika-order' AND retracted = 0`),
      deadletters: await count(`SELECT count() AS n FROM touchline.deadletter WHERE position(payload, 'erika') > 0`),
    });
    const none = { touchpoints: 0, conversions: 0, identities: 0, credit: 0, creditRows: 0, deadletters: 0 };
    expect(await erikaLeft()).toEqual(none);
    const maxCredit = async () => wh().query(`SELECT model, touchpoint_id, round(weight, 9) AS w FROM touchline.credits_current WHERE conversion_id = 'max-order' ORDER BY model, touchpoint_id`);
    const maxBefore = await maxCredit();
    expect(maxBefore).toHaveLength(2 * MODELS.length);
    // Her records are still in the log, pseudonymous: what the restart reads again.
    const logged = (await readAll(pipeline.bus, topics.touchpoints)).filter((r) => r.value.toString().includes('erika'));
    expect(logged).toHaveLength(2);
    expect(logged.some((r) => r.value.toString().includes('@'))).toBe(false);

    // Restart everything on the same log and warehouse.
    await ingest.app.close();
    await pipeline.stop({ keep: true });
    pipeline = await startPipeline('', [...MODELS], dir);
    ingest = await open(pipeline);
    expect(pipeline.stitcher.state.stats.people).toBe(1);

    // More traffic: someone new converts, Max returns, and Erika's ids are still refused.
    const later = await send([
      ...journey('lena', base + 24 * H),
      { type: 'touch', messageId: 'max-t3', userId: 'user-max', interaction: 'visit', channel: 'direct', timestamp: base + 30 * H },
      { type: 'touch', messageId: 'erika-t3', anonymousId: 'anon-erika', interaction: 'visit', timestamp: base + 30 * H },
    ]);
    expect(later).toEqual({ accepted: 5, rejected: [], dropped: 1 });
    await waitFor(async () => ((await count(`SELECT count() AS n FROM touchline.credits_current WHERE conversion_id = 'lena-order'`)) === 2 * MODELS.length ? true : undefined), 'credit of the new conversion');
    await waitFor(async () => ((await count(`SELECT count() AS n FROM touchline.touchpoints WHERE message_id = 'max-t3'`)) === 1 ? true : undefined), 'the new touch in the warehouse');

    expect(await erikaLeft()).toEqual(none);
    expect(await maxCredit()).toEqual(maxBefore);
    expect(pipeline.stitcher.state.stats.people).toBe(2);
    // The journeys topic still ends, for her conversion, in its retraction.
    const hers = (await readAll(pipeline.bus, topics.journeys))
      .map((r) => JSON.parse(r.value.toString()) as { kind: string; conversion?: { conversionId: string }; retracted?: boolean })
      .filter((m) => m.kind === 'journey' && m.conversion?.conversionId === 'erika-order');
    expect(hers.length).toBeGreaterThan(1);
    expect(hers[hers.length - 1]!.retracted).toBe(true);
  }, 120_000);
});
