/**
 * Seeded random streams for common random numbers (CRN).
 *
 * Every random number of a simulation comes from a stream named by (seed, unit, purpose), e.g.
 * `(7, "b2b-7-acc42-m3", "touch:linkedin")`. Streams never share state, so removing a channel,
 * adding one, or changing how many numbers one purpose draws leaves every other stream's numbers
 * exactly as they were: a counterfactual run differs from the factual one only where the change
 * acts.
 */
import { fmix32 } from '@touchline/contracts';

/**
 * MurmurHash3's mixing of the UTF-16 code units of `s` (one 32-bit block per code unit), with
 * its finaliser. Not byte-compatible with the reference over UTF-8 (`murmur3x86_32` in
 * holdout.ts is): only stability and avalanche matter for naming streams.
 */
export function murmur32(s: string, seed = 0): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    let k = s.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  h ^= s.length;
  return fmix32(h);
}

/** MurmurHash3's 32-bit finaliser, shared with the holdout hash. */
export { fmix32 };

/** A stream of uniform numbers in [0, 1) with the draws the simulator needs on top. */
export interface Stream {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [a, b). */
  uniform(a: number, b: number): number;
  /** Integer uniform in [a, b] (inclusive). */
  int(a: number, b: number): number;
  /** Exponential with rate 1. */
  exponential(): number;
  /** Standard normal (Box–Muller, one draw per call). */
  normal(): number;
  /** Poisson with the given mean (Knuth's product method below 30, normal approximation above). */
  poisson(mean: number): number;
  /** One element of a non-empty array, uniformly. */
  pick<T>(xs: readonly T[]): T;
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Chaotic PRNG, 128-bit state), seeded with four words
 * derived from a unit key and a purpose key and warmed up, as PractRand's author recommends.
 * A class rather than closures: millions are created per run.
 */
class Sfc32 implements Stream {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(unitKey: number, purposeKey: number) {
    this.a = fmix32(unitKey ^ Math.imul(purposeKey, 0x9e3779b1));
    this.b = fmix32(this.a + 0x6d2b79f5);
    this.c = fmix32(this.b ^ purposeKey);
    for (let i = 0; i < 12; i++) this.next();
  }

  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  exponential(): number {
    return -Math.log(1 - this.next());
  }

  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  poisson(mean: number): number {
    if (!(mean > 0)) return 0;
    if (mean >= 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)] as T;
  }
}

/** The stream of (`unitKey`, `purposeKey`), both 32-bit hashes (see `keyOf`, `murmur32`). */
export function streamOf(unitKey: number, purposeKey: number): Stream {
  return new Sfc32(unitKey, purposeKey);
}

/** The key of a unit (or member) id within a run: murmur32 of the id, seeded by the run's seed. */
export function keyOf(seed: number, id: string): number {
  return murmur32(id, fmix32(seed >>> 0));
}

/** The stream named (seed, id, purpose). */
export function stream(seed: number, id: string, purpose: string): Stream {
  return streamOf(keyOf(seed, id), murmur32(purpose));
}
