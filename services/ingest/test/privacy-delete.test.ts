import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBus, type Warehouse } from '@touchline/platform';
import { hashEmail } from '../src/index.js';
import { groups, ingestApp, readAll, startPipeline, tempDir, topics, waitFor } from './helpers.js';

/**
 * A person asks to be forgotten, through the real pipeline: ingest → log → stitcher → attributor
 * → the embedded ClickHouse. Afterwards none of their rows is left, none of their conversions has
 * credit, their future events are dropped (also by an instance started later, and by one whose
 * log lost the deletion), and someone else's data is untouched.
 */
const EMAIL = 'Erika.Mustermann@Example.org';
const H = 3_600_000;

describe('POST /v1/privacy/delete', () => {
  let dir: string;
  let bus: EmbeddedBus;
  let wh: Warehouse;
  let pipeline: Awaited<ReturnType<typeof startPipeline>>;
  let ingest: Awaited<ReturnType<typeof ingestApp>>;

  beforeAll(async () => {
    pipeline = await startPipeline('ingest-privacy-', ['first_touch', 'last_touch', 'linear']);
    ({ dir, bus, wh } = pipeline);
    ingest = await ingestApp(bus, {
      warehouse: wh,
      dataDir: join(dir, 'ingest'),
      pipeline: { raw: [groups.stitcher, groups.warehouse], journeys: [groups.attributor] },
      options: { threads: 1 },
    });
  }, 60_000);

  afterAll(async () => {
    await ingest.app.close();
    await pipeline.stop();
  });

  const send = async (batch: object[], app = ingest.app) => {
    const res = await app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: 'Bearer w1' }, payload: { batch } });
    return { status: res.statusCode, body: res.json() as { accepted: number; rejected: unknown[]; dropped?: number } };
  };
  const count = async (sql: string, params?: Record<string, unknown>) => Number((await wh.query<{ n: string }>(sql, params))[0]?.n ?? 0);

  const journey = (anon: string, user: string, email: string, base: number) => [
    { type: 'touch', messageId: `${anon}-t1`, anonymousId: anon, interaction: 'click', url: 'https://shop.example/?utm_source=linkedin&utm_medium=paid_social', timestamp: base },
    { type: 'identify', messageId: `${anon}-id`, anonymousId: anon, userId: user, traits: { email }, timestamp: base + H },
    { type: 'touch', messageId: `${anon}-t2`, userId: user, interaction: 'email_click', channel: 'email', timestamp: base + 2 * H },
    { type: 'conversion', messageId: `${anon}-c`, userId: user, conversionId: `${user}-order`, name: 'purchase', value: 500, timestamp: base + 3 * H },
  ];

  it('deletes the rows, retracts the credit and drops what comes later', async () => {
    const base = Date.parse('2026-11-01T09:00:00Z');
    expect((await send([...journey('anon-erika', 'user-erika', EMAIL, base), ...journey('anon-max', 'user-max', 'max@example.org', base)])).status).toBe(200);
    await waitFor(
      async () => ((await count(`SELECT count() AS n FROM touchline.credits_current WHERE conversion_id IN ('user-erika-order', 'user-max-order')`)) === 2 * 2 * 3 ? true : undefined),
      'credit of both conversions',
    );
    await waitFor(async () => ((await count(`SELECT count() AS n FROM touchline.identity_links`)) === 2 ? true : undefined), 'identity rows');
    // A probable link naming Erika's device second, as the stitcher writes one with linking on.
    await wh.insertRows(
      'touchline.identity_links',
      [{ message_id: 'probable:a:anon-erika|a:anon-tablet', anonymous_id: 'anon-tablet', linked_anonymous_id: 'anon-erika', link_type: 'probabilistic', confidence: 0.8, evidence: ['x', 'y'], ts: '2026-11-01 09:00:00.000', received_at: '2026-11-01 09:00:00.000', src_topic: 'links', src_partition: 0, src_offset: 0 }],
      'probable-erika',
    );

    // Named by email only: the delete finds the ids linked to it.
    const res = await ingest.app.inject({ method: 'POST', url: '/v1/privacy/delete', headers: { authorization: 'Bearer a1' }, payload: { email: ` ${EMAIL.toUpperCase()} ` } });
    expect(res.statusCode).toBe(200);
    const out = res.json();
    expect(out.forgotten).toEqual({ anonymousIds: ['anon-erika'], userIds: ['user-erika'], emailHashes: [hashEmail(EMAIL)] });
    expect(out.drained).toBe(true);
    expect(out.retractedConversions).toBe(1);
    expect(out.deletedRows).toMatchObject({ touchpoints: 2, conversions: 1, identity_links: 2 });

    const ids = { a: ['anon-erika'], u: ['user-erika'] };
    expect(await count(`SELECT count() AS n FROM touchline.touchpoints WHERE anonymous_id IN {a:Array(String)} OR user_id IN {u:Array(String)}`, ids)).toBe(0);
    expect(await count(`SELECT count() AS n FROM touchline.conversions WHERE anonymous_id IN {a:Array(String)} OR user_id IN {u:Array(String)}`, ids)).toBe(0);
    expect(await count(`SELECT count() AS n FROM touchline.identity_links WHERE anonymous_id IN {a:Array(String)} OR user_id IN {u:Array(String)} OR email_hash = {e:String}`, { ...ids, e: hashEmail(EMAIL) })).toBe(0);
    expect(await count(`SELECT count() AS n FROM touchline.identity_links WHERE linked_anonymous_id IN {a:Array(String)}`, ids)).toBe(0);
    expect(await count(`SELECT count() AS n FROM touchline.credits_current WHERE conversion_id = 'user-erika-order'`)).toBe(0);
    expect(await count(`SELECT count() AS n FROM touchline.credits WHERE person_id LIKE '%erika%'`)).toBe(0);
    const revenue = await wh.query<{ r: number }>(`SELECT sum(revenue) AS r FROM touchline.credit_by_channel_daily WHERE model = 'linear'`);
    expect(Number(revenue[0]!.r)).toBeCloseTo(500, 6);

    // The other person is untouched.
    expect(await count(`SELECT count() AS n FROM touchline.credits_current WHERE conversion_id = 'user-max-order'`)).toBe(2 * 3);
    expect(await count(`SELECT count() AS n FROM touchline.touchpoints WHERE anonymous_id = 'anon-max' OR user_id = 'user-max'`)).toBe(2);

    // Later events of the person are dropped; someone new is not.
    const later = await send([
      { type: 'touch', anonymousId: 'anon-erika', interaction: 'visit', timestamp: base + 10 * H },
      { type: 'identify', anonymousId: 'anon-new-device', traits: { email: 'erika.mustermann@example.org' }, timestamp: base + 10 * H },
      { type: 'touch', anonymousId: 'anon-someone', interaction: 'visit', timestamp: base + 10 * H },
    ]);
    expect(later).toEqual({ status: 200, body: { accepted: 1, rejected: [], dropped: 2 } });
    const published = (await readAll(bus, topics.touchpoints)).map((r) => JSON.parse(r.value.toString()) as { anonymousId?: string; messageId: string });
    expect(published.filter((m) => m.anonymousId === 'anon-erika').map((m) => m.messageId)).toEqual(['anon-erika-t1']);
    expect(ingest.handle.metrics.eventsDropped.get({ reason: 'privacy_deleted' })).toBe(2);
  }, 60_000);

  it('is known to instances started later, from the log or from the data directory', async () => {
    // Another instance on the same log learns the deletion from the identities topic.
    const second = await ingestApp(bus, { options: { threads: 0 } });
    expect((await send([{ type: 'touch', userId: 'user-erika', interaction: 'visit', timestamp: 1 }], second.app)).body.dropped).toBe(1);
    await second.app.close();

    // An instance whose log lost the record (retention) still has the snapshot in its data directory.
    const snapshot = JSON.parse(readFileSync(join(dir, 'ingest', 'privacy', 'deny-list.json'), 'utf8'));
    expect(snapshot.userIds).toEqual(['user-erika']);
    const emptyLogDir = tempDir('ingest-empty-log-');
    const emptyBus = await EmbeddedBus.open({ dir: emptyLogDir });
    const third = await ingestApp(emptyBus, { dataDir: join(dir, 'ingest'), options: { threads: 0 } });
    expect((await send([{ type: 'touch', anonymousId: 'anon-erika', interaction: 'visit', timestamp: 1 }], third.app)).body.dropped).toBe(1);
    await third.app.close();
    await emptyBus.close();
    rmSync(emptyLogDir, { recursive: true, force: true });
  });

  it('reaches a running instance on the same log', async () => {
    const other = await ingestApp(bus, { options: { threads: 1 } });
    const res = await ingest.app.inject({ method: 'POST', url: '/v1/privacy/delete', headers: { authorization: 'Bearer a1' }, payload: { anonymousId: ['anon-late-1', 'anon-late-2'] } });
    expect(res.statusCode).toBe(200);
    await waitFor(() => (other.handle.denyList.denies({ anonymousId: 'anon-late-2' }) ? true : undefined), 'the other instance to learn the deletion');
    expect((await send([{ type: 'touch', anonymousId: 'anon-late-2', interaction: 'visit', timestamp: 1 }], other.app)).body.dropped).toBe(1);
    await other.app.close();
  });

  it('needs an admin key and someone to forget', async () => {
    const asWriter = await ingest.app.inject({ method: 'POST', url: '/v1/privacy/delete', headers: { authorization: 'Bearer w1' }, payload: { userId: 'x' } });
    expect(asWriter.statusCode).toBe(401);
    const empty = await ingest.app.inject({ method: 'POST', url: '/v1/privacy/delete', headers: { authorization: 'Bearer a1' }, payload: {} });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toMatch(/name the person: userId, anonymousId or email/);
    const bad = await ingest.app.inject({ method: 'POST', url: '/v1/privacy/delete', headers: { authorization: 'Bearer a1' }, payload: { email: 'not-an-email' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).not.toContain('not-an-email');
  });

  it('leaves no clear email in any topic or table', async () => {
    const needle = /mustermann|max@example/i;
    for (const topic of Object.values(topics)) {
      for (const r of await readAll(bus, topic)) expect(r.value.toString(), topic).not.toMatch(needle);
    }
    for (const table of ['touchpoints', 'conversions', 'identity_links', 'deadletter', 'credits']) {
      const rows = await wh.query<Record<string, unknown>>(`SELECT * FROM touchline.${table}`);
      expect(JSON.stringify(rows), table).not.toMatch(needle);
    }
  });
});
