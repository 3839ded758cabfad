import type {
  ConversionMessage,
  FraudFlagMessage,
  IdentityLinkMessage,
  IdentityMessage,
  JourneyMessage,
  JourneyTouch,
  NullPathMessage,
  PrivacyDeleteMessage,
  TouchpointMessage,
} from '@touchline/contracts';
import { MinHeap } from './heap.js';
import { ProbableLinks, earlier, probableLinkId, type Bucket, type FoundLink, type ProbabilisticLinking } from './probable.js';
import type { Windows } from './windows.js';

const DAY_MS = 86_400_000;
/** People sharing journeys through probabilistic links at most; a larger cluster is a shared network. */
export const MAX_PROBABLE_CLUSTER = 8;
/** What the state remembers of an emitted untouched null path (touched ones: their touch ids). */
const UNTOUCHED = '\u0001untouched';

/** What the stitcher keeps of a touch: what journeys carry, plus what eligibility needs. */
interface StoredTouch extends JourneyTouch {
  consent: boolean;
  /** An identity node of its person when it arrived (find() gives the person now). */
  node: string;
  /** Where probabilistic linking keeps it as a sighting of its device (set only when it does). */
  sighting?: Bucket;
}

interface StoredConversion {
  conv: ConversionMessage;
  /** What was last emitted for it, to emit again only when it changes. */
  lastSignature: string | undefined;
  revision: number;
}

interface Person {
  /** Identity nodes: `a:<anonymousId>`, `u:<userId>`, `e:<emailHash>`, `p:<phoneHash>`. */
  nodes: string[];
  /** Sorted by (timestamp, messageId). */
  touches: StoredTouch[];
  conversions: Map<string, StoredConversion>;
  /** The account, from the identify with the latest (timestamp, messageId) that named one. */
  account: { id: string; at: number; messageId: string } | undefined;
  /** Null paths emitted for this person: pathId → signature. */
  nullPaths: Map<string, string>;
  /** The earliest pending null-path deadline queued for this person. */
  deadline: number;
  /** Times of the person's identify events (they make a person known without a touch). */
  identifies: number[] | undefined;
}

export interface StitcherOptions {
  windows: Windows;
  /** Touches per journey at most; the oldest are dropped first. */
  maxTouchesPerJourney?: number;
  /** Microsecond clock for journey versions. */
  nowMicros?: () => number;
  /** Links anonymous devices by network and user-agent family (off when absent). */
  probabilistic?: ProbabilisticLinking;
  /** Emits null paths without touches for known people's idle windows (default true). */
  untouchedNullPaths?: boolean;
  /**
   * Which of a person's closed periods are null paths: `latest` (default), only the most recent
   * closed period that no conversion claims, so each person is one observation whether or not
   * they converted, as in a per-user conversion model; `every`, each closed period. Across a
   * person's periods the conversion hazard is not constant (exposure before a window acts within
   * it), so early periods of the same person look like touches that did not convert.
   */
  personNullPaths?: 'latest' | 'every';
}

export type StitchOutput = JourneyMessage | NullPathMessage | IdentityLinkMessage;

/** The signature `PublishedOutputs` records for a retracted journey. */
const RETRACTED = '\u0000retracted';

/** Whose null path it is: a person's (`accountId` undefined) or an account's. */
export interface NullPathOwner {
  personId: string;
  accountId: string | undefined;
}

/** What the journeys topic last holds: per conversion its journey, per null path its touches. */
export class PublishedOutputs {
  readonly journeys = new Map<string, { signature: string; revision: number }>();
  /** pathId → `nullPathSignature` of its touches, '' when withdrawn. */
  readonly nullPaths = new Map<string, string>();
  /** Person-level null paths held (not withdrawn) per person. */
  readonly nullPathsByPerson = new Map<string, Set<string>>();
  /** Account-level null paths held (not withdrawn) per account. */
  readonly nullPathsByAccount = new Map<string, Set<string>>();
  readonly nullPathOwner = new Map<string, NullPathOwner>();

  /** Takes one message read from the topic, in the topic's order for its key. */
  add(m: StitchOutput): void {
    if (m.kind === 'identity_link') return;
    if (m.kind === 'journey') {
      this.journeys.set(m.conversion.conversionId, {
        signature: m.retracted ? RETRACTED : journeySignature(m.level, m.milestones, m.touches),
        revision: m.revision,
      });
      return;
    }
    const sig = m.untouched === true ? UNTOUCHED : nullPathSignature(m.touches);
    this.nullPaths.set(m.pathId, sig);
    const accountId = m.level === 'account' ? m.accountId : undefined;
    this.nullPathOwner.set(m.pathId, { personId: m.personId, accountId });
    const byOwner = accountId === undefined ? this.nullPathsByPerson : this.nullPathsByAccount;
    const owner = accountId ?? m.personId;
    let set = byOwner.get(owner);
    if (!set) byOwner.set(owner, (set = new Set()));
    if (sig === '') set.delete(m.pathId);
    else set.add(m.pathId);
  }
}

/** An account-level null path's id: person paths begin with a person id (`u:`, `a:`, `e:` or `p:`), so the two never collide. */
export function accountPathId(accountId: string, kind: 'period' | 'untouched', start: number): string {
  return `account:${accountId}|${kind}|${start}`;
}

/**
 * What the state remembers of a null path's touches, to emit it again only when they change: their
 * count and two 32-bit hashes of their ids in order ('' for none). Null paths are kept for every
 * closed period of every person and account, so their touch ids joined would cost as much again
 * as the touches' own ids.
 */
export function nullPathSignature(touches: ReadonlyArray<{ messageId: string }>): string {
  if (touches.length === 0) return '';
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (const t of touches) {
    const id = t.messageId;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    // A separator, so that ids ['ab', 'c'] and ['a', 'bc'] differ.
    a = Math.imul(a ^ 0x1f, 0x01000193);
    b = Math.imul(b ^ 0x1f, 0x5bd1e995);
    b ^= b >>> 13;
  }
  return `${touches.length}.${(a >>> 0).toString(36)}.${(b >>> 0).toString(36)}`;
}

/** What identifies a journey's content: level, milestones and its touches. */
export function journeySignature(level: 'person' | 'account', milestones: JourneyMessage['milestones'], touches: ReadonlyArray<{ messageId: string }>): string {
  return `${level}|${milestones?.leadTime ?? ''}|${milestones?.opportunityTime ?? ''}|${touches.map((t) => t.messageId).join('\u0000')}`;
}

