import { describe, expect, it } from 'vitest';
import { mulberry32, orderedShapleyAttribution, PathStats, shapleyAttribution, shapleyFromWorth, zetaTransform, mobiusTransform } from '../src/index.js';
import { anchorStats, BIG_ANCHOR, BIG_TOTAL_CONVERSIONS, BIG_TOTAL_VALUE, creditOf, sum } from './anchors.js';

/** Shapley's 1953 formula, by enumerating every coalition for every player: O(2ⁿ·n) worth calls. */
function bruteForceShapley(n: number, v: (mask: number) => number): number[] {
  const fact = [1];
  for (let i = 1; i <= n; i++) fact.push(fact[i - 1]! * i);
  const phi = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < 1 << n; s++) {
      if (s & (1 << i)) continue;
      let k = 0;
      for (let m = s; m; m &= m - 1) k++;
      phi[i]! += ((fact[k]! * fact[n - k - 1]!) / fact[n]!) * (v(s | (1 << i)) - v(s));
    }
  }
  return phi;
}

function randomStats(nChannels: number, nPaths: number, seed: number): PathStats {
  const rng = mulberry32(seed);
  const s = new PathStats();
  for (let p = 0; p < nPaths; p++) {
    const len = 1 + Math.floor(rng() * 5);
    const path = Array.from({ length: len }, () => `ch${Math.floor(rng() * nChannels)}`);
    s.add(path, Math.floor(rng() * 4), Math.round(rng() * 1000) / 10, Math.floor(rng() * 6));
  }
  return s;
}

describe('Shapley (Zhao et al. 2018 worth)', () => {
  it('big anchor: exact, credits sum to 19,785 conversions and 74,802.97 value, in well under a second', () => {
    const stats = anchorStats(BIG_ANCHOR);
    const t0 = performance.now();
    const r = shapleyAttribution(stats);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.method).toBe('exact');
    expect(r.credits).toHaveLength(12);
    expect(sum(r.credits.map((c) => c.conversions))).toBeCloseTo(BIG_TOTAL_CONVERSIONS, 6);
    expect(sum(r.credits.map((c) => c.value))).toBeCloseTo(BIG_TOTAL_VALUE, 2);
  });

  it('exact (Möbius over bitmasks) equals the paper’s simplified closed form', () => {
    const stats = anchorStats(BIG_ANCHOR);
    const exact = shapleyAttribution(stats, { method: 'exact' });
    const closed = shapleyAttribution(stats, { method: 'closed_form' });
    exact.credits.forEach((c, i) => {
      expect(c.conversions).toBeCloseTo(closed.credits[i]!.conversions, 8);
      expect(c.value).toBeCloseTo(closed.credits[i]!.value, 8);
    });
  });

  it('agrees with a brute-force Shapley value for small n', () => {
    for (const [n, seed] of [
      [3, 1],
      [5, 2],
      [7, 3],
    ] as const) {
      const stats = randomStats(n, 40, seed);
      const channels = stats.channels();
      const idx = new Map(channels.map((c, i) => [c, i]));
      const paths = [...stats.paths()].map((r) => ({ mask: r.channels.reduce((m, c) => m | (1 << idx.get(c)!), 0), conv: r.conversions }));
      const v = (mask: number) => sum(paths.filter((p) => (p.mask & mask) === p.mask).map((p) => p.conv));
      const brute = bruteForceShapley(channels.length, v);
      const r = shapleyAttribution(stats);
      r.credits.forEach((c, i) => expect(c.conversions).toBeCloseTo(brute[i]!, 9));
    }
  });

  it('is symmetric: interchangeable channels get the same credit', () => {
    const s = new PathStats();
    s.add(['a'], 2, 20, 1);
    s.add(['b'], 2, 20, 1);
    s.add(['a', 'b'], 3, 30, 0);
    s.add(['b', 'a'], 3, 30, 0);
    s.add(['a', 'b', 'c'], 4, 40, 2);
    const r = shapleyAttribution(s);
    expect(creditOf(r.credits, 'a').conversions).toBeCloseTo(creditOf(r.credits, 'b').conversions, 12);
    expect(creditOf(r.credits, 'a').conversions).toBeCloseTo(2 + 3 + 4 / 3, 12);
    expect(creditOf(r.credits, 'c').conversions).toBeCloseTo(4 / 3, 12);
  });

  it('gives a channel seen only on non-converting paths nothing', () => {
    const s = new PathStats();
    s.add(['a', 'b'], 1, 1, 0);
    s.add(['z'], 0, 0, 9);
    const r = shapleyAttribution(s);
    expect(creditOf(r.credits, 'z').conversions).toBe(0);
  });

  it('beyond 20 channels uses the exact closed form; Monte Carlo agrees within its standard errors', () => {
    const stats = randomStats(24, 600, 11);
    expect(stats.channels().length).toBe(24);
    const auto = shapleyAttribution(stats);
    expect(auto.method).toBe('closed_form');
    const mc = shapleyAttribution(stats, { method: 'monte_carlo', samples: 3000, seed: 5 });
    expect(mc.method).toBe('monte_carlo');
    expect(mc.samples).toBe(3000);
    expect(sum(mc.credits.map((c) => c.conversions))).toBeCloseTo(stats.totalConversions, 8);
    let worstZ = 0;
    mc.credits.forEach((c, i) => {
      const se = mc.standardErrors![i]!;
      expect(se).toBeGreaterThan(0);
      worstZ = Math.max(worstZ, Math.abs(c.conversions - auto.credits[i]!.conversions) / se);
    });
    expect(worstZ).toBeLessThan(4.5);
  });

  it('refuses exact computation past maxExactChannels', () => {
    expect(() => shapleyAttribution(randomStats(24, 300, 4), { method: 'exact' })).toThrow(RangeError);
  });

  it('no paths → no credits', () => {
    expect(shapleyAttribution(new PathStats()).credits).toEqual([]);
  });
});

