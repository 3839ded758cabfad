import { describe, expect, it } from 'vitest';
import { TouchpointMessage, IdentityMessage, DeadletterMessage } from '@touchline/contracts';
import { deriveChannel, normaliseEvent, hashEmail, derivedMessageId } from '../src/index.js';

const ctx = { receivedAt: Date.parse('2026-11-22T12:00:00Z') };

describe('channel grouping', () => {
  it.each([
    [{ interaction: 'click', channel: ' LinkedIn ' }, 'linkedin'],
    [{ interaction: 'click', channel: 'linkedin' }, 'linkedin'],
    [{ interaction: 'click', url: 'https://a.example/?gclid=x1' }, 'paid_search'],
    [{ interaction: 'click', url: 'https://a.example/?li_fat_id=9' }, 'paid_social'],
    [{ interaction: 'click', url: 'https://a.example/?utm_source=google&utm_medium=CPC' }, 'paid_search'],
    [{ interaction: 'click', url: 'https://a.example/?utm_source=newsletter&utm_medium=Email' }, 'email'],
    [{ interaction: 'visit', referrer: 'https://www.google.com/search?q=x', url: 'https://a.example/' }, 'organic_search'],
    [{ interaction: 'visit', referrer: 'https://www.linkedin.com/feed', url: 'https://a.example/' }, 'organic_social'],
    [{ interaction: 'visit', referrer: 'https://blog.other.example/post', url: 'https://a.example/' }, 'referral'],
    [{ interaction: 'visit', referrer: 'https://a.example/pricing', url: 'https://a.example/' }, 'direct'],
    [{ interaction: 'webinar' }, 'webinar'],
    [{ interaction: 'event' }, 'events'],
    [{ interaction: 'visit' }, 'direct'],
  ])('%j → %s', (input, channel) => {
    expect(deriveChannel(input).channel).toBe(channel);
  });

  it('keeps the UTM tags and click id it parsed, normalised', () => {
    const f = deriveChannel({ interaction: 'click', url: 'https://a.example/?utm_source=LinkedIn&utm_medium=Paid%20Social&utm_campaign=ABM-Q4&fbclid=zz' });
    expect(f).toMatchObject({ source: 'linkedin', medium: 'paid_social', campaign: 'ABM-Q4', clickId: 'zz', clickIdType: 'fbclid', channel: 'paid_social' });
  });
});

