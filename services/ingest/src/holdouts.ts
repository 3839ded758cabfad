import { holdoutArm, type Arms, type Experiment } from '@touchline/contracts';
import { ARMS_JSON } from './serialise.js';

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
 * With experiments, the arms of an id are computed once (one hash per experiment) and kept in a
 * bounded cache, since a person's events come in bursts; the cached object is shared between
 * messages, which are serialised at once and never changed.
 */
export class HoldoutTagger {
  private readonly byUser: Experiment[];
  private readonly byAccount: Experiment[];
  /** Per user id and per account id: the arms once every experiment of that kind has started. */
  private readonly users = new Map<string, Arms>();
  private readonly accounts = new Map<string, Arms>();
  private readonly userStart: number;
  private readonly accountStart: number;

  private constructor(experiments: readonly Experiment[], private readonly cacheSize: number) {
    this.byUser = experiments.filter((e) => e.unit === 'userId');
    this.byAccount = experiments.filter((e) => e.unit === 'accountId');
    this.userStart = Math.max(...this.byUser.map((e) => e.start));
    this.accountStart = Math.max(...this.byAccount.map((e) => e.start));
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
    const user = message.userId !== undefined && this.byUser.length > 0 ? this.armsOf(this.byUser, this.userStart, this.users, message.userId, message.timestamp) : undefined;
    const account = message.accountId !== undefined && this.byAccount.length > 0 ? this.armsOf(this.byAccount, this.accountStart, this.accounts, message.accountId, message.timestamp) : undefined;
    const arms = user && account ? { ...user, ...account } : (user ?? account);
    if (arms !== undefined) message.arms = arms;
  }

  private armsOf(experiments: Experiment[], allStarted: number, cache: Map<string, Arms>, id: string, timestamp: number): Arms | undefined {
    if (timestamp < allStarted) return assign(experiments, id, timestamp);
    let arms = cache.get(id);
    if (arms === undefined) {
      arms = assign(experiments, id, timestamp) as Arms;
      // Not enumerable: a spread copy (several kinds of experiment) must not inherit a stale text.
      Object.defineProperty(arms, ARMS_JSON, { value: JSON.stringify(arms) });
      if (cache.size >= this.cacheSize) cache.clear();
      cache.set(id, arms);
    }
    return arms;
  }
}

function assign(experiments: Experiment[], id: string, timestamp: number): Arms | undefined {
  let arms: Arms | undefined;
  for (const e of experiments) {
    if (timestamp < e.start) continue;
    arms ??= {};
    arms[e.id] = holdoutArm(e.id, id, e.share);
  }
  return arms;
}