describe('subset transforms', () => {
  it('Möbius inverts zeta', () => {
    const rng = mulberry32(3);
    const f = Float64Array.from({ length: 1 << 6 }, () => rng());
    const g = Float64Array.from(f);
    zetaTransform(g, 6);
    mobiusTransform(g, 6);
    g.forEach((x, i) => expect(x).toBeCloseTo(f[i]!, 12));
  });

  it('shapleyFromWorth matches brute force on a non-additive game', () => {
    const n = 6;
    const rng = mulberry32(9);
    const v = Float64Array.from({ length: 1 << n }, (_, s) => (s === 0 ? 0 : rng() * 10 + Math.sqrt(s)));
    const phi = shapleyFromWorth(v, n);
    const brute = bruteForceShapley(n, (s) => v[s]!);
    phi.forEach((x, i) => expect(x).toBeCloseTo(brute[i]!, 10));
    expect(sum([...phi])).toBeCloseTo(v[(1 << n) - 1]!, 10);
  });
});

describe('ordered Shapley (Zhao et al. 2018)', () => {
  it('books each share at the position where the channel first appears', () => {
    const s = new PathStats();
    s.add(['a', 'b', 'a'], 2, 10, 0);
    s.add(['b'], 1, 4, 3);
    const r = orderedShapleyAttribution(s);
    const a = r.credits.findIndex((c) => c.channel === 'a');
    const b = r.credits.findIndex((c) => c.channel === 'b');
    expect(r.byPosition[a]).toEqual({ conversions: [1], value: [5] });
    expect(r.byPosition[b]).toEqual({ conversions: [1, 1], value: [4, 5] });
    expect(r.credits[b]).toEqual({ channel: 'b', conversions: 2, value: 9 });
  });

  it('big anchor: positions sum to the channel totals, which equal the Shapley values', () => {
    const stats = anchorStats(BIG_ANCHOR);
    const ordered = orderedShapleyAttribution(stats);
    const plain = shapleyAttribution(stats);
    expect(sum(ordered.credits.map((c) => c.conversions))).toBeCloseTo(BIG_TOTAL_CONVERSIONS, 6);
    ordered.credits.forEach((c, i) => {
      expect(sum(ordered.byPosition[i]!.conversions)).toBeCloseTo(c.conversions, 8);
      expect(c.conversions).toBeCloseTo(plain.credits[i]!.conversions, 8);
    });
  });
});
