import { describe, expect, it } from 'vitest';
import { BidSignaller, DEFAULT_BID_OPTIONS, conversionValue } from '../src/bids.js';
import { MetricsStore } from '../src/metrics.js';
import { DEFAULT_SUGGESTION_OPTIONS, riskTier, shiftGain, suggestBudgetShifts } from '../src/suggestions.js';
import { D, T0, cost, credit, dateOf } from './support/fixtures.js';

/**
 * Channels with known response curves revenue = scale · spend^b per day, spend varying ±40%
 * from day to day; revenue arrives as conversions of 50 at noon.
 */
function world(days: number, curves: Record<string, { spend: number; scale: number; b: number }>) {
  const m = new MetricsStore();
  let n = 0;
  for (let d = 1; d <= days; d++) {
    const dayStart = Math.floor((T0 - d * D) / D) * D;
    for (const [channel, c] of Object.entries(curves)) {
      const spend = c.spend * (1 + 0.4 * Math.sin(d * 1.7 + channel.length));
      m.applyCost(cost(dateOf(dayStart), channel, '', spend));
      const revenue = c.scale * Math.pow(spend, c.b);
      const count = Math.max(1, Math.round(revenue / 50));
      for (let i = 0; i < count; i++) m.applyCredit(credit(`${channel}-${n++}`, dayStart + D / 2 + i, revenue / count, [[channel, '', 1]]));
    }
  }
  return m;
}

// At 1000 a day, facebook earns 2 per euro with strongly diminishing returns, linkedin 2 with nearly
// none: the next euro is worth far more on linkedin.
const curves = {
  facebook: { spend: 1000, scale: 2 * 1000 ** 0.7, b: 0.3 },
  linkedin: { spend: 1000, scale: 2 * 1000 ** 0.1, b: 0.9 },
};

describe('budget-shift suggestions', () => {
  it('moves money from the channel with the lower marginal return to the higher, with its expected gain', () => {
    const m = world(28, curves);
    const { suggestions, skipped } = suggestBudgetShifts(m, 'linear', T0, DEFAULT_SUGGESTION_OPTIONS);
    expect(skipped).toEqual([]);
    expect(suggestions).toHaveLength(1);
    const s = suggestions[0]!;
    expect([s.from.channel, s.to.channel]).toEqual(['facebook', 'linkedin']);
    expect(s.from.elasticity).toBeCloseTo(0.3, 1);
    expect(s.to.elasticity).toBeCloseTo(0.9, 1);
    expect(s.to.marginalRoas).toBeGreaterThan(s.from.marginalRoas);
    expect(s.expected.revenueChange).toBeCloseTo(shiftGain(s.from, s.to, s.amount), 6);
    expect(s.expected.revenueChange).toBeGreaterThan(0);
    expect(s.expected.roiAfter).toBeGreaterThan(s.expected.roiBefore);
    expect(s.shareOfSource).toBeCloseTo(s.amount / s.from.weeklySpend, 12);
    expect(s.risk.tier).toBe(riskTier(s.shareOfSource).tier);
    // At most 15% of the total weekly spend moves in any one week.
    expect(s.weeklyStep).toBeLessThanOrEqual(0.15 * (s.from.weeklySpend + s.to.weeklySpend) + 1e-9);
    expect(s.weeks).toBe(Math.ceil(s.amount / s.weeklyStep - 1e-9));
    expect(s.summary).toMatch(/^move [\d,]+ EUR a week from facebook to linkedin, expected \+[\d.]+% ROI/);
  });

  it('keeps a strategic channel above its floor and honours an absolute weekly maximum', () => {
    const m = world(28, curves);
    const { suggestions } = suggestBudgetShifts(m, 'linear', T0, { ...DEFAULT_SUGGESTION_OPTIONS, strategic: { facebook: 0.9 }, maxShiftPerWeek: 100 });
    const s = suggestions[0]!;
    expect(s.amount).toBeLessThanOrEqual(0.1 * s.from.weeklySpend + 1e-9);
    expect(s.risk.tier).toBe('low');
    expect(s.from.strategic).toBe(true);
    expect(s.guardrails.join(' ')).toMatch(/facebook is strategic: it keeps at least 90% of its spend/);
    expect(s.weeklyStep).toBeLessThanOrEqual(100);
    expect(s.weeks).toBeGreaterThan(1);
  });

  it('suggests nothing without enough data, and says why', () => {
    const m = world(10, curves);
    const { suggestions, skipped } = suggestBudgetShifts(m, 'linear', T0, DEFAULT_SUGGESTION_OPTIONS);
    expect(suggestions).toEqual([]);
    expect(skipped.map((s) => s.channel).sort()).toEqual(['facebook', 'linkedin']);
    expect(skipped[0]!.reason).toMatch(/spend on 10 of 28 days; needs 14/);
  });

  it('suggests nothing when both channels return the same at the margin', () => {
    const same = { facebook: { spend: 1000, scale: 2 * 1000 ** 0.4, b: 0.6 }, linkedin: { spend: 1000, scale: 2 * 1000 ** 0.4, b: 0.6 } };
    expect(suggestBudgetShifts(world(28, same), 'linear', T0, DEFAULT_SUGGESTION_OPTIONS).suggestions).toEqual([]);
  });

  it('tiers risk by the share of the source budget that moves', () => {
    expect([0.1, 0.2, 0.21, 0.5, 0.51, 0.8, 0.81, 1].map((x) => riskTier(x).tier)).toEqual(['low', 'low', 'medium', 'medium', 'high', 'high', 'very_high', 'very_high']);
    expect(riskTier(0.3).action).toBe('roll out over 4 weeks');
    expect(riskTier(0.6).action).toMatch(/test on 30%/);
    expect(riskTier(0.9).action).toMatch(/pilot first/);
  });
});

