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

describe('data-driven channel credit by incremental conversions', () => {
  const stats = syntheticStats(40_000, 7);
  const model = fitDataDriven(stats);

  it('credits the channel that works, not the ones that only ride along', () => {
    const r = dataDrivenAttribution(stats, model);
    expect(r.credit).toBe('incremental');
    const share = (c: string) => creditOf(r.credits, c).conversions / stats.totalConversions;
    expect(share('paid')).toBeGreaterThan(0.9);
    expect(share('banner')).toBeLessThan(0.05);
    expect(share('email')).toBeLessThan(0.05);
    expect(sum(r.credits.map((c) => c.conversions))).toBeCloseTo(stats.totalConversions, 8);
    expect(sum(r.credits.map((c) => c.value))).toBeCloseTo(stats.totalValue, 6);
  });

  it('estimates the conversions paid causes: journeys with paid × (σ(0) − σ(−2)), within 10%', () => {
    const r = dataDrivenAttribution(stats, model);
    let withPaid = 0;
    for (const p of stats.paths()) if (p.channels.includes('paid')) withPaid += p.conversions + p.nulls;
    const want = withPaid * (sigmoid(0) - sigmoid(-2));
    const got = r.incrementalConversions[r.credits.findIndex((c) => c.channel === 'paid')]!;
    expect(Math.abs(got / want - 1)).toBeLessThan(0.1);
  });

  it('`journey` credit is the sum of every converting path’s per-journey weights', () => {
    const r = dataDrivenAttribution(stats, model, { credit: 'journey' });
    expect(r.credit).toBe('journey');
    const byHand = new Map<string, number>();
    for (const p of stats.paths()) {
      if (!(p.conversions > 0)) continue;
      const w = dataDrivenWeights(
        model,
        p.channels.map((channel) => ({ channel })),
      );
      p.channels.forEach((c, i) => byHand.set(c, (byHand.get(c) ?? 0) + p.conversions * w[i]!));
    }
    for (const c of r.credits) expect(c.conversions).toBeCloseTo(byHand.get(c.channel)!, 8);
    // It hands the conversions that happen anyway to whoever is on the path: banner gets a share.
    expect(creditOf(r.credits, 'banner').conversions).toBeGreaterThan(creditOf(dataDrivenAttribution(stats, model).credits, 'banner').conversions);
  });
});

describe('data-driven options: untouched journeys and frequency', () => {
  /** People touched by 0–3 of paid/banner, banner 1–6 times; log-odds −2 + 1.5·paid + 0.4·ln(banner count). */
  function population(n: number, seed: number): PathStats {
    const rng = mulberry32(seed);
    const s = new PathStats();
    for (let j = 0; j < n; j++) {
      const path: string[] = [];
      const paid = rng() < 0.4;
      const banners = rng() < 0.6 ? 1 + Math.floor(rng() * 6) : 0;
      for (let k = 0; k < banners; k++) path.push('banner');
      if (paid) path.splice(Math.floor(rng() * (path.length + 1)), 0, 'paid');
      const z = -2 + (paid ? 1.5 : 0) + (banners > 0 ? 0.4 * Math.log(banners) : 0);
      const converted = rng() < sigmoid(z);
      s.add(path, converted ? 1 : 0, converted ? 1 : 0, converted ? 0 : 1);
    }
    return s;
  }
  const stats = population(60_000, 3);

  it('by default ignores untouched journeys; with `untouched` they pin the empty path', () => {
    const without = new PathStats();
    for (const p of stats.paths()) without.add(p.channels, p.conversions, p.value, p.nulls);
    expect([...fitDataDriven(stats).coefficients]).toEqual([...fitDataDriven(without).coefficients]);
    const m = fitDataDriven(stats, { untouched: true });
    expect(stats.untouched.nulls).toBeGreaterThan(10_000);
    expect(predictConversion(m, [])).toBeCloseTo(sigmoid(-2), 2);
  });

  it('frequency features tell six banners from one; presence alone cannot', () => {
    const plain = fitDataDriven(stats, { untouched: true });
    const freq = fitDataDriven(stats, { untouched: true, frequency: true });
    expect(freq.frequency).toBe(true);
    expect(freq.coefficients.length).toBe(plain.coefficients.length + 2);
    const six = Array.from({ length: 6 }, () => 'banner');
    const logit = (m: typeof plain, chs: string[]) => Math.log(predictConversion(m, chs) / (1 - predictConversion(m, chs)));
    expect(logit(freq, six) - logit(freq, ['banner'])).toBeCloseTo(0.4 * Math.log(6), 1);
    expect(Math.abs(logit(plain, six) - logit(plain, ['banner']))).toBeLessThan(0.05);
  });

  it('the conjugate-gradient solver reaches the dense fit with frequency features too', () => {
    const dense = fitDataDriven(stats, { untouched: true, frequency: true, solver: 'dense' });
    const cg = fitDataDriven(stats, { untouched: true, frequency: true, solver: 'cg' });
    expect(cg.converged).toBe(true);
    cg.coefficients.forEach((b, i) => expect(Math.abs(b - dense.coefficients[i]!)).toBeLessThan(1e-7));
  });
});

