import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeadletterMessage, topicNames, type BidSignalMessage } from '@touchline/contracts';
import { EmbeddedBus, KeyRing, buildHttp, silentLogger } from '@touchline/platform';
import { SIGNATURE_HEADER, WebhookDeliverer, WebhookStore, signatureHeader, verifySignature } from '../src/index.js';
import { webhookRoutes } from '../src/webhooks/routes.js';
import { T0 } from './support/fixtures.js';

const SECRET = 'whsec_test_0123456789abcdef0123456789abcdef';
const keys = new KeyRing({ write: ['w'], admin: ['a'], read: ['r'] });
const topics = topicNames('wh.');

describe('verifySignature', () => {
  const body = JSON.stringify({ kind: 'bid_signal', amount: 12.5 });
  const header = signatureHeader(SECRET, body, T0);

  it('accepts the body it signed, within five minutes either way', () => {
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(SECRET, header, body, T0)).toEqual({ ok: true, timestamp: T0 / 1000 });
    expect(verifySignature(SECRET, header, Buffer.from(body), T0 + 299_000).ok).toBe(true);
    expect(verifySignature(SECRET, header, body, T0 - 299_000).ok).toBe(true);
  });

  it('refuses a tampered body, a tampered timestamp, another secret, a stale or a malformed header', () => {
    expect(verifySignature(SECRET, header, body.replace('12.5', '125'), T0)).toEqual({ ok: false, reason: 'signature does not match the body' });
    const t = Number(/t=(\d+)/.exec(header)![1]);
    expect(verifySignature(SECRET, header.replace(`t=${t}`, `t=${t + 1}`), body, T0).ok).toBe(false);
    expect(verifySignature(`${SECRET}x`, header, body, T0).ok).toBe(false);
    const stale = verifySignature(SECRET, header, body, T0 + 301_000);
    expect(stale.ok).toBe(false);
    expect(!stale.ok && stale.reason).toMatch(/outside the 300 s tolerance/);
    expect(verifySignature(SECRET, undefined, body, T0)).toEqual({ ok: false, reason: 'missing Touchline-Signature header' });
    expect(verifySignature(SECRET, 'v1=abc', body, T0).ok).toBe(false);
    expect(verifySignature(SECRET, `t=${t}`, body, T0).ok).toBe(false);
  });

  it('accepts any of several v1 signatures (secret rotation)', () => {
    const other = signatureHeader('whsec_old_secret_0123456789abcdef012345', body, T0);
    const both = `${header},v1=${other.split('v1=')[1]}`;
    expect(verifySignature(SECRET, both, body, T0).ok).toBe(true);
    expect(verifySignature('whsec_old_secret_0123456789abcdef012345', both, body, T0).ok).toBe(true);
  });
});

