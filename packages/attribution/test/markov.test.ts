import { describe, expect, it } from 'vitest';
import { absorptionProbability, buildMarkovChain, markovAttribution, PathStats, type MarkovResult } from '../src/index.js';
import { anchorStats, BIG_ANCHOR, BIG_TOTAL_CONVERSIONS, BIG_TOTAL_VALUE, creditOf, sum } from './anchors.js';

const re = (m: MarkovResult, channel: string): number => m.removalEffects[m.credits.findIndex((c) => c.channel === channel)] as number;

describe('Markov order 1 on the toy anchors (published / hand-solved results)', () => {
  it('vignette A/B: RE A = 1, B = 0.5; attributed A = 2, B = 1', () => {
    const m = markovAttribution(anchorStats('toy_vignette_AB_input.csv'));
    expect(re(m, 'A')).toBeCloseTo(1, 9);
    expect(re(m, 'B')).toBeCloseTo(0.5, 9);
    expect(creditOf(m.credits, 'A').conversions).toBeCloseTo(2, 9);
    expect(creditOf(m.credits, 'B').conversions).toBeCloseTo(1, 9);
  });

  it('puzyrov: RE google ads = 0.75, mailing = 0.5; attributed 2.4 and 1.6', () => {
    const m = markovAttribution(anchorStats('toy_puzyrov_input.csv'));
    expect(re(m, 'google ads')).toBeCloseTo(0.75, 9);
    expect(re(m, 'mailing')).toBeCloseTo(0.5, 9);
    expect(creditOf(m.credits, 'google ads').conversions).toBeCloseTo(2.4, 9);
    expect(creditOf(m.credits, 'mailing').conversions).toBeCloseTo(1.6, 9);
    expect(m.conversionProbability).toBeCloseTo(0.8, 12);
  });

  it('dp6: RE A = 2/3, B = 8/15, C = 28/57; attributed 10.6432, 8.5145, 7.8423', () => {
    const m = markovAttribution(anchorStats('toy_dp6_test_input.csv'));
    const exact = { A: 2 / 3, B: 8 / 15, C: 28 / 57 };
    const total = exact.A + exact.B + exact.C;
    for (const [ch, r] of Object.entries(exact)) {
      expect(re(m, ch)).toBeCloseTo(r, 9);
      expect(creditOf(m.credits, ch).conversions).toBeCloseTo((27 * r) / total, 9);
    }
    expect(creditOf(m.credits, 'A').conversions).toBeCloseTo(10.6432, 4);
    expect(creditOf(m.credits, 'B').conversions).toBeCloseTo(8.5145, 4);
    expect(creditOf(m.credits, 'C').conversions).toBeCloseTo(7.8423, 4);
  });

  it('the toys come out the same with the iterative solver', () => {
    for (const toy of ['toy_vignette_AB_input.csv', 'toy_puzyrov_input.csv', 'toy_dp6_test_input.csv']) {
      const stats = anchorStats(toy);
      const dense = markovAttribution(stats, { solver: 'dense' });
      const gs = markovAttribution(stats, { solver: 'iterative' });
      expect(gs.method).toBe('gauss-seidel');
      gs.removalEffects.forEach((r, i) => expect(r).toBeCloseTo(dense.removalEffects[i] as number, 12));
    }
  });
});

describe('Markov on ChannelAttribution_Data.csv, orders 1–4', () => {
  const stats = anchorStats(BIG_ANCHOR);
  const rate = BIG_TOTAL_CONVERSIONS / (BIG_TOTAL_CONVERSIONS + stats.totalNulls);

  for (const order of [1, 2, 3, 4]) {
    it(`order ${order}: credits sum to 19,785 conversions and 74,802.97 value, in well under a second`, () => {
      const t0 = performance.now();
      const m = markovAttribution(stats, { order });
      const ms = performance.now() - t0;
      expect(ms).toBeLessThan(1000);
      expect(m.credits).toHaveLength(12);
      expect(sum(m.credits.map((c) => c.conversions))).toBeCloseTo(BIG_TOTAL_CONVERSIONS, 6);
      expect(sum(m.credits.map((c) => c.value))).toBeCloseTo(BIG_TOTAL_VALUE, 2);
      // Flow conservation: every journey ends in (conversion) or (null), so the chain's
      // conversion probability is the observed conversion rate whatever the order.
      expect(m.conversionProbability).toBeCloseTo(rate, 12);
      expect(m.residual).toBeLessThan(1e-12);
      for (const r of m.removalEffects) {
        expect(r).toBeGreaterThan(0);
        expect(r).toBeLessThan(1);
      }
    });
  }

  it('order 1 removal effects (exact solve; pinned against regressions)', () => {
    const m = markovAttribution(stats, { order: 1 });
    const pinned: Record<string, number> = {
      alpha: 0.5583994895077466,
      beta: 0.26403853574123637,
      delta: 0.00048199575803842265,
      epsilon: 0.06263858227549046,
      eta: 0.34902633187114596,
      gamma: 0.01787997441996869,
      iota: 0.4058350044719441,
      kappa: 0.02866338665546575,
      lambda: 0.13402212280969994,
      mi: 0.00017994581989377867,
      theta: 0.2060104627727698,
      zeta: 0.039810517817383095,
    };
    for (const [ch, r] of Object.entries(pinned)) expect(re(m, ch)).toBeCloseTo(r, 12);
  });

  it('Gauss–Seidel agrees with dense LU to 1e-12 (order 2, 112 states)', () => {
    const dense = markovAttribution(stats, { order: 2, solver: 'dense' });
    const gs = markovAttribution(stats, { order: 2, solver: 'iterative' });
    expect(dense.method).toBe('dense');
    expect(gs.method).toBe('gauss-seidel');
    expect(dense.stateCount).toBe(112);
    gs.removalEffects.forEach((r, i) => expect(Math.abs(r - (dense.removalEffects[i] as number))).toBeLessThan(1e-12));
  });

  it('window and prefix start states give the same removal effects (order 3)', () => {
    const w = markovAttribution(stats, { order: 3, stateConvention: 'window' });
    const p = markovAttribution(stats, { order: 3, stateConvention: 'prefix' });
    expect(p.stateCount).toBeGreaterThan(w.stateCount);
    w.removalEffects.forEach((r, i) => expect(Math.abs(r - (p.removalEffects[i] as number))).toBeLessThan(1e-12));
  });

  it('is independent of the order in which paths were added', () => {
    const reversed = new PathStats();
    for (const r of [...stats.paths()].reverse()) reversed.add(r.channels, r.conversions, r.value, r.nulls);
    const a = markovAttribution(stats, { order: 3 });
    const b = markovAttribution(reversed, { order: 3 });
    a.removalEffects.forEach((r, i) => expect(Math.abs(r - (b.removalEffects[i] as number))).toBeLessThan(1e-13));
  });
});

