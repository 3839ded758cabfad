import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, Warehouse, WarehouseSink, migrate } from '../src/index.js';

/** Runs against the embedded engine (one data directory per test process). */
let wh: Warehouse;
beforeAll(async () => {
  wh = await Warehouse.open({ path: mkdtempSync(join(tmpdir(), 'wh-')) });
  await migrate(wh);
});
afterAll(async () => wh.close());

const count = async (sql: string) => Number((await wh.query<{ c: string }>(sql))[0]!.c);

const creditRow = (conversion_id: string, version: number, touchpoint_id: string, weight: number, extra: Record<string, unknown> = {}) => ({
  conversion_id, model: 'linear', version, touchpoint_id, channel: 'email', campaign: '', touch_ts: '2026-11-01 10:00:00.000', conversion_ts: '2026-11-01 10:00:00.000',
  conversion_name: 'purchase', person_id: 'p', weight, value: weight * 10, currency: 'EUR', retracted: 0, computed_at: '2026-11-01 10:00:00.000',
  src_topic: 'j', src_partition: 0, src_offset: String(version), ...extra,
});

describe('warehouse', () => {
  it('applies migrations once', async () => {
    expect(await migrate(wh)).toEqual([]);
    expect(await count('SELECT count() AS c FROM touchline.schema_migrations')).toBe(MIGRATIONS.length);
  });

  it('writes an insert with the same token once', async () => {
    const row = { message_id: 'm1', stage: 'ingest', reason: 'r', path: '', payload: '', received_at: '2026-11-01 10:00:00.000', src_topic: 'd', src_partition: 0, src_offset: '0' };
    await wh.insertRows('touchline.deadletter', [row], 'tok-a');
    await wh.insertRows('touchline.deadletter', [row], 'tok-a');
    expect(await count("SELECT count() AS c FROM touchline.deadletter WHERE message_id = 'm1'")).toBe(1);
    await wh.insertRows('touchline.deadletter', [row], 'tok-b');
    expect(await count("SELECT count() AS c FROM touchline.deadletter WHERE message_id = 'm1'")).toBe(2);
  });

  it('sink: a replay with other batch boundaries writes nothing twice, even from a fresh sink', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({
      message_id: `s${i}`, date: '2026-11-01', channel: 'email', campaign: '', amount: i, currency: 'EUR', received_at: '2026-11-01 10:00:00.000',
      src_topic: 'costs', src_partition: 3, src_offset: String(i),
    }));
    const first = new WarehouseSink(wh);
    expect(await first.write('touchline.costs', 'costs', 3, '0', rows.slice(0, 4))).toBe(4);
    // Crash before commit: a new sink sees offsets 2..9 in one batch.
    const second = new WarehouseSink(wh);
    expect(await second.write('touchline.costs', 'costs', 3, '2', rows.slice(2))).toBe(6);
    expect(await second.write('touchline.costs', 'costs', 3, '5', rows.slice(5, 7))).toBe(0);
    expect(await count("SELECT count() AS c FROM touchline.costs WHERE src_topic = 'costs' AND src_partition = 3")).toBe(10);
    expect(await count("SELECT uniqExact(src_offset) AS c FROM touchline.costs WHERE src_topic = 'costs' AND src_partition = 3")).toBe(10);
  });

  it('sink with a unique column: an event resent at a new offset is written once, the first copy', async () => {
    const row = (id: string, offset: number, ts: string) => ({
      message_id: id, conversion_id: `o-${id}`, anonymous_id: 'a', user_id: '', ts, received_at: ts, name: 'purchase', value: 1,
      currency: 'EUR', stage: '', consent: 1, src_topic: 'conv', src_partition: 1, src_offset: String(offset),
    });
    const unique = { 'touchline.conversions': 'message_id' };
    const sink = new WarehouseSink(wh, unique);
    const t1 = '2026-11-01 10:00:00.000';
    const t2 = '2026-11-01 11:00:00.000';
    // Within a batch and against the table; rows with ids not yet stored still go in.
    expect(await sink.write('touchline.conversions', 'conv', 1, '0', [row('u1', 0, t1), row('u2', 1, t1), row('u1', 2, t2)])).toBe(2);
    expect(await sink.write('touchline.conversions', 'conv', 1, '3', [row('u2', 3, t2), row('u1', 4, t2)])).toBe(0);
    expect(await sink.write('touchline.conversions', 'conv', 1, '5', [row('u1', 5, t2), row('u3', 6, t2)])).toBe(1);
    // A fresh sink (a restart) finds the stored ids too.
    expect(await new WarehouseSink(wh, unique).write('touchline.conversions', 'conv', 1, '7', [row('u3', 7, t1), row('u2', 8, t1)])).toBe(0);
    const stored = await wh.query<{ message_id: string; ts: string }>(
      "SELECT message_id, toString(ts) AS ts FROM touchline.conversions WHERE src_topic = 'conv' ORDER BY message_id",
    );
    expect(stored).toEqual([
      { message_id: 'u1', ts: '2026-11-01 10:00:00.000' },
      { message_id: 'u2', ts: '2026-11-01 10:00:00.000' },
      { message_id: 'u3', ts: '2026-11-01 11:00:00.000' },
    ]);
  });

  it('credits_current: the newest version wins, duplicates collapse, retractions vanish', async () => {
    await wh.insertRows('touchline.credits', [creditRow('c1', 1, 'a', 0.5), creditRow('c1', 1, 'b', 0.5)], 'c1v1');
    await wh.insertRows('touchline.credits', [creditRow('c1', 2, 'a', 0.25), creditRow('c1', 2, 'b', 0.25), creditRow('c1', 2, 'c', 0.5)], 'c1v2');
    // An exact duplicate written under another token (say, by a replay) changes no sum.
    await wh.insertRows('touchline.credits', [creditRow('c1', 2, 'c', 0.5)], 'c1v2-dup');
    await wh.insertRows('touchline.credits', [creditRow('c2', 1, 'x', 1)], 'c2v1');
    const cur = await wh.query<{ conversion_id: string; n: string; w: number }>(
      "SELECT conversion_id, count() AS n, sum(weight) AS w FROM touchline.credits_current WHERE conversion_id IN ('c1','c2') GROUP BY conversion_id ORDER BY conversion_id",
    );
    expect(cur.map((r) => [r.conversion_id, Number(r.n), r.w])).toEqual([['c1', 3, 1], ['c2', 1, 1]]);
    await wh.insertRows('touchline.credits', [creditRow('c2', 5, '', 0, { retracted: 1 })], 'c2-retract');
    expect(await count("SELECT count() AS c FROM touchline.credits_current WHERE conversion_id = 'c2'")).toBe(0);
    const byDay = await wh.query<{ revenue: number }>("SELECT sum(revenue) AS revenue FROM touchline.credit_by_channel_daily WHERE model = 'linear'");
    expect(byDay[0]!.revenue).toBeCloseTo(10, 9);
  });

  it('analyst queries read, and can never write or reach files', async () => {
    const r = await wh.analystQuery('SELECT 41 + 1 AS x', 'JSONEachRow');
    let text = '';
    for await (const chunk of r.body) text += chunk.toString();
    expect(JSON.parse(text)).toEqual({ x: 42 });
    await expect(wh.analystQuery('DROP TABLE touchline.credits', 'JSONEachRow')).rejects.toThrow(/readonly/i);
    await expect(wh.analystQuery('INSERT INTO touchline.alerts (id) VALUES (1)', 'JSONEachRow')).rejects.toThrow(/readonly/i);
    await expect(wh.analystQuery('SET readonly = 0', 'JSONEachRow')).rejects.toThrow();
    await expect(wh.analystQuery("SELECT * FROM file('/etc/hostname', 'LineAsString')", 'JSONEachRow')).rejects.toThrow(/readonly/i);
    expect(await count('SELECT count() AS c FROM system.tables WHERE database = \'touchline\' AND name = \'credits\'')).toBe(1);
    // The service's own session is unaffected by the analysts' read-only session.
    await wh.command('CREATE TABLE IF NOT EXISTS touchline.scratch (a UInt8) ENGINE = Memory');
  });
});
