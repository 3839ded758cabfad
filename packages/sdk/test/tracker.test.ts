import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStorage, createTracker, type BrowserEnv, type DeliveryProblem, type FetchLike, type TrackerOptions } from '../src/index.js';

interface Call {
  url: string;
  headers: Record<string, string>;
  body: { batch: Array<Record<string, any>>; sentAt: string };
  keepalive?: boolean;
}

/** A fetch that records requests and answers from a script (default 200). */
function fakeFetch(script: Array<number | { status: number; retryAfter?: string; body?: unknown } | 'network'> = []) {
  const calls: Call[] = [];
  const fetch: FetchLike = async (url, init) => {
    const body = JSON.parse(init.body) as Call['body'];
    calls.push({ url, headers: init.headers, body, ...(init.keepalive !== undefined ? { keepalive: init.keepalive } : {}) });
    const step = script.shift() ?? 200;
    if (step === 'network') throw new TypeError('fetch failed');
    const { status, retryAfter, body: answer } = typeof step === 'number' ? { status: step, retryAfter: undefined, body: undefined } : step;
    const text = JSON.stringify(answer ?? (status === 200 ? { accepted: body.batch.length, rejected: [] } : { error: 'x', message: 'x' }));
    return { status, headers: { get: (n: string) => (n.toLowerCase() === 'retry-after' ? (retryAfter ?? null) : null) }, text: async () => text };
  };
  return { fetch, calls };
}

let ids = 0;
const base = (extra: Partial<TrackerOptions> = {}): TrackerOptions => ({
  writeKey: 'tlw_test',
  endpoint: 'https://touchline.example.com/',
  browser: null,
  newId: () => `id-${++ids}`,
  now: () => Date.parse('2026-11-22T10:00:00Z'),
  random: () => 0.5,
  ...extra,
});

