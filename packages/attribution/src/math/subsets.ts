/**
 * Transforms over the subset lattice of n players, a set being a bitmask 0 … 2ⁿ−1
 * (Yates' algorithm / "sum over subsets", O(2ⁿ·n)).
 */

/** In place: f(S) ← Σ_{T ⊆ S} f(T) (zeta transform). */
export function zetaTransform(f: Float64Array, n: number): void {
  const size = 1 << n;
  for (let i = 0; i < n; i++) {
    const bit = 1 << i;
    for (let s = 0; s < size; s++) if (s & bit) f[s] = (f[s] as number) + (f[s ^ bit] as number);
  }
}

/** In place: f(S) ← Σ_{T ⊆ S} (−1)^{|S|−|T|} f(T) (Möbius transform, inverse of zeta). */
export function mobiusTransform(f: Float64Array, n: number): void {
  const size = 1 << n;
  for (let i = 0; i < n; i++) {
    const bit = 1 << i;
    for (let s = 0; s < size; s++) if (s & bit) f[s] = (f[s] as number) - (f[s ^ bit] as number);
  }
}

export function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * Shapley values of the game with worth v (indexed by bitmask, v(∅) taken as given) through its
 * Harsanyi dividends: d = Möbius(v), φ_i = Σ_{T ∋ i} d(T)/|T| (Harsanyi 1963; equal to Shapley's
 * 1953 permutation formula). O(2ⁿ·n) time, 2ⁿ doubles of memory; `worth` is left unchanged.
 * Efficiency: Σ φ_i = v(N) − v(∅).
 */
export function shapleyFromWorth(worth: Float64Array, n: number): Float64Array {
  if (worth.length !== 1 << n) throw new RangeError(`worth must have 2^${n} entries, got ${worth.length}`);
  const d = Float64Array.from(worth);
  mobiusTransform(d, n);
  const phi = new Float64Array(n);
  for (let s = 1; s < d.length; s++) {
    const share = (d[s] as number) / popcount(s);
    if (share === 0) continue;
    for (let m = s; m !== 0; m &= m - 1) {
      const i = 31 - Math.clz32(m & -m);
      phi[i] = (phi[i] as number) + share;
    }
  }
  return phi;
}