/**
 * Identity graph and open journeys.
 *
 * People are connected components of identity nodes (union-find). Identify events, and events that
 * carry both an anonymousId and a userId, join them. An identify naming an accountId places the
 * person in that account; an account's journey is the union of its people's touches.
 *
 * Every mutation ends in the same place: the journeys of the affected people (and of their account)
 * are rebuilt from the state and emitted when they differ from what was emitted before. So what is
 * finally emitted depends only on the set of events, not on their order; a late touch, a late merge
 * or a fraud flag yields a restatement.
 *
 * Null paths: a person's history is cut into periods of one lookback window each, laid from their
 * first event. The touches of a period that no conversion's window overlaps (neither the
 * conversion's own period nor the one before it) form a null path once event time (the largest
 * timestamp seen) has passed the period's end, so null windows are as long as a conversion's and
 * a person touched without pause still yields them. A later event that changes or converts it
 * re-emits or withdraws it under the same `pathId`. A known person's periods without any touch or
 * conversion are untouched null paths (see `untouchedPeriods`).
 *
 * Account null paths: an account's deals are credited on the account's journey (all its people's
 * touches), so the windows they are contrasted with are the account's too: the same periods, laid
 * from the first event of any of its people, holding all their touches, claimed by account-level
 * conversions only (`refreshAccountNullPaths`, `pathId` `account:<accountId>|…`, `level`
 * `account`). Members keep their person null paths too: the attributor fits each level on its own
 * (account journeys against account null paths, person journeys against person null paths), so a
 * member's touches are counted once per level, never twice in one fit. Whatever moves touches
 * between accounts (an identify naming another account, a merge, a deletion, a fraud flag) marks
 * the accounts involved, and every mutation ends by refreshing them (`flushAccounts`).
 *
 * Probabilistic links (when configured) never merge people: they group deterministic people into
 * clusters that share journeys. A cluster shares only when it holds at most one identified person
 * (a userId, email or phone) and at most `MAX_PROBABLE_CLUSTER` people; otherwise each of its
 * people keeps its own journeys. Both are properties of the final graph, so order still does not
 * matter: a mutation refreshes the people of the clusters around it before and after.
 */
export class StitcherState {
  private readonly parent = new Map<string, string>();
  private readonly people = new Map<string, Person>();
  /** conversionId → a node of its person, so a resent conversion is credited once. */
  private readonly conversionNode = new Map<string, string>();
  /** Every stored touch by messageId: deduplication and fraud flags. */
  private readonly touchIndex = new Map<string, StoredTouch>();
  private readonly accounts = new Map<string, Set<string>>();
  private readonly seenMessages = new Set<string>();
  private readonly excludedTouches = new Set<string>();
  private readonly deletedNodes = new Set<string>();
  private readonly deadlines = new MinHeap<{ at: number; node: string }>((a, b) => a.at - b.at);
  /** Per account: its null paths emitted (pathId → signature), its earliest queued deadline, the first event they were laid from. */
  private readonly accountNulls = new Map<string, AccountNulls>();
  private readonly accountDeadlines = new MinHeap<{ at: number; account: string }>((a, b) => a.at - b.at);
  /** Accounts whose null paths a mutation may have changed: refreshed once, at the end of it. */
  private readonly dirtyAccounts = new Set<string>();
  /** Accounts that only gained a consented touch in a period still open: see `touchAccount`. */
  private readonly openPeriodTouches = new Map<string, number>();
  /** Accounts a person left: their account journeys lose that person's touches. */
  private readonly vacatedAccounts = new Set<string>();
  private readonly strings = new Map<string, string>();
  private readonly maxTouches: number;
  private readonly nowMicros: () => number;
  private lastMicros = 0;
  /** Event time: the largest timestamp seen on any input. */
  private watermark = -Infinity;
  private readonly links: ProbableLinks | undefined;
  private readonly untouched: boolean;
  private readonly latestOnly: boolean;
  /** Conversions of deleted people, so a reconciliation can still retract what the topic holds. */
  private readonly forgotten = new Map<string, { stored: StoredConversion; personId: string }>();

  constructor(private readonly opts: StitcherOptions) {
    this.maxTouches = opts.maxTouchesPerJourney ?? 500;
    this.links = opts.probabilistic ? new ProbableLinks(opts.probabilistic) : undefined;
    this.untouched = opts.untouchedNullPaths ?? true;
    this.latestOnly = (opts.personNullPaths ?? 'latest') === 'latest';
    this.nowMicros = opts.nowMicros ?? (() => Math.floor(performance.timeOrigin * 1000 + performance.now() * 1000));
  }

  get stats() {
    let touches = 0;
    for (const p of this.people.values()) touches += p.touches.length;
    return { people: this.people.size, touches, conversions: this.conversionNode.size, accounts: this.accounts.size };
  }

  applyTouch(t: TouchpointMessage): StitchOutput[] {
    if (this.touchIndex.has(t.messageId) || this.excludedTouches.has(t.messageId)) return [];
    const nodes = idNodes(t);
    // A deleted person's events are dropped, but still show how far event time has come, so the
    // periods that close do not depend on whether a delete was read before or after them.
    if (this.isDeleted(nodes)) return this.advance(t.timestamp);
    const out: StitchOutput[] = this.advance(t.timestamp);
    // Sightings are touches of anonymous devices only (no userId): the stored node is the device.
    const bucket = this.links && t.anonymousId && !t.userId && t.consent && !t.bot ? this.links.bucketOf(t.ip, t.userAgent) : undefined;
    const stored = this.storedTouch(t, nodes[0]!, bucket);
    const found = bucket ? this.links!.match(stored, bucket) : [];
    const before = this.clustersAround([...nodes, ...found.map((f) => f.other)]);
    const root = this.joinIds(nodes);
    this.touchIndex.set(t.messageId, stored);
    const person = this.people.get(root)!;
    insertSorted(person.touches, stored);
    if (person.account) this.touchAccount(person.account.id, stored);
    if (bucket) {
      this.links!.record(stored, bucket);
      for (const f of found) out.push(this.linkMessage(stored.node, f));
    }
    return [...out, ...this.refreshAll([root, ...before]), ...this.flushAccounts()];
  }

