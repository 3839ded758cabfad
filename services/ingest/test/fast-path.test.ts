import { describe, expect, it } from 'vitest';
import { Event } from '@touchline/contracts';
import { fastEvent } from '../src/fast-event.js';
import { Normaliser, toMillis } from '../src/normalise.js';
import { truncateIp } from '../src/client.js';
import { hostOf, wantedParams } from '../src/url.js';

/**
 * The hot path's shortcuts against the reference they replace, on generated input: the fast event
 * check against zod, the hand-written URL, timestamp and IP readers against WHATWG URL, Date.parse
 * and node:net. Any difference fails with the input that shows it.
 */

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = rng(20261122);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const maybe = <T>(v: T, p = 0.5): T | undefined => (rand() < p ? v : undefined);

const GOOD = ['a', ' padded ', 'x'.repeat(256), 'LinkedIn', 'jane@example.com', '+49 30 1234567', 'ünïcödé', 'tab\there', 'quote"back\\slash'];
const BAD = ['', ' ', 'y'.repeat(257), 'z'.repeat(513)];
/** Mostly valid values, so that both outcomes are frequent when a few fields are combined. */
const str = () => (rand() < 0.06 ? pick(BAD) : pick(GOOD));
const STRINGS = [...GOOD, ...BAD];
const ODD = [null, 0, -1, 1.5, true, [], {}, 'str', 1e21, Number.MAX_SAFE_INTEGER];
const TIMES = [
  '2026-11-22T10:00:00Z',
  '2026-11-22T10:00:00.123Z',
  '2026-11-22T10:00:00.1234Z',
  '2026-11-22T10:00:00+02:00',
  '2024-02-29T00:00:00Z',
  '2026-02-29T00:00:00Z',
  '0099-01-01T00:00:00Z',
  '0100-01-01T00:00:00.000Z',
  '2026-11-22 10:00:00Z',
  '2026-11-22T25:00:00Z',
  'yesterday',
  1_795_305_600_000,
  0,
  -5,
  8.64e15,
  8.64e15 + 1,
  1.5,
];
const URLS = [
  'https://shop.example/landing?utm_source=LinkedIn&utm_medium=Paid%20Social&utm_campaign=abm&fbclid=zz',
  'https://shop.example/?gclid=a&gclid=b',
  'https://shop.example/?utm_source=a+b&utm_medium=%ZZ',
  'https://shop.example/#x?utm_source=hash',
  '/relative?utm_source=rel',
  'https://user:pw@shop.example/?email=jane@example.com',
  'not a url',
  '',
];
const REFS = ['https://www.google.com/', 'https://blog.example.org/post', 'https://shop.example/pricing', 'android-app://com.google.android.gm', 'https://WWW.LinkedIn.com:443/feed', 'nonsense', ''];

function randomContext(): unknown {
  if (rand() < 0.03) return pick(ODD);
  return {
    ip: maybe(pick(['203.0.113.9', '2001:db8::1', '01.2.3.4', rand() < 0.1 ? 'x'.repeat(65) : '::ffff:198.51.100.7'])),
    userAgent: maybe(rand() < 0.03 ? 'x'.repeat(2049) : pick(['Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0', 'curl/8.5.0', 'Googlebot/2.1'])),
    consent: maybe(rand() < 0.05 ? pick(ODD) : { attribution: maybe(rand() < 0.05 ? 'no' : pick([true, false])), marketing: maybe(true), other: 1 }),
    page: maybe(rand() < 0.03 ? pick(ODD) : { url: maybe(pick(URLS)), referrer: maybe(pick(REFS)), title: maybe(str()), search: maybe(pick(['?utm_source=search', 'x'])) }),
    locale: maybe(rand() < 0.05 ? pick(['x'.repeat(65), 5 as unknown]) : 'de-DE'),
    timezone: maybe('Europe/Berlin'),
    campaign: maybe({ source: maybe(pick(STRINGS)), medium: maybe(pick(['cpc', 'email', 'Social'])), name: maybe('spring') }),
    library: maybe({ name: maybe('sdk'), version: maybe(pick(['1.0.0', 7 as unknown])) }),
    extra: maybe({ nested: true }),
  };
}

