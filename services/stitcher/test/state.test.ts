import { describe, expect, it } from 'vitest';
import type { ConversionMessage, IdentityMessage, InputMessage, JourneyMessage, TouchpointMessage } from '@touchline/contracts';
import { StitcherState, stitch } from '../src/index.js';

const H = 3_600_000;
const T0 = Date.parse('2026-10-01T00:00:00Z');

const touch = (id: string, ids: { anonymousId?: string; userId?: string }, at: number, channel = 'email', consent = true): TouchpointMessage => ({
  v: 1, kind: 'touchpoint', messageId: id, ...ids, timestamp: at, receivedAt: at, interaction: 'click', channel,
  source: '', medium: '', campaign: '', content: '', term: '', clickId: '', clickIdType: '', url: '', referrer: '', cost: 0, consent, ip: '', userAgent: '', bot: false,
});
const conversion = (id: string, ids: { anonymousId?: string; userId?: string }, at: number, messageId = `${id}-m`): ConversionMessage => ({
  v: 1, kind: 'conversion', messageId, conversionId: id, ...ids, timestamp: at, receivedAt: at, name: 'purchase', value: 100, currency: 'EUR', consent: true,
});
const identify = (id: string, ids: { anonymousId?: string; userId?: string; emailHash?: string }): IdentityMessage => ({
  v: 1, kind: 'identity', messageId: id, ...ids, timestamp: T0, receivedAt: T0,
});

/** The last journey emitted per conversion: what the attributor ends up crediting. */
function finalJourneys(events: InputMessage[], lookbackDays = 90): Map<string, string[]> {
  const s = new StitcherState({ lookbackDays });
  const last = new Map<string, JourneyMessage>();
  for (const e of events) for (const j of stitch(s, e)) last.set(j.conversion.conversionId, j);
  return new Map([...last].map(([k, j]) => [k, j.touches.map((t) => t.messageId)]));
}

function shuffle<T>(xs: T[], seed: number): T[] {
  const a = [...xs];
  let s = seed;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe('StitcherState', () => {
  it('credits the touches of both devices of a person who identified on both', () => {
    const events: InputMessage[] = [
      touch('phone-1', { anonymousId: 'phone' }, T0, 'paid_social'),
      touch('laptop-1', { anonymousId: 'laptop' }, T0 + H, 'paid_search'),
      identify('i1', { anonymousId: 'phone', emailHash: 'h1' }),
      identify('i2', { anonymousId: 'laptop', emailHash: 'h1' }),
      conversion('c1', { anonymousId: 'laptop' }, T0 + 2 * H),
    ];
    expect(finalJourneys(events).get('c1')).toEqual(['phone-1', 'laptop-1']);
  });

  it('restates a conversion when a touch arrives late, with a higher revision and version', () => {
    const s = new StitcherState({ lookbackDays: 90 });
    const [j0] = stitch(s, conversion('c1', { userId: 'u' }, T0 + 10 * H));
    expect(j0!.touches).toEqual([]);
    const [j1] = stitch(s, touch('t1', { userId: 'u' }, T0));
    expect(j1!.touches.map((t) => t.messageId)).toEqual(['t1']);
    expect(j1!.revision).toBe(1);
    expect(j1!.emittedAt).toBeGreaterThan(j0!.emittedAt);
    // A touch after the conversion changes nothing, so nothing is emitted.
    expect(stitch(s, touch('t2', { userId: 'u' }, T0 + 11 * H))).toEqual([]);
  });

  it('keeps touches inside the lookback window and with consent only', () => {
    const events: InputMessage[] = [
      touch('old', { userId: 'u' }, T0 - 31 * 24 * H),
      touch('no-consent', { userId: 'u' }, T0 - H, 'email', false),
      touch('in', { userId: 'u' }, T0 - 2 * H),
      conversion('c1', { userId: 'u' }, T0),
    ];
    expect(finalJourneys(events, 30).get('c1')).toEqual(['in']);
  });

  it('credits a conversion resent under the same conversionId once', () => {
    const s = new StitcherState({ lookbackDays: 90 });
    expect(stitch(s, conversion('c1', { userId: 'u' }, T0))).toHaveLength(1);
    expect(stitch(s, conversion('c1', { userId: 'u' }, T0, 'other-message'))).toHaveLength(0);
  });

  it('ends in the same journeys for any arrival order and with duplicates', () => {
    // Generated people: devices, identifies linking some of them, conversions.
    const events: InputMessage[] = [];
    for (let p = 0; p < 12; p++) {
      const devices = [`p${p}-d0`, `p${p}-d1`, `p${p}-d2`].slice(0, 1 + (p % 3));
      devices.forEach((d, k) => {
        for (let i = 0; i < 3; i++) events.push(touch(`${d}-t${i}`, { anonymousId: d }, T0 + (p * 7 + k * 3 + i) * H, ['email', 'paid_search', 'linkedin'][i]!));
        if (p % 4 !== 3) events.push(identify(`${d}-id`, { anonymousId: d, userId: `user-${p}` }));
      });
      events.push(conversion(`p${p}-c`, { userId: `user-${p}` }, T0 + (p * 7 + 5) * H));
      if (p % 2 === 0) events.push(conversion(`p${p}-c2`, { anonymousId: devices[0]! }, T0 + (p * 7 + 9) * H));
    }
    const reference = finalJourneys(events);
    expect(reference.size).toBe(18);
    for (let seed = 1; seed <= 300; seed++) {
      const shuffled = shuffle(events, seed);
      const withDuplicates = [...shuffled, ...shuffle(events, seed + 1000).slice(0, 20)];
      expect(finalJourneys(withDuplicates)).toEqual(reference);
    }
  });
});