  applyIdentity(i: IdentityMessage): StitchOutput[] {
    if (this.seenMessages.has(i.messageId)) return [];
    this.seenMessages.add(i.messageId);
    const nodes = idNodes(i);
    if (i.emailHash) nodes.push(`e:${i.emailHash}`);
    if (i.phoneHash) nodes.push(`p:${i.phoneHash}`);
    if (nodes.length === 0) return [];
    if (this.isDeleted(nodes)) return this.advance(i.timestamp);
    const out = this.advance(i.timestamp);
    const before = this.clustersAround(nodes);
    const root = this.joinIds(nodes);
    if (i.accountId) this.setAccount(root, { id: i.accountId, at: i.timestamp, messageId: i.messageId });
    const p = this.people.get(root)!;
    (p.identifies ??= []).push(i.timestamp);
    if (p.account) this.dirtyAccounts.add(p.account.id);
    return [...out, ...this.refreshAll([root, ...before]), ...this.flushAccounts()];
  }

  applyConversion(c: ConversionMessage): StitchOutput[] {
    if (this.conversionNode.has(c.conversionId)) return [];
    const nodes = idNodes(c);
    if (this.isDeleted(nodes)) {
      // Dropped, but remembered: catching up may read the delete before the conversion, and the
      // journeys topic may hold this conversion's journey from an earlier run (see reconcileOwned).
      if (!this.forgotten.has(c.conversionId)) this.forgotten.set(c.conversionId, { stored: { conv: c, lastSignature: undefined, revision: 0 }, personId: nodes[0]! });
      return this.advance(c.timestamp);
    }
    const out = this.advance(c.timestamp);
    const before = this.clustersAround(nodes);
    const root = this.joinIds(nodes);
    this.conversionNode.set(c.conversionId, nodes[0]!);
    const person = this.people.get(root)!;
    person.conversions.set(c.conversionId, { conv: c, lastSignature: undefined, revision: 0 });
    if (person.account) this.dirtyAccounts.add(person.account.id);
    return [...out, ...this.refreshAll([root, ...before]), ...this.flushAccounts()];
  }

  /** Flagged touches leave every journey they were in; the journeys are restated. */
  applyFraudFlag(f: FraudFlagMessage): StitchOutput[] {
    const roots = new Set<string>();
    for (const id of f.touchpointIds) {
      if (this.excludedTouches.has(id)) continue;
      this.excludedTouches.add(id);
      const stored = this.touchIndex.get(id);
      if (stored === undefined) continue;
      this.touchIndex.delete(id);
      const root = this.find(stored.node);
      const p = this.people.get(root);
      if (p) p.touches = p.touches.filter((x) => x !== stored);
      if (p?.account) this.dirtyAccounts.add(p.account.id);
      roots.add(root);
      // Links only this touch supported go with it; the clusters around them are refreshed.
      if (stored.sighting) {
        for (const r of this.clustersAround([stored.node])) roots.add(r);
        for (const other of this.links!.unrecord(stored, stored.sighting)) roots.add(other);
        stored.sighting = undefined;
      }
    }
    return [...this.refreshAll(roots), ...this.flushAccounts()];
  }

  /**
   * Forgets a person: their touches, conversions and links. Their conversions are emitted once more
   * as retracted (so credit is withdrawn), their null paths withdrawn, and later events carrying
   * any of their ids are dropped.
   */
  applyPrivacyDelete(d: PrivacyDeleteMessage): StitchOutput[] {
    const nodes = [
      ...d.anonymousIds.map((x) => `a:${x}`),
      ...d.userIds.map((x) => `u:${x}`),
      ...d.emailHashes.map((x) => `e:${x}`),
    ];
    const out: StitchOutput[] = [];
    const roots = new Set(nodes.filter((n) => this.parent.has(n)).map((n) => this.find(n)));
    const around = this.clustersAround(nodes);
    for (const n of nodes) this.deletedNodes.add(n);
    for (const root of roots) {
      const p = this.people.get(root)!;
      const personId = this.personId(p);
      for (const stored of p.conversions.values()) {
        this.forgotten.set(stored.conv.conversionId, { stored, personId });
        if (stored.lastSignature === undefined) continue;
        out.push(this.journey(stored, personId, [], undefined, 'person', true));
        this.conversionNode.delete(stored.conv.conversionId);
      }
      for (const pathId of p.nullPaths.keys()) out.push(this.nullPath(personOwner(personId), pathId, [], 0));
      for (const t of p.touches) this.touchIndex.delete(t.messageId);
      for (const n of p.nodes) this.deletedNodes.add(n);
      this.links?.forget(p.nodes);
      if (p.account) {
        this.accounts.get(p.account.id)?.delete(root);
        this.dirtyAccounts.add(p.account.id);
      }
      this.people.delete(root);
      const accountRoots = p.account ? [...(this.accounts.get(p.account.id) ?? [])] : [];
      for (const r of accountRoots) out.push(...this.refresh(r));
    }
    // People who shared journeys with the deleted one through probabilistic links lose its touches.
    out.push(...this.refreshAll(around.filter((r) => this.people.has(r))));
    out.push(...this.flushAccounts());
    return out;
  }

  // --- ownership across instances ----------------------------------------------------------
  // Several instances hold the same state (each reads every input partition); each publishes only
  // the outputs whose key it owns. These methods are what that needs, apart from the graph logic.

  /**
   * After a restore or a handover, for the outputs whose key `owns` accepts (a journey's key is its
   * conversionId, a null path's its pathId): what the topic holds for them becomes the reference
   * emission diffs against, and what must be published so the topic ends in the state's outputs is
   * returned. A run that crashed after publishing but before committing may have left outputs the
   * rebuilt state would never produce again; this withdraws or replaces them. Outputs of other keys keep
   * what this state last computed for them; the instance owning them publishes those.
   */
  reconcileOwned(onTopic: PublishedOutputs, owns: (key: string) => boolean): StitchOutput[] {
    const out: StitchOutput[] = [];
    const claimed = new Set<string>();
    const affected: string[] = [];
    for (const [root, p] of this.people) {
      let reset = false;
      for (const s of p.conversions.values()) {
        if (!owns(s.conv.conversionId)) continue;
        const t = onTopic.journeys.get(s.conv.conversionId);
        s.lastSignature = t?.signature;
        s.revision = t?.revision ?? 0;
        reset = true;
      }
      for (const pathId of [...p.nullPaths.keys()]) {
        if (!owns(pathId)) continue;
        p.nullPaths.delete(pathId);
        reset = true;
      }
      for (const pathId of onTopic.nullPathsByPerson.get(this.personId(p)) ?? []) {
        if (!owns(pathId)) continue;
        p.nullPaths.set(pathId, onTopic.nullPaths.get(pathId)!);
        claimed.add(pathId);
        reset = true;
      }
      if (reset) affected.push(root);
    }
    const affectedAccounts = new Set<string>();
    for (const [accountId, st] of this.accountNulls) {
      for (const pathId of [...st.nullPaths.keys()]) {
        if (!owns(pathId)) continue;
        st.nullPaths.delete(pathId);
        affectedAccounts.add(accountId);
      }
    }
    for (const [accountId, held] of onTopic.nullPathsByAccount) {
      for (const pathId of held) {
        if (!owns(pathId)) continue;
        this.accountNullState(accountId).nullPaths.set(pathId, onTopic.nullPaths.get(pathId)!);
        claimed.add(pathId);
        affectedAccounts.add(accountId);
      }
    }
    for (const [pathId, sig] of onTopic.nullPaths) {
      if (sig !== '' && owns(pathId) && !claimed.has(pathId)) out.push(this.nullPath(onTopic.nullPathOwner.get(pathId)!, pathId, [], this.watermark));
    }
    for (const root of affected) out.push(...this.refresh(root, false));
    for (const accountId of affectedAccounts) out.push(...this.refreshAccountNullPaths(accountId));
    // A privacy delete applied while this instance did not publish (catching up after a start, or
    // before it owned the key): the topic may still hold the journey, so retract it.
    for (const [id, { stored, personId }] of this.forgotten) {
      const t = onTopic.journeys.get(id);
      if (!owns(id) || t === undefined || t.signature === RETRACTED) continue;
      stored.revision = t.revision;
      stored.lastSignature = RETRACTED;
      out.push(this.journey(stored, personId, [], undefined, 'person', true));
    }
    return out;
  }