describe('normaliseEvent', () => {
  it('corrects client clock skew with receivedAt − (sentAt − timestamp)', () => {
    const sentAt = ctx.receivedAt + 3_600_000; // client clock one hour fast
    const n = normaliseEvent({ type: 'touch', anonymousId: 'a', interaction: 'visit', timestamp: ctx.receivedAt + 3_600_000 - 60_000 }, { ...ctx, sentAt });
    expect(n.ok).toBe(true);
    if (!n.ok) return;
    expect(TouchpointMessage.parse(JSON.parse(String(n.record.value))).timestamp).toBe(ctx.receivedAt - 60_000);
  });

  it('clamps timestamps far in the future to the time of receipt', () => {
    const n = normaliseEvent({ type: 'touch', anonymousId: 'a', interaction: 'visit', timestamp: ctx.receivedAt + 86_400_000 }, ctx);
    if (!n.ok) throw new Error('rejected');
    expect(JSON.parse(String(n.record.value)).timestamp).toBe(ctx.receivedAt);
  });

  it('hashes emails and phones: the clear value never leaves ingest', () => {
    const raw = { type: 'identify', userId: 'u1', timestamp: '2026-11-22T10:00:00Z', traits: { email: ' Jane.Doe+news@GMail.com ', phone: '+49 (30) 123-456', accountId: 'acme' } };
    const n = normaliseEvent(raw, ctx);
    if (!n.ok) throw new Error(n.reason);
    const text = String(n.record.value);
    expect(text).not.toMatch(/jane|doe|gmail|123-456/i);
    const msg = IdentityMessage.parse(JSON.parse(text));
    expect(msg.emailHash).toBe(hashEmail('janedoe@gmail.com'));
    expect(msg.accountId).toBe('acme');
    expect(n.record.key).toBe('u1');
  });

  it('rejects with the JSON path and a reason, and dead-letters without the clear email', () => {
    const n = normaliseEvent({ type: 'conversion', anonymousId: 'a', timestamp: 'yesterday', name: 'x', traits: { email: 'leak@example.com' } }, ctx);
    expect(n.ok).toBe(false);
    if (n.ok) return;
    expect(n.reason).toContain('timestamp');
    expect(n.reason).toContain('conversionId');
    const dl = DeadletterMessage.parse(JSON.parse(String(n.deadletter.value)));
    expect(dl.payload).not.toContain('leak@example.com');
    expect(dl.reason).toBe(n.reason);
  });

  it('needs an anonymousId or a userId on people events', () => {
    const n = normaliseEvent({ type: 'touch', interaction: 'visit', timestamp: 1 }, ctx);
    expect(n.ok).toBe(false);
    if (!n.ok) expect(n.reason).toContain('needs anonymousId or userId');
  });

  it('derives the same messageId for the same content, whatever the key order', () => {
    const a = { type: 'touch', anonymousId: 'a', interaction: 'visit', timestamp: 5 };
    const b = { timestamp: 5, interaction: 'visit', anonymousId: 'a', type: 'touch' };
    expect(derivedMessageId(a)).toBe(derivedMessageId(b));
    expect(derivedMessageId(a)).not.toBe(derivedMessageId({ ...a, timestamp: 6 }));
    const n = normaliseEvent(a, ctx);
    if (!n.ok) throw new Error(n.reason);
    expect(JSON.parse(String(n.record.value)).messageId).toBe(derivedMessageId(a));
  });

  it('does not attribute events whose attribution consent is withheld, but keeps them', () => {
    const n = normaliseEvent({ type: 'touch', anonymousId: 'a', interaction: 'visit', timestamp: 5, context: { consent: { attribution: false } } }, ctx);
    if (!n.ok) throw new Error(n.reason);
    expect(JSON.parse(String(n.record.value)).consent).toBe(false);
  });
});

describe('client context', () => {
  it('truncates IPs before anything is stored and flags bots', async () => {
    const { truncateIp, isBotUserAgent } = await import('../src/client.js');
    expect(truncateIp('203.0.113.77')).toBe('203.0.113.0');
    expect(truncateIp('::ffff:203.0.113.77')).toBe('203.0.113.0');
    expect(truncateIp('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3::');
    expect(truncateIp('2001:db8::1')).toBe('2001:db8:0::');
    expect(truncateIp('not-an-ip')).toBe('');
    expect(isBotUserAgent('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)')).toBe(true);
    expect(isBotUserAgent('curl/8.5.0')).toBe(true);
    expect(isBotUserAgent('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36')).toBe(false);
    const n = normaliseEvent({ type: 'touch', anonymousId: 'a', interaction: 'click', timestamp: 5, context: { ip: '198.51.100.23', userAgent: 'curl/8.5.0' } }, ctx);
    if (!n.ok) throw new Error(n.reason);
    const msg = JSON.parse(String(n.record.value));
    expect(msg.ip).toBe('198.51.100.0');
    expect(msg.bot).toBe(true);
    expect(String(n.record.value)).not.toContain('198.51.100.23');
  });

  it('answers each user agent on its own, in runs of one and alternating with others', async () => {
    const { isBotUserAgent } = await import('../src/client.js');
    const browser = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    const crawler = 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)';
    // Copies, as every parsed event brings its own string.
    const copy = (s: string) => JSON.parse(JSON.stringify(s)) as string;
    const seen = [browser, browser, crawler, crawler, browser, '', crawler, undefined, browser].map((ua) => isBotUserAgent(ua === undefined ? ua : copy(ua)));
    expect(seen).toEqual([false, false, true, true, false, false, true, false, false]);
  });
});
