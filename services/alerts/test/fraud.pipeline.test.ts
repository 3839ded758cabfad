import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertsTopicMessage } from '@touchline/contracts';
import { KEYS, openInfra, post, readTopic, startService, type Infra } from './support/service.js';
import { TestClient } from './support/ws.js';

/**
 * Click fraud through the real pipeline: events over HTTP into ingest, the event log, the alerts
 * service's traffic consumer, the alerts table and topic, and `/v1/stream`.
 */
let infra: Infra;
let svc: Awaited<ReturnType<typeof startService>>;
beforeAll(async () => {
  infra = await openInfra('fraud-');
  svc = await startService(infra);
});
afterAll(async () => {
  await svc.stop();
  await infra.bus.close();
  await infra.warehouse.close();
  rmSync(infra.dir, { recursive: true, force: true });
});

const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/129.0 Safari/537.36';

describe('a burst of clicks from one address', () => {
  it('produces a fraud alert on /v1/stream within 5 seconds and flags exactly its touches', async () => {
    const client = await TestClient.open(svc.ws, { token: KEYS.read });
    client.send({ type: 'subscribe', channels: ['fraud', 'alerts'] });
    await client.next((f) => f.type === 'subscribed');

    // Ordinary visitors first: distinct addresses and devices, nothing to flag.
    const now = Date.now();
    const ordinary = Array.from({ length: 10 }, (_, i) => ({
      type: 'touch', messageId: `ok-${i}`, anonymousId: `visitor-${i}`, interaction: 'click', timestamp: now - 60_000 + i * 1000,
      url: 'https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=spring', context: { ip: `198.51.${i}.17`, userAgent: UA },
    }));
    expect((await post(svc.url, '/v1/batch', { batch: ordinary }, KEYS.write)).status).toBe(200);

    const burst = Array.from({ length: 30 }, (_, i) => ({
      type: 'touch', messageId: `farm-${i}`, anonymousId: `farm-device-${i}`, interaction: 'click', timestamp: now + i * 1000,
      url: 'https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=x' + i, context: { ip: '203.0.113.77', userAgent: UA },
    }));
    const sent = await post(svc.url, '/v1/batch', { batch: burst }, KEYS.write);
    expect(sent.status).toBe(200);
    const acceptedAt = Date.now();
    const alert = await client.next((f) => f.channel === 'fraud' && f.type === 'fraud_spike', 5000);
    const latency = Date.now() - acceptedAt;
    expect(latency).toBeLessThan(5000);
    console.log(`fraud alert on /v1/stream ${latency} ms after the batch was accepted`);

    expect(alert.data).toMatchObject({ kind: 'alert', type: 'fraud_spike', signal: 'click_burst', severity: 'critical', channel: 'paid_search', campaign: 'spring' });
    expect(alert.data.details.address).toBe('203.0.113.0');
    expect(alert.data.evidence.pValue).toBeLessThan(1e-6);
    expect(alert.data.summary).toMatch(/clicks in 60 s from address 203\.0\.113\.0/);

    // Flags: every click of the burst, each once; none of the ordinary visitors.
    const flagged = await client.until(() => {
      const ids = client.frames.filter((f) => f.type === 'fraud_flag').flatMap((f) => f.data.touchpointIds as string[]);
      return ids.length >= 30 ? ids : undefined;
    }, 5000, 'fraud flags for all 30 clicks');
    expect(flagged.sort()).toEqual(burst.map((b) => b.messageId).sort());

    // The stitcher's input: complete fraud_flag messages on the alerts topic, keyed by the touches' identity.
    const onTopic = await readTopic(infra.bus, infra.topics.alerts, AlertsTopicMessage, 1);
    const flags = onTopic.filter((m) => m.kind === 'fraud_flag');
    expect(flags.flatMap((f) => f.touchpointIds).sort()).toEqual(burst.map((b) => b.messageId).sort());
    for (const f of flags) {
      expect(f.flagId).toMatch(/^flag-/);
      expect(f.reason).toMatch(/^click burst from one address \(203\.0\.113\.0\)( \(quarantined\))?$/);
      expect(f.flaggedAt).toBeGreaterThanOrEqual(now - 1000);
    }
    expect(onTopic.filter((m) => m.kind === 'alert').map((m) => m.kind === 'alert' && m.signal)).toEqual(['click_burst']);

    // And stored for later reads and resumes.
    const rows = await infra.warehouse.query<{ type: string; n: string }>(
      `SELECT type, count() AS n FROM touchline.alerts GROUP BY type ORDER BY type`,
    );
    expect(rows.map((r) => [r.type, Number(r.n)])).toEqual([['fraud_flag', flags.length], ['fraud_spike', 1]]);
    await client.close();
  });
});
