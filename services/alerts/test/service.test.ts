import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertsTopicMessage, BidSignalsTopicMessage, type CostMessage, type CreditMessage } from '@touchline/contracts';
import { verifySignature } from '../src/index.js';
import { D, H, T0, cost, credit, dateOf } from './support/fixtures.js';
import { KEYS, openInfra, post, readTopic, startService, waitFor, type Infra } from './support/service.js';
import { TestClient } from './support/ws.js';

/**
 * The alerts service on its topics: credit and spend in, live metrics, alerts, suggestions and bid
 * signals out, stored, streamed, resumed after a restart, and delivered to a webhook. The clock is
 * fixed at T0 so windows are exact.
 */
let infra: Infra;
let svc: Awaited<ReturnType<typeof startService>>;
let receiver: Server;
let receiverUrl: string;
const deliveries: Array<{ body: string; signature: string }> = [];
const now = () => T0;

beforeAll(async () => {
  infra = await openInfra('service-');
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      deliveries.push({ body, signature: String(req.headers['touchline-signature']) });
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/bids`;
  svc = await startService(infra, { now });
});
afterAll(async () => {
  await svc.stop();
  await new Promise((r) => receiver.close(r));
  await infra.bus.close();
  await infra.warehouse.close();
  rmSync(infra.dir, { recursive: true, force: true });
});

const publishCredits = (cs: CreditMessage[]) => infra.bus.publish(infra.topics.credits, cs.map((c) => ({ key: c.conversionId, value: JSON.stringify(c) })));
const publishCosts = (cs: CostMessage[]) => infra.bus.publish(infra.topics.costs, cs.map((c) => ({ key: c.channel, value: JSON.stringify(c) })));

/** `perDay` conversions of 100 for the 8 days before the last 24 h, `trailing` in them; 1000 spent a day. */
function campaignHistory(campaign: string, perDay: number, trailing: number) {
  const credits: CreditMessage[] = [];
  for (let d = 1; d <= 8; d++) for (let i = 0; i < perDay; i++) credits.push(credit(`${campaign}-${d}-${i}`, T0 - d * D - (i + 0.5) * (D / perDay), 100, [['paid_search', campaign, 1]]));
  for (let i = 0; i < trailing; i++) credits.push(credit(`${campaign}-0-${i}`, T0 - (i + 0.5) * (D / trailing), 100, [['paid_search', campaign, 1]]));
  const costs = Array.from({ length: 10 }, (_, d) => cost(dateOf(T0 - d * D), 'paid_search', campaign, 1000));
  return { credits, costs };
}

describe('alerts service', () => {
  it('streams live ROI, ROAS and CPA per channel and campaign over sliding windows', async () => {
    const c = await TestClient.open(svc.ws, { bearer: KEYS.admin });
    c.send({ type: 'subscribe', channels: ['metrics', 'credits'], filter: { model: 'linear', channel: 'linkedin' } });
    await c.next((f) => f.type === 'subscribed');
    await publishCosts([cost(dateOf(T0), 'linkedin', 'abm', 2400), cost(dateOf(T0 - D), 'linkedin', 'abm', 2400)]);
    await publishCredits([
      credit('m1', T0 - 10 * 60_000, 600, [['linkedin', 'abm', 0.5], ['email', 'nurture', 0.5]]),
      credit('m1', T0 - 10 * 60_000, 600, [['linkedin', 'abm', 1]], { model: 'first_touch' }),
    ]);
    const frame = await c.next((f) => f.type === 'window_metrics' && f.data.windows['1h'].channels.length > 0 && f.data.windows['1h'].channels[0].spend > 0);
    expect(frame.data.model).toBe('linear');
    expect(frame.data.windows['1h'].channels).toEqual([{ channel: 'linkedin', campaign: '', conversions: 0.5, revenue: 300, spend: 100, roi: 2, roas: 3, cpa: 200 }]);
    expect(frame.data.windows['24h'].campaigns).toEqual([{ channel: 'linkedin', campaign: 'abm', conversions: 0.5, revenue: 300, spend: 2400, roi: -0.875, roas: 0.125, cpa: 4800 }]);
    // The filter narrowed the rows to linkedin; the other channel is not sent.
    expect(JSON.stringify(frame.data)).not.toContain('nurture');
    const cr = await c.next((f) => f.channel === 'credits');
    expect(cr.data.conversionId).toBe('m1');
    expect(c.frames.filter((f) => f.channel === 'credits').every((f) => f.data.model === 'linear')).toBe(true);
    // Each credit also goes out as a fractional conversion value for ad platforms.
    const values = (await readTopic(infra.bus, infra.topics.bidSignals, BidSignalsTopicMessage, 2)).filter((m) => m.kind === 'conversion_value');
    expect(values.map((v) => [v.model, v.values.map((x) => x.value)])).toEqual(expect.arrayContaining([['linear', [300, 300]], ['first_touch', [600]]]));
    await c.close();
  });

  it('fires a ROI drop when attributed revenue halves while spend holds, and not on 10 conversions of noise', async () => {
    const c = await TestClient.open(svc.ws, { token: KEYS.read });
    c.send({ type: 'subscribe', channels: ['alerts'] });
    await c.next((f) => f.type === 'subscribed');
    const halved = campaignHistory('brand', 40, 20);
    const noise = campaignHistory('niche', 10, 7);
    await publishCosts([...halved.costs, ...noise.costs]);
    await publishCredits([...halved.credits, ...noise.credits]);
    const expected = halved.credits.length + noise.credits.length;
    await waitFor(() => svc.alerts.metrics.size.conversions >= expected + 2, 'credits consumed');
    await waitFor(() => svc.alerts.metrics.totals('linear', 'paid_search', 'niche', T0 - 10 * D, T0 + 1, T0).spend >= 9500, 'costs consumed');

    await svc.alerts.evaluate({ detectors: true });
    const drop = await c.next((f) => f.type === 'roi_drop' && f.data.campaign === 'brand');
    expect(drop.channel).toBe('alerts');
    expect(drop.data.evidence.change).toBeCloseTo(-0.5, 6);
    expect(drop.data.evidence.volume).toEqual({ observed: 20, baseline: 280 });
    expect(c.frames.filter((f) => f.type === 'roi_drop').map((f) => f.data.campaign).sort()).toEqual(['', 'brand']);

    const stored = await infra.warehouse.query<{ campaign: string; signal: string; stream: string; payload: string; seq: string }>(
      `SELECT campaign, signal, stream, payload, seq FROM touchline.alerts WHERE type = 'roi_drop' ORDER BY seq`,
    );
    expect(stored.map((r) => r.campaign).sort()).toEqual(['', 'brand']);
    expect(stored.every((r) => r.stream === 'alerts' && r.signal === 'roi_drop' && String(r.seq) === c.frames.find((f) => f.data?.id === JSON.parse(r.payload).id)?.id)).toBe(true);
    const onTopic = await readTopic(infra.bus, infra.topics.alerts, AlertsTopicMessage, 2);
    expect(onTopic.filter((m) => m.kind === 'alert' && m.type === 'roi_drop')).toHaveLength(2);

    // The same finding is not reported twice.
    await svc.alerts.evaluate({ detectors: true });
    const [n] = await infra.warehouse.query<{ n: string }>(`SELECT count() AS n FROM touchline.alerts WHERE type = 'roi_drop'`);
    expect(Number(n!.n)).toBe(2);
    await c.close();
  });

  it('delivers signed bid signals to a registered webhook', async () => {
    const reg = await post(svc.url, '/v1/webhooks', { url: receiverUrl, events: ['bid_signal'] }, KEYS.admin);
    expect(reg.status).toBe(201);
    await svc.alerts.evaluate({ bids: true });
    const signals = (await readTopic(infra.bus, infra.topics.bidSignals, BidSignalsTopicMessage, 1)).filter((m) => m.kind === 'bid_signal');
    expect(signals.map((s) => s.campaign).sort()).toEqual(['brand', 'niche']);
    await waitFor(() => deliveries.length >= 2, 'webhook deliveries');
    for (const d of deliveries) expect(verifySignature(reg.body.secret, d.signature, d.body)).toMatchObject({ ok: true });
    expect(deliveries.map((d) => JSON.parse(d.body).kind)).toEqual(['bid_signal', 'bid_signal']);
    expect(deliveries.some((d) => JSON.parse(d.body).action === 'lower_bid')).toBe(true);
  });

  it('after a restart, a client resumes from its last id and gets the stored alerts it missed, none twice', async () => {
    const before = await TestClient.open(svc.ws, { token: KEYS.read });
    before.send({ type: 'subscribe', channels: ['alerts'], recent: 1 });
    const last = await before.next((f) => f.channel === 'alerts');
    await before.close();
    const [{ seq: lastSeq } = { seq: '0' }] = await infra.warehouse.query<{ seq: string }>(`SELECT max(seq) AS seq FROM touchline.alerts`);
    expect(last.id).toBe(String(lastSeq));

    await svc.stop();
    svc = await startService(infra, { now: () => T0 + H, options: { journal: { bufferSize: 1 } } });
    // A new finding after the restart: a direct-only wave of conversions.
    await publishCredits(Array.from({ length: 30 }, (_, i) => credit(`direct-${i}`, T0 + H - (i + 1) * 60_000, 50, [['direct', '', 1]])));
    await waitFor(() => svc.alerts.metrics.trackingTotals('linear', T0, T0 + 2 * H, T0 + H).directOnly >= 30, 'direct-only credits consumed');
    await svc.alerts.evaluate({ detectors: true });
    const [{ n } = { n: '0' }] = await infra.warehouse.query<{ n: string }>(`SELECT count() AS n FROM touchline.alerts WHERE type = 'roi_drop'`);
    expect(Number(n)).toBe(2);

    const [{ s } = { s: '0' }] = await infra.warehouse.query<{ s: string }>(`SELECT min(seq) AS s FROM touchline.alerts WHERE type = 'roi_drop'`);
    const c = await TestClient.open(svc.ws, { token: KEYS.read });
    c.send({ type: 'subscribe', channels: ['alerts'], since: String(Number(s) - 1) });
    await c.next((f) => f.data?.signal === 'direct_share');
    const got = c.frames.filter((f) => f.channel === 'alerts');
    // The opportunity (brand earns far more per euro than its peers) was found with the drop.
    expect(got.map((f) => f.data.signal)).toEqual(['roi_drop', 'roi_drop', 'opportunity', 'direct_share']);
    expect(got.map((f) => Number(f.id))).toEqual([...got.map((f) => Number(f.id))].sort((a, b) => a - b));
    expect(Number(got[3]!.id)).toBeGreaterThan(Number(lastSeq));
    expect(Number(got[2]!.id)).toBeLessThanOrEqual(Number(lastSeq));
    await c.close();
  });
});