describe('webhook registration API', () => {
  let dir: string;
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'webhooks-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function app(store: WebhookStore) {
    const a = buildHttp({ logger: silentLogger() });
    await a.register(async (s) => webhookRoutes(s, { store, keys }));
    return a;
  }

  it('registers with an admin key, shows the secret once, lists without it, deletes, and keeps it on disk', async () => {
    const store = WebhookStore.inDir(dir);
    const a = await app(store);
    const created = await a.inject({ method: 'POST', url: '/v1/webhooks', headers: { authorization: 'Bearer a' }, payload: { url: 'https://ads.example/hook', events: ['bid_signal', 'conversion_value'] } });
    expect(created.statusCode).toBe(201);
    const hook = created.json();
    expect(hook).toMatchObject({ url: 'https://ads.example/hook', events: ['bid_signal', 'conversion_value'], description: '' });
    expect(hook.secret).toMatch(/^whsec_/);
    const listed = await a.inject({ method: 'GET', url: '/v1/webhooks', headers: { authorization: 'Bearer a' } });
    expect(listed.json().webhooks).toEqual([{ id: hook.id, url: hook.url, events: hook.events, description: '', createdAt: hook.createdAt }]);
    expect(JSON.stringify(listed.json())).not.toContain(hook.secret);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);

    // A fresh store (a restart) reads the same registration.
    const again = await WebhookStore.inDir(dir).get(hook.id);
    expect(again?.secret).toBe(hook.secret);

    expect((await a.inject({ method: 'DELETE', url: `/v1/webhooks/${hook.id}`, headers: { authorization: 'Bearer a' } })).statusCode).toBe(204);
    expect((await a.inject({ method: 'DELETE', url: `/v1/webhooks/${hook.id}`, headers: { authorization: 'Bearer a' } })).statusCode).toBe(404);
    expect(JSON.parse(readFileSync(store.file, 'utf8')).webhooks).toEqual([]);
  });

  it('refuses read and write keys, and explains a bad body', async () => {
    const a = await app(WebhookStore.inDir(dir));
    for (const auth of ['Bearer r', 'Bearer w', '']) {
      expect((await a.inject({ method: 'POST', url: '/v1/webhooks', headers: { authorization: auth }, payload: { url: 'https://x.example' } })).statusCode).toBe(401);
      expect((await a.inject({ method: 'GET', url: '/v1/webhooks', headers: { authorization: auth } })).statusCode).toBe(401);
    }
    const bad = async (payload: object) => (await a.inject({ method: 'POST', url: '/v1/webhooks', headers: { authorization: 'Bearer a' }, payload })).json();
    expect((await bad({ url: 'ftp://x.example' })).message).toMatch(/^url: must be an http or https URL/);
    expect((await bad({ url: 'https://x.example', events: ['everything'] })).message).toMatch(/^events\.0: /);
    expect((await bad({ url: 'https://x.example', secret: 'short' })).message).toMatch(/^secret: must be at least 32 characters/);
    expect((await bad({ url: 'https://x.example', extra: 1 })).message).toMatch(/extra/);
  });
});