  /**
   * The probabilistic links the state holds now whose linkId `owns` accepts, as identity-link
   * messages: what a new owner publishes at its reconciliation, since links found while it did not
   * publish were dropped. The topic and the table keep one link per linkId, so publishing one again
   * changes nothing. A link the state no longer holds (its touches flagged as fraud, a device
   * deleted) is not published again; like a single instance, nothing withdraws one already written.
   * Each link is shown by the earliest pair of touches supporting it now.
   */
  ownedLinks(owns: (linkId: string) => boolean): IdentityLinkMessage[] {
    if (!this.links) return [];
    const pairs: Array<[string, string]> = [];
    const devices = new Set<string>();
    for (const [a, b] of this.links.pairs()) {
      if (!owns(probableLinkId(a, b))) continue;
      pairs.push([a, b]);
      devices.add(a);
    }
    if (pairs.length === 0) return [];
    const sightings = new Map<string, StoredTouch[]>();
    for (const t of this.touchIndex.values()) {
      if (!t.sighting || !devices.has(t.node)) continue;
      let list = sightings.get(t.node);
      if (!list) sightings.set(t.node, (list = []));
      list.push(t);
    }
    const out: IdentityLinkMessage[] = [];
    for (const [a, b] of pairs) {
      let best: FoundLink | undefined;
      for (const s of sightings.get(a) ?? []) {
        const f = this.links.linkFrom(s, s.sighting!, b);
        if (f && (best === undefined || earlier(f, best))) best = f;
      }
      if (best) out.push(this.linkMessage(a, best));
    }
    return out;
  }

  /**
   * Keeps versions increasing across instances: an output emitted after this one was seen on the
   * topic gets a higher `emittedAt`, whatever the other instance's clock said.
   */
  observeEmittedAt(emittedAt: number): void {
    if (emittedAt > this.lastMicros) this.lastMicros = emittedAt;
  }

  private isDeleted(nodes: string[]): boolean {
    return this.deletedNodes.size > 0 && nodes.some((n) => this.deletedNodes.has(n));
  }

  /** Moves event time forward and closes the null paths whose window ended. */
  private advance(timestamp: number): StitchOutput[] {
    if (timestamp <= this.watermark) return [];
    this.watermark = timestamp;
    const out: StitchOutput[] = [];
    const due = new Set<string>();
    while (this.deadlines.size > 0 && this.deadlines.peek()!.at <= this.watermark) {
      const { node } = this.deadlines.pop()!;
      if (this.parent.has(node)) due.add(this.find(node));
    }
    for (const root of due) if (this.people.has(root)) out.push(...this.refresh(root, false));
    const dueAccounts = new Set<string>();
    while (this.accountDeadlines.size > 0 && this.accountDeadlines.peek()!.at <= this.watermark) dueAccounts.add(this.accountDeadlines.pop()!.account);
    for (const accountId of dueAccounts) out.push(...this.refreshAccountNullPaths(accountId));
    return out;
  }

  private joinIds(nodes: string[]): string {
    let root = this.find(nodes[0]!);
    for (const n of nodes.slice(1)) root = this.union(root, this.find(n));
    return root;
  }

  private find(node: string): string {
    if (!this.parent.has(node)) {
      this.parent.set(node, node);
      this.people.set(node, { nodes: [node], touches: [], conversions: new Map(), account: undefined, nullPaths: new Map(), deadline: Infinity, identifies: undefined });
      return node;
    }
    let r = node;
    while (this.parent.get(r) !== r) r = this.parent.get(r)!;
    let n = node;
    while (n !== r) {
      const next = this.parent.get(n)!;
      this.parent.set(n, r);
      n = next;
    }
    return r;
  }

  private union(a: string, b: string): string {
    if (a === b) return a;
    const pa = this.people.get(a)!;
    const pb = this.people.get(b)!;
    const [big, small, bigRoot, smallRoot] =
      pa.touches.length + pa.nodes.length >= pb.touches.length + pb.nodes.length ? [pa, pb, a, b] : [pb, pa, b, a];
    this.parent.set(smallRoot, bigRoot);
    for (const n of small.nodes) big.nodes.push(n);
    big.touches = mergeSorted(big.touches, small.touches);
    big.deadline = Math.min(big.deadline, small.deadline);
    if (small.identifies) (big.identifies ??= []).push(...small.identifies);
    for (const [id, c] of small.conversions) big.conversions.set(id, c);
    // Null paths emitted under the smaller person are diffed from the merged person: withdrawn or
    // replaced under the merged person's id.
    for (const [id, sig] of small.nullPaths) big.nullPaths.set(id, sig);
    for (const acc of [pa.account, pb.account]) {
      if (!acc) continue;
      this.accounts.get(acc.id)?.delete(acc === pa.account ? a : b);
      this.dirtyAccounts.add(acc.id);
      this.vacatedAccounts.add(acc.id);
    }
    const account = newer(pa.account, pb.account);
    big.account = undefined;
    this.people.delete(smallRoot);
    if (account) this.setAccount(bigRoot, account);
    return bigRoot;
  }

