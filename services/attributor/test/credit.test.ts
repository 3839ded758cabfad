import { describe, expect, it } from 'vitest';
import type { JourneyMessage } from '@touchline/contracts';
import { creditJourney, STREAMING_MODELS } from '../src/index.js';

const DAY = 86_400_000;
const T = Date.parse('2026-11-20T00:00:00Z');

const journey = (touches: Array<[string, number]>, value = 200): JourneyMessage => ({
  v: 1,
  kind: 'journey',
  personId: 'u:1',
  conversion: { conversionId: 'c1', messageId: 'm', name: 'purchase', timestamp: T, value, currency: 'EUR' },
  touches: touches.map(([channel, at], i) => ({ messageId: `t${i}`, timestamp: at, interaction: 'click', channel, campaign: `${channel}-cmp`, source: '', medium: '' })),
  level: 'person',
  retracted: false,
  revision: 0,
  emittedAt: 1_000_000,
  lookbackDays: 90,
});

describe('creditJourney', () => {
  it('credits every touch under every streaming model, weights summing to 1, values to the conversion value', () => {
    const credits = creditJourney(journey([['linkedin', T - 14 * DAY], ['email', T - 7 * DAY], ['google_ads', T]]), { models: STREAMING_MODELS, halfLifeDays: 7 });
    expect(credits.map((c) => c.model)).toEqual(['first_touch', 'last_touch', 'linear', 'time_decay']);
    for (const c of credits) {
      expect(c.shares).toHaveLength(3);
      expect(c.shares.reduce((s, x) => s + x.weight, 0)).toBeCloseTo(1, 14);
      expect(c.shares.reduce((s, x) => s + x.value, 0)).toBeCloseTo(200, 10);
      expect(c.version).toBe(1_000_000);
    }
    const byModel = Object.fromEntries(credits.map((c) => [c.model, c.shares.map((s) => s.weight)]));
    expect(byModel.first_touch).toEqual([1, 0, 0]);
    expect(byModel.last_touch).toEqual([0, 0, 1]);
    // Time decay with a 7-day half-life: weights 1/4 : 1/2 : 1, normalised.
    expect(byModel.time_decay![0]).toBeCloseTo(0.25 / 1.75, 12);
    expect(byModel.time_decay![2]).toBeCloseTo(1 / 1.75, 12);
  });

  it('gives a conversion without touches wholly to direct', () => {
    const [c] = creditJourney(journey([]), { models: ['linear'], halfLifeDays: 7 });
    expect(c!.shares).toEqual([{ touchpointId: '', channel: 'direct', campaign: '', touchTimestamp: T, weight: 1, value: 200 }]);
  });
});
