import type { Experiment } from '@touchline/contracts';
import { ChannelGrouper, grouperOptions, type ChannelConfig } from './channel.js';
import { HoldoutTagger } from './holdouts.js';
import type { Subject } from './normalise.js';
import { Normaliser } from './normalise.js';

/** What a thread needs to build the same normaliser as every other thread. */
export interface NormaliserConfig {
  channels: ChannelConfig | undefined;
  defaultPhoneCountryCode: string;
  maxFutureMs: number;
  /** Incrementality experiments whose arms events are tagged with. */
  experiments?: Experiment[] | undefined;
}

/** Unknown channel values seen since the last drain, counted. */
export class UnknownTally {
  private counts = new Map<string, number>();

  add(field: string, value: string): void {
    const k = `${field}\u0000${value}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  drain(): Array<[string, string, number]> {
    const out: Array<[string, string, number]> = [];
    for (const [k, n] of this.counts) {
      const i = k.indexOf('\u0000');
      out.push([k.slice(0, i), k.slice(i + 1), n]);
    }
    this.counts = new Map();
    return out;
  }
}

export function makeNormaliser(c: NormaliserConfig, unknown: UnknownTally): Normaliser {
  const grouper = new ChannelGrouper({ ...grouperOptions(c.channels), onUnknown: (field, value) => unknown.add(field, value) });
  return new Normaliser({ grouper, defaultPhoneCountryCode: c.defaultPhoneCountryCode, maxFutureMs: c.maxFutureMs, holdouts: HoldoutTagger.of(c.experiments) });
}

export interface IdLists {
  anonymousIds: readonly string[];
  userIds: readonly string[];
  emailHashes: readonly string[];
}

/** Ids of deleted people, as a thread checks events against them. */
export class IdSets {
  private readonly anonymousIds = new Set<string>();
  private readonly userIds = new Set<string>();
  private readonly emailHashes = new Set<string>();

  get size(): number {
    return this.anonymousIds.size + this.userIds.size + this.emailHashes.size;
  }

  add(ids: IdLists): number {
    const before = this.size;
    for (const a of ids.anonymousIds) this.anonymousIds.add(a);
    for (const u of ids.userIds) this.userIds.add(u);
    for (const e of ids.emailHashes) this.emailHashes.add(e);
    return this.size - before;
  }

  denies(s: Subject | undefined): boolean {
    if (!s || this.size === 0) return false;
    return (
      (s.anonymousId !== undefined && this.anonymousIds.has(s.anonymousId)) ||
      (s.userId !== undefined && this.userIds.has(s.userId)) ||
      (s.emailHash !== undefined && this.emailHashes.has(s.emailHash))
    );
  }

  lists(): IdLists {
    return { anonymousIds: [...this.anonymousIds], userIds: [...this.userIds], emailHashes: [...this.emailHashes] };
  }
}
