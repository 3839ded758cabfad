/**
 * Probabilistic device links: two anonymous devices whose consented touches come from the same
 * truncated network (IPv4 /24, IPv6 /48, as stored) with the same user-agent family within a few
 * minutes of event time are probably one person.
 *
 * The links found are a function of the set of touches, not of their order: every sighting is
 * kept (per network and family, sorted by time), so a late touch finds its partners as an early
 * one would. Whether a link joins journeys is decided by the stitcher from the whole graph (see
 * `StitcherState`), never here.
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

interface Sighting {
  node: string;
  at: number;
  messageId: string;
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
  /** `network|family` → sightings sorted by time. */
  private readonly sightings = new Map<string, Sighting[]>();
  /** Device node → devices it is probably linked with. */
  private readonly edges = new Map<string, Set<string>>();
  private readonly families = new Map<string, string>();

  constructor(private readonly opts: ProbabilisticLinking) {}

  /**
   * The links a touch of an anonymous device would create (to devices not linked with it yet),
   * without recording anything. Touches without a network or a known user-agent family link nothing.
   */
  match(node: string, ip: string, userAgent: string, at: number, messageId: string): FoundLink[] {
    const list = this.bucket(ip, userAgent, false);
    if (!list) return [];
    const found: FoundLink[] = [];
    const w = this.opts.windowMs;
    const linked = this.edges.get(node);
    const others = new Set<string>();
    for (let i = lowerBound(list, at - w); i < list.length && list[i]!.at <= at + w; i++) {
      const s = list[i]!;
      if (s.node === node || linked?.has(s.node) || others.has(s.node)) continue;
      others.add(s.node);
      const gap = Math.abs(at - s.at);
      const earlierFirst = s.at < at || (s.at === at && s.messageId < messageId);
      found.push({
        other: s.node,
        evidence: earlierFirst ? [s.messageId, messageId] : [messageId, s.messageId],
        at: Math.max(at, s.at),
        confidence: 0.9 - (0.4 * gap) / w,
      });
    }
    return found;
  }

  /** Records the touch `match` was asked about, and the links it found. */
  record(node: string, ip: string, userAgent: string, at: number, messageId: string, found: FoundLink[]): void {
    const list = this.bucket(ip, userAgent, true);
    if (!list) return;
    list.splice(lowerBound(list, at), 0, { node, at, messageId });
    for (const f of found) this.link(node, f.other);
  }

  neighbours(node: string): ReadonlySet<string> | undefined {
    return this.edges.get(node);
  }

  /** Drops every sighting and link of these devices (a privacy delete). */
  forget(nodes: Iterable<string>): void {
    const gone = new Set(nodes);
    for (const n of gone) {
      for (const other of this.edges.get(n) ?? []) this.edges.get(other)?.delete(n);
      this.edges.delete(n);
    }
    for (const [key, list] of this.sightings) {
      const kept = list.filter((s) => !gone.has(s.node));
      if (kept.length === 0) this.sightings.delete(key);
      else if (kept.length !== list.length) this.sightings.set(key, kept);
    }
  }

  private link(a: string, b: string): void {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      let set = this.edges.get(x);
      if (!set) this.edges.set(x, (set = new Set()));
      set.add(y);
    }
  }

  private bucket(ip: string, userAgent: string, create: boolean): Sighting[] | undefined {
    const family = this.familyOf(userAgent);
    if (ip === '' || family === '') return undefined;
    const key = `${ip}|${family}`;
    let list = this.sightings.get(key);
    if (!list && create) this.sightings.set(key, (list = []));
    return list;
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

/** First index whose time is at least `at`. */
function lowerBound(list: Sighting[], at: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.at < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
