/**
 * Probabilistic device links: two anonymous devices whose consented touches come from the same
 * truncated network (IPv4 /24, IPv6 /48, as stored) with the same user-agent family within a few
 * minutes of event time are probably one person.
 *
 * The links found are a function of the set of touches, not of their order: every sighting is
 * kept (per network and family, sorted by time), so a late touch finds its partners as an early
 * one would, and a link counts the pairs of touches supporting it, so taking a touch back (a fraud
 * flag) removes exactly the links only it supported. Sightings are the stitcher's stored touches
 * themselves, so a sighting costs one array slot. Whether a link joins journeys is decided by the
 * stitcher from the whole graph (see `StitcherState`), never here.
 */

export interface ProbabilisticLinking {
  /** Two touches at most this far apart in event time (ms) link their devices. */
  windowMs: number;
}

export interface FoundLink {
  /** The other device's identity node. */
  other: string;
  /** Message ids of the two touches, earlier first. */
  evidence: [string, string];
  /** Event time of the later touch. */
  at: number;
  /** 0.9 for touches in the same instant, falling linearly to 0.5 at the window's edge. */
  confidence: number;
}

/** A touch of an anonymous device, as the stitcher already stores it. */
export interface Sighting {
  readonly node: string;
  readonly timestamp: number;
  readonly messageId: string;
}

/** The sightings of one network and user-agent family, sorted by (timestamp, messageId). */
export interface Bucket {
  readonly list: Sighting[];
}