  private setAccount(root: string, account: NonNullable<Person['account']>): void {
    const p = this.people.get(root)!;
    const chosen = newer(p.account, account)!;
    if (p.account) {
      this.accounts.get(p.account.id)?.delete(root);
      if (p.account.id !== chosen.id) {
        this.dirtyAccounts.add(p.account.id);
        this.vacatedAccounts.add(p.account.id);
      }
    }
    this.dirtyAccounts.add(chosen.id);
    p.account = chosen;
    let members = this.accounts.get(chosen.id);
    if (!members) this.accounts.set(chosen.id, (members = new Set()));
    members.add(root);
  }

  /** The person's id: stable for a component, the smallest of its user ids, else of its nodes. */
  private personId(p: Person): string {
    let best: string | undefined;
    for (const n of p.nodes) if (n.startsWith('u:') && (best === undefined || n < best)) best = n;
    if (best) return best;
    for (const n of p.nodes) if (best === undefined || n < best) best = n;
    return best!;
  }

  /** Rebuilds and emits what changed for a person, the people sharing journeys with them and, with `account`, their accounts' journeys. */
  private refresh(root: string, account = true): StitchOutput[] {
    return this.refreshAll([root], account);
  }

  /** `refresh` of several people at once, each cluster once. */
  private refreshAll(roots: Iterable<string>, account = true): StitchOutput[] {
    if (!this.links) {
      const out: StitchOutput[] = [];
      for (const r of new Set(roots)) out.push(...this.refreshPerson(this.find(r), account));
      return out;
    }
    const todo = new Set<string>();
    for (const r of roots) {
      const root = this.find(r);
      if (!this.people.has(root) || todo.has(root)) continue;
      for (const m of this.clusterOf(root)) todo.add(m);
    }
    const out: StitchOutput[] = [];
    for (const r of todo) out.push(...this.refreshPerson(r, account));
    return out;
  }

  /**
   * The people who share journeys with `root` through probabilistic links, `root` included: the
   * whole connected cluster when it holds at most one identified person and at most
   * `MAX_PROBABLE_CLUSTER` people, else `root` alone.
   */
  private clusterOf(root: string): string[] {
    if (!this.links) return [root];
    const members = [root];
    const seen = new Set(members);
    for (let i = 0; i < members.length; i++) {
      for (const n of this.people.get(members[i]!)!.nodes) {
        for (const other of this.links.neighbours(n) ?? []) {
          if (!this.parent.has(other)) continue;
          const r = this.find(other);
          if (seen.has(r) || !this.people.has(r)) continue;
          if (members.length >= MAX_PROBABLE_CLUSTER) return [root];
          seen.add(r);
          members.push(r);
        }
      }
    }
    if (members.length === 1) return members;
    let identified = 0;
    for (const r of members) if (this.people.get(r)!.nodes.some((n) => !n.startsWith('a:'))) identified++;
    return identified > 1 ? [root] : members;
  }

  /** The people of the clusters the given identity nodes belong to now (before a change). */
  private clustersAround(nodes: string[]): string[] {
    if (!this.links) return [];
    const out: string[] = [];
    for (const n of nodes) {
      if (!this.parent.has(n)) continue;
      const r = this.find(n);
      if (this.people.has(r)) out.push(...this.clusterOf(r));
    }
    return out;
  }

  /** A cluster's touches in time order. */
  private clusterTouches(cluster: string[]): StoredTouch[] {
    if (cluster.length === 1) return this.people.get(cluster[0]!)!.touches;
    const all: StoredTouch[] = [];
    for (const r of cluster) for (const t of this.people.get(r)!.touches) all.push(t);
    return all.sort(byTime);
  }

  private linkMessage(device: string, f: FoundLink): IdentityLinkMessage {
    const [a, b] = device < f.other ? [device, f.other] : [f.other, device];
    return {
      v: 1,
      kind: 'identity_link',
      linkId: probableLinkId(device, f.other),
      method: 'probabilistic',
      anonymousId: a.slice(2),
      linkedAnonymousId: b.slice(2),
      confidence: f.confidence,
      evidence: f.evidence,
      timestamp: f.at,
      linkedAt: Math.floor(this.nowMicros() / 1000),
    };
  }

  private refreshPerson(root: string, account: boolean): StitchOutput[] {
    const p = this.people.get(root);
    if (!p) return [];
    const out = [...this.refreshConversions(root, p, 'person'), ...this.refreshNullPaths(root, p)];
    if (account && p.account) {
      for (const member of this.accounts.get(p.account.id) ?? []) {
        const m = this.people.get(member);
        if (m) out.push(...this.refreshConversions(member, m, 'account'));
      }
    }
    return out;
  }

  private levelOf(c: ConversionMessage, p: Person): 'person' | 'account' {
    return p.account ? this.opts.windows.levelOf(c.name, c.stage) : 'person';
  }

  private refreshConversions(root: string, p: Person, only: 'person' | 'account'): StitchOutput[] {
    if (p.conversions.size === 0) return [];
    const out: StitchOutput[] = [];
    let personTouches: StoredTouch[] | undefined;
    let personConversions: ConversionMessage[] | undefined;
    let accountTouches: StoredTouch[] | undefined;
    let accountConversions: ConversionMessage[] | undefined;
    for (const stored of p.conversions.values()) {
      const c = stored.conv;
      if (!c.consent) continue;
      const level = this.levelOf(c, p);
      // An account's journeys change with any member; a person's only with the person.
      if (only === 'account' && level !== 'account') continue;
      let pool: StoredTouch[];
      let milestoneSource: Iterable<ConversionMessage>;
      if (level === 'account') {
        accountTouches ??= this.accountTouches(p.account!.id);
        accountConversions ??= this.accountConversions(p.account!.id);
        pool = accountTouches;
        milestoneSource = accountConversions;
      } else {
        const cluster = this.clusterOf(root);
        personTouches ??= this.clusterTouches(cluster);
        personConversions ??= cluster.flatMap((r) => [...this.people.get(r)!.conversions.values()].map((s) => s.conv));
        pool = personTouches;
        milestoneSource = personConversions;
      }
      const touches = this.eligible(pool, c);
      const milestones = milestonesOf(milestoneSource, c.timestamp);
      const signature = journeySignature(level, milestones, touches);
      if (signature === stored.lastSignature) continue;
      stored.revision = stored.lastSignature === undefined ? 0 : stored.revision + 1;
      stored.lastSignature = signature;
      out.push(this.journey(stored, this.personId(p), touches, milestones, level, false));
    }
    return out;
  }

