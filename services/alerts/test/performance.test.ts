import { describe, expect, it } from 'vitest';
import { detectDirectShare, detectOpportunities, detectRoiDrops } from '../src/detectors/performance.js';
import { MetricsStore } from '../src/metrics.js';
import { DEFAULT_ALERTS_OPTIONS } from '../src/options.js';
import { mulberry32 } from '../src/stats.js';
import { D, H, T0, cost, credit, dateOf } from './support/fixtures.js';

const roiOpts = DEFAULT_ALERTS_OPTIONS.roiDrop;

/**
 * A campaign with steady daily spend: `baselinePerDay` conversions a day for the 8 days before the
 * last 24 hours, then `trailing` conversions in the last 24 hours, evenly spaced.
 */
function campaign(opts: { baselinePerDay: number; trailing: number; spendPerDay?: number; trailingSpendPerDay?: number; value?: (i: number) => number }) {
  const m = new MetricsStore();
  const value = opts.value ?? (() => 100);
  let n = 0;
  const add = (ts: number) => m.applyCredit(credit(`c${n}`, ts, value(n++), [['paid_search', 'brand', 1]]));
  for (let d = 1; d <= 8; d++) for (let i = 0; i < opts.baselinePerDay; i++) add(T0 - d * D - (i + 0.5) * (D / opts.baselinePerDay));
  for (let i = 0; i < opts.trailing; i++) add(T0 - (i + 0.5) * (D / opts.trailing));
  for (let d = 0; d <= 9; d++) {
    const trailing = d <= 1 && opts.trailingSpendPerDay !== undefined;
    m.applyCost(cost(dateOf(T0 - d * D), 'paid_search', 'brand', trailing ? opts.trailingSpendPerDay! : (opts.spendPerDay ?? 1000)));
  }
  return m;
}

const campaignAlerts = (m: MetricsStore) => detectRoiDrops(m, 'linear', T0, roiOpts).filter((a) => a.campaign === 'brand');

describe('ROI drop', () => {
  it('fires when attributed revenue halves while spend holds, and explains itself', () => {
    const [alert, ...rest] = campaignAlerts(campaign({ baselinePerDay: 40, trailing: 20 }));
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({ type: 'roi_drop', signal: 'roi_drop', severity: 'critical', model: 'linear', channel: 'paid_search', campaign: 'brand' });
    expect(alert!.evidence.change).toBeCloseTo(-0.5, 6);
    expect(alert!.evidence.observed).toBeCloseTo(2, 6);
    expect(alert!.evidence.expected).toBeCloseTo(4, 6);
    expect(alert!.evidence.pValue).toBeLessThan(0.01);
    expect(alert!.evidence.confidence).toBeCloseTo(1 - alert!.evidence.pValue, 12);
    expect(alert!.evidence.volume).toEqual({ observed: 20, baseline: 280 });
    expect(alert!.evidence.baselineWindow).toEqual({ from: T0 - 8 * D, to: T0 - D });
    expect(alert!.summary).toMatch(/ROI of campaign brand on paid_search fell from 3 to 1/);
    // The channel as a whole dropped just the same.
    expect(detectRoiDrops(campaign({ baselinePerDay: 40, trailing: 20 }), 'linear', T0, roiOpts).map((a) => a.campaign)).toEqual(['', 'brand']);
  });

  it('stays quiet on 10 conversions of noise, even a halving of them', () => {
    expect(campaignAlerts(campaign({ baselinePerDay: 10, trailing: 8 }))).toEqual([]);
    expect(campaignAlerts(campaign({ baselinePerDay: 10, trailing: 5 }))).toEqual([]);
    // A 15% swing on plenty of volume is not a drop either.
    expect(campaignAlerts(campaign({ baselinePerDay: 200, trailing: 170 }))).toEqual([]);
  });

  it('stays quiet when revenue halves because spend halved (ROI held)', () => {
    expect(campaignAlerts(campaign({ baselinePerDay: 40, trailing: 20, trailingSpendPerDay: 500 }))).toEqual([]);
  });

  it('under random conversions and values: halvings are caught, steady campaigns rarely fire', () => {
    const simulate = (seed: number, trailingFactor: number) => {
      const rnd = mulberry32(seed);
      const poisson = (l: number) => {
        let k = 0;
        let p = Math.exp(-l);
        let s = p;
        const u = rnd();
        while (u > s) s += p *= l / ++k;
        return k;
      };
      const perDay = 80;
      const m = new MetricsStore();
      let n = 0;
      for (let d = 0; d <= 8; d++) {
        const count = poisson(d === 0 ? perDay * trailingFactor : perDay);
        for (let i = 0; i < count; i++) {
          const ts = T0 - d * D - rnd() * D;
          m.applyCredit(credit(`c${n++}`, ts, 50 + rnd() * 100, [['paid_search', 'brand', 0.5 + rnd() / 2], ['email', '', 0.5]]));
        }
        m.applyCost(cost(dateOf(T0 - d * D), 'paid_search', 'brand', 1000));
      }
      m.applyCost(cost(dateOf(T0 - 9 * D), 'paid_search', 'brand', 1000));
      return campaignAlerts(m).length;
    };
    const seeds = Array.from({ length: 150 }, (_, i) => i + 1);
    const caught = seeds.filter((s) => simulate(s, 0.5) > 0).length;
    const falseAlarms = seeds.filter((s) => simulate(1000 + s, 1) > 0).length;
    expect(caught / seeds.length).toBeGreaterThan(0.95);
    expect(falseAlarms / seeds.length).toBeLessThan(0.03);
  });
});

