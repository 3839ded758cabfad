import { holdoutBucket, type Arms, type Experiment } from '@touchline/contracts';

/**
 * Tags accepted events with the arms of their unit in the configured incrementality experiments
 * (`TOUCHLINE_EXPERIMENTS`), so every consumer, and an analyst reading the topics, sees the same
 * assignment as the ad platform's exclusion list.
 *
 * Which id is hashed: the experiment's `unit`, i.e. the key the exclusion audience is built from —
 * `userId` (a CRM id; an email sent as user id is hashed at ingest first, and the stored id is what
 * is hashed) or `accountId` (account-based campaigns). Only events that carry that id are tagged:
 * touches, conversions and identifies with a `userId`; for account experiments only identifies,
 * the one event naming the account. An anonymous touch before identification has no arm of its
 * own; the lift estimator resolves its person through identity links. Events before an
 * experiment's `start` are not tagged.
 *
 * Cost: with no experiment configured ingest holds no tagger and pays one property check per event.
 * With experiments, a tagged event costs one hash per experiment of its unit kind, cached per id
 * (a person's events come in bursts), so repeated ids cost a map lookup.
 */
export class HoldoutTagger {
  private readonly byUser: Experiment[];
  private readonly byAccount: Experiment[];
  private readonly cache = new Map<string, Float64Array>();

  private constructor(experiments: readonly Experiment[], private readonly cacheSize: number) {
    this.byUser = experiments.filter((e) => e.unit === 'userId');
    this.byAccount = experiments.filter((e) => e.unit === 'accountId');
  }

  /** A tagger for these experiments, or undefined when there are none (the common case). */
  static of(experiments: readonly Experiment[] | undefined, cacheSize = 50_000): HoldoutTagger | undefined {
    return experiments && experiments.length > 0 ? new HoldoutTagger(experiments, cacheSize) : undefined;
  }

  /**
   * Sets `arms` on a topic message (touchpoint, conversion or identity) from its `userId` and, for
   * identities, `accountId`; leaves the message untouched when no experiment applies.
   */
  tag(message: { userId?: string | undefined; accountId?: string | undefined; timestamp: number; arms?: Arms | undefined }): void {
    let arms: Arms | undefined;
    if (message.userId !== undefined && this.byUser.length > 0) arms = this.assign(this.byUser, 'u', message.userId, message.timestamp, arms);
    if (message.accountId !== undefined && this.byAccount.length > 0) arms = this.assign(this.byAccount, 'a', message.accountId, message.timestamp, arms);
    if (arms !== undefined) message.arms = arms;
  }

  private assign(experiments: Experiment[], kind: string, id: string, timestamp: number, into: Arms | undefined): Arms | undefined {
    const key = `${kind}:${id}`;
    let buckets = this.cache.get(key);
    if (buckets === undefined) {
      buckets = new Float64Array(experiments.length);
      for (let i = 0; i < experiments.length; i++) buckets[i] = holdoutBucket((experiments[i] as Experiment).id, id);
      if (this.cache.size >= this.cacheSize) this.cache.clear();
      this.cache.set(key, buckets);
    }
    let arms = into;
    for (let i = 0; i < experiments.length; i++) {
      const e = experiments[i] as Experiment;
      if (timestamp < e.start) continue;
      arms ??= {};
      arms[e.id] = (buckets[i] as number) < e.share ? 'holdout' : 'exposed';
    }
    return arms;
  }
}