  /** Touches that may earn credit for `c`: consented, before it, inside its windows, capped. */
  private eligible(pool: StoredTouch[], c: ConversionMessage): StoredTouch[] {
    const w = this.opts.windows.of(c.name);
    const lookback = w.lookbackDays * DAY_MS;
    const viewThrough = w.viewThroughDays * DAY_MS;
    const touches = pool.filter((t) => {
      if (!t.consent || t.timestamp > c.timestamp) return false;
      const age = c.timestamp - t.timestamp;
      return age <= lookback && (t.interaction !== 'impression' || age <= viewThrough);
    });
    return touches.length > this.maxTouches ? touches.slice(touches.length - this.maxTouches) : touches;
  }

  private accountTouches(accountId: string): StoredTouch[] {
    const all: StoredTouch[] = [];
    for (const r of this.accounts.get(accountId) ?? []) {
      const m = this.people.get(r);
      if (m) for (const t of m.touches) all.push(t);
    }
    return all.sort(byTime);
  }

  private accountConversions(accountId: string): ConversionMessage[] {
    const all: ConversionMessage[] = [];
    for (const r of this.accounts.get(accountId) ?? []) {
      const m = this.people.get(r);
      if (m) for (const s of m.conversions.values()) all.push(s.conv);
    }
    return all;
  }

  /**
   * Null paths of a person, or of a cluster (by its member with the smallest person id; the other
   * members then hold none). A person in an account keeps theirs: they are what person-level
   * conversions (a member's lead) are contrasted with, while the account's null paths
   * (`refreshAccountNullPaths`) are what its deals are contrasted with.
   */
  private refreshNullPaths(root: string, p: Person): StitchOutput[] {
    const lookback = this.opts.windows.defaultWindow.lookbackDays * DAY_MS;
    const cluster = this.clusterOf(root);
    const members = cluster.map((r) => this.people.get(r)!);
    const personId = this.personId(p);
    const leads = members.every((m) => m === p || this.personId(m) > personId);
    const closed = new Map<string, { touches: StoredTouch[]; closedAt: number }>();
    let nextDeadline = Infinity;
    if (leads) {
      const touches = this.clusterTouches(cluster).filter((t) => t.consent);
      const conversions = members
        .flatMap((m) => [...m.conversions.values()])
        .filter((s) => s.conv.consent)
        .map((s) => s.conv.timestamp)
        .sort((a, b) => a - b);
      // Null windows are the periods of one lookback each laid from the person's first event, so
      // that a person touched without pause until now still yields one null path per period that
      // has passed, and every null window is as long as a conversion's. A period a conversion's
      // window overlaps (the conversion's period and the one before) is that journey's, not a null.
      const first = firstEventOf(members);
      if (first !== Infinity) {
        const claimed = claimedPeriods(conversions, first, lookback);
        const next = this.closePeriods(touches, first, lookback, claimed, (start) => `${personId}|period|${start}`, closed);
        nextDeadline = Math.min(nextDeadline, next);
      }
      if (this.untouched) {
        const idle = this.untouchedPeriods(members, lookback, members.flatMap((m) => [...m.conversions.values()].map((s) => s.conv.timestamp)));
        for (const start of idle.closed) closed.set(`${personId}|untouched|${start}`, { touches: [], closedAt: start + lookback });
        nextDeadline = Math.min(nextDeadline, idle.next);
      }
      if (this.latestOnly && closed.size > 1) {
        let keep: [string, { touches: StoredTouch[]; closedAt: number }] | undefined;
        for (const e of closed) if (keep === undefined || e[1].closedAt > keep[1].closedAt) keep = e;
        closed.clear();
        closed.set(keep![0], keep![1]);
      }
    }
    // One queued deadline per person at a time: when it fires, the refresh queues the next.
    if (p.deadline <= this.watermark) p.deadline = Infinity;
    if (nextDeadline < p.deadline) {
      p.deadline = nextDeadline;
      this.deadlines.push({ at: nextDeadline, node: root });
    }
    return this.diffNullPaths(p.nullPaths, closed, personOwner(personId));
  }

  /**
   * Groups the consented `touches` by period (of `lookback` each, from `first`), leaving out the
   * `claimed` periods;
   * every period that ended by event time goes into `closed` (its last `maxTouches` touches) under
   * `idOf(start)`. Returns the end of the earliest period still open (Infinity if none).
   */
  private closePeriods(
    touches: readonly StoredTouch[],
    first: number,
    lookback: number,
    claimed: ReadonlySet<number>,
    idOf: (start: number) => string,
    closed: Map<string, { touches: StoredTouch[]; closedAt: number }>,
  ): number {
    const byPeriod = new Map<number, StoredTouch[]>();
    for (const t of touches) {
      if (!t.consent) continue;
      const n = Math.floor((t.timestamp - first) / lookback);
      if (claimed.has(n)) continue;
      let g = byPeriod.get(n);
      if (!g) byPeriod.set(n, (g = []));
      g.push(t);
    }
    let next = Infinity;
    for (const [n, g] of byPeriod) {
      const start = first + n * lookback;
      const end = start + lookback;
      if (end <= this.watermark) closed.set(idOf(start), { touches: g.slice(-this.maxTouches), closedAt: end });
      else next = Math.min(next, end);
    }
    return next;
  }

