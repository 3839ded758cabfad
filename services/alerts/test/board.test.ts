import { describe, expect, it } from 'vitest';
import type { CreditMessage } from '@touchline/contracts';
import { RevenueBoard } from '../src/index.js';

const credit = (conversionId: string, version: number, shares: Array<[string, number]>, value = 100): CreditMessage => ({
  v: 1, kind: 'credit', conversionId, conversionName: 'purchase', conversionTimestamp: 0, personId: 'p', model: 'linear', version, currency: 'EUR', conversionValue: value,
  shares: shares.map(([channel, weight], i) => ({ touchpointId: `t${i}`, channel, campaign: '', touchTimestamp: 0, weight, value: weight * value })),
});

describe('RevenueBoard', () => {
  it('sums credit per channel and replaces a restated conversion', () => {
    const b = new RevenueBoard();
    b.apply(credit('c1', 1, [['email', 0.5], ['linkedin', 0.5]]));
    b.apply(credit('c2', 1, [['email', 1]]));
    expect(b.snapshot('linear')).toEqual([
      { channel: 'email', conversions: 1.5, revenue: 150 },
      { channel: 'linkedin', conversions: 0.5, revenue: 50 },
    ]);
    b.apply(credit('c1', 2, [['events', 1]]));
    expect(b.snapshot('linear')).toEqual([
      { channel: 'email', conversions: 1, revenue: 100 },
      { channel: 'events', conversions: 1, revenue: 100 },
    ]);
  });

  it('ignores an older version and is unchanged by a repeated delivery', () => {
    const b = new RevenueBoard();
    b.apply(credit('c1', 2, [['events', 1]]));
    expect(b.apply(credit('c1', 1, [['email', 1]]))).toBe(false);
    b.apply(credit('c1', 2, [['events', 1]]));
    expect(b.snapshot('linear')).toEqual([{ channel: 'events', conversions: 1, revenue: 100 }]);
  });
});