/** Browser and operating-system families, in the order they must be tested (Edge says Chrome too). */
const BROWSERS: Array<[RegExp, string]> = [
  [/\bEdg(e|A|iOS)?\//, 'edge'],
  [/\bOPR\/|\bOpera\b/, 'opera'],
  [/\bSamsungBrowser\//, 'samsung'],
  [/\bFirefox\/|\bFxiOS\//, 'firefox'],
  [/\bChrome\/|\bCriOS\//, 'chrome'],
  [/\bSafari\//, 'safari'],
];
const SYSTEMS: Array<[RegExp, string]> = [
  [/\bAndroid\b/, 'android'],
  [/\biPhone\b|\biPad\b|\biPod\b/, 'ios'],
  [/\bWindows\b/, 'windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macos'],
  [/\bCrOS\b/, 'chromeos'],
  [/\bLinux\b/, 'linux'],
];

/** `browser/os` of a user agent, e.g. `chrome/windows`; '' when either is unknown. */
export function userAgentFamily(ua: string): string {
  if (ua === '') return '';
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1];
  const os = SYSTEMS.find(([re]) => re.test(ua))?.[1];
  return browser && os ? `${browser}/${os}` : '';
}

/** The id of the link between two devices: the same whichever device was seen first. */
export function probableLinkId(a: string, b: string): string {
  return a < b ? `probable:${a}|${b}` : `probable:${b}|${a}`;
}

export class ProbableLinks {
  /** `network|family` → its sightings. */
  private readonly buckets = new Map<string, Bucket>();
  /** Device node → linked device → how many pairs of touches support the link. */
  private readonly edges = new Map<string, Map<string, number>>();
  private readonly families = new Map<string, string>();

  constructor(private readonly opts: ProbabilisticLinking) {}

  /** The bucket of a network and user agent; undefined when either says nothing. */
  bucketOf(ip: string, userAgent: string): Bucket | undefined {
    const family = this.familyOf(userAgent);
    if (ip === '' || family === '') return undefined;
    const key = `${ip}|${family}`;
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { list: [] }));
    return b;
  }

  /** The links recording `s` would create: devices in its window not linked with it yet. */
  match(s: Sighting, bucket: Bucket): FoundLink[] {
    const found: FoundLink[] = [];
    const linked = this.edges.get(s.node);
    const w = this.opts.windowMs;
    this.inWindow(s, bucket, (o) => {
      if (linked?.has(o.node) || found.some((f) => f.other === o.node)) return;
      found.push(pairOf(s, o, w));
    });
    return found;
  }

  /** Every link once, as its two device nodes (the smaller first). */
  *pairs(): Generator<[string, string]> {
    for (const [a, linked] of this.edges) for (const b of linked.keys()) if (a < b) yield [a, b];
  }

  /**
   * The link between `s`'s device and `other` as the earliest pair of touches with `s` shows it
   * (the pair whose later touch came first, as a feed in time order finds it); undefined when `s`
   * forms no pair with `other`.
   */
  linkFrom(s: Sighting, bucket: Bucket, other: string): FoundLink | undefined {
    let best: FoundLink | undefined;
    this.inWindow(s, bucket, (o) => {
      if (o.node !== other) return;
      const f = pairOf(s, o, this.opts.windowMs);
      if (best === undefined || earlier(f, best)) best = f;
    });
    return best;
  }

  /** Records a sighting: every pair it forms in its window supports a link. */
  record(s: Sighting, bucket: Bucket): void {
    this.inWindow(s, bucket, (o) => this.count(s.node, o.node, 1));
    const list = bucket.list;
    let i = list.length;
    while (i > 0 && byTime(list[i - 1]!, s) > 0) i--;
    list.splice(i, 0, s);
  }

  /** Takes a sighting back (a fraud flag); returns the devices whose link with it lost its last support. */
  unrecord(s: Sighting, bucket: Bucket): string[] {
    const i = bucket.list.indexOf(s);
    if (i < 0) return [];
    bucket.list.splice(i, 1);
    const dropped: string[] = [];
    this.inWindow(s, bucket, (o) => {
      if (this.count(s.node, o.node, -1) === 0) dropped.push(o.node);
    });
    return dropped;
  }

  /** Devices linked with `node`. */
  neighbours(node: string): Iterable<string> | undefined {
    return this.edges.get(node)?.keys();
  }

  /** Drops every sighting and link of these devices (a privacy delete). */
  forget(nodes: Iterable<string>): void {
    const gone = new Set(nodes);
    for (const n of gone) {
      for (const other of this.edges.get(n)?.keys() ?? []) this.edges.get(other)?.delete(n);
      this.edges.delete(n);
    }
    for (const [key, b] of this.buckets) {
      const kept = b.list.filter((s) => !gone.has(s.node));
      if (kept.length === 0) this.buckets.delete(key);
      else if (kept.length !== b.list.length) b.list.splice(0, b.list.length, ...kept);
    }
  }

  /** Calls `f` for each sighting of another device within the window of `s`. */
  private inWindow(s: Sighting, bucket: Bucket, f: (o: Sighting) => void): void {
    const list = bucket.list;
    const w = this.opts.windowMs;
    for (let i = lowerBound(list, s.timestamp - w); i < list.length && list[i]!.timestamp <= s.timestamp + w; i++) {
      const o = list[i]!;
      if (o !== s && o.node !== s.node) f(o);
    }
  }

  private count(a: string, b: string, delta: number): number {
    let n = 0;
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      let m = this.edges.get(x);
      if (!m) this.edges.set(x, (m = new Map()));
      n = (m.get(y) ?? 0) + delta;
      if (n > 0) m.set(y, n);
      else {
        m.delete(y);
        if (m.size === 0) this.edges.delete(x);
      }
    }
    return n;
  }

  /** User agents repeat across a device's touches: each distinct one is parsed once. */
  private familyOf(ua: string): string {
    let f = this.families.get(ua);
    if (f === undefined) {
      f = userAgentFamily(ua);
      if (this.families.size < 50_000) this.families.set(ua, f);
    }
    return f;
  }
}

/** The link a pair of touches of two devices supports, seen from `s`. */
function pairOf(s: Sighting, o: Sighting, windowMs: number): FoundLink {
  return {
    other: o.node,
    evidence: byTime(o, s) < 0 ? [o.messageId, s.messageId] : [s.messageId, o.messageId],
    at: Math.max(s.timestamp, o.timestamp),
    confidence: 0.9 - (0.4 * Math.abs(s.timestamp - o.timestamp)) / windowMs,
  };
}

/**
 * Whether link `a` would be found before `b` by a feed in time order: by its later touch (time,
 * then messageId), then by its earlier touch (time, which the lower confidence shows, then messageId).
 */
export function earlier(a: FoundLink, b: FoundLink): boolean {
  if (a.at !== b.at) return a.at < b.at;
  const [a0, a1] = a.evidence;
  const [b0, b1] = b.evidence;
  if (a1 !== b1) return a1 < b1;
  if (a.confidence !== b.confidence) return a.confidence < b.confidence;
  return a0 < b0;
}

function byTime(a: Sighting, b: Sighting): number {
  return a.timestamp - b.timestamp || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0);
}

/** First index whose time is at least `at`. */
function lowerBound(list: Sighting[], at: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.timestamp < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