  /**
   * Null paths of an account: the same periods as a person's (one lookback each, laid from the
   * first event of any of its people), holding the touches of all its people. A period that an
   * account-level conversion's window overlaps is that deal's journey; a person-level conversion of
   * a member (a lead) claims none, since it is not the account converting. Untouched ones as for a
   * person, from the people's events together. Called whenever a member's events, the membership
   * or event time change; an account that lost its last member withdraws them all.
   */
  private refreshAccountNullPaths(accountId: string): StitchOutput[] {
    const lookback = this.opts.windows.accountLookbackDays * DAY_MS;
    const st = this.accountNullState(accountId);
    const members: Person[] = [];
    for (const r of this.accounts.get(accountId) ?? []) {
      const m = this.people.get(r);
      if (m) members.push(m);
    }
    const closed = new Map<string, { touches: StoredTouch[]; closedAt: number }>();
    let nextDeadline = Infinity;
    const first = firstEventOf(members);
    st.first = first;
    if (first !== Infinity && first + lookback > this.watermark && st.nullPaths.size === 0) {
      // Most refreshes come before the account's first period ended: nothing can be closed yet.
      nextDeadline = first + lookback;
    } else if (first !== Infinity) {
      const conversions: number[] = [];
      for (const m of members) {
        for (const s of m.conversions.values()) if (s.conv.consent && this.levelOf(s.conv, m) === 'account') conversions.push(s.conv.timestamp);
      }
      const claimed = claimedPeriods(conversions, first, lookback);
      nextDeadline = Math.min(nextDeadline, this.closePeriods(this.accountTouches(accountId), first, lookback, claimed, (start) => accountPathId(accountId, 'period', start), closed));
      if (this.untouched) {
        const idle = this.untouchedPeriods(members, lookback, conversions);
        for (const start of idle.closed) closed.set(accountPathId(accountId, 'untouched', start), { touches: [], closedAt: start + lookback });
        nextDeadline = Math.min(nextDeadline, idle.next);
      }
    }
    if (st.deadline <= this.watermark) st.deadline = Infinity;
    if (nextDeadline < st.deadline) {
      st.deadline = nextDeadline;
      this.accountDeadlines.push({ at: nextDeadline, account: accountId });
    }
    const out = this.diffNullPaths(st.nullPaths, closed, { personId: '', accountId });
    if (members.length === 0 && st.nullPaths.size === 0 && st.deadline === Infinity) this.accountNulls.delete(accountId);
    return out;
  }

  /** Emits what changed between the null paths emitted (`emitted`, updated) and those closed now. */
  private diffNullPaths(emitted: Map<string, string>, closed: Map<string, { touches: StoredTouch[]; closedAt: number }>, owner: NullPathOwner): StitchOutput[] {
    const out: StitchOutput[] = [];
    for (const [pathId, sig] of emitted) {
      if (!closed.has(pathId)) {
        emitted.delete(pathId);
        if (sig !== '') out.push(this.nullPath(owner, pathId, [], this.watermark));
      }
    }
    for (const [pathId, { touches, closedAt }] of closed) {
      const sig = touches.length === 0 ? UNTOUCHED : nullPathSignature(touches);
      if (emitted.get(pathId) === sig) continue;
      emitted.set(pathId, sig);
      out.push(this.nullPath(owner, pathId, touches, closedAt, touches.length === 0));
    }
    return out;
  }

  private accountNullState(accountId: string): AccountNulls {
    let st = this.accountNulls.get(accountId);
    if (!st) this.accountNulls.set(accountId, (st = { nullPaths: new Map(), deadline: Infinity, first: NaN }));
    return st;
  }

  /**
   * A member's new touch. One in a period that has not ended yet changes no closed period (its
   * content, the periods' start, their claims), so the account only needs a deadline at that
   * period's end, when the full refresh runs; anything else refreshes the account now. Most
   * touches are recent, and an account's refresh goes over all its people's touches.
   */
  private touchAccount(accountId: string, t: StoredTouch): void {
    const st = this.accountNulls.get(accountId);
    const lookback = this.opts.windows.accountLookbackDays * DAY_MS;
    const open = st !== undefined && t.consent && t.timestamp >= st.first && st.first + (Math.floor((t.timestamp - st.first) / lookback) + 1) * lookback > this.watermark;
    if (!open) {
      this.dirtyAccounts.add(accountId);
      return;
    }
    const prev = this.openPeriodTouches.get(accountId);
    if (prev === undefined || t.timestamp < prev) this.openPeriodTouches.set(accountId, t.timestamp);
  }

  /**
   * The end of every mutation: the account journeys of accounts a person left, and the null paths
   * of every account whose members, their events or event time changed.
   */
  private flushAccounts(): StitchOutput[] {
    if (this.dirtyAccounts.size === 0 && this.vacatedAccounts.size === 0 && this.openPeriodTouches.size === 0) return [];
    const out: StitchOutput[] = [];
    for (const accountId of this.vacatedAccounts) {
      for (const member of this.accounts.get(accountId) ?? []) {
        const m = this.people.get(member);
        if (m) out.push(...this.refreshConversions(member, m, 'account'));
      }
    }
    this.vacatedAccounts.clear();
    for (const accountId of this.dirtyAccounts) out.push(...this.refreshAccountNullPaths(accountId));
    const lookback = this.opts.windows.accountLookbackDays * DAY_MS;
    for (const [accountId, at] of this.openPeriodTouches) {
      if (this.dirtyAccounts.has(accountId)) continue;
      const st = this.accountNulls.get(accountId);
      if (!st) {
        out.push(...this.refreshAccountNullPaths(accountId));
        continue;
      }
      const end = st.first + (Math.floor((at - st.first) / lookback) + 1) * lookback;
      if (st.deadline <= this.watermark) st.deadline = Infinity;
      if (end < st.deadline) {
        st.deadline = end;
        this.accountDeadlines.push({ at: end, account: accountId });
      }
    }
    this.openPeriodTouches.clear();
    this.dirtyAccounts.clear();
    return out;
  }

  /**
   * A known person's idle windows. Periods of one lookback window each are laid from the person's
   * first event (touch, conversion or identify). A period with neither a touch nor a conversion is
   * an untouched null path when the person was known then: an event (an identify counts) fell in
   * it or in the period before. So a person yields at most two per period they were seen in, and
   * one who is never seen again stops yielding them. People with an unconsented touch or conversion
   * yield none. Periods the windows of the conversions at `claimedBy` overlap are never idle. Returns the starts of the periods that ended by event time, and the end of the
   * first still open.
   */
  private untouchedPeriods(members: Person[], lookback: number, claimedBy: readonly number[]): { closed: number[]; next: number } {
    const none = { closed: [], next: Infinity };
    const first = firstEventOf(members);
    if (first === Infinity) return none;
    // Most refreshes come before the person's first period has even ended: nothing to close yet,
    // and waking up at its end (perhaps early) is enough.
    if (first + lookback > this.watermark) return { closed: [], next: first + lookback };
    const period = (at: number) => Math.floor((at - first) / lookback);
    const busy = new Set<number>();
    for (const m of members) {
      for (const t of m.touches) {
        if (!t.consent) return none;
        busy.add(period(t.timestamp));
      }
      for (const s of m.conversions.values()) {
        if (!s.conv.consent) return none;
        busy.add(period(s.conv.timestamp));
      }
    }
    // A busy period is never idle itself; the one after it may be. An identify makes its own
    // period a candidate too.
    const candidates = new Set<number>();
    for (const n of busy) candidates.add(n + 1);
    for (const m of members) {
      if (!m.identifies) continue;
      for (const at of m.identifies) {
        candidates.add(period(at));
        candidates.add(period(at) + 1);
      }
    }
    const claimed = claimedPeriods(claimedBy, first, lookback);
    const closed: number[] = [];
    let next = Infinity;
    for (const n of candidates) {
      if (busy.has(n) || claimed.has(n)) continue;
      const start = first + n * lookback;
      if (start + lookback <= this.watermark) closed.push(start);
      else next = Math.min(next, start + lookback);
    }
    return { closed: closed.sort((a, b) => a - b), next };
  }

