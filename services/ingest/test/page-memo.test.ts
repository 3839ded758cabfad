import { describe, expect, it } from 'vitest';
import { ChannelGrouper } from '../src/channel.js';
import { Normaliser } from '../src/normalise.js';

/**
 * Touches that name only their page are enriched from a memo of (interaction, URL, referrer). A
 * memoised answer must be the answer: the same record, and the same unknown-value reports, as a
 * normaliser that has never seen the page.
 */

const PAGES = [
  'https://shop.example/landing?utm_source=linkedin&utm_medium=paid_social&utm_campaign=q4',
  'https://shop.example/landing?utm_source=Partner-X&utm_medium=Co%20Branding',
  'https://shop.example/landing?utm_source=zine',
  'https://shop.example/?gclid=abc&email=jane%40example.com',
  'https://user:secret@shop.example/a?name=Jane+Doe&utm_campaign=jane@example.com',
  'https://shop.example/pricing',
  '',
];
const REFERRERS = ['', 'https://www.google.com/', 'https://blog.partner.example/post', 'https://shop.example/home', 'https://lnkd.in/x?mail=a@b.example'];
const INTERACTIONS = ['visit', 'click', 'email_click', 'webinar'];

function feed(): object[] {
  const out: object[] = [];
  let i = 0;
  for (const url of PAGES) {
    for (const referrer of REFERRERS) {
      for (const interaction of INTERACTIONS) {
        i++;
        out.push({
          type: 'touch',
          messageId: `m-${i}`,
          anonymousId: `a-${i % 7}`,
          interaction,
          timestamp: '2026-11-20T09:00:00Z',
          ...(i % 3 === 0 ? { context: { page: { url, referrer } } } : { url, referrer }),
        });
      }
    }
  }
  return out;
}

function normaliser() {
  const unknown: string[] = [];
  const n = new Normaliser({ grouper: new ChannelGrouper({ onUnknown: (field, value) => unknown.push(`${field}=${value}`) }) });
  return { n, unknown };
}

describe('page memo', () => {
  it('gives every repeated touch the record and the unknown reports of a fresh normaliser', () => {
    const events = feed();
    const ctx = { receivedAt: Date.UTC(2026, 10, 22) };
    const memo = normaliser();
    // Three passes: the first fills the memo, the others are answered from it.
    for (let pass = 0; pass < 3; pass++) {
      for (const e of events) {
        const fresh = normaliser();
        const want = fresh.n.normalise(e, ctx);
        const before = memo.unknown.length;
        const got = memo.n.normalise(e, ctx);
        expect(got).toEqual(want);
        expect(memo.unknown.slice(before)).toEqual(fresh.unknown);
      }
    }
    // The feed does exercise acceptance, the unknown reports and the scrubbing.
    expect(events.every((e) => memo.n.normalise(e, ctx).ok)).toBe(true);
    expect(memo.unknown).toContain('source=partner_x');
    const all = events.map((e) => memo.n.normalise(e, ctx)).map((r) => (r.ok ? String(r.record.value) : ''));
    expect(all.some((v) => v.includes('name=%5Bredacted%5D'))).toBe(true);
    expect(all.some((v) => v.includes('[email]'))).toBe(true);
    expect(all.join('\n')).not.toMatch(/jane@example\.com|jane%40example\.com|secret/);
  });

  it('stays right when more pages arrive than it keeps', () => {
    const { n } = normaliser();
    const ctx = { receivedAt: Date.UTC(2026, 10, 22) };
    const touch = (i: number) => ({
      type: 'touch',
      anonymousId: 'a',
      interaction: 'click',
      timestamp: '2026-11-20T09:00:00Z',
      url: `https://shop.example/p/${i}?utm_source=${i % 2 ? 'google' : 'newsletter'}&utm_medium=${i % 2 ? 'cpc' : 'email'}`,
    });
    // 5,000 distinct pages, twice: the memo (2,048 pages) fills and is cleared on the way.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5_000; i++) {
        const got = n.normalise(touch(i), ctx);
        if (i % 5 === 0) expect(got).toEqual(normaliser().n.normalise(touch(i), ctx));
      }
    }
  });

  it('does not memoise touches that name their own channel fields', () => {
    const { n, unknown } = normaliser();
    const ctx = { receivedAt: Date.UTC(2026, 10, 22) };
    const url = 'https://shop.example/landing?utm_source=google&utm_medium=cpc';
    const a = n.normalise({ type: 'touch', anonymousId: 'a', interaction: 'click', url, timestamp: '2026-11-20T09:00:00Z' }, ctx);
    const b = n.normalise({ type: 'touch', anonymousId: 'a', interaction: 'click', url, medium: 'Zine', timestamp: '2026-11-20T09:00:00Z' }, ctx);
    expect(a.ok && JSON.parse(String(a.record.value)).channel).toBe('paid_search');
    expect(b.ok && JSON.parse(String(b.record.value)).channel).toBe('google_zine');
    expect(unknown).toEqual(['source=google', 'medium=zine']);
  });
});