describe('Markov chain construction', () => {
  const stats = new PathStats();
  stats.add(['a', 'a', 'b', 'c'], 1, 5, 0);
  stats.add(['a'], 0, 0, 1);

  it('collapses consecutive repeats by default and weights transitions by conversions + nulls', () => {
    const chain = buildMarkovChain(stats);
    const names = chain.states.map((s) => s.map((i) => chain.channels[i]).join('>'));
    expect(names.sort()).toEqual(['a', 'b', 'c']);
    const a = chain.states.findIndex((s) => s.length === 1 && chain.channels[s[0]!] === 'a');
    // a → b (weight 1) and a → (null) (weight 1)
    expect(chain.pConv[a]).toBe(0);
    expect(chain.p[chain.rowPtr[a]!]).toBeCloseTo(0.5, 15);
    expect(chain.selfLoop[a]).toBe(0);
  });

  it('keeps repeats as self-loops when asked', () => {
    const chain = buildMarkovChain(stats, { collapseRepeats: false });
    const a = chain.states.findIndex((s) => s.length === 1 && chain.channels[s[0]!] === 'a');
    expect(chain.selfLoop[a]).toBeCloseTo(1 / 3, 15); // a→a, a→b, a→(null)
  });

  it('order 2 uses sliding windows; a shorter path is one state', () => {
    const chain = buildMarkovChain(stats, { order: 2 });
    const names = chain.states.map((s) => s.map((i) => chain.channels[i]).join('>')).sort();
    expect(names).toEqual(['a', 'a>b', 'b>c']);
    const b = chain.channels.indexOf('b');
    expect([...chain.statesWithChannel[b]!].map((s) => chain.states[s]!.map((i) => chain.channels[i]).join('>')).sort()).toEqual(['a>b', 'b>c']);
  });

  it('removing a channel at order k removes every state containing it', () => {
    const m = markovAttribution(stats, { order: 2 });
    // every conversion needs b and c, so both have RE 1; a too
    expect(m.removalEffects).toEqual([1, 1, 1]);
  });

  it('solves an absorbing chain exactly', () => {
    const chain = buildMarkovChain(anchorStats('toy_puzyrov_input.csv'));
    const r = absorptionProbability(chain);
    expect(r.method).toBe('dense');
    expect(r.probability).toBeCloseTo(0.8, 15);
  });

  it('rejects a bad order', () => {
    expect(() => markovAttribution(stats, { order: 0 })).toThrow(RangeError);
    expect(() => markovAttribution(stats, { order: 1.5 })).toThrow(RangeError);
  });
});

describe('Markov edge cases', () => {
  it('no paths → no credits', () => {
    const m = markovAttribution(new PathStats());
    expect(m.credits).toEqual([]);
    expect(m.conversionProbability).toBe(0);
  });

  it('no conversions → every RE and credit 0', () => {
    const s = new PathStats();
    s.add(['a', 'b'], 0, 0, 5);
    const m = markovAttribution(s);
    expect(m.removalEffects).toEqual([0, 0]);
    expect(m.credits.map((c) => c.conversions)).toEqual([0, 0]);
  });

  it('a channel whose removal changes nothing gets 0', () => {
    const s = new PathStats();
    s.add(['a'], 3, 3, 1);
    s.add(['b'], 0, 0, 2);
    const m = markovAttribution(s);
    expect(creditOf(m.credits, 'b').conversions).toBe(0);
    expect(creditOf(m.credits, 'a').conversions).toBeCloseTo(3, 12);
  });
});