  private journey(
    stored: StoredConversion,
    personId: string,
    touches: StoredTouch[],
    milestones: JourneyMessage['milestones'],
    level: 'person' | 'account',
    retracted: boolean,
  ): JourneyMessage {
    const c = stored.conv;
    if (retracted) stored.revision += 1;
    return {
      v: 1,
      kind: 'journey',
      personId,
      conversion: {
        conversionId: c.conversionId,
        messageId: c.messageId,
        name: c.name,
        timestamp: c.timestamp,
        value: c.value,
        currency: c.currency,
        ...(c.stage ? { stage: c.stage } : {}),
      },
      touches: touches.map(journeyTouch),
      ...(milestones ? { milestones } : {}),
      level,
      retracted,
      revision: stored.revision,
      emittedAt: this.tick(),
      lookbackDays: this.opts.windows.of(c.name).lookbackDays,
    };
  }

  private nullPath(owner: NullPathOwner, pathId: string, touches: StoredTouch[], closedAt: number, untouched = false): NullPathMessage {
    return {
      v: 1,
      kind: 'null_path',
      personId: owner.personId,
      ...(owner.accountId !== undefined ? { level: 'account' as const, accountId: owner.accountId } : {}),
      pathId,
      touches: touches.map(journeyTouch),
      closedAt,
      emittedAt: this.tick(),
      ...(untouched ? { untouched } : {}),
    };
  }

  /** Strictly increasing microseconds: a later journey of a conversion always has a higher version. */
  private tick(): number {
    const now = this.nowMicros();
    this.lastMicros = now > this.lastMicros ? now : this.lastMicros + 1;
    return this.lastMicros;
  }

  /** Interned labels: thousands of touches share a handful of channel and campaign strings. */
  private intern(s: string): string {
    const hit = this.strings.get(s);
    if (hit !== undefined) return hit;
    if (this.strings.size < 100_000) this.strings.set(s, s);
    return s;
  }

  private storedTouch(t: TouchpointMessage, node: string, sighting: Bucket | undefined): StoredTouch {
    // Two literals, so that touches without a sighting carry no slot for one.
    if (sighting) {
      return {
        node,
        messageId: t.messageId,
        timestamp: t.timestamp,
        interaction: t.interaction,
        channel: this.intern(t.channel),
        campaign: this.intern(t.campaign),
        source: this.intern(t.source),
        medium: this.intern(t.medium),
        consent: t.consent,
        sighting,
      };
    }
    return {
      node,
      messageId: t.messageId,
      timestamp: t.timestamp,
      interaction: t.interaction,
      channel: this.intern(t.channel),
      campaign: this.intern(t.campaign),
      source: this.intern(t.source),
      medium: this.intern(t.medium),
      consent: t.consent,
    };
  }
}

interface AccountNulls {
  nullPaths: Map<string, string>;
  deadline: number;
  /** The first event of the account's people at its last refresh (NaN before one): where its periods start. */
  first: number;
}

function personOwner(personId: string): NullPathOwner {
  return { personId, accountId: undefined };
}

function newer<T extends { at: number; messageId: string }>(a: T | undefined, b: T | undefined): T | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.at > a.at || (b.at === a.at && b.messageId > a.messageId) ? b : a;
}

function milestonesOf(conversions: Iterable<ConversionMessage>, before: number): JourneyMessage['milestones'] {
  let leadTime: number | undefined;
  let opportunityTime: number | undefined;
  for (const c of conversions) {
    if (c.timestamp > before) continue;
    if (c.stage === 'lead' && (leadTime === undefined || c.timestamp < leadTime)) leadTime = c.timestamp;
    if (c.stage === 'opportunity' && (opportunityTime === undefined || c.timestamp < opportunityTime)) opportunityTime = c.timestamp;
  }
  if (leadTime === undefined && opportunityTime === undefined) return undefined;
  return { ...(leadTime !== undefined ? { leadTime } : {}), ...(opportunityTime !== undefined ? { opportunityTime } : {}) };
}

function idNodes(e: { anonymousId?: string | undefined; userId?: string | undefined }): string[] {
  const nodes: string[] = [];
  if (e.userId) nodes.push(`u:${e.userId}`);
  if (e.anonymousId) nodes.push(`a:${e.anonymousId}`);
  return nodes;
}

function byTime(a: StoredTouch, b: StoredTouch): number {
  return a.timestamp - b.timestamp || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0);
}

/** Inserts keeping the order; touches mostly arrive in time order, so this is usually an append. */
function insertSorted(list: StoredTouch[], t: StoredTouch): void {
  let i = list.length;
  while (i > 0 && byTime(list[i - 1]!, t) > 0) i--;
  if (i === list.length) list.push(t);
  else list.splice(i, 0, t);
}

function mergeSorted(a: StoredTouch[], b: StoredTouch[]): StoredTouch[] {
  const out: StoredTouch[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = byTime(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

function journeyTouch(t: StoredTouch): JourneyTouch {
  return {
    messageId: t.messageId,
    timestamp: t.timestamp,
    interaction: t.interaction,
    channel: t.channel,
    campaign: t.campaign,
    source: t.source,
    medium: t.medium,
  };
}

/** The earliest event (touch, conversion or identify) of a person or cluster; Infinity for none. */
function firstEventOf(members: readonly Person[]): number {
  let first = Infinity;
  for (const m of members) {
    if (m.touches.length > 0 && m.touches[0]!.timestamp < first) first = m.touches[0]!.timestamp;
    for (const s of m.conversions.values()) if (s.conv.timestamp < first) first = s.conv.timestamp;
    if (m.identifies) for (const at of m.identifies) if (at < first) first = at;
  }
  return first;
}

/**
 * The periods (of `lookback` each, from `first`) some conversion's window overlaps: its own and
 * the one before. They hold no null path, so converting and non-converting windows never share a touch.
 */
function claimedPeriods(conversions: Iterable<number>, first: number, lookback: number): Set<number> {
  const out = new Set<number>();
  for (const at of conversions) {
    const n = Math.floor((at - first) / lookback);
    out.add(n);
    out.add(n - 1);
  }
  return out;
}
