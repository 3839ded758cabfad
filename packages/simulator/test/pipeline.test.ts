import { describe, expect, it } from 'vitest';
import { ALGORITHMIC_MODELS, JOURNEY_MODELS, PipelineObserver, simulateOffline, type SimEvent } from '../src/index.js';
import { smallScenario } from './helpers.js';

const MODELS = [...ALGORITHMIC_MODELS, ...JOURNEY_MODELS];
const SETTINGS = { TOUCHLINE_LOOKBACK_DAYS: '10', TOUCHLINE_CONVERSION_WINDOWS: JSON.stringify({ purchase: { lookbackDays: 10, viewThroughDays: 10, level: 'person' } }) };
const DAY = 86_400_000;
const T0 = Date.parse('2026-03-02T00:00:00Z');
const iso = (days: number) => new Date(T0 + days * DAY).toISOString();

const touch = (id: string, days: number, channel: string, who: { anonymousId?: string; userId?: string }): SimEvent => ({
  type: 'touch',
  messageId: id,
  timestamp: iso(days),
  interaction: 'click',
  channel,
  ...who,
});
const conversion = (id: string, days: number, userId: string): SimEvent => ({
  type: 'conversion',
  messageId: id,
  timestamp: iso(days),
  userId,
  conversionId: id,
  name: 'purchase',
  value: 100,
  currency: 'EUR',
});

function observe(events: SimEvent[]) {
  const p = new PipelineObserver(SETTINGS, MODELS);
  for (const e of events) p.add(e);
  return p.result();
}

describe('the pipeline observation', () => {
  it('keeps the last journey of a conversion: a late touch restates it, a late identify stitches the cookie in', () => {
    const r = observe([
      touch('t1', 1, 'search', { userId: 'u1' }),
      conversion('c1', 3, 'u1'),
      touch('t0', 0.5, 'social', { anonymousId: 'a1' }),
      { type: 'identify', messageId: 'i1', timestamp: iso(0.6), anonymousId: 'a1', userId: 'u1', traits: { email: 'someone@example.com' } },
    ]);
    expect(r.journeys).toHaveLength(1);
    expect(r.journeys[0]!.revision).toBeGreaterThan(0);
    expect(r.journeys[0]!.touches.map((t) => t.messageId)).toEqual(['t0', 't1']);
    const linear = r.credits.find((c) => c.model === 'linear')!.credits;
    expect(linear).toEqual([
      { channel: 'search', conversions: 0.5, value: 50 },
      { channel: 'social', conversions: 0.5, value: 50 },
    ]);
  });

  it('closes null paths by event time, withdraws one a later conversion explains, and keeps each person\'s latest', () => {
    const touched = (r: ReturnType<typeof observe>) => r.nullPaths.filter((n) => n.touches.length > 0).map((n) => n.touches.map((t) => t.messageId));
    const events = [touch('t1', 0, 'search', { userId: 'u1' }), touch('t2', 0, 'social', { userId: 'u2' }), touch('t3', 15, 'search', { userId: 'u3' })];
    expect(touched(observe(events))).toEqual([['t1'], ['t2']]);
    const after = observe([...events, conversion('c1', 5, 'u1')]);
    expect(touched(after)).toEqual([['t2']]);
    expect(after.journeys.map((j) => j.conversion.conversionId)).toEqual(['c1']);
    // Event time past the silent period after their touches: that untouched window is now u1's and
    // u2's latest, and t3's period has closed.
    const later = observe([...events, touch('t4', 30, 'search', { userId: 'u4' })]);
    expect(touched(later)).toEqual([['t3']]);
    expect(later.nullPaths.filter((n) => n.untouched === true && n.personId !== 'u:u4').map((n) => n.personId).sort()).toEqual(['u:u1', 'u:u2']);
  });

  it('credits a conversion without a touch to a synthetic direct touch, as the attributor does', () => {
    const r = observe([conversion('c1', 3, 'u1')]);
    expect(r.untouchedConversions).toBe(1);
    for (const m of r.credits) expect(m.credits, m.model).toEqual([{ channel: 'direct', conversions: 1, value: 100 }]);
    // The touches' credit, which channel accuracy is scored on, has none of it.
    for (const m of r.touchedCredits) expect(m.credits, m.model).toEqual([]);
  });

  it('counts what ingest refuses, with the reason', () => {
    const r = observe([{ ...(touch('t1', 0, 'search', { userId: 'u1' }) as object), timestamp: 'yesterday' } as SimEvent]);
    expect(r.rejected).toBe(1);
    expect(r.rejections[0]).toMatch(/^t1: timestamp/);
  });

  it('on a simulated world: every conversion credited once under every model, fitted, the same on a rerun', () => {
    const s = smallScenario({ units: 3_000 });
    const a = simulateOffline(s, 2, { observation: 'pipeline' });
    const b = simulateOffline(s, 2, { observation: 'pipeline' });
    const p = a.pipeline!;
    expect(p.rejected).toBe(0);
    expect(a.truth.conversions).toBe(p.journeys.length);
    for (const [model, fit] of p.snapshot.fits) expect(fit.status, model).toBe('fitted');
    for (const m of p.credits) {
      const total = m.credits.reduce((x, c) => x + c.conversions, 0);
      expect(Math.abs(total - p.journeys.length), m.model).toBeLessThan(1e-9 * p.journeys.length);
    }
    for (const m of p.touchedCredits) {
      const total = m.credits.reduce((x, c) => x + c.conversions, 0);
      expect(Math.abs(total - (p.journeys.length - p.untouchedConversions)), m.model).toBeLessThan(1e-9 * p.journeys.length);
    }
    expect(a.credits).toEqual(p.touchedCredits);
    expect(a.credits.map((c) => c.model)).toEqual([...JOURNEY_MODELS, ...ALGORITHMIC_MODELS]);
    expect(b.credits).toEqual(a.credits);
  });
});