describe('webhook delivery', () => {
  let dir: string;
  let bus: EmbeddedBus;
  let server: Server;
  let url: string;
  const received: Array<{ headers: IncomingMessage['headers']; body: string; verified: boolean; reason?: string }> = [];
  /** Answers per request, in order; then 200. */
  let script: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delivery-'));
    bus = await EmbeddedBus.open({ dir: join(dir, 'log'), partitions: 1 });
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString('utf8')));
      req.on('end', () => {
        const v = verifySignature(SECRET, req.headers['touchline-signature'] as string | undefined, body);
        received.push({ headers: req.headers, body, verified: v.ok, ...(v.ok ? {} : { reason: v.reason }) });
        res.statusCode = v.ok ? (script.shift() ?? 200) : 400;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=do-not-log`;
  });
  afterEach(() => {
    received.length = 0;
    script = [];
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const signal = (id: string): BidSignalMessage => ({
    v: 1, kind: 'bid_signal', id, at: T0, model: 'linear', channel: 'paid_search', campaign: 'brand', currency: 'EUR', window: { from: T0 - 1, to: T0 },
    spend: 1000, revenue: 3000, conversions: 30, roas: 3, portfolioRoas: 2, action: 'raise_bid', bidAdjustment: 0.2, targetRoas: { current: 3, suggested: 2.4 }, credibility: 0.6,
    conversionValues: [{ model: 'linear', conversions: 30, value: 3000 }], summary: 'raise bids +20% on brand',
  });

  async function deadletters(): Promise<DeadletterMessage[]> {
    const end = await bus.endOffsets(topics.deadletter);
    const total = [...end.values()].reduce((s, o) => s + Number(o), 0);
    if (total === 0) return [];
    const out: DeadletterMessage[] = [];
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const c = await bus.consume({ groupId: `dl-${Math.random()}`, topics: [topics.deadletter], commit: false, handler: async (b) => {
      for (const r of b.records) out.push(DeadletterMessage.parse(JSON.parse(r.value.toString())));
      if (out.length >= total) done();
    } });
    await all;
    await c.stop();
    return out;
  }

  it('signs every request so the receiver verifies it, retries 5xx with backoff, and succeeds', async () => {
    const store = WebhookStore.inDir(join(dir, 'a'));
    await store.add({ url, events: ['bid_signal'], secret: SECRET, description: '' });
    const d = new WebhookDeliverer(store, bus, topics.deadletter, silentLogger(), { attempts: 4, initialBackoffMs: 20, maxBackoffMs: 200 });
    script = [500, 503];
    const raw = JSON.stringify(signal('s1'));
    const started = Date.now();
    const [outcome] = await d.deliver([{ message: signal('s1'), raw }]);
    expect(outcome).toMatchObject({ ok: true, attempts: 3 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(10 + 20);
    expect(received).toHaveLength(3);
    expect(received.every((r) => r.verified)).toBe(true);
    expect(received.map((r) => r.body)).toEqual([raw, raw, raw]);
    expect(received.map((r) => r.headers['touchline-attempt'])).toEqual(['1', '2', '3']);
    expect(received[0]!.headers['touchline-event']).toBe('bid_signal');
    expect(received[0]!.headers[SIGNATURE_HEADER.toLowerCase()]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(await deadletters()).toEqual([]);
  });

  it('dead-letters after the last try, and at once on a 4xx, with the reason and without the URL query', async () => {
    const store = WebhookStore.inDir(join(dir, 'b'));
    const hook = await store.add({ url, events: ['bid_signal'], secret: SECRET, description: '' });
    const d = new WebhookDeliverer(store, bus, topics.deadletter, silentLogger(), { attempts: 3, initialBackoffMs: 5, maxBackoffMs: 20 });
    script = [500, 500, 500, 410];
    const outcomes = await d.deliver([{ message: signal('s2'), raw: JSON.stringify(signal('s2')) }]);
    expect(outcomes[0]).toMatchObject({ ok: false, attempts: 3 });
    const second = await d.deliver([{ message: signal('s3'), raw: JSON.stringify(signal('s3')) }]);
    expect(second[0]).toMatchObject({ ok: false, attempts: 1 });
    expect(received).toHaveLength(4);
    const dead = await deadletters();
    expect(dead.map((x) => x.messageId)).toEqual([`${hook.id}:s2`, `${hook.id}:s3`]);
    expect(dead[0]!.stage).toBe('webhook');
    expect(dead[0]!.reason).toMatch(/answered HTTP 500; gave up after 3 tries/);
    expect(dead[1]!.reason).toMatch(/HTTP 410 \(not retried\)/);
    expect(dead.map((x) => x.reason).join()).not.toContain('do-not-log');
    expect(JSON.parse(dead[0]!.payload).id).toBe('s2');
  });

  it('the receiver refuses a tampered or replayed-late request', async () => {
    const raw = JSON.stringify(signal('s4'));
    const post = (body: string, header: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: header }, body });
    expect((await post(raw, signatureHeader(SECRET, raw))).status).toBe(200);
    expect((await post(raw.replace('"bidAdjustment":0.2', '"bidAdjustment":0.9'), signatureHeader(SECRET, raw))).status).toBe(400);
    expect((await post(raw, signatureHeader(SECRET, raw, Date.now() - 6 * 60_000))).status).toBe(400);
    expect(received.map((r) => r.verified)).toEqual([true, false, false]);
    expect(received[2]!.reason).toMatch(/tolerance/);
  });

  it('only sends a webhook the kinds it registered for', async () => {
    const store = WebhookStore.inDir(join(dir, 'c'));
    await store.add({ url, events: ['conversion_value'], secret: SECRET, description: '' });
    const d = new WebhookDeliverer(store, bus, topics.deadletter, silentLogger());
    expect(await d.deliver([{ message: signal('s5'), raw: JSON.stringify(signal('s5')) }])).toEqual([]);
    expect(received).toEqual([]);
  });
});
