import { rmSync } from 'node:fs';
import { gzipSync, brotliCompressSync, deflateSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedBus, type Bus } from '@touchline/platform';
import { FLAGS_HEADER, FLAG_FUTURE_CLAMPED } from '../src/index.js';
import { ingestApp, readAll, tempDir, topics, waitFor } from './helpers.js';

const touch = (i: number, extra: object = {}) => ({ type: 'touch', messageId: `m-${i}`, anonymousId: `a-${i % 7}`, interaction: 'click', timestamp: 1_790_000_000_000 + i, ...extra });
const batchOf = (n: number, from = 0) => ({ batch: Array.from({ length: n }, (_, i) => touch(from + i)) });

describe('the ingest front door', () => {
  let dir: string;
  let bus: EmbeddedBus;
  beforeEach(async () => {
    dir = tempDir('ingest-door-');
    bus = await EmbeddedBus.open({ dir, partitions: 2 });
  });
  afterEach(async () => {
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (app: Awaited<ReturnType<typeof ingestApp>>['app'], payload: string | Buffer, headers: Record<string, string> = {}, url = '/v1/batch') =>
    app.inject({ method: 'POST', url, headers: { authorization: 'Bearer w1', 'content-type': 'application/json', ...headers }, payload });

  it('reads gzip, deflate and br bodies, the limit counting decompressed bytes', async () => {
    const { app } = await ingestApp(bus, { options: { maxBodyBytes: 64 * 1024, threads: 1 } });
    const body = Buffer.from(JSON.stringify(batchOf(100)));
    for (const [encoding, pack] of [['gzip', gzipSync], ['deflate', deflateSync], ['br', brotliCompressSync]] as const) {
      const res = await post(app, pack(body), { 'content-encoding': encoding });
      expect(res.statusCode, encoding).toBe(200);
      expect(res.json()).toEqual({ accepted: 100, rejected: [] });
    }
    // Small on the wire, too large once inflated: refused, nothing stored.
    const before = (await readAll(bus, topics.touchpoints)).length;
    const big = Buffer.from(JSON.stringify({ batch: [touch(1, { url: `https://x.example/?p=${'a'.repeat(70 * 1024)}` })] }));
    const res = await post(app, gzipSync(big), { 'content-encoding': 'gzip' });
    expect(gzipSync(big).length).toBeLessThan(64 * 1024);
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: 'payload_too_large', message: 'body too large: more than 64 KB after decompression; split the batch' });
    expect((await readAll(bus, topics.touchpoints)).length).toBe(before);
    await app.close();
  });

  it('refuses a zip bomb at the limit, without inflating it', async () => {
    const { app, handle } = await ingestApp(bus, { options: { threads: 0 } });
    const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(512 * 1024);
    const t0 = performance.now();
    const res = await post(app, bomb, { 'content-encoding': 'gzip' });
    expect(res.statusCode).toBe(413);
    // Inflating 200 MB takes far longer than stopping at 512 KB.
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(handle.metrics.requestsRejected.get({ reason: 'payload_too_large' })).toBe(1);
    const corrupt = await post(app, Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
    expect(corrupt.statusCode).toBe(400);
    expect(corrupt.json().message).toMatch(/not valid gzip/);
    const unknown = await post(app, Buffer.from('{}'), { 'content-encoding': 'zstd' });
    expect(unknown.statusCode).toBe(415);
    expect(unknown.json().message).toMatch(/content-encoding "zstd" is not supported/);
    await app.close();
  });

  it('answers an empty or non-JSON request with 400 or 415 and a hint', async () => {
    const { app } = await ingestApp(bus, { options: { threads: 0 } });
    const empty = await app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: 'Bearer w1' } });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toMatch(/body is empty/);
    const emptyJson = await post(app, '');
    expect(emptyJson.statusCode).toBe(400);
    const form = await app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: 'Bearer w1', 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' });
    expect(form.statusCode).toBe(415);
    expect(form.json().message).toMatch(/content-type application\/json/);
    const notEvent = await post(app, '[1,2]', {}, '/v1/events');
    expect(notEvent.statusCode).toBe(400);
    expect(notEvent.json().message).toBe('body: must be one event object');
    await app.close();
  });

  it('answers more events than allowed with 413 and stores nothing', async () => {
    const { app } = await ingestApp(bus, { options: { maxEvents: 1000, threads: 0 } });
    const res = await post(app, JSON.stringify(batchOf(1001)));
    expect(res.statusCode).toBe(413);
    expect(res.json().message).toBe('the batch holds 1001 events; at most 1000 per request: split it');
    expect(await readAll(bus, topics.touchpoints)).toHaveLength(0);
    expect((await post(app, JSON.stringify(batchOf(1000)))).statusCode).toBe(200);
    await app.close();
  });

  it('limits each write key with a token bucket and says when to come back', async () => {
    let now = 1_000_000;
    const { app, handle } = await ingestApp(bus, { now: () => now, options: { maxEvents: 10, rateLimit: { eventsPerSecond: 10, burst: 20 }, threads: 0 } });
    expect((await post(app, JSON.stringify(batchOf(10)))).statusCode).toBe(200);
    expect((await post(app, JSON.stringify(batchOf(10, 10)))).statusCode).toBe(200);
    // The bucket is empty: refused before the body is even read.
    const limited = await post(app, JSON.stringify(batchOf(5, 20)));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json().error).toBe('rate_limited');
    // Another key has its own bucket.
    expect((await post(app, JSON.stringify(batchOf(5, 20)), { authorization: 'Bearer a1' })).statusCode).toBe(200);
    now += 500;
    // 5 tokens back: a batch of 10 is refused whole (and says how long until 10 are there), 5 pass.
    const partial = await post(app, JSON.stringify(batchOf(10, 25)));
    expect(partial.statusCode).toBe(429);
    expect(partial.headers['retry-after']).toBe('1');
    expect((await post(app, JSON.stringify(batchOf(5, 20)))).statusCode).toBe(200);
    now += 2_000;
    expect((await post(app, JSON.stringify(batchOf(10, 25)))).statusCode).toBe(200);
    expect(handle.metrics.eventsRejected.get({ reason: 'rate_limited', field: '' })).toBe(10);
    expect(handle.metrics.requestsRejected.get({ reason: 'rate_limited' })).toBe(2);
    // Nothing of a refused batch was stored.
    const ids = (await readAll(bus, topics.touchpoints)).map((r) => JSON.parse(r.value.toString()).messageId as string);
    expect(ids).toHaveLength(10 + 10 + 5 + 5 + 10);
    expect(new Set(ids).size).toBe(ids.length - 5);
    await app.close();
  });

  it('answers 503 when the log is slow, and a publish landing late is a duplicate the messageIds absorb', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: Bus = Object.assign(Object.create(bus) as Bus, {
      publishMany: async (batches: Parameters<Bus['publishMany']>[0]) => {
        await gate;
        return bus.publishMany(batches);
      },
    });
    // Long enough for the resend's fsync on a busy machine; the gated publish times out regardless.
    const { app, handle } = await ingestApp(slow, { options: { publishTimeoutMs: 1000, retryAfterSeconds: 2, threads: 0, denyList: false } });
    const body = JSON.stringify(batchOf(3));
    const res = await post(app, body);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.json().message).toMatch(/did not confirm within 1000 ms/);
    expect(handle.metrics.publishTimeouts.get()).toBe(1);
    release();
    await waitFor(() => (handle.metrics.publishLate.get({ outcome: 'durable' }) === 1 ? true : undefined), 'the late publish');
    // The client resends; the log now holds each event twice, under the same messageId.
    expect((await post(app, body)).statusCode).toBe(200);
    const ids = (await readAll(bus, topics.touchpoints)).map((r) => JSON.parse(r.value.toString()).messageId as string).sort();
    expect(ids).toEqual(['m-0', 'm-0', 'm-1', 'm-1', 'm-2', 'm-2']);
    await app.close();
  });

  it('answers 503 at once when too many events wait for the log', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const stuck: Bus = Object.assign(Object.create(bus) as Bus, {
      publishMany: async (batches: Parameters<Bus['publishMany']>[0]) => {
        await gate;
        return bus.publishMany(batches);
      },
    });
    const { app, handle } = await ingestApp(stuck, { options: { maxInFlightEvents: 15, threads: 0, denyList: false } });
    const first = post(app, JSON.stringify(batchOf(10)));
    await waitFor(() => (handle.metrics.inFlight.get() === 10 ? true : undefined), 'the first batch waiting for the log');
    const second = await post(app, JSON.stringify(batchOf(10, 10)));
    expect(second.statusCode).toBe(503);
    expect(second.json().message).toMatch(/behind/);
    release();
    expect((await first).statusCode).toBe(200);
    await app.close();
  });

  it('serves browsers: CORS preflight, sendBeacon bodies as text/plain with ?writeKey=', async () => {
    const { app } = await ingestApp(bus, { options: { threads: 0 } });
    const pre = await app.inject({ method: 'OPTIONS', url: '/v1/batch', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' } });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(pre.headers['access-control-allow-headers']).toMatch(/authorization/);
    const beacon = await app.inject({ method: 'POST', url: '/v1/batch?writeKey=w1', headers: { 'content-type': 'text/plain;charset=UTF-8' }, payload: JSON.stringify(batchOf(2)) });
    expect(beacon.statusCode).toBe(200);
    expect(beacon.headers['access-control-allow-origin']).toBe('*');
    const wrong = await app.inject({ method: 'POST', url: '/v1/batch?writeKey=nope', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(batchOf(2)) });
    expect(wrong.statusCode).toBe(401);
    // A browser's events without ip or user agent take the request's, truncated and classified.
    const fromBrowser = await app.inject({
      method: 'POST',
      url: '/v1/batch?writeKey=w1',
      headers: { 'content-type': 'text/plain', origin: 'https://shop.example', 'user-agent': 'HeadlessChrome/131.0', 'x-forwarded-for': '198.51.100.23' },
      payload: JSON.stringify({ batch: [touch(90)] }),
    });
    expect(fromBrowser.statusCode).toBe(200);
    const fromServer = await post(app, JSON.stringify({ batch: [touch(91)] }), { 'user-agent': 'HeadlessChrome/131.0', 'x-forwarded-for': '198.51.100.23' });
    expect(fromServer.statusCode).toBe(200);
    const byId = new Map((await readAll(bus, topics.touchpoints)).map((r) => [JSON.parse(r.value.toString()).messageId, JSON.parse(r.value.toString())]));
    expect(byId.get('m-90')).toMatchObject({ ip: '198.51.100.0', userAgent: 'HeadlessChrome/131.0', bot: true });
    expect(byId.get('m-91')).toMatchObject({ ip: '', userAgent: '', bot: false });
    // An admin key in the query string is not taken: only write keys are meant to be public.
    const admin = await app.inject({ method: 'POST', url: '/v1/privacy/delete?writeKey=a1', headers: { 'content-type': 'application/json' }, payload: { userId: 'x' } });
    expect(admin.statusCode).toBe(401);
    await app.close();
  });

  it('flags clamped future timestamps on the record and counts them', async () => {
    const now = Date.parse('2026-11-22T12:00:00Z');
    const { app, handle } = await ingestApp(bus, { now: () => now, options: { threads: 1 } });
    const res = await post(app, JSON.stringify({ batch: [touch(1, { timestamp: now + 86_400_000 }), touch(2, { timestamp: now - 60_000 })] }));
    expect(res.statusCode).toBe(200);
    const records = await readAll(bus, topics.touchpoints);
    const byId = new Map(records.map((r) => [JSON.parse(r.value.toString()).messageId as string, r]));
    expect(JSON.parse(byId.get('m-1')!.value.toString()).timestamp).toBe(now);
    expect(byId.get('m-1')!.headers[FLAGS_HEADER]).toBe(FLAG_FUTURE_CLAMPED);
    expect(byId.get('m-2')!.headers[FLAGS_HEADER]).toBeUndefined();
    expect(handle.metrics.clockClamped.get()).toBe(1);
    await app.close();
  });

  it('publishes the OpenAPI document generated from the schemas', async () => {
    const { app } = await ingestApp(bus, { options: { maxEvents: 750, threads: 0 } });
    const res = await app.inject({ method: 'GET', url: '/docs/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/batch', '/v1/events', '/v1/privacy/delete', '/metrics']));
    expect(doc.components.schemas.BatchRequest.properties.batch.maxItems).toBe(750);
    expect(doc.components.schemas.TouchEvent.properties.interaction.enum).toContain('meeting');
    expect(doc.components.schemas.ConversionEvent.properties.stage.enum).toEqual(['lead', 'opportunity', 'closed_won']);
    expect(doc.components.schemas.TouchEvent.properties.context.properties.locale.type).toBe('string');
    expect(doc.paths['/v1/batch'].post.responses['429'].headers['Retry-After']).toBeDefined();
    await app.close();
  });

  it('exposes Prometheus metrics: accepted, rejected by reason, publish latency, unknown channel values', async () => {
    const { app } = await ingestApp(bus, { options: { threads: 1 } });
    await post(
      app,
      JSON.stringify({
        batch: [
          touch(1, { url: 'https://x.example/?utm_source=mystery&utm_medium=zine' }),
          touch(2, { interaction: 'teleport' }),
          { type: 'conversion', userId: 'u', conversionId: 'c', name: 'deal', timestamp: 1 },
        ],
      }),
    );
    await post(app, '{"batch": [', {});
    await post(app, JSON.stringify(batchOf(1)), { authorization: 'Bearer nope' });
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toContain('# TYPE touchline_ingest_events_accepted_total counter');
    expect(text).toMatch(/^touchline_ingest_events_accepted_total\{type="touch"\} 1$/m);
    expect(text).toMatch(/^touchline_ingest_events_accepted_total\{type="conversion"\} 1$/m);
    expect(text).toMatch(/^touchline_ingest_events_rejected_total\{reason="invalid",field="interaction"\} 1$/m);
    expect(text).toMatch(/^touchline_ingest_requests_rejected_total\{reason="bad_request"\} 1$/m);
    expect(text).toMatch(/^touchline_ingest_requests_rejected_total\{reason="unauthorized"\} 1$/m);
    expect(text).toMatch(/^touchline_ingest_publish_seconds_count 1$/m);
    expect(text).toMatch(/^touchline_ingest_publish_seconds_bucket\{le="\+Inf"\} 1$/m);
    expect(text).toMatch(/^touchline_ingest_unknown_channel_values_total\{field="source",value="mystery"\} 1$/m);
    expect(text).toMatch(/^touchline_ingest_unknown_channel_values_total\{field="medium",value="zine"\} 1$/m);
    await app.close();
  });
});