describe('bid signals', () => {
  function campaigns() {
    const m = new MetricsStore();
    let n = 0;
    const roas: Record<string, number> = { star: 6, steady: 3, weak: 1, tiny: 10 };
    for (let d = 0; d <= 7; d++) {
      for (const [camp, r] of Object.entries(roas)) {
        const spend = camp === 'tiny' ? 10 : 1000;
        // T0 is noon: half of today and half of 7 days ago make the 7-day window's spend 7 days' worth.
        m.applyCost(cost(dateOf(T0 - d * D), 'paid_search', camp, spend));
        if (d === 7) continue;
        const conversions = camp === 'tiny' ? 1 : 20;
        for (let i = 0; i < conversions; i++) {
          const c = credit(`${camp}-${n++}`, T0 - d * D - (i + 1) * 60_000, (r * spend) / conversions, [['paid_search', camp, 1]]);
          m.applyCredit(c);
          m.applyCredit({ ...c, model: 'first_touch' });
        }
      }
    }
    return m;
  }

  it('raises bids where a euro returns more than the portfolio, lowers them where less, within the cap', () => {
    const signals = new BidSignaller().signals(campaigns(), 'linear', T0);
    const by = Object.fromEntries(signals.map((s) => [s.campaign, s]));
    expect(Object.keys(by).sort()).toEqual(['star', 'steady', 'weak']);
    expect(by.star!.action).toBe('raise_bid');
    expect(by.star!.bidAdjustment).toBe(DEFAULT_BID_OPTIONS.maxAdjustment);
    expect(by.weak!.action).toBe('lower_bid');
    expect(by.weak!.bidAdjustment).toBeLessThan(0);
    expect(by.weak!.bidAdjustment).toBeGreaterThanOrEqual(-DEFAULT_BID_OPTIONS.maxAdjustment);
    const portfolio = ((6 + 3 + 1) * 7000 + 10 * 70) / (3 * 7000 + 70);
    expect(by.steady!.portfolioRoas).toBeCloseTo(portfolio, 9);
    expect(by.star!.credibility).toBeCloseTo(140 / 160, 12);
    expect(by.star!.conversionValues).toEqual([
      { model: 'first_touch', conversions: expect.closeTo(140, 9), value: expect.closeTo(42_000, 6) },
      { model: 'linear', conversions: expect.closeTo(140, 9), value: expect.closeTo(42_000, 6) },
    ]);
    // Without a material change a signal is not sent again until a day has passed.
    const s = new BidSignaller();
    const m = campaigns();
    expect(s.signals(m, 'linear', T0)).toHaveLength(3);
    expect(s.signals(m, 'linear', T0 + 60_000)).toHaveLength(0);
    expect(s.signals(m, 'linear', T0 + D)).toHaveLength(3);
  });

  it('turns a credit into fractional conversion values per touch', () => {
    const v = conversionValue(credit('c9', T0, 300, [['linkedin', 'abm', 0.25], ['email', 'n', 0.75]], { version: 7 }));
    expect(v).toMatchObject({ kind: 'conversion_value', id: 'c9:linear:7', conversionValue: 300 });
    expect(v.values.map((x) => x.value)).toEqual([75, 225]);
  });
});