function randomEvent(): unknown {
  if (rand() < 0.03) return pick(ODD);
  const type = rand() < 0.03 ? pick(['teleport', undefined]) : pick(['touch', 'touch', 'conversion', 'identify', 'cost']);
  const e: Record<string, unknown> = {
    type,
    messageId: maybe(rand() < 0.03 ? 5 : str()),
    anonymousId: maybe(str(), 0.8),
    userId: maybe(str(), 0.4),
    timestamp: maybe(rand() < 0.8 ? pick(TIMES.slice(0, 2)) : pick(TIMES), 0.97),
    context: maybe(randomContext(), 0.6),
    properties: maybe(rand() < 0.8 ? { plan: 'pro' } : pick([[], null, 'x']), 0.2),
    junk: maybe('ignored', 0.1),
  };
  if (type === 'touch') {
    e.interaction = maybe(rand() < 0.05 ? pick(['teleport', 'Click']) : pick(['click', 'visit', 'email_open', 'meeting']), 0.97);
    for (const k of ['channel', 'source', 'medium', 'campaign', 'content', 'term']) e[k] = maybe(rand() < 0.05 ? 'z'.repeat(513) : pick(['', ' ', ...GOOD]), 0.25);
    e.url = maybe(pick(URLS), 0.6);
    e.referrer = maybe(pick(REFS), 0.5);
    e.clickId = maybe(pick(['abc', ' ', '']), 0.1);
    e.clickIdType = maybe(pick(['gclid', 'fbclid', 'nope']), 0.1);
    e.cost = maybe(rand() < 0.2 ? pick([-1, 'x']) : pick([0, 1.25]), 0.2);
  } else if (type === 'conversion') {
    e.conversionId = maybe(str(), 0.95);
    e.name = maybe(rand() < 0.1 ? pick(['', 'x'.repeat(129)]) : pick(['purchase', ' deal ']), 0.95);
    e.value = maybe(rand() < 0.1 ? pick([-3, '5']) : pick([0, 120.5, 1e300]), 0.8);
    e.currency = maybe(rand() < 0.1 ? pick(['EURO', 'e1r', 3 as unknown]) : pick(['eur', 'USD']), 0.6);
    e.stage = maybe(pick(['lead', 'opportunity', 'closed_won', 'won']), 0.3);
  } else if (type === 'identify') {
    e.traits = maybe(
      rand() < 0.1
        ? pick(ODD)
        : {
            email: maybe(rand() < 0.1 ? pick(['nope', 'a@b', 5 as unknown]) : pick([' Jane.Doe+x@GMail.com ', 'bücher@bücher.de'])),
            phone: maybe(rand() < 0.1 ? pick(['call me', '12']) : pick(['+49 (0)30 1234567', '030 1234567'])),
            accountId: maybe(str()),
            plan: maybe('pro'),
          },
      0.8,
    );
  } else if (type === 'cost') {
    e.date = maybe(rand() < 0.1 ? pick(['2026-02-30', '22.11.2026', 20261122 as unknown]) : '2026-11-22', 0.95);
    e.channel = maybe(str(), 0.95);
    e.campaign = maybe(str(), 0.5);
    e.amount = maybe(rand() < 0.1 ? pick([-1, '1']) : pick([0, 99.5]), 0.95);
    e.currency = maybe(pick(['eur', 'USD', 'EURO']), 0.6);
  }
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  return e;
}

