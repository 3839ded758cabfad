import { describe, expect, it } from 'vitest';
import { ALL, MetricsStore } from '../src/metrics.js';
import { BucketSeries, spreadDaily } from '../src/series.js';
import { D, H, MIN, T0, cost, credit, dateOf } from './support/fixtures.js';

describe('BucketSeries', () => {
  it('sums minute-exact in the last day and by hours before, never twice', () => {
    const s = new BucketSeries(1);
    for (let i = 0; i < 10 * 24 * 60; i += 7) s.add(T0 - i * MIN, [1]);
    const exact = (from: number, to: number) => {
      let n = 0;
      for (let i = 0; i < 10 * 24 * 60; i += 7) {
        const t = T0 - i * MIN;
        if (t >= from && t < to) n++;
      }
      return n;
    };
    expect(s.sum(T0 - H, T0 + MIN, T0)[0]).toBe(exact(T0 - H, T0 + MIN));
    expect(s.sum(T0 - D, T0 + MIN, T0)[0]).toBe(exact(T0 - D, T0 + MIN));
    // T0 is on the hour: the 7-day window starts on an hour boundary and is exact too.
    expect(s.sum(T0 - 7 * D, T0 + MIN, T0)[0]).toBe(exact(T0 - 7 * D, T0 + MIN));
  });

  it('spreads a day of spend evenly over its hours', () => {
    const day = Math.floor(T0 / D);
    const amounts = new Map([[day, 2400], [day - 1, 4800]]);
    expect(spreadDaily(amounts, T0 - H, T0)).toBeCloseTo(100, 9);
    expect(spreadDaily(amounts, T0 - D, T0)).toBeCloseTo(2400 / 2 + 4800 / 2, 9);
  });
});

describe('MetricsStore', () => {
  it('gives conversions, revenue, spend, ROI, ROAS and CPA per channel and campaign over sliding windows', () => {
    const m = new MetricsStore();
    m.applyCredit(credit('c1', T0 - 30 * MIN, 300, [['linkedin', 'abm', 0.5], ['email', 'nurture', 0.5]]));
    m.applyCredit(credit('c2', T0 - 5 * H, 100, [['linkedin', 'abm', 1]]));
    m.applyCredit(credit('c3', T0 - 3 * D, 1000, [['linkedin', 'retarget', 1]]));
    m.applyCost(cost(dateOf(T0), 'linkedin', 'abm', 2400));
    m.applyCost(cost(dateOf(T0 - D), 'linkedin', 'abm', 2400));

    const hour = m.snapshot('linear', H, T0);
    expect(hour.channels.find((r) => r.channel === 'linkedin')).toEqual({ channel: 'linkedin', campaign: '', conversions: 0.5, revenue: 150, spend: 100, roi: 0.5, roas: 1.5, cpa: 200 });
    expect(hour.campaigns.find((r) => r.campaign === 'nurture')).toMatchObject({ channel: 'email', revenue: 150, spend: 0, roi: null, roas: null, cpa: null });

    const day = m.snapshot('linear', D, T0);
    expect(day.campaigns.find((r) => r.campaign === 'abm')).toMatchObject({ conversions: 1.5, revenue: 250, spend: 2400 });
    expect(day.total).toMatchObject({ conversions: 2, revenue: 400, spend: 2400 });
    const week = m.snapshot('linear', 7 * D, T0);
    expect(week.campaigns.find((r) => r.campaign === 'retarget')).toMatchObject({ conversions: 1, revenue: 1000 });
    expect(week.channels.find((r) => r.channel === 'linkedin')!.spend).toBeCloseTo(2400 + 1200, 9);
  });

  it('replaces a restated conversion, ignores an older version, counts a cost once', () => {
    const m = new MetricsStore();
    m.applyCredit(credit('c1', T0 - MIN, 100, [['email', '', 1]], { version: 2 }));
    expect(m.applyCredit(credit('c1', T0 - MIN, 100, [['linkedin', 'abm', 1]], { version: 1 }))).toBe(false);
    m.applyCredit(credit('c1', T0 - MIN, 100, [['events', 'fair', 1]], { version: 3 }));
    const t = (ch: string) => m.totals('linear', ch, ALL, T0 - H, T0 + MIN, T0);
    expect(t('email').revenue).toBe(0);
    expect(t('linkedin').revenue).toBe(0);
    expect(t('events')).toMatchObject({ conversions: 1, revenue: 100, revenueSq: 10_000 });
    expect(m.applyCost(cost(dateOf(T0), 'events', 'fair', 500, 'x'))).toBe(true);
    expect(m.applyCost(cost(dateOf(T0), 'events', 'fair', 500, 'x'))).toBe(false);
    expect(m.totals('linear', 'events', 'fair', T0 - D, T0 + D, T0).spend).toBeCloseTo(500, 9);
  });

  it('counts conversions whose credit went only to direct or unknown touches', () => {
    const m = new MetricsStore();
    m.applyCredit(credit('a', T0 - H, 10, [['direct', '', 1]]));
    m.applyCredit(credit('b', T0 - H, 10, [['direct', '', 0.5], ['email', '', 0.5]]));
    m.applyCredit(credit('c', T0 - H, 10, [['unknown', '', 1]]));
    expect(m.trackingTotals('linear', T0 - D, T0, T0)).toEqual({ conversions: 3, directOnly: 2 });
  });

  it('forgets what is older than its retention', () => {
    const m = new MetricsStore(10 * D);
    m.applyCredit(credit('old', T0 - 20 * D, 100, [['email', '', 1]]));
    m.applyCost(cost(dateOf(T0 - 20 * D), 'email', '', 100));
    m.applyCredit(credit('new', T0 - D, 100, [['email', '', 1]]));
    m.prune(T0);
    expect(m.size).toEqual({ conversions: 1, costs: 0 });
    expect(m.totals('linear', 'email', ALL, T0 - 30 * D, T0, T0).revenue).toBe(100);
  });
});
