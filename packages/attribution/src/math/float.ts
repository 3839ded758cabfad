/** Floating-point helpers: compensated sums and stepping by one ulp. */

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);

/** The next double after `x` towards +∞ (IEEE 754 `nextUp`). */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  f64[0] = x;
  i64[0] = x > 0 ? (i64[0] as bigint) + 1n : (i64[0] as bigint) - 1n;
  return f64[0] as number;
}

/** The next double after `x` towards −∞ (IEEE 754 `nextDown`). */
export function nextDown(x: number): number {
  return -nextUp(-x);
}

/** Left-to-right float sum, the way a caller would write `xs.reduce((a, b) => a + b, 0)`. */
export function naiveSum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] as number;
  return s;
}

/**
 * Neumaier's compensated sum (Neumaier 1974, an improved Kahan summation): error independent of
 * the number of terms to first order. Empty input → 0.
 */
export function compensatedSum(xs: ArrayLike<number>): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as number;
    const t = s + x;
    c += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
    s = t;
  }
  return s + c;
}
