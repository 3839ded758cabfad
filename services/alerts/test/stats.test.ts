import { describe, expect, it } from 'vitest';
import { binomialUpperTail, compareRates, linearFit, mulberry32, normalCdf, poissonLowerTail, poissonUpperTail, wilson } from '../src/stats.js';

describe('tail probabilities', () => {
  it('match exact sums and tables', () => {
    // P(X ≥ 3 | λ = 1) = 1 − e⁻¹(1 + 1 + ½)
    expect(poissonUpperTail(3, 1)).toBeCloseTo(1 - Math.exp(-1) * 2.5, 14);
    expect(poissonLowerTail(5, 10)).toBeCloseTo(0.0670859629, 9);
    // Binomial(10, ½): P(X ≥ 8) = (45 + 10 + 1) / 1024
    expect(binomialUpperTail(8, 10, 0.5)).toBeCloseTo(56 / 1024, 13);
    expect(normalCdf(-1.959963985)).toBeCloseTo(0.025, 9);
    expect(normalCdf(0)).toBeCloseTo(0.5, 15);
  });

  it('stay accurate far in the tails where the detectors set thresholds', () => {
    // Φ(−10) = 7.6198530241605e-24 (tables)
    expect(normalCdf(-10) / 7.6198530241605e-24).toBeCloseTo(1, 9);
    // P(X ≥ 30 | λ = 0.5) is dominated by its first term e^−½ · 0.5³⁰ / 30!
    const first = Math.exp(-0.5) * 0.5 ** 30 / 2.652528598121910e32;
    expect(poissonUpperTail(30, 0.5) / first).toBeGreaterThan(1);
    expect(poissonUpperTail(30, 0.5) / first).toBeLessThan(1.02);
  });

  it('wilson interval contains the proportion and narrows with n', () => {
    const a = wilson(20, 100);
    const b = wilson(200, 1000);
    expect(a.low).toBeLessThan(0.2);
    expect(a.high).toBeGreaterThan(0.2);
    expect(b.high - b.low).toBeLessThan(a.high - a.low);
  });
});

describe('compareRates', () => {
  it('is calibrated under the null: about 1% of equal-rate samples fall below p = 0.01', () => {
    const rnd = mulberry32(7);
    const poisson = (l: number) => {
      let k = 0;
      let p = Math.exp(-l);
      let s = p;
      const u = rnd();
      while (u > s) {
        k++;
        p *= l / k;
        s += p;
      }
      return k;
    };
    let fired = 0;
    const trials = 2000;
    for (let i = 0; i < trials; i++) {
      const a = poisson(200);
      const b = poisson(200);
      const t = compareRates({ sum: a, sumSq: a, exposure: 1 }, { sum: b, sumSq: b, exposure: 1 }, 'lower')!;
      if (t.pValue < 0.01) fired++;
    }
    expect(fired / trials).toBeGreaterThan(0.002);
    expect(fired / trials).toBeLessThan(0.025);
  });

  it('measures a halving against the pooled compound-Poisson variance', () => {
    // 20 conversions of 100 on 1000 spent against 280 on 7000: pooled rate 3.75 per unit, jump 100.
    const t = compareRates({ sum: 2000, sumSq: 20 * 100 ** 2, exposure: 1000 }, { sum: 28000, sumSq: 280 * 100 ** 2, exposure: 7000 }, 'lower')!;
    expect(t.change).toBeCloseTo(-0.5, 12);
    expect(t.z).toBeCloseTo(-2 / Math.sqrt(3.75 * 100 * (1 / 1000 + 1 / 7000)), 12);
    expect(t.pValue).toBeCloseTo(normalCdf(t.z), 15);
    expect(t.pValue).toBeLessThan(0.01);
  });
});

describe('linearFit', () => {
  it('recovers a line and its slope error', () => {
    const xs = [1, 2, 3, 4, 5, 6];
    const fit = linearFit(xs, xs.map((x) => 2 + 0.5 * x))!;
    expect(fit.slope).toBeCloseTo(0.5, 12);
    expect(fit.intercept).toBeCloseTo(2, 12);
    expect(fit.slopeStdError).toBeCloseTo(0, 6);
    expect(linearFit([1, 1, 1], [1, 2, 3])).toBeUndefined();
  });
});
