import { compensatedSum, naiveSum, nextDown, nextUp } from './float.js';

/**
 * Scales non-negative weights to sum to 1, the LAST POSITIVE weight absorbing the rounding: it is
 * set to `1 − (left-to-right float sum of the weights before it)`, and the zeros after it add
 * nothing, so the left-to-right float sum of the output is exactly 1 (exact by Sterbenz' lemma
 * whenever the weights before it sum to at least ½; otherwise single-ulp nudges find it, which
 * they almost always do, else the sum is within one ulp of 1). Zero weights stay exactly 0.
 *
 * Edge cases: empty input → `[]`; a single weight → `[1]`; all weights 0 (or a non-finite or
 * non-positive total) → uniform weights `1/n`; negative entries are treated as 0. If the last
 * positive weight is so small that absorbing the rounding would make it negative, the largest
 * weight absorbs it instead (so no output is ever negative).
 */
export function normalise(weights: readonly number[]): number[] {
  const n = weights.length;
  if (n === 0) return [];
  if (n === 1) return [1];
  const clean = weights.map((w) => (Number.isFinite(w) && w > 0 ? w : 0));
  const total = compensatedSum(clean);
  const out = total > 0 && Number.isFinite(total) ? clean.map((w) => w / total) : clean.map(() => 1 / n);
  let k = n - 1;
  while (k > 0 && !((out[k] as number) > 0)) k--;
  absorbRounding(out, k);
  if ((out[k] as number) < 0) {
    out[k] = 0;
    let big = 0;
    for (let i = 1; i < n; i++) if ((out[i] as number) > (out[big] as number)) big = i;
    absorbRounding(out, big);
  }
  return out;
}

/** Sets `out[k]` so that the left-to-right float sum of `out` is 1 (as nearly as possible). */
export function absorbRounding(out: number[], k: number): void {
  let zerosAfter = true;
  for (let i = k + 1; i < out.length; i++) if (out[i] !== 0) zerosAfter = false;
  if (zerosAfter) {
    // 1 − S is exact when the prefix sum S ≥ 0.5 (Sterbenz), and then S + (1 − S) is exactly 1;
    // the zeros after k leave the sum as it is.
    out[k] = 0;
    out[k] = 1 - naiveSum(out);
  } else {
    const others = out.map((w, i) => (i === k ? 0 : w));
    out[k] = 1 - compensatedSum(others);
  }
  // Nudge by ulps so that the naive left-to-right sum a caller computes comes out as exactly 1.
  for (let step = 0; step < 64; step++) {
    const s = naiveSum(out);
    if (s === 1) return;
    out[k] = s > 1 ? nextDown(out[k] as number) : nextUp(out[k] as number);
  }
}
