import { z } from 'zod';

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
  // Ids are nearly always ASCII, whose UTF-8 bytes are the char codes: hashing them in place
  // saves encoding the string, most of the cost on short ids.
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      const bytes = encoder.encode(s);
      return murmur(bytes.length, (j) => bytes[j] as number, seed);
    }
  }
  return murmur(s.length, (j) => s.charCodeAt(j), seed);
}

function murmur(n: number, byte: (i: number) => number, seed: number): number {
  const blocks = n >>> 2;
  let h = seed >>> 0;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    let k = byte(o) | (byte(o + 1) << 8) | (byte(o + 2) << 16) | (byte(o + 3) << 24);
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
    if (rest === 3) k ^= byte(tail + 2) << 16;
    if (rest >= 2) k ^= byte(tail + 1) << 8;
    k ^= byte(tail);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  return fmix32(h ^ n);
}

/** MurmurHash3's 32-bit finaliser: full avalanche of a 32-bit word. */
export function fmix32(x: number): number {
  let h = x >>> 0;
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

/** The id an experiment hashes: the key the ad platform's exclusion audience is built from. */
export const EXPERIMENT_UNITS = ['userId', 'accountId'] as const;
export type ExperimentUnit = (typeof EXPERIMENT_UNITS)[number];

/**
 * One incrementality experiment (the `TOUCHLINE_EXPERIMENTS` setting holds a list): from `start`
 * on, a `share` of the units (people by `userId`, or accounts by `accountId`) is held out of a
 * channel, or of one campaign (of one channel when both are given). `holdoutArm(id, unit, share)`
 * decides who; the ad platform's exclusion list must be built with the same function.
 */
export const Experiment = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1–64 letters, digits, dot, underscore or dash'),
    channel: z
      .string()
      .trim()
      .min(1)
      .transform((s) => s.toLowerCase())
      .optional(),
    campaign: z.string().min(1).optional(),
    share: z.number().gt(0, 'must be above 0').lt(1, 'must be below 1'),
    start: z.union([z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)), z.number().int().nonnegative()]),
    unit: z.enum(EXPERIMENT_UNITS).default('userId'),
  })
  .strict()
  .refine((e) => e.channel !== undefined || e.campaign !== undefined, { message: 'needs a channel, a campaign or both', path: ['channel'] });
export type Experiment = z.infer<typeof Experiment>;

/** A list of experiments with distinct ids. */
export const Experiments = z.array(Experiment).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((e, i) => {
    if (seen.has(e.id)) ctx.addIssue({ code: 'custom', message: `duplicate experiment id "${e.id}"`, path: [i, 'id'] });
    seen.add(e.id);
  });
});

/** Whether a touch on this channel and campaign is what the experiment holds people out of. */
export function touchedByExperiment(e: Experiment, channel: string, campaign: string): boolean {
  return (e.channel === undefined || e.channel === channel) && (e.campaign === undefined || e.campaign === campaign);
}