describe('opportunity', () => {
  it('points at the campaign earning clearly more per euro than its peers', () => {
    const m = new MetricsStore();
    let n = 0;
    const camps: Array<[string, number]> = [['a', 20], ['b', 20], ['c', 20], ['star', 40]];
    for (const [camp, perDay] of camps) {
      for (let d = 0; d < 7; d++) {
        m.applyCost(cost(dateOf(T0 - d * D), 'paid_social', camp, 1000));
        for (let i = 0; i < perDay; i++) m.applyCredit(credit(`o${n++}`, T0 - d * D - (i + 0.5) * (D / perDay) + 1, 100, [['paid_social', camp, 1]]));
      }
    }
    const found = detectOpportunities(m, 'linear', T0, DEFAULT_ALERTS_OPTIONS.opportunity);
    expect(found.map((a) => a.campaign)).toEqual(['star']);
    expect(found[0]!.evidence.change).toBeGreaterThan(0.5);
    expect(found[0]!.evidence.comparedWith).toMatch(/other 3 campaigns/);
  });
});

describe('tracking health: direct share', () => {
  const store = (direct: number, total: number) => {
    const m = new MetricsStore();
    for (let i = 0; i < total; i++) m.applyCredit(credit(`d${i}`, T0 - (i + 1) * (H / 4), 100, i < direct ? [['direct', '', 1]] : [['email', 'n', 1]]));
    return m;
  };
  const opts = DEFAULT_ALERTS_OPTIONS.directShare;
  it('fires when clearly more than 20% of conversions have only direct/unknown touches', () => {
    const [a] = detectDirectShare(store(20, 50), 'linear', T0, opts);
    expect(a).toMatchObject({ type: 'tracking_health', signal: 'direct_share' });
    expect(a!.evidence.observed).toBeCloseTo(0.4, 9);
    expect(a!.evidence.pValue).toBeLessThan(0.05);
  });
  it('stays quiet at 22% or with too few conversions', () => {
    expect(detectDirectShare(store(11, 50), 'linear', T0, opts)).toEqual([]);
    expect(detectDirectShare(store(8, 10), 'linear', T0, opts)).toEqual([]);
  });
});
