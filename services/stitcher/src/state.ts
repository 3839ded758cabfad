import type {
  ConversionMessage,
  IdentityMessage,
  JourneyMessage,
  JourneyTouch,
  TouchpointMessage,
} from '@touchline/contracts';

const DAY_MS = 86_400_000;

interface StoredConversion {
  conv: ConversionMessage;
  /** Touch ids of the journey last emitted for it, to emit again only when they change. */
  lastSignature: string | undefined;
  revision: number;
}

interface Person {
  /** Identity nodes of this person: `a:<anonymousId>`, `u:<userId>`, `e:<emailHash>`, `p:<phoneHash>`. */
  nodes: string[];
  touches: Map<string, TouchpointMessage>;
  conversions: Map<string, StoredConversion>;
}

export interface StitcherOptions {
  lookbackDays: number;
  /** Microsecond clock for journey versions. */
  nowMicros?: () => number;
}

/**
 * Identity graph and open journeys. People are connected components of identity nodes (union-find);
 * identify events and events carrying both an anonymousId and a userId join them. A conversion's
 * journey is its person's consented touches inside the lookback window before it.
 *
 * Every mutation ends in the same place: the journeys of the touched person are rebuilt and emitted
 * when their touches differ from what was last emitted. So the journeys finally emitted depend only
 * on the set of events, not on their arrival order; a late touch or merge yields a restatement.
 */
export class StitcherState {
  private readonly parent = new Map<string, string>();
  private readonly people = new Map<string, Person>();
  /** conversionId → root node, so a resent conversion is credited once. */
  private readonly conversionOwner = new Map<string, string>();
  private readonly seenMessages = new Set<string>();
  private readonly lookbackMs: number;
  private readonly nowMicros: () => number;
  private lastMicros = 0;

  constructor(private readonly opts: StitcherOptions) {
    this.lookbackMs = opts.lookbackDays * DAY_MS;
    this.nowMicros = opts.nowMicros ?? (() => Math.floor(performance.timeOrigin * 1000 + performance.now() * 1000));
  }

  get stats() {
    let touches = 0;
    for (const p of this.people.values()) touches += p.touches.size;
    return { people: this.people.size, touches, conversions: this.conversionOwner.size };
  }

  applyTouch(t: TouchpointMessage): JourneyMessage[] {
    if (this.seenMessages.has(t.messageId)) return [];
    this.seenMessages.add(t.messageId);
    const root = this.joinIds(idNodes(t));
    this.people.get(root)!.touches.set(t.messageId, t);
    return this.refresh(root);
  }

  applyIdentity(i: IdentityMessage): JourneyMessage[] {
    if (this.seenMessages.has(i.messageId)) return [];
    this.seenMessages.add(i.messageId);
    const nodes = idNodes(i);
    if (i.emailHash) nodes.push(`e:${i.emailHash}`);
    if (i.phoneHash) nodes.push(`p:${i.phoneHash}`);
    if (nodes.length === 0) return [];
    return this.refresh(this.joinIds(nodes));
  }

  applyConversion(c: ConversionMessage): JourneyMessage[] {
    if (this.conversionOwner.has(c.conversionId)) return [];
    const root = this.joinIds(idNodes(c));
    this.conversionOwner.set(c.conversionId, root);
    this.people.get(root)!.conversions.set(c.conversionId, { conv: c, lastSignature: undefined, revision: 0 });
    return this.refresh(root);
  }

  /** Finds the component of the given nodes, merging components as needed; returns the root. */
  private joinIds(nodes: string[]): string {
    let root = this.find(nodes[0]!);
    for (const n of nodes.slice(1)) root = this.union(root, this.find(n));
    return root;
  }

  private find(node: string): string {
    if (!this.parent.has(node)) {
      this.parent.set(node, node);
      this.people.set(node, { nodes: [node], touches: new Map(), conversions: new Map() });
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
    // Merge the smaller person into the larger.
    const [big, small, bigRoot, smallRoot] =
      pa.touches.size + pa.nodes.length >= pb.touches.size + pb.nodes.length ? [pa, pb, a, b] : [pb, pa, b, a];
    this.parent.set(smallRoot, bigRoot);
    for (const n of small.nodes) big.nodes.push(n);
    for (const [id, t] of small.touches) big.touches.set(id, t);
    for (const [id, c] of small.conversions) {
      big.conversions.set(id, c);
      this.conversionOwner.set(id, bigRoot);
    }
    this.people.delete(smallRoot);
    return bigRoot;
  }

  /** The person's id: stable for a component, the smallest of its user ids, else of its nodes. */
  private personId(p: Person): string {
    let best: string | undefined;
    for (const n of p.nodes) if (n.startsWith('u:') && (best === undefined || n < best)) best = n;
    if (best) return best;
    for (const n of p.nodes) if (best === undefined || n < best) best = n;
    return best!;
  }

  private refresh(root: string): JourneyMessage[] {
    const p = this.people.get(root)!;
    if (p.conversions.size === 0) return [];
    const sorted = [...p.touches.values()].filter((t) => t.consent).sort(byTime);
    const out: JourneyMessage[] = [];
    for (const stored of p.conversions.values()) {
      const c = stored.conv;
      if (!c.consent) continue;
      const touches = sorted.filter((t) => t.timestamp <= c.timestamp && c.timestamp - t.timestamp <= this.lookbackMs);
      const signature = touches.map((t) => t.messageId).join('\u0000');
      if (signature === stored.lastSignature) continue;
      const revision = stored.lastSignature === undefined ? 0 : stored.revision + 1;
      stored.lastSignature = signature;
      stored.revision = revision;
      out.push({
        v: 1,
        kind: 'journey',
        personId: this.personId(p),
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
        level: 'person',
        revision,
        emittedAt: this.tick(),
        lookbackDays: this.opts.lookbackDays,
      });
    }
    return out;
  }

  /** Strictly increasing microseconds: a later journey of a conversion always has a higher version. */
  private tick(): number {
    const now = this.nowMicros();
    this.lastMicros = now > this.lastMicros ? now : this.lastMicros + 1;
    return this.lastMicros;
  }
}

function idNodes(e: { anonymousId?: string | undefined; userId?: string | undefined }): string[] {
  const nodes: string[] = [];
  if (e.userId) nodes.push(`u:${e.userId}`);
  if (e.anonymousId) nodes.push(`a:${e.anonymousId}`);
  return nodes;
}

function byTime(a: TouchpointMessage, b: TouchpointMessage): number {
  return a.timestamp - b.timestamp || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0);
}

function journeyTouch(t: TouchpointMessage): JourneyTouch {
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