/** A browser page at `href`, with storages that outlive the tracker like a real browser's do. */
function fakeBrowser(href: string, referrer = '', storages = { local: new MemoryStorage(), session: new MemoryStorage() }) {
  const listeners: Record<string, Array<() => void>> = {};
  const beacons: Array<{ url: string; body: string }> = [];
  let accept = true;
  const u = new URL(href);
  const doc = {
    referrer,
    title: 'Pricing',
    cookie: '',
    visibilityState: 'visible',
    addEventListener: (t: string, l: () => void) => (listeners[t] ??= []).push(l),
  };
  class FakeBlob {
    constructor(
      readonly parts: string[],
      readonly options: { type: string },
    ) {}
  }
  const env: BrowserEnv = {
    location: { href, search: u.search, pathname: u.pathname, hostname: u.hostname },
    document: doc,
    navigator: {
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0',
      language: 'de-DE',
      sendBeacon: (url: string, data: unknown) => {
        if (!accept) return false;
        const blob = data as FakeBlob;
        expect(blob.options.type).toBe('text/plain;charset=UTF-8');
        beacons.push({ url, body: blob.parts.join('') });
        return true;
      },
    },
    localStorage: storages.local,
    sessionStorage: storages.session,
    addEventListener: (t: string, l: () => void) => (listeners[t] ??= []).push(l),
    Blob: FakeBlob as unknown as BrowserEnv['Blob'],
  };
  return {
    env,
    storages,
    beacons,
    refuseBeacons: () => (accept = false),
    hide: () => {
      doc.visibilityState = 'hidden';
      for (const l of listeners.visibilitychange ?? []) l();
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers();
  ids = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

describe('batching and delivery', () => {
  it('sends a batch when flushAt events are queued, with the key as a bearer header', async () => {
    const f = fakeFetch();
    const t = createTracker(base({ fetch: f.fetch, flushAt: 3 }));
    t.touch('click', { anonymousId: 'a1', channel: 'LinkedIn', campaign: 'abm' });
    t.conversion({ userId: 'u1', conversionId: 'o-1', name: 'purchase', value: 300, currency: 'EUR' });
    expect(f.calls).toHaveLength(0);
    t.identify(undefined, { email: 'jane@example.com' }, { userId: 'u1', anonymousId: 'a1' });
    await vi.waitFor(() => expect(f.calls).toHaveLength(1));
    const [call] = f.calls;
    expect(call!.url).toBe('https://touchline.example.com/v1/batch');
    expect(call!.headers).toEqual({ 'content-type': 'application/json', authorization: 'Bearer tlw_test' });
    expect(call!.body.sentAt).toBe('2026-11-22T10:00:00.000Z');
    expect(call!.body.batch.map((e) => e.type)).toEqual(['touch', 'conversion', 'identify']);
    expect(call!.body.batch[0]).toMatchObject({ messageId: 'id-2', type: 'touch', interaction: 'click', anonymousId: 'a1', channel: 'LinkedIn', timestamp: '2026-11-22T10:00:00.000Z' });
    expect(call!.body.batch[1]).toMatchObject({ userId: 'u1', conversionId: 'o-1', value: 300 });
    expect(call!.body.batch[1]!.anonymousId).toBeUndefined();
    expect(call!.body.batch[2]!.traits).toEqual({ email: 'jane@example.com' });
    expect(call!.body.batch[0]!.context.library).toEqual({ name: '@touchline/sdk', version: '0.1.0' });
  });

  it('sends what waits after flushIntervalMs', async () => {
    const f = fakeFetch();
    const t = createTracker(base({ fetch: f.fetch, flushIntervalMs: 2_000 }));
    t.touch('visit', { anonymousId: 'a' });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(f.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.calls).toHaveLength(1);
    expect(t.pending).toBe(0);
  });

  it('retries with backoff, honours Retry-After, keeps messageIds, refreshes sentAt', async () => {
    let now = Date.parse('2026-11-22T10:00:00Z');
    const f = fakeFetch(['network', { status: 503, retryAfter: '5' }, 429, 200]);
    const t = createTracker(base({ fetch: f.fetch, now: () => now, initialBackoffMs: 1_000 }));
    t.touch('visit', { anonymousId: 'a' });
    await t.flush();
    expect(f.calls).toHaveLength(1);
    // Attempt 1 failed: 1 s × (0.5 + 0.5/2) = 750 ms.
    now += 750;
    await vi.advanceTimersByTimeAsync(749);
    expect(f.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.calls).toHaveLength(2);
    // 503 with Retry-After: 5 s, more than the backoff.
    await vi.advanceTimersByTimeAsync(4_999);
    expect(f.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.calls).toHaveLength(3);
    // 429 without Retry-After: attempt 3, 4 s × 0.75 = 3 s.
    await vi.advanceTimersByTimeAsync(3_000);
    expect(f.calls).toHaveLength(4);
    expect(new Set(f.calls.map((c) => c.body.batch[0]!.messageId))).toEqual(new Set(['id-2']));
    expect(f.calls[1]!.body.sentAt).not.toBe(f.calls[0]!.body.sentAt);
    expect(t.pending).toBe(0);
  });

  it('gives a batch up after maxAttempts and reports it', async () => {
    const problems: DeliveryProblem[] = [];
    const f = fakeFetch([500, 500, 500]);
    const t = createTracker(base({ fetch: f.fetch, maxAttempts: 3, initialBackoffMs: 10, onProblem: (p) => problems.push(p) }));
    t.touch('visit', { anonymousId: 'a' });
    await t.flush();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(f.calls).toHaveLength(3);
    expect(problems).toEqual([expect.objectContaining({ kind: 'gave_up', message: 'not delivered after 3 attempts' })]);
    expect(t.pending).toBe(0);
  });

  it('splits a batch the server finds too large', async () => {
    const f = fakeFetch([413]);
    const t = createTracker(base({ fetch: f.fetch, flushAt: 4, flushIntervalMs: 60_000 }));
    for (let i = 0; i < 4; i++) t.touch('visit', { anonymousId: `a${i}` });
    await vi.waitFor(() => expect(f.calls).toHaveLength(3));
    expect(f.calls.map((c) => c.body.batch.length)).toEqual([4, 2, 2]);
    expect(t.pending).toBe(0);
  });

  it('reports events the server rejected and does not resend them', async () => {
    const problems: DeliveryProblem[] = [];
    const f = fakeFetch([{ status: 200, body: { accepted: 1, rejected: [{ index: 1, path: 'conversionId', reason: 'conversionId: must not be empty' }] } }]);
    const t = createTracker(base({ fetch: f.fetch, onProblem: (p) => problems.push(p) }));
    t.touch('visit', { anonymousId: 'a' });
    t.conversion({ anonymousId: 'a', conversionId: ' ', name: 'x' });
    await t.flush();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(f.calls).toHaveLength(1);
    expect(problems).toEqual([{ kind: 'rejected', events: [f.calls[0]!.body.batch[1]], reasons: [{ messageId: 'id-3', path: 'conversionId', reason: 'conversionId: must not be empty' }] }]);
  });

  it('reports a wrong key and does not retry it', async () => {
    const problems: DeliveryProblem[] = [];
    const f = fakeFetch([401]);
    const t = createTracker(base({ fetch: f.fetch, onProblem: (p) => problems.push(p) }));
    t.touch('visit', { anonymousId: 'a' });
    await t.flush();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(f.calls).toHaveLength(1);
    expect(problems[0]!.kind).toBe('unauthorized');
  });

  it('keeps at most maxQueue events while Touchline is unreachable', async () => {
    const problems: DeliveryProblem[] = [];
    const f = fakeFetch(Array.from({ length: 5 }, () => 'network' as const));
    const t = createTracker(base({ fetch: f.fetch, maxQueue: 3, flushAt: 100, onProblem: (p) => problems.push(p) }));
    for (let i = 0; i < 5; i++) t.touch('visit', { anonymousId: `a${i}` });
    expect(t.pending).toBe(3);
    expect(problems[0]).toMatchObject({ kind: 'dropped_overflow' });
    expect(problems.flatMap((p) => p.events.map((e) => e.anonymousId))).toEqual(['a0', 'a1']);
  });
});

describe('in a browser', () => {
  it('captures UTM tags and the click id of the landing page as its touch, with a first-party id', async () => {
    const f = fakeFetch();
    const page = fakeBrowser('https://shop.example/landing?utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=Cj0K', 'https://www.google.com/');
    const t = createTracker(base({ fetch: f.fetch, browser: page.env }));
    expect(t.captured).toEqual({ campaign: { source: 'google', medium: 'cpc', name: 'brand' }, clickId: { type: 'gclid', value: 'Cj0K' } });
    await t.flush();
    const [landing] = f.calls[0]!.body.batch;
    expect(landing).toMatchObject({
      type: 'touch',
      interaction: 'click',
      url: 'https://shop.example/landing?utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=Cj0K',
      referrer: 'https://www.google.com/',
      clickId: 'Cj0K',
      clickIdType: 'gclid',
      anonymousId: t.anonymousId,
    });
    expect(landing!.context).toMatchObject({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0', locale: 'de-DE', campaign: { source: 'google' }, page: { path: '/landing', title: 'Pricing' } });
    // Browsers send the key in the query string and the body as text/plain: no CORS preflight.
    expect(f.calls[0]!.url).toBe('https://touchline.example.com/v1/batch?writeKey=tlw_test');
    expect(f.calls[0]!.headers).toEqual({ 'content-type': 'text/plain;charset=UTF-8' });
    expect(f.calls[0]!.keepalive).toBe(true);
    expect(page.storages.local.getItem('tl_aid')).toBe(t.anonymousId);

    // The next page of the same visit, internal referrer, no tags: same id, no new touch.
    const next = fakeBrowser('https://shop.example/pricing', 'https://shop.example/landing', page.storages);
    const t2 = createTracker(base({ fetch: f.fetch, browser: next.env }));
    expect(t2.anonymousId).toBe(t.anonymousId);
    expect(t2.pending).toBe(0);
    // A new campaign click later in the visit is a touch again.
    const again = fakeBrowser('https://shop.example/?utm_source=newsletter&utm_medium=email', '', page.storages);
    expect(createTracker(base({ fetch: f.fetch, browser: again.env })).pending).toBe(1);
  });

  it('hands the queue to sendBeacon when the page is hidden', async () => {
    const f = fakeFetch();
    const page = fakeBrowser('https://shop.example/');
    const t = createTracker(base({ fetch: f.fetch, browser: page.env, flushIntervalMs: 60_000 }));
    t.conversion({ conversionId: 'o-9', name: 'demo_request' });
    expect(t.pending).toBe(2);
    page.hide();
    expect(t.pending).toBe(0);
    expect(f.calls).toHaveLength(0);
    expect(page.beacons).toHaveLength(1);
    expect(page.beacons[0]!.url).toBe('https://touchline.example.com/v1/batch?writeKey=tlw_test');
    expect(JSON.parse(page.beacons[0]!.body).batch.map((e: { type: string }) => e.type)).toEqual(['touch', 'conversion']);
  });

  it('keeps what sendBeacon refuses for the next flush', async () => {
    const f = fakeFetch();
    const page = fakeBrowser('https://shop.example/');
    const t = createTracker(base({ fetch: f.fetch, browser: page.env, flushIntervalMs: 60_000 }));
    page.refuseBeacons();
    page.hide();
    expect(t.pending).toBe(1);
    await t.flush();
    expect(f.calls).toHaveLength(1);
  });

  it('identify keeps the user id for later events and reset forgets it', async () => {
    const f = fakeFetch();
    const page = fakeBrowser('https://shop.example/');
    const t = createTracker(base({ fetch: f.fetch, browser: page.env, autoTrack: false }));
    const anon = t.anonymousId;
    t.identify('u-7', { email: 'jane@example.com', accountId: 'acme' });
    t.conversion({ conversionId: 'o-1', name: 'purchase' });
    t.reset();
    t.touch('visit');
    await t.flush();
    const [identify, conversion, after] = f.calls[0]!.body.batch;
    expect(identify).toMatchObject({ anonymousId: anon, userId: 'u-7' });
    expect(conversion).toMatchObject({ anonymousId: anon, userId: 'u-7' });
    expect(after!.userId).toBeUndefined();
    expect(after!.anonymousId).not.toBe(anon);
    expect(page.storages.local.getItem('tl_uid')).toBeNull();
  });
});

describe('the consent gate', () => {
  it('holds events and stores no id until consent, then sends them stamped with it', async () => {
    const f = fakeFetch();
    const page = fakeBrowser('https://shop.example/?utm_source=linkedin');
    const t = createTracker(base({ fetch: f.fetch, browser: page.env, requireConsent: true }));
    t.page();
    await t.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    page.hide();
    expect(f.calls).toHaveLength(0);
    expect(page.beacons).toHaveLength(0);
    expect(page.storages.local.getItem('tl_aid')).toBeNull();
    expect(t.pending).toBe(2);

    t.setConsent({ attribution: true, marketing: false });
    await t.flush();
    expect(f.calls[0]!.body.batch).toHaveLength(2);
    for (const e of f.calls[0]!.body.batch) expect(e.context.consent).toEqual({ attribution: true, marketing: false });
    expect(page.storages.local.getItem('tl_aid')).toBe(t.anonymousId);
  });

  it('drops events when attribution consent is refused, or sends them flagged if so configured', async () => {
    const f = fakeFetch();
    const dropping = createTracker(base({ fetch: f.fetch, requireConsent: true }));
    dropping.touch('visit', { anonymousId: 'a' });
    dropping.setConsent({ attribution: false });
    dropping.touch('visit', { anonymousId: 'a' });
    await dropping.flush();
    expect(f.calls).toHaveLength(0);
    expect(dropping.pending).toBe(0);

    const flagging = createTracker(base({ fetch: f.fetch, consent: { attribution: false }, onDenied: 'flag' }));
    flagging.touch('visit', { anonymousId: 'a' });
    await flagging.flush();
    expect(f.calls[0]!.body.batch[0]!.context.consent).toEqual({ attribution: false });
  });
});

describe('options', () => {
  it('say what is wrong', () => {
    expect(() => createTracker(base({ writeKey: '' }))).toThrow(/writeKey is required/);
    expect(() => createTracker(base({ endpoint: 'touchline.example.com' }))).toThrow(/endpoint must be an http\(s\) URL/);
  });
});
