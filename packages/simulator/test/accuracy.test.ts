import { describe, expect, it } from 'vitest';
import { accuracyOf, shares, simulateOffline, simulationReport, totalVariationDistance, type GroundTruth } from '../src/index.js';
import { smallScenario } from './helpers.js';

describe('total variation distance', () => {
  it('is ½ Σ |p − q|: 0 for equal distributions, 1 for disjoint ones', () => {
    expect(totalVariationDistance([0.2, 0.3, 0.5], [0.2, 0.3, 0.5])).toBe(0);
    expect(totalVariationDistance([1, 0], [0, 1])).toBe(1);
    expect(totalVariationDistance([0.5, 0.3, 0.2], [0.2, 0.3, 0.5])).toBeCloseTo(0.3, 15);
    expect(totalVariationDistance([], [])).toBe(0);
  });

  it('refuses distributions over different numbers of items', () => {
    expect(() => totalVariationDistance([1], [0.5, 0.5])).toThrow(RangeError);
  });

  it('shares of a vector sum to 1, an all-zero vector stays zero', () => {
    expect(shares([1, 3])).toEqual([0.25, 0.75]);
    expect(shares([0, 0])).toEqual([0, 0]);
  });
});

describe('a model’s accuracy', () => {
  const truth: GroundTruth = {
    conversions: 100,
    revenue: 1000,
    baselineConversions: 60,
    channels: [
      { channel: 'search', incrementalConversions: 30, incrementalRevenue: 300, share: 0.75, revenueShare: 0.75, expectedIncrementalConversions: 30, expectedShare: 0.75 },
      { channel: 'banner', incrementalConversions: 10, incrementalRevenue: 100, share: 0.25, revenueShare: 0.25, expectedIncrementalConversions: 10, expectedShare: 0.25 },
      { channel: 'direct', incrementalConversions: 0, incrementalRevenue: 0, share: 0, revenueShare: 0, expectedIncrementalConversions: 0, expectedShare: 0 },
    ],
  };

  it('compares shares over every channel of the scenario, a channel the model never credits at 0', () => {
    const a = accuracyOf({ model: 'last_touch', credits: [{ channel: 'search', conversions: 20, value: 0 }, { channel: 'direct', conversions: 20, value: 0 }] }, truth);
    expect(a.channels).toEqual([
      { channel: 'banner', attributed_share: 0, true_share: 0.25 },
      { channel: 'direct', attributed_share: 0.5, true_share: 0 },
      { channel: 'search', attributed_share: 0.5, true_share: 0.75 },
    ]);
    expect(a.tvd).toBeCloseTo(0.5, 15);
  });
});

describe('an offline run', () => {
  const run = simulateOffline(smallScenario({ units: 20_000 }), 4);

  it('reports every model with shares that sum to 1 and TVDs in [0, 1]', () => {
    const report = simulationReport(run);
    expect(report.models.map((m) => m.model)).toEqual(['markov', 'shapley', 'shapley_ordered', 'data_driven', 'first_touch', 'last_touch', 'last_non_direct', 'linear', 'position_based', 'time_decay']);
    for (const m of report.models) {
      expect(m.channels.map((c) => c.channel)).toEqual(['banner', 'search', 'social']);
      expect(m.channels.reduce((a, c) => a + c.attributed_share, 0)).toBeCloseTo(1, 3);
      expect(m.tvd).toBeGreaterThanOrEqual(0);
      expect(m.tvd).toBeLessThanOrEqual(1);
    }
  });

  it('gives the useless banner no true share, and last touch credits it for being everywhere', () => {
    const last = run.accuracy.find((a) => a.model === 'last_touch')!;
    const banner = last.channels.find((c) => c.channel === 'banner')!;
    expect(banner.true_share).toBe(0);
    expect(banner.attributed_share).toBeGreaterThan(0.3);
    const dd = run.accuracy.find((a) => a.model === 'data_driven')!;
    expect(dd.tvd).toBeLessThan(last.tvd);
  });
});
