import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Normaliser, normaliseEvent } from '../src/normalise.js';
import { hashEmail, hashPhone, normaliseEmail, normalisePhone, pseudonymiseId, scrubEmails } from '../src/privacy.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const ctx = { receivedAt: Date.parse('2026-11-22T12:00:00Z') };

describe('email normalisation', () => {
  it.each([
    [' Jane.Doe@Example.COM ', 'jane.doe@example.com'],
    ['Jane.Doe+news@GMail.com', 'janedoe@gmail.com'],
    ['j.a.n.e@googlemail.com', 'jane@gmail.com'],
    ['jane+tag@example.com', 'jane+tag@example.com'],
    ['jane@bücher.de', 'jane@xn--bcher-kva.de'],
    ['Ame\u0301lie@example.com', 'am\u00e9lie@example.com'],
  ])('%s → %s', (input, expected) => {
    expect(normaliseEmail(input)).toBe(expected);
    expect(hashEmail(input)).toBe(sha(expected));
  });
});

describe('phones to E.164', () => {
  it.each([
    ['+49 (0)30 1234-567', '', '+49301234567'],
    ['0049 30 1234567', '', '+49301234567'],
    ['030 1234567', '49', '+49301234567'],
    ['030 1234567', '+49', '+49301234567'],
    ['(415) 555-2671', '1', '+14155552671'],
    ['1-415-555-2671', '1', '+14155552671'],
    ['011 49 30 1234567', '1', '+49301234567'],
    ['06 1234 5678', '39', '+390612345678'],
    ['07700 900123', '44', '+447700900123'],
    ['030 1234567', '', '0301234567'],
  ])('%s (default %s) → %s', (input, cc, expected) => {
    expect(normalisePhone(input, cc)).toBe(expected);
    expect(hashPhone(input, cc)).toBe(sha(expected));
  });

  it('hashes a national number like its international form once the country code is configured', () => {
    const n = new Normaliser({ defaultPhoneCountryCode: '49' });
    const a = n.normalise({ type: 'identify', userId: 'u', timestamp: 1, traits: { phone: '030 1234567' } }, ctx);
    const b = n.normalise({ type: 'identify', userId: 'u', timestamp: 1, traits: { phone: '+49 30 1234567' } }, ctx);
    if (!a.ok || !b.ok) throw new Error('rejected');
    expect(JSON.parse(String(a.record.value)).phoneHash).toBe(JSON.parse(String(b.record.value)).phoneHash);
  });
});

describe('personal data never leaves ingest in clear', () => {
  it('ids that are emails or phones become their hashes, consistently', () => {
    expect(pseudonymiseId('jane@example.com')).toBe(`email-sha256:${hashEmail('jane@example.com')}`);
    expect(pseudonymiseId('+49 30 1234567')).toBe(`phone-sha256:${hashPhone('+49 30 1234567')}`);
    expect(pseudonymiseId('user-42')).toBe('user-42');
    expect(pseudonymiseId('12345678')).toBe('12345678');
    expect(pseudonymiseId('a@b')).toBe('a@b');
  });

  it('no email, phone or full IP of an event appears in what ingest publishes', () => {
    const email = 'Jane.Doe@Example.com';
    const phone = '+49 170 9876543';
    const events = [
      { type: 'identify', userId: email, anonymousId: phone, timestamp: 1, traits: { email, phone, accountId: 'jane.doe@example.com' } },
      {
        type: 'touch',
        anonymousId: 'a1',
        userId: email,
        interaction: 'click',
        timestamp: 1,
        url: `https://shop.example/signup?email=${encodeURIComponent(email)}&utm_campaign=${email}&utm_content=${encodeURIComponent(email)}`,
        referrer: `https://user:secret@mail.example/inbox/${email}`,
        context: { ip: '203.0.113.77', page: { url: 'https://x.example/?phone=%2B491709876543' } },
      },
      { type: 'conversion', userId: email, conversionId: email, name: 'signup', timestamp: 1 },
      { type: 'touch', anonymousId: email, interaction: 'teleport', timestamp: 1, traits: { email, phone }, context: { ip: '203.0.113.77' } },
    ];
    const out = events.map((e) => normaliseEvent(e, ctx)).map((n) => (n.ok ? String(n.record.value) : String(n.deadletter.value)));
    const text = out.join('\n');
    for (const needle of [/jane/i, /doe/i, /9876543/, /203\.0\.113\.77/, /secret/]) expect(text).not.toMatch(needle);
    expect(text).toContain(`email-sha256:${hashEmail(email)}`);
    expect(text).toContain('203.0.113.0');
  });

  it('scrubs emails, also percent-encoded, from free text', () => {
    expect(scrubEmails('to jane@example.com and bob%40example.org')).toBe('to [email] and [email]');
    expect(scrubEmails('nothing here')).toBe('nothing here');
  });
});
