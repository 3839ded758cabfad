import { describe, expect, it } from 'vitest';
import { eventTime, liveFeed, type SimEvent } from '../src/index.js';

describe('the live demo feed', () => {
  const take = (n: number, clock: () => number, unitsPerDay?: number): SimEvent[][] => {
    const feed = liveFeed({ seed: 9, now: clock, unitsPerBatch: 3, ...(unitsPerDay ? { unitsPerDay } : {}) });
    return Array.from({ length: n }, () => feed.next().value);
  };

  it('replays units so that each batch ends now, nothing in the future, touches within the lookback', () => {
    let now = Date.parse('2026-06-01T12:00:00Z');
    const batches = take(40, () => (now += 1000));
    let t = Date.parse('2026-06-01T12:00:00Z');
    let conversions = 0;
    for (const batch of batches) {
      t += 1000;
      const times = batch.map(eventTime);
      if (batch.length === 0) continue;
      expect(Math.max(...times)).toBe(t);
      expect(Math.min(...times)).toBeGreaterThanOrEqual(t - 31 * 86_400_000);
      for (const e of batch) if (e.type === 'conversion') {
        conversions++;
        // a conversion is the newest event of its unit, i.e. it happens now
        expect(eventTime(e)).toBe(t);
      }
    }
    expect(batches.flat().length).toBeGreaterThan(200);
    expect(conversions).toBeGreaterThan(0);
  });

  it('is deterministic for a seed and a clock, and never repeats a message id', () => {
    const clock = () => {
      let now = Date.parse('2026-06-01T00:00:00Z');
      return () => (now += 500);
    };
    const a = take(30, clock());
    const b = take(30, clock());
    expect(b).toEqual(a);
    const ids = a.flat().map((e) => e.messageId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('with unitsPerDay, sends each new day’s spend once, scaled to the units fed', () => {
    let now = Date.parse('2026-06-01T23:59:58Z');
    const batches = take(4, () => (now += 1000), 86_400);
    const costs = batches.flat().filter((e) => e.type === 'cost');
    expect(new Set(costs.map((e) => (e.type === 'cost' ? e.date : '')))).toEqual(new Set(['2026-06-01', '2026-06-02']));
    // b2c: google_ads spends 900/day over 300,000 people and 90 days; 86,400 people a day → 900 × 86,400 × 90 / 300,000 / 3 campaigns
    const google = costs.filter((e) => e.type === 'cost' && e.channel === 'google_ads' && e.date === '2026-06-02');
    expect(google).toHaveLength(3);
    expect(google[0]!.type === 'cost' && google[0]!.amount).toBeCloseTo((900 * 86_400 * 90) / 300_000 / 3, 2);
  });
});