describe('the fast event check', () => {
  const fast = new Normaliser({ fastPath: true });
  const reference = new Normaliser({ fastPath: false });
  const ctx = { receivedAt: Date.parse('2026-11-22T12:00:00Z'), sentAt: Date.parse('2026-11-22T12:00:30Z') };

  it('accepts only what zod accepts, and then gives the very same messages', () => {
    let fastAccepted = 0;
    let checked = 0;
    for (let i = 0; i < 10_000; i++) {
      // Through JSON, as events arrive.
      const raw = JSON.parse(JSON.stringify(randomEvent() ?? null)) as unknown;
      const viaFast = fast.normalise(raw, ctx);
      const viaZod = reference.normalise(raw, ctx);
      expect(viaFast, JSON.stringify(raw)).toEqual(viaZod);
      if (fastEvent(raw) !== undefined) {
        fastAccepted++;
        expect(Event.safeParse(raw).success, JSON.stringify(raw)).toBe(true);
      }
      checked++;
    }
    // The generator must exercise both sides, or this test proves nothing.
    expect(fastAccepted).toBeGreaterThan(checked / 10);
    expect(checked - fastAccepted).toBeGreaterThan(checked / 10);
  });
});

describe('hand-written readers', () => {
  it('toMillis equals Date.parse on every timestamp shape zod accepts', () => {
    const samples: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      const ms = Math.floor(rand() * 8.64e15 * (rand() < 0.5 ? 1e-3 : 1));
      const iso = new Date(ms).toISOString();
      if (!iso.startsWith('+')) samples.push(iso, iso.replace(/\.\d{3}Z$/, 'Z'), iso.replace(/Z$/, '+05:30'));
    }
    samples.push('0099-12-31T23:59:59.999Z', '0100-01-01T00:00:00Z', '2026-11-22T10:00:00.5Z');
    for (const s of samples) expect(toMillis(s), s).toBe(Date.parse(s));
  });

  it('hostOf matches WHATWG URL for absolute URLs, without www.', () => {
    const hosts = ['shop.example', 'WWW.Example.COM', 'a-b.c.d', 'xn--bcher-kva.de', 'bücher.de', '127.0.0.1', '0x7f.1', '[::1]', 'example.com.'];
    const tails = ['', '/', '/p?q=1', ':8080/p', ':99999/', '#f', '?a=b@c', '\\evil', ':443'];
    const heads = ['https://', 'http://', 'HTTPS://', 'ftp://', 'https://user:pw@', 'android-app://'];
    for (const h of heads) {
      for (const host of hosts) {
        for (const t of tails) {
          const url = `${h}${host}${t}`;
          let expected = '';
          try {
            expected = new URL(url).hostname.toLowerCase().replace(/^www\./, '');
          } catch {
            expected = '';
          }
          expect(hostOf(url), url).toBe(expected);
        }
      }
    }
  });

  it('wantedParams gives what URLSearchParams.get gives', () => {
    const values = ['plain', 'a+b', 'a%20b', '%E2%82%AC', '%ZZ', '%', '', 'x=y'];
    const keys = ['utm_source', 'utm_medium', 'utm_campaign', 'gclid', 'fbclid', 'utm%5Fsource', 'other'];
    for (let i = 0; i < 3_000; i++) {
      const parts = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => (rand() < 0.1 ? pick(keys) : `${pick(keys)}=${pick(values)}`));
      const url = `https://shop.example/p?${parts.join('&')}${rand() < 0.2 ? '#utm_term=frag' : ''}`;
      const expected = new URL(url).searchParams;
      const got = wantedParams(url);
      for (const k of ['utm_source', 'utm_medium', 'utm_campaign', 'gclid', 'fbclid', 'utm_term']) {
        expect(got?.get(k) ?? null, `${url} ${k}`).toBe(expected.get(k));
      }
    }
  });

  it('truncateIp agrees with its general path on dotted quads', () => {
    for (let i = 0; i < 2_000; i++) {
      const octets = Array.from({ length: 4 }, () => pick(['0', '7', '255', '256', '010', String(Math.floor(rand() * 300))]));
      const ip = octets.join('.');
      const valid = octets.every((o) => Number(o) <= 255 && (o.length === 1 || o[0] !== '0'));
      expect(truncateIp(ip), ip).toBe(valid ? `${octets.slice(0, 3).join('.')}.0` : '');
    }
  });
});
