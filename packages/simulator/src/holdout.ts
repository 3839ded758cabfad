/**
 * Holdout assignment for incrementality experiments: which people are NOT shown a channel (or a
 * campaign), decided by a hash of the person, so every part of the system — the ad platform's
 * exclusion audience, ingest tagging events, the lift estimator, the simulator — agrees on the
 * arm of a person without sharing any state.
 */

const encoder = new TextEncoder();

/**
 * MurmurHash3_x86_32 (Austin Appleby, public domain) of the UTF-8 bytes of `s`, seed 0, as an
 * unsigned 32-bit integer — the reference algorithm, so other implementations of it (e.g.
 * ClickHouse's `murmurHash3_32`) can recompute arms.
 */
export function murmur3x86_32(s: string, seed = 0): number {
  const bytes = encoder.encode(s);
  const n = bytes.length;
  const blocks = n >>> 2;
  let h = seed >>> 0;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    let k = (bytes[o] as number) | ((bytes[o + 1] as number) << 8) | ((bytes[o + 2] as number) << 16) | ((bytes[o + 3] as number) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = n & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= (bytes[tail + 2] as number) << 16;
    if (rest >= 2) k ^= (bytes[tail + 1] as number) << 8;
    k ^= bytes[tail] as number;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The person's position in [0, 1) for one experiment: murmur3x86_32(`${experimentId}:${personId}`)
 * / 2³². Hashing the experiment id together with the person makes the arms of two experiments
 * independent, so holding someone out of LinkedIn says nothing about Google Ads.
 */
export function holdoutBucket(experimentId: string, personId: string): number {
  return murmur3x86_32(`${experimentId}:${personId}`) / 4294967296;
}

/**
 * Whether `personId` is in the holdout of `experimentId` when a `share` of people is held out
 * (bucket < share). Stable: the same inputs always give the same answer, and raising the share
 * only adds people to the holdout, never moves anyone out. share ≤ 0 → never, share ≥ 1 → always.
 *
 * Which id to hash: the one the exclusion is applied to (the ad platform's audience key — a
 * hashed email or CRM id; for account-based campaigns the account id), so the person who is not
 * shown the ad is the person whose events are tagged as held out.
 */
export function inHoldout(experimentId: string, personId: string, share: number): boolean {
  return holdoutBucket(experimentId, personId) < share;
}

export type HoldoutArm = 'holdout' | 'exposed';

/** `inHoldout` as an arm label, for tagging events. */
export function holdoutArm(experimentId: string, personId: string, share: number): HoldoutArm {
  return inHoldout(experimentId, personId, share) ? 'holdout' : 'exposed';
}