describe('data-driven option: no first- and last-touch indicators', () => {
  /** Two channels in random order; conversion depends on which are present, never on the order. */
  function unordered(n: number, seed: number): PathStats {
    const rng = mulberry32(seed);
    const s = new PathStats();
    for (let j = 0; j < n; j++) {
      const path = ['search', 'social'].filter(() => rng() < 0.7);
      if (path.length === 2 && rng() < 0.5) path.reverse();
      const z = -2 + (path.includes('search') ? 1 : 0) + (path.includes('social') ? 0.3 : 0);
      const converted = rng() < sigmoid(z);
      s.add(path, converted ? 1 : 0, converted ? 1 : 0, converted ? 0 : 1);
    }
    return s;
  }
  const stats = unordered(40_000, 5);
  const n = 2;
  const firstAndLast = (b: Float64Array) => [...b.slice(1 + n, 1 + 3 * n)];

  it('keeps the coefficient layout with the first and last blocks at exactly 0', () => {
    const withPos = fitDataDriven(stats, { untouched: true, pairwise: false });
    const without = fitDataDriven(stats, { untouched: true, pairwise: false, position: false });
    expect(without.position).toBe(false);
    expect(without.coefficients.length).toBe(withPos.coefficients.length);
    expect(firstAndLast(without.coefficients)).toEqual([0, 0, 0, 0]);
    // With them, single-channel paths put weight on the indicators (first = last = the channel).
    expect(firstAndLast(withPos.coefficients).some((b) => Math.abs(b) > 1e-3)).toBe(true);
  });

  it('then predicts and credits a path the same whichever channel comes first', () => {
    const m = fitDataDriven(stats, { untouched: true, pairwise: false, position: false });
    expect(predictConversion(m, ['search', 'social'])).toBe(predictConversion(m, ['social', 'search']));
    const forward = dataDrivenWeights(m, [{ channel: 'search' }, { channel: 'social' }]);
    const backward = dataDrivenWeights(m, [{ channel: 'social' }, { channel: 'search' }]);
    expect(forward[0]!).toBeCloseTo(backward[1]!, 12);
    expect(forward[1]!).toBeCloseTo(backward[0]!, 12);
    expect(forward[0]!).toBeGreaterThan(forward[1]!);
  });
});

describe('data-driven: channels fitted but not credited (`uncredited`)', () => {
  /**
   * Direct visits that do nothing but come with intent: people who were going to convert anyway
   * (a hidden trait) visit directly more often. paid raises the log-odds by 1.5.
   */
  function withIntent(n: number, seed: number): PathStats {
    const rng = mulberry32(seed);
    const s = new PathStats();
    for (let j = 0; j < n; j++) {
      const keen = rng() < 0.3;
      const path: string[] = [];
      if (rng() < 0.5) path.push('paid');
      if (rng() < 0.5) path.push('email');
      if (rng() < (keen ? 0.8 : 0.2)) path.push('direct');
      if (path.length === 0) continue;
      const converted = rng() < sigmoid(-2.5 + (keen ? 1.5 : 0) + (path.includes('paid') ? 1.5 : 0));
      s.add(path, converted ? 1 : 0, converted ? 10 : 0, converted ? 0 : 1);
    }
    return s;
  }
  const stats = withIntent(60_000, 11);
  const plain = fitDataDriven(stats);
  const model = fitDataDriven(stats, { uncredited: ['direct', 'not-a-channel'] });

  it('fits the same coefficients and records which of its channels get no credit', () => {
    expect([...model.coefficients]).toEqual([...plain.coefficients]);
    expect(model.uncredited).toEqual(['direct']);
    expect(fitDataDriven(stats, { uncredited: ['not-a-channel'] }).uncredited).toBeUndefined();
  });

  it('gives direct no channel credit and the totals to the others; its effect is still reported', () => {
    const before = dataDrivenAttribution(stats, plain);
    const after = dataDrivenAttribution(stats, model);
    // Without the option the intent behind direct visits earns direct a share.
    expect(creditOf(before.credits, 'direct').conversions / stats.totalConversions).toBeGreaterThan(0.1);
    expect(creditOf(after.credits, 'direct').conversions).toBe(0);
    expect(creditOf(after.credits, 'direct').value).toBe(0);
    expect(sum(after.credits.map((c) => c.conversions))).toBeCloseTo(stats.totalConversions, 8);
    expect(sum(after.credits.map((c) => c.value))).toBeCloseTo(stats.totalValue, 6);
    expect(creditOf(after.credits, 'paid').conversions).toBeGreaterThan(creditOf(before.credits, 'paid').conversions);
    const i = after.credits.findIndex((c) => c.channel === 'direct');
    expect(after.incrementalConversions[i]).toBe(before.incrementalConversions[i]);
    expect(after.incrementalConversions[i]).toBeGreaterThan(0);
  });

  it('weights a journey’s direct touches 0, unless the journey has nothing else', () => {
    const journey = [{ channel: 'paid' }, { channel: 'direct' }];
    expect(dataDrivenWeights(plain, journey)[1]).toBeGreaterThan(0.2);
    expect(dataDrivenWeights(model, journey)).toEqual([1, 0]);
    expect(dataDrivenWeights(model, [{ channel: 'direct' }, { channel: 'direct' }])).toEqual([0.5, 0.5]);
    expect(dataDrivenWeights(model, [{ channel: 'direct' }])).toEqual([1]);
    // No credited channel raises p (email does nothing, an unknown channel is ignored): linear
    // over the credited and unknown touches.
    const flat = dataDrivenWeights(model, [{ channel: 'direct' }, { channel: 'email' }, { channel: 'tv' }]);
    expect(flat[0]).toBe(0);
    expect(flat[1]).toBeCloseTo(0.5, 12);
    expect(flat[2]).toBeCloseTo(0.5, 12);
  });
});
