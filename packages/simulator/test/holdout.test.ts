import { describe, expect, it } from 'vitest';
import {
  estimateLift,
  holdoutArm,
  holdoutBucket,
  incrementalityCalibrated,
  inHoldout,
  murmur3x86_32,
  normalQuantile,
  simulateOffline,
  wilsonInterval,
} from '../src/index.js';
import { smallScenario } from './helpers.js';

describe('holdout assignment', () => {
  it('hashes with the reference MurmurHash3_x86_32 (SMHasher test vectors)', () => {
    expect(murmur3x86_32('', 0)).toBe(0);
    expect(murmur3x86_32('', 1)).toBe(0x514e28b7);
    expect(murmur3x86_32('abc', 0)).toBe(0xb3dd93fa);
    expect(murmur3x86_32('Hello, world!', 0x9747b28c)).toBe(0x24884cba);
    expect(murmur3x86_32('The quick brown fox jumps over the lazy dog', 0x9747b28c)).toBe(0x2fa826cd);
  });

  it('is stable: the same experiment and person always land in the same arm', () => {
    for (let i = 0; i < 1000; i++) {
      const id = `user-${i}`;
      expect(inHoldout('exp-linkedin', id, 0.1)).toBe(inHoldout('exp-linkedin', id, 0.1));
      expect(holdoutArm('exp-linkedin', id, 0.1)).toBe(inHoldout('exp-linkedin', id, 0.1) ? 'holdout' : 'exposed');
    }
  });

  it('holds out close to the chosen share (100,000 people, within 5 standard deviations)', () => {
    for (const share of [0.05, 0.1, 0.5]) {
      let n = 0;
      for (let i = 0; i < 100_000; i++) if (inHoldout('exp-google', `p${i}`, share)) n++;
      const sd = Math.sqrt(100_000 * share * (1 - share));
      expect(Math.abs(n - 100_000 * share), `share ${share}`).toBeLessThan(5 * sd);
    }
  });

  it('raising the share only adds people; two experiments split people independently', () => {
    let both = 0;
    for (let i = 0; i < 50_000; i++) {
      const id = `p${i}`;
      if (inHoldout('a', id, 0.1)) expect(inHoldout('a', id, 0.2)).toBe(true);
      if (inHoldout('a', id, 0.2) && inHoldout('b', id, 0.2)) both++;
    }
    expect(Math.abs(both - 50_000 * 0.04)).toBeLessThan(5 * Math.sqrt(50_000 * 0.04));
    expect(holdoutBucket('a', 'x')).toBeGreaterThanOrEqual(0);
    expect(holdoutBucket('a', 'x')).toBeLessThan(1);
    expect(inHoldout('a', 'x', 0)).toBe(false);
    expect(inHoldout('a', 'x', 1)).toBe(true);
  });
});

describe('lift estimation', () => {
  it('normal quantiles', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 8);
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306, 8);
    expect(() => normalQuantile(1)).toThrow(RangeError);
  });

  it('reproduces Newcombe’s published interval for 56/70 − 48/80 (method 10: 0.0524 to 0.3339)', () => {
    const l = estimateLift({ units: 70, conversions: 56 }, { units: 80, conversions: 48 });
    expect(l.absoluteLift).toBeCloseTo(0.2, 12);
    expect(l.absoluteInterval.low).toBeCloseTo(0.0524, 4);
    expect(l.absoluteInterval.high).toBeCloseTo(0.3339, 4);
    expect(wilsonInterval(56, 70, normalQuantile(0.975)).low).toBeCloseTo(0.6918, 4);
  });

  it('relative lift uses the Katz log interval', () => {
    const l = estimateLift({ units: 10_000, conversions: 300 }, { units: 10_000, conversions: 200 });
    expect(l.relativeLift).toBeCloseTo(0.5, 12);
    const se = Math.sqrt(1 / 300 - 1 / 10_000 + 1 / 200 - 1 / 10_000);
    expect(l.relativeInterval.low).toBeCloseTo(1.5 * Math.exp(-1.959963985 * se) - 1, 6);
    expect(l.incrementalConversions).toBeCloseTo(100, 9);
  });

  it('an empty arm gives the widest intervals', () => {
    const l = estimateLift({ units: 100, conversions: 5 }, { units: 0, conversions: 0 });
    expect(l.absoluteInterval).toEqual({ low: -1, high: 1 });
  });

  it('on the simulator, the measured lift covers the true lift (95% intervals, 20 seeds: at least 17 cover)', () => {
    let covered = 0;
    let runs = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const s = smallScenario({ units: 8_000, holdouts: [{ id: 'exp-search', channel: 'search', share: 0.3 }] });
      const [e] = simulateOffline(s, seed).experiments;
      expect(e!.lift.holdout.units).toBeGreaterThan(500);
      runs++;
      const { low, high } = e!.lift.absoluteInterval;
      if (e!.expectedAbsoluteLift >= low && e!.expectedAbsoluteLift <= high) covered++;
    }
    expect(runs).toBe(20);
    expect(covered).toBeGreaterThanOrEqual(17);
  });

  it('a channel with no effect has a true lift of 0 and a measured one whose interval holds 0', () => {
    const s = smallScenario({ units: 20_000, holdouts: [{ id: 'exp-banner', channel: 'banner', share: 0.3 }] });
    const [e] = simulateOffline(s, 3).experiments;
    expect(e!.trueAbsoluteLift).toBe(0);
    expect(e!.expectedAbsoluteLift).toBe(0);
    expect(e!.lift.absoluteInterval.low).toBeLessThanOrEqual(0);
    expect(e!.lift.absoluteInterval.high).toBeGreaterThanOrEqual(0);
  });
});

describe('the incrementality-calibrated model', () => {
  const credits = [
    { channel: 'search', conversions: 50, value: 500 },
    { channel: 'banner', conversions: 40, value: 400 },
    { channel: 'email', conversions: 10, value: 100 },
  ];

  it('scales measured channels to their measured incrementality and keeps the totals', () => {
    const out = incrementalityCalibrated(credits, [
      { channel: 'search', incrementalConversions: 30 },
      { channel: 'banner', incrementalConversions: 2 },
    ]);
    // multipliers 0.6 and 0.05; email gets the pooled 32/90
    const raw = [30, 2, 10 * (32 / 90)];
    const total = raw.reduce((a, x) => a + x, 0);
    out.forEach((c, i) => expect(c.conversions).toBeCloseTo((100 * raw[i]!) / total, 10));
    expect(out.reduce((a, c) => a + c.value, 0)).toBeCloseTo(1000, 9);
  });

  it('a negative measurement counts as 0; no measurement leaves the credit alone', () => {
    const out = incrementalityCalibrated(credits, [{ channel: 'banner', incrementalConversions: -5 }]);
    expect(out.find((c) => c.channel === 'banner')!.conversions).toBe(0);
    expect(incrementalityCalibrated(credits, [])).toEqual(credits);
  });

  it('on the simulator with holdouts on every channel it is closer to the truth than the model it calibrates', () => {
    const s = smallScenario({
      units: 40_000,
      holdouts: ['search', 'social', 'banner'].map((c) => ({ id: `exp-${c}`, channel: c, share: 0.2 })),
    });
    const run = simulateOffline(s, 8);
    const calibrated = run.accuracy.find((a) => a.model === 'incrementality_calibrated')!;
    const lastTouch = run.accuracy.find((a) => a.model === 'last_touch')!;
    expect(calibrated.tvd).toBeLessThan(lastTouch.tvd);
    expect(calibrated.tvd).toBeLessThan(0.1);
  });
});
