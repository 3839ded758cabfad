import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryStorage, createTracker, type BrowserEnv, type DeliveryProblem, type FetchLike } from '@touchline/sdk';
import { EmbeddedBus } from '@touchline/platform';
import { hashEmail } from '../src/index.js';
import { ingestApp, readAll, tempDir, topics } from './helpers.js';

/** What the SDK sends, as browsers and servers send it, is what ingest accepts. */
describe('the tracker SDK against the real ingest routes', () => {
  let dir: string;
  let bus: EmbeddedBus;
  beforeEach(async () => {
    dir = tempDir('ingest-sdk-');
    bus = await EmbeddedBus.open({ dir, partitions: 2 });
  });
  afterEach(async () => {
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const through = (app: Awaited<ReturnType<typeof ingestApp>>['app']): FetchLike => async (url, init) => {
    const u = new URL(url);
    const res = await app.inject({ method: 'POST', url: `${u.pathname}${u.search}`, headers: init.headers, payload: init.body });
    return { status: res.statusCode, headers: { get: (n: string) => (res.headers[n.toLowerCase()] as string | undefined) ?? null }, text: async () => res.body };
  };

  it('a browser visit: landing click, identify, conversion, all accepted and enriched', async () => {
    const { app } = await ingestApp(bus, { options: { threads: 1 } });
    const href = 'https://shop.example/landing?utm_source=Google&utm_medium=CPC&utm_campaign=brand&gclid=Cj0KCQ';
    const browser: BrowserEnv = {
      location: { href, search: new URL(href).search, pathname: '/landing', hostname: 'shop.example' },
      document: { referrer: 'https://www.google.com/', title: 'Landing', cookie: '', addEventListener: () => undefined },
      navigator: { userAgent: 'Mozilla/5.0 (Macintosh) Safari/605.1.15', language: 'de-DE' },
      localStorage: new MemoryStorage(),
      sessionStorage: new MemoryStorage(),
      addEventListener: () => undefined,
    };
    const problems: DeliveryProblem[] = [];
    const t = createTracker({ writeKey: 'w1', endpoint: 'https://touchline.example.com', fetch: through(app), browser, onProblem: (p) => problems.push(p), consent: { attribution: true } });
    t.identify('user-1', { email: 'Jane.Doe@Example.com', accountId: 'acme' });
    t.conversion({ conversionId: 'order-1', name: 'purchase', value: 99.5, currency: 'eur', stage: 'closed_won' });
    await t.flush();
    expect(problems).toEqual([]);
    expect(t.pending).toBe(0);

    const [touch] = (await readAll(bus, topics.touchpoints)).map((r) => JSON.parse(r.value.toString()));
    expect(touch).toMatchObject({ interaction: 'click', channel: 'paid_search', source: 'google', medium: 'cpc', campaign: 'brand', clickId: 'Cj0KCQ', clickIdType: 'gclid', consent: true, anonymousId: t.anonymousId });
    const [identity] = (await readAll(bus, topics.identities)).map((r) => JSON.parse(r.value.toString()));
    expect(identity).toMatchObject({ userId: 'user-1', anonymousId: t.anonymousId, emailHash: hashEmail('jane.doe@example.com'), accountId: 'acme' });
    const [conversion] = (await readAll(bus, topics.conversions)).map((r) => JSON.parse(r.value.toString()));
    expect(conversion).toMatchObject({ conversionId: 'order-1', userId: 'user-1', value: 99.5, currency: 'EUR', stage: 'closed_won' });
    await app.close();
  });

  it('a server: bearer key, its own ids per event', async () => {
    const { app } = await ingestApp(bus, { options: { threads: 0 } });
    const t = createTracker({ writeKey: 'w1', endpoint: 'http://touchline.internal:8080', fetch: through(app), browser: null });
    t.touch('call', { userId: 'crm-42', channel: 'calls', campaign: 'hotline' });
    t.touch('event', { anonymousId: 'badge-7', campaign: 'dmexco' });
    await t.shutdown();
    const records = (await readAll(bus, topics.touchpoints)).map((r) => JSON.parse(r.value.toString()));
    expect(records.map((r) => [r.userId ?? r.anonymousId, r.channel])).toEqual(expect.arrayContaining([['crm-42', 'calls'], ['badge-7', 'events']]));
    await app.close();
  });
});
