import { describe, expect, it } from 'vitest';
import { compensatedSum, mulberry32, naiveSum, nextDown, nextUp, normalise } from '../src/index.js';

describe('normalise', () => {
  it('scales to a distribution', () => {
    expect(normalise([1, 1, 2])).toEqual([0.25, 0.25, 0.5]);
  });

  it('gives [] for no weights and [1] for one', () => {
    expect(normalise([])).toEqual([]);
    expect(normalise([0])).toEqual([1]);
    expect(normalise([5])).toEqual([1]);
  });

  it('falls back to uniform when every weight is 0, negative or not finite', () => {
    expect(normalise([0, 0, 0, 0])).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(normalise([-1, Number.NaN])).toEqual([0.5, 0.5]);
  });

  it('treats negative entries as 0', () => {
    expect(normalise([-3, 1, 1])).toEqual([0, 0.5, 0.5]);
  });

  it('makes the left-to-right float sum exactly 1 by letting the last weight absorb rounding', () => {
    const rng = mulberry32(7);
    const problems: string[] = [];
    for (let trial = 0; trial < 500; trial++) {
      const n = 2 + Math.floor(rng() * 60);
      const w = Array.from({ length: n }, () => rng() * 10 ** Math.floor(rng() * 6 - 3));
      const out = normalise(w);
      const total = compensatedSum(w);
      if (naiveSum(out) !== 1) problems.push(`trial ${trial}: sum ${naiveSum(out)}`);
      if (out.some((x) => x < 0)) problems.push(`trial ${trial}: negative weight`);
      // every weight but the last is the plain ratio
      if (out.slice(0, -1).some((x, i) => x !== (w[i] as number) / total)) problems.push(`trial ${trial}: ratio changed`);
    }
    expect(problems).toEqual([]);
  });

  it('never makes the last weight negative when it is (nearly) 0', () => {
    const out = normalise([1 / 3, 1 / 3, 1 / 3, 1e-300]);
    expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
    expect(Math.abs(naiveSum(out) - 1)).toBeLessThanOrEqual(Number.EPSILON);
  });
});

describe('float helpers', () => {
  it('steps by one ulp', () => {
    expect(nextUp(1)).toBe(1 + Number.EPSILON);
    expect(nextDown(1)).toBe(1 - Number.EPSILON / 2);
    expect(nextUp(0)).toBe(Number.MIN_VALUE);
    expect(nextUp(-Number.MIN_VALUE)).toBe(-0);
  });

  it('sums with compensation', () => {
    expect(compensatedSum([1e16, 1, -1e16])).toBe(1);
    expect(naiveSum([1e16, 1, -1e16])).not.toBe(1);
  });
});

describe('normalise with zero weights', () => {
  it('sums to exactly 1 left to right and keeps zeros at 0, also when the last weights are 0', () => {
    const rng = mulberry32(17);
    let trailingZero = 0;
    for (let t = 0; t < 50_000; t++) {
      const n = 2 + Math.floor(rng() * 9);
      const w = Array.from({ length: n }, () => (rng() < 0.3 ? 0 : rng()));
      if (w[n - 1] === 0 && w.some((x) => x > 0)) trailingZero++;
      const out = normalise(w);
      expect(naiveSum(out), JSON.stringify(w)).toBe(1);
      if (w.some((x) => x > 0)) w.forEach((x, i) => x === 0 && expect(out[i], JSON.stringify(w)).toBe(0));
    }
    expect(trailingZero).toBeGreaterThan(10_000);
  });
});
