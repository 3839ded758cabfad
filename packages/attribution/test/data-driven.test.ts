import { describe, expect, it } from 'vitest';
import {
  dataDrivenAttribution,
  dataDrivenWeights,
  fitDataDriven,
  mulberry32,
  naiveSum,
  pathHeuristicAttribution,
  PathStats,
  predictConversion,
} from '../src/index.js';
import { anchorStats, BIG_ANCHOR, BIG_TOTAL_CONVERSIONS, BIG_TOTAL_VALUE, creditOf, sum } from './anchors.js';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * Journeys of 2–3 distinct channels in random order. Only `paid` changes the conversion
 * probability (log-odds −2 → 0); `banner` has no effect at all; `email` is a neutral filler.
 */
function syntheticStats(journeys: number, seed: number): PathStats {
  const rng = mulberry32(seed);
  const pool = ['paid', 'banner', 'email'];
  const s = new PathStats();
  for (let j = 0; j < journeys; j++) {
    const chosen = pool.filter(() => rng() < 0.6);
    if (chosen.length < 2) continue;
    for (let i = chosen.length - 1; i > 0; i--) {
      const k = Math.floor(rng() * (i + 1));
      [chosen[i], chosen[k]] = [chosen[k]!, chosen[i]!];
    }
    const converted = rng() < sigmoid(-2 + (chosen.includes('paid') ? 2 : 0));
    s.add(chosen, converted ? 1 : 0, converted ? 10 : 0, converted ? 0 : 1);
  }
  return s;
}

describe('data-driven model: synthetic ground truth', () => {
  const stats = syntheticStats(40_000, 42);
  const model = fitDataDriven(stats);

  it('recovers the effects: paid strongly positive, banner about zero', () => {
    expect(model.converged).toBe(true);
    const n = model.channels.length;
    const pres = (c: string) => model.coefficients[1 + model.channels.indexOf(c)]!;
    const logit = (chs: string[]) => Math.log(predictConversion(model, chs) / (1 - predictConversion(model, chs)));
    // Effects show up through presence + position + order features together; compare predictions.
    expect(logit(['paid', 'email']) - logit(['banner', 'email'])).toBeGreaterThan(1.5);
    // banner is as useless as email: swapping one for the other changes little
    expect(Math.abs(logit(['paid', 'banner']) - logit(['paid', 'email']))).toBeLessThan(0.3);
    expect(predictConversion(model, ['banner', 'email'])).toBeCloseTo(sigmoid(-2), 1);
    expect(predictConversion(model, ['email', 'paid'])).toBeCloseTo(0.5, 1);
    expect(pres('paid')).toBeGreaterThan(pres('banner'));
    expect(n).toBe(3);
  });

  it('gives the channel with no effect clearly less credit than the one with an effect', () => {
    const dd = dataDrivenAttribution(stats, model);
    const linear = pathHeuristicAttribution(stats, 'linear');
    const paid = creditOf(dd.credits, 'paid').conversions;
    const banner = creditOf(dd.credits, 'banner').conversions;
    expect(paid).toBeGreaterThan(3 * banner);
    // and less than a rule that ignores effects would give it
    expect(banner).toBeLessThan(0.6 * creditOf(linear.credits, 'banner').conversions);
    expect(sum(dd.credits.map((c) => c.conversions))).toBeCloseTo(stats.totalConversions, 8);
  });

  it('per-journey weights favour the effective touch and sum to 1', () => {
    const w = dataDrivenWeights(model, [{ channel: 'banner' }, { channel: 'paid' }, { channel: 'email' }]);
    expect(naiveSum(w)).toBe(1);
    expect(w[1]).toBeGreaterThan(0.6);
    expect(w[1]).toBeGreaterThan(3 * w[0]!);
  });

  it('shares a repeated channel’s credit between its touches instead of giving it nothing', () => {
    const w = dataDrivenWeights(model, [{ channel: 'paid' }, { channel: 'email' }, { channel: 'paid' }]);
    expect(w[0]! + w[2]!).toBeGreaterThan(0.6);
    expect(naiveSum(w)).toBe(1);
  });

  it('is deterministic', () => {
    const again = fitDataDriven(stats);
    expect([...again.coefficients]).toEqual([...model.coefficients]);
  });
});

describe('data-driven weights: edge cases', () => {
  const model = fitDataDriven(syntheticStats(5_000, 1));
  it('no touches → [], one touch → [1]', () => {
    expect(dataDrivenWeights(model, [])).toEqual([]);
    expect(dataDrivenWeights(model, [{ channel: 'banner' }])).toEqual([1]);
  });

  it('only unknown channels → linear', () => {
    expect(dataDrivenWeights(model, [{ channel: 'x' }, { channel: 'y' }])).toEqual([0.5, 0.5]);
  });

  it('data without non-conversions gives a degenerate model and linear weights', () => {
    const s = new PathStats();
    s.add(['a', 'b'], 3, 3, 0);
    s.add(['b'], 1, 1, 0);
    const m = fitDataDriven(s);
    expect(m.degenerate).toBe(true);
    expect(dataDrivenWeights(m, [{ channel: 'a' }, { channel: 'b' }])).toEqual([0.5, 0.5]);
    const r = dataDrivenAttribution(s, m);
    expect(creditOf(r.credits, 'a').conversions).toBeCloseTo(1.5, 12);
    expect(creditOf(r.credits, 'b').conversions).toBeCloseTo(2.5, 12);
  });

  it('no paths → no credits', () => {
    expect(dataDrivenAttribution(new PathStats()).credits).toEqual([]);
  });
});

describe('data-driven model on ChannelAttribution_Data.csv', () => {
  const stats = anchorStats(BIG_ANCHOR);

  it('credits sum to 19,785 conversions and 74,802.97 value, fit + attribution in well under a second', () => {
    const t0 = performance.now();
    const r = dataDrivenAttribution(stats);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.fitted.converged).toBe(true);
    expect(r.credits).toHaveLength(12);
    expect(sum(r.credits.map((c) => c.conversions))).toBeCloseTo(BIG_TOTAL_CONVERSIONS, 6);
    expect(sum(r.credits.map((c) => c.value))).toBeCloseTo(BIG_TOTAL_VALUE, 2);
    for (const c of r.credits) expect(c.conversions).toBeGreaterThanOrEqual(0);
  });

  it('the conjugate-gradient Newton solver reaches the same fit as the dense one', () => {
    const dense = fitDataDriven(stats, { solver: 'dense' });
    const cg = fitDataDriven(stats, { solver: 'cg' });
    expect(cg.converged).toBe(true);
    cg.coefficients.forEach((b, i) => expect(Math.abs(b - dense.coefficients[i]!)).toBeLessThan(1e-7));
  });
});
