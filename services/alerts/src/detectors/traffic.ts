import type { AlertMessage, ConversionMessage, TouchpointMessage } from '@touchline/contracts';
import { BucketSeries, DAY, HOUR, MINUTE } from '../series.js';
import { binomialUpperTail, poissonUpperTail } from '../stats.js';
import { findingId, num, pText, pct, subject } from './format.js';
import { hours } from './performance.js';

export interface TrafficOptions {
  burst: {
    windowMs: number;
    /** Clicks from one address (truncated IP and user agent) within the window that make a burst. */
    addressClicks: number;
    /** Clicks from one device (anonymousId or userId) within the window that make a burst. */
    deviceClicks: number;
    /** After a burst, further clicks from the same address or device are flagged for this long. */
    quarantineMs: number;
  };
  spike: {
    windowMs: number;
    minClicks: number;
    /** Observed clicks must be at least this many times the learned expectation. */
    minRatio: number;
    maxPValue: number;
    baselineMs: number;
    /** A key needs this much history for a learned baseline; without it only IP prefixes are judged, against the floor. */
    minHistoryMs: number;
    /** Clicks per hour assumed for an IP prefix never seen before. */
    floorPerHour: number;
  };
  bots: { alertMin: number };
  deadClicks: { followMs: number; windowMs: number; baselineMs: number; minClicks: number; minExcess: number; maxPValue: number };
  utm: { windowMs: number; minVariantTouches: number; incompleteShare: number; minTouches: number; maxPValue: number };
  /** Most keys kept per dimension; the least recently seen go first. */
  maxKeys: number;
}

export const DEFAULT_TRAFFIC_OPTIONS: TrafficOptions = {
  burst: { windowMs: MINUTE, addressClicks: 20, deviceClicks: 10, quarantineMs: HOUR },
  spike: { windowMs: 10 * MINUTE, minClicks: 30, minRatio: 3, maxPValue: 1e-6, baselineMs: 7 * DAY, minHistoryMs: 6 * HOUR, floorPerHour: 6 },
  bots: { alertMin: 5 },
  deadClicks: { followMs: 30 * MINUTE, windowMs: HOUR, baselineMs: 7 * DAY, minClicks: 50, minExcess: 0.3, maxPValue: 1e-4 },
  utm: { windowMs: DAY, minVariantTouches: 3, incompleteShare: 0.2, minTouches: 20, maxPValue: 0.01 },
  maxKeys: 100_000,
};

/** One touch that must stop earning credit, with the identity key its touchpoint record had. */
export interface FraudFlag {
  touchpointId: string;
  identity: string;
  reason: string;
}

export interface TrafficFindings {
  alerts: AlertMessage[];
  flags: FraudFlag[];
}

const MAX_FIRED = 100_000;

type Dimension = 'campaign' | 'source' | 'ip' | 'userAgent';
const DIMENSIONS: Dimension[] = ['campaign', 'source', 'ip', 'userAgent'];
const DIMENSION_NAME: Record<Dimension, string> = { campaign: 'campaign', source: 'source', ip: 'network prefix', userAgent: 'user agent' };

interface RecentClick {
  ts: number;
  id: string;
  identity: string;
  channel: string;
  campaign: string;
  flagged: boolean;
}

interface Burst {
  clicks: RecentClick[];
  quarantineUntil: number;
  alertedHour: number;
}

interface Pending {
  ts: number;
  campaignKey: string;
}

/**
 * Click traffic and its fraud signals, from the touchpoints topic (and conversions, as activity):
 *
 * - bursts: many clicks from one address (truncated IP + user agent) or one device within a minute;
 *   every click of the burst, and those after it while quarantined, is flagged;
 * - bots: touches whose user agent ingest recognised as a bot are flagged one by one;
 * - rate spikes: clicks per campaign, source, IP prefix and user agent in the last minutes against
 *   the key's learned rate (Poisson tail), alert only: a spike on a campaign or a /24 can be a
 *   newsletter going out, so no single touch is condemned by it;
 * - dead clicks: the share of a campaign's clicks never followed by any other activity of the same
 *   device within `followMs`, against the share over all campaigns (binomial tail);
 * - UTM hygiene: one utm_campaign in several spellings, or tagged links missing source or medium.
 *
 * Times are event times (`timestamp`); `now` is the wall clock of the evaluation.
 */
export class TrafficMonitor {
  private readonly rates = new Map<Dimension, Map<string, { series: BucketSeries; firstSeen: number; lastSeen: number }>>();
  /** Per dimension: keys clicked within the spike window, with where their last click went. */
  private readonly active = new Map<Dimension, Map<string, { lastSeen: number; channel: string; campaign: string }>>();
  private readonly addresses = new Map<string, Burst>();
  private readonly devices = new Map<string, Burst>();
  private readonly pending = new Map<string, Pending[]>();
  private readonly lastActivity = new Map<string, number>();
  /** Per campaign key: [judged clicks, dead clicks]; the pooled total under ''. */
  private readonly dead = new Map<string, BucketSeries>();
  private readonly bots = new Map<string, BucketSeries>();
  private readonly utmVariants = new Map<string, Map<string, BucketSeries>>();
  private readonly utmTagging = new BucketSeries(2);
  private readonly fired = new Set<string>();
  /** IP prefix → hour of its last burst alert. */
  private readonly burstRanges = new Map<string, number>();
  private prunedAt = -Infinity;

  constructor(private readonly o: TrafficOptions = DEFAULT_TRAFFIC_OPTIONS) {
    for (const d of DIMENSIONS) {
      this.rates.set(d, new Map());
      this.active.set(d, new Map());
    }
  }

  /** Takes one message; with `detect` false (state being rebuilt) it only learns. */
  observe(m: TouchpointMessage | ConversionMessage, now: number, detect = true): TrafficFindings {
    const found: TrafficFindings = { alerts: [], flags: [] };
    const identity = m.userId ?? m.anonymousId ?? m.messageId;
    const device = m.anonymousId ?? m.userId;
    if (m.kind === 'conversion') {
      if (device) this.activity(device, m.timestamp);
      return found;
    }
    const campaignKey = `${m.channel}\u0000${m.campaign}`;
    if (m.bot) {
      if (detect) found.flags.push({ touchpointId: m.messageId, identity, reason: `bot user agent: ${m.userAgent.slice(0, 120)}` });
      this.countBot(m, campaignKey, now, detect, found);
    }
    this.utm(m);
    if (m.interaction !== 'click' && m.interaction !== 'impression') {
      if (device) this.activity(device, m.timestamp);
      return found;
    }
    if (m.interaction === 'impression') return found;

    for (const d of DIMENSIONS) {
      const k = dimensionKey(d, m);
      if (!k) continue;
      this.countRate(d, k, m.timestamp);
      const active = this.active.get(d)!;
      const a = active.get(k);
      if (!a) active.set(k, { lastSeen: m.timestamp, channel: m.channel, campaign: m.campaign });
      else if (m.timestamp >= a.lastSeen) {
        a.lastSeen = m.timestamp;
        a.channel = m.channel;
        a.campaign = m.campaign;
      }
    }
    if (device) {
      const list = this.pending.get(device) ?? [];
      list.push({ ts: m.timestamp, campaignKey });
      this.pending.set(device, list);
    }
    if (m.bot) return found;
    const click: RecentClick = { ts: m.timestamp, id: m.messageId, identity, channel: m.channel, campaign: m.campaign, flagged: false };
    if (m.ip) this.burst(this.addresses, `${m.ip}\u0000${m.userAgent}`, click, 'address', this.o.burst.addressClicks, m, now, detect, found);
    if (device) this.burst(this.devices, device, click, 'device', this.o.burst.deviceClicks, m, now, detect, found);
    return found;
  }

  /** Evaluates the windowed detectors (rate spikes, dead clicks, UTM hygiene, bots) at `now`. */
  tick(now: number): TrafficFindings {
    const found: TrafficFindings = { alerts: [], flags: [] };
    this.judgeDeadClicks(now);
    this.detectSpikes(now, found);
    this.detectDeadClicks(now, found);
    this.detectUtm(now, found);
    // Pruning walks every key: once a minute is enough to keep memory bounded.
    if (now - this.prunedAt >= MINUTE) {
      this.prune(now);
      this.prunedAt = now;
    }
    return found;
  }

  /** Clicks of a campaign over [from, to): peers' exposure for the opportunity detector. */
  clicks(channel: string, campaign: string, from: number, to: number, now: number): number {
    return this.rates.get('campaign')!.get(`${channel}\u0000${campaign}`)?.series.sum(from, to, now)[0] ?? 0;
  }

  /** Ids of findings already reported (seeded from the alerts table at start). */
  markFired(ids: Iterable<string>): void {
    for (const id of ids) this.fired.add(id);
  }

  private once(id: string): boolean {
    if (this.fired.has(id)) return false;
    this.fired.add(id);
    return true;
  }

  private countRate(d: Dimension, k: string, ts: number): void {
    const map = this.rates.get(d)!;
    let r = map.get(k);
    if (!r) map.set(k, (r = { series: new BucketSeries(1, 2 * HOUR, this.o.spike.baselineMs + HOUR), firstSeen: ts, lastSeen: ts }));
    if (ts < r.firstSeen) r.firstSeen = ts;
    if (ts > r.lastSeen) r.lastSeen = ts;
    r.series.add(ts, ONE);
  }

  private activity(device: string, ts: number): void {
    this.lastActivity.set(device, Math.max(ts, this.lastActivity.get(device) ?? -Infinity));
  }

  private burst(
    map: Map<string, Burst>,
    k: string,
    click: RecentClick,
    kind: 'address' | 'device',
    threshold: number,
    m: TouchpointMessage,
    now: number,
    detect: boolean,
    found: TrafficFindings,
  ): void {
    let b = map.get(k);
    if (!b) map.set(k, (b = { clicks: [], quarantineUntil: 0, alertedHour: -1 }));
    const w = this.o.burst.windowMs;
    const last = b.clicks[b.clicks.length - 1];
    const latest = last && last.ts > click.ts ? last.ts : click.ts;
    // Clicks come nearly in order: drop from the front, and sweep fully only when one is out of order.
    while (b.clicks.length > 0 && b.clicks[0]!.ts < latest - w) b.clicks.shift();
    if (b.clicks.some((c) => c.ts < latest - w)) b.clicks = b.clicks.filter((c) => c.ts >= latest - w);
    if (click.ts >= latest - w) b.clicks.push(click);
    if (!detect) return;
    const reason = kind === 'address' ? `click burst from one address (${m.ip})` : 'click burst from one device';
    if (click.ts <= b.quarantineUntil) {
      if (!click.flagged) {
        click.flagged = true;
        found.flags.push({ touchpointId: click.id, identity: click.identity, reason: `${reason} (quarantined)` });
      }
      return;
    }
    // Every click kept lies within `w` of the latest one: the list is the window.
    const inWindow = b.clicks;
    if (inWindow.length < threshold) return;
    b.quarantineUntil = Math.max(...inWindow.map((c) => c.ts)) + this.o.burst.quarantineMs;
    const newly = inWindow.filter((c) => !c.flagged);
    for (const c of newly) {
      c.flagged = true;
      found.flags.push({ touchpointId: c.id, identity: c.identity, reason });
    }
    const hour = Math.floor(inWindow[0]!.ts / HOUR);
    const id = findingId(kind === 'address' ? 'burst' : 'device-burst', k, hour);
    if (b.alertedHour === hour || !this.once(id)) return;
    b.alertedHour = hour;
    if (m.ip) this.burstRanges.set(m.ip, Math.floor(now / HOUR));
    const top = mostCommon(inWindow.map((c) => `${c.channel}\u0000${c.campaign}`));
    const [channel, campaign] = top.split('\u0000') as [string, string];
    const ipRate = this.learnedRate('ip', m.ip, inWindow[0]!.ts);
    const expected = Math.max(ipRate ?? 0, this.o.spike.floorPerHour / HOUR) * w;
    const p = poissonUpperTail(inWindow.length, expected);
    const who = kind === 'address' ? `address ${m.ip} (${m.userAgent ? truncate(m.userAgent, 60) : 'no user agent'})` : `device ${truncate(k, 40)}`;
    found.alerts.push({
      v: 1,
      kind: 'alert',
      id,
      type: 'fraud_spike',
      signal: kind === 'address' ? 'click_burst' : 'device_burst',
      severity: 'critical',
      at: now,
      model: '',
      channel,
      campaign,
      summary:
        `${inWindow.length} clicks in ${num(w / 1000, 0)} s from ${who} on ${subject(channel, campaign)}: ` +
        `${newly.length} touches flagged, they stop earning credit (expected ${num(expected, 3)} clicks, ${pText(p)})`,
      evidence: {
        metric: `clicks from one ${kind} within ${num(w / 1000, 0)} s`,
        observed: inWindow.length,
        expected,
        change: expected > 0 ? inWindow.length / expected - 1 : Infinity,
        window: { from: inWindow[0]!.ts, to: Math.max(...inWindow.map((c) => c.ts)) },
        comparedWith: ipRate === undefined ? `a floor of ${this.o.spike.floorPerHour} clicks per hour for an unseen network prefix` : `the learned click rate of network prefix ${m.ip}`,
        test: 'Poisson upper tail of the click count',
        pValue: p,
        confidence: 1 - p,
        volume: { observed: inWindow.length, baseline: expected },
      },
      details: {
        [kind]: kind === 'address' ? m.ip : k,
        userAgent: m.userAgent.slice(0, 200),
        campaigns: [...new Set(inWindow.map((c) => c.campaign || '(none)'))],
        touchpointIds: newly.map((c) => c.id).slice(0, 100),
      },
      flaggedTouchpoints: newly.length,
    });
  }

  /** Clicks per ms of a key before `before`, or undefined without enough history. */
  private learnedRate(d: Dimension, k: string, before: number): number | undefined {
    const r = this.rates.get(d)!.get(k);
    if (!r) return undefined;
    const from = Math.max(r.firstSeen, before - this.o.spike.baselineMs);
    const span = before - from;
    if (span < this.o.spike.minHistoryMs) return undefined;
    return r.series.sum(from, before, before)[0]! / span;
  }

  private detectSpikes(now: number, found: TrafficFindings): void {
    const s = this.o.spike;
    const from = now - s.windowMs;
    for (const [dim, keys] of this.active) {
      for (const [key, last] of keys) {
        if (last.lastSeen < from) keys.delete(key);
        else this.spike(dim, key, last, from, now, found);
      }
    }
  }

  private spike(dim: Dimension, key: string, last: { channel: string; campaign: string }, from: number, now: number, found: TrafficFindings): void {
    const s = this.o.spike;
    const r = this.rates.get(dim)!.get(key);
    if (!r) return;
    const k = r.series.sum(from, now + MINUTE, now)[0]!;
    if (k < s.minClicks) return;
    const learned = this.learnedRate(dim, key, from);
    // Only an address range is suspicious from its first clicks on; a campaign, source or user
    // agent without history is new, not anomalous.
    if (learned === undefined && dim !== 'ip') return;
    // A burst already reported from this range tells the same story.
    if (dim === 'ip' && this.burstRanges.get(key) === Math.floor(now / HOUR)) return;
    const lambda = Math.max(learned ?? 0, s.floorPerHour / HOUR) * s.windowMs;
    if (k < s.minRatio * lambda) return;
    const p = poissonUpperTail(k, lambda);
    if (p >= s.maxPValue) return;
    const id = findingId('spike', dim, key, Math.floor(now / HOUR));
    if (!this.once(id)) return;
    const ratio = lambda > 0 ? k / lambda : Infinity;
    const [channel, campaign] = dim === 'campaign' ? (key.split('\u0000') as [string, string]) : [last.channel, last.campaign];
    const label = dim === 'campaign' ? subject(channel, campaign) : `${DIMENSION_NAME[dim]} ${truncate(key, 80)}`;
    found.alerts.push({
      v: 1,
      kind: 'alert',
      id,
      type: 'fraud_spike',
      signal: 'rate_spike',
      severity: ratio >= 10 ? 'critical' : 'warning',
      at: now,
      model: '',
      channel,
      campaign,
      summary: `${num(k, 0)} clicks from ${label} in the last ${num(s.windowMs / MINUTE, 0)} minutes, ${num(ratio, 1)}× the ${learned === undefined ? 'floor' : 'learned rate'} (${num(lambda, 2)} expected, ${pText(p)})`,
      evidence: {
        metric: `clicks per ${num(s.windowMs / MINUTE, 0)} minutes by ${DIMENSION_NAME[dim]}`,
        observed: k,
        expected: lambda,
        change: lambda > 0 ? k / lambda - 1 : Infinity,
        window: { from, to: now },
        comparedWith: learned === undefined ? `a floor of ${s.floorPerHour} clicks per hour for a ${DIMENSION_NAME[dim]} without history` : `the ${DIMENSION_NAME[dim]}'s own click rate over up to ${hours(s.baselineMs)} before`,
        baselineWindow: { from: from - s.baselineMs, to: from },
        test: 'Poisson upper tail of the click count',
        pValue: p,
        confidence: 1 - p,
        volume: { observed: k, baseline: lambda },
      },
      details: { dimension: dim, key: key.replace('\u0000', ' / ').slice(0, 200), ratio },
      flaggedTouchpoints: 0,
    });
  }

  private judgeDeadClicks(now: number): void {
    const cutoff = now - this.o.deadClicks.followMs;
    for (const [device, list] of this.pending) {
      const keep: Pending[] = [];
      const last = this.lastActivity.get(device) ?? -Infinity;
      for (const c of list) {
        if (c.ts > cutoff && last <= c.ts) {
          keep.push(c);
          continue;
        }
        const dead = last > c.ts ? 0 : 1;
        for (const k of [c.campaignKey, '']) {
          let s = this.dead.get(k);
          if (!s) this.dead.set(k, (s = new BucketSeries(2, 2 * HOUR, this.o.deadClicks.baselineMs + HOUR)));
          s.add(c.ts, [1, dead]);
        }
      }
      if (keep.length) this.pending.set(device, keep);
      else this.pending.delete(device);
    }
  }

  private detectDeadClicks(now: number, found: TrafficFindings): void {
    const o = this.o.deadClicks;
    // Clicks are judged `followMs` after they happen: the window ends there.
    const to = now - o.followMs;
    const from = to - o.windowMs;
    const pooled = this.dead.get('');
    if (!pooled) return;
    const base = pooled.sum(to - o.baselineMs, to, now);
    for (const [k, s] of this.dead) {
      if (k === '') continue;
      const [judged, dead] = s.sum(from, to, now);
      if (judged! < o.minClicks) continue;
      const baseJudged = base[0]! - judged!;
      const baseDead = base[1]! - dead!;
      if (baseJudged < o.minClicks) continue;
      const f0 = baseDead / baseJudged;
      const f = dead! / judged!;
      if (f - f0 < o.minExcess) continue;
      const p = binomialUpperTail(dead!, judged!, Math.min(0.999, Math.max(f0, 1e-3)));
      if (p >= o.maxPValue) continue;
      const id = findingId('dead-clicks', k, Math.floor(now / HOUR));
      if (!this.once(id)) continue;
      const [channel, campaign] = k.split('\u0000') as [string, string];
      found.alerts.push({
        v: 1,
        kind: 'alert',
        id,
        type: 'fraud_spike',
        signal: 'dead_clicks',
        severity: 'warning',
        at: now,
        model: '',
        channel,
        campaign,
        summary: `${pct(f, false)} of the ${num(judged!, 0)} clicks on ${subject(channel, campaign)} were never followed by any other activity within ${num(o.followMs / MINUTE, 0)} minutes, against ${pct(f0, false)} for all traffic (${pText(p)})`,
        evidence: {
          metric: `share of clicks without any other activity of the device within ${num(o.followMs / MINUTE, 0)} minutes`,
          observed: f,
          expected: f0,
          change: f0 > 0 ? f / f0 - 1 : Infinity,
          window: { from, to },
          comparedWith: `all other clicks over the ${hours(o.baselineMs)} before`,
          baselineWindow: { from: to - o.baselineMs, to },
          test: 'one-sided exact binomial test',
          pValue: p,
          confidence: 1 - p,
          volume: { observed: judged!, baseline: baseJudged },
        },
        details: { clicks: judged!, dead: dead! },
        flaggedTouchpoints: 0,
      });
    }
  }

  private countBot(m: TouchpointMessage, campaignKey: string, now: number, detect: boolean, found: TrafficFindings): void {
    let s = this.bots.get(campaignKey);
    if (!s) this.bots.set(campaignKey, (s = new BucketSeries(1, 2 * HOUR, 2 * HOUR)));
    s.add(m.timestamp, [1]);
    if (!detect) return;
    const hourStart = Math.floor(m.timestamp / HOUR) * HOUR;
    const n = s.sum(hourStart, hourStart + HOUR, Math.max(now, m.timestamp))[0]!;
    if (n < this.o.bots.alertMin) return;
    const id = findingId('bots', campaignKey, hourStart);
    if (!this.once(id)) return;
    found.alerts.push({
      v: 1,
      kind: 'alert',
      id,
      type: 'fraud_spike',
      signal: 'bot_traffic',
      severity: 'warning',
      at: now,
      model: '',
      channel: m.channel,
      campaign: m.campaign,
      summary: `${num(n, 0)} touches from bot user agents on ${subject(m.channel, m.campaign)} this hour (latest: ${truncate(m.userAgent, 60)}); each is flagged and earns no credit`,
      evidence: {
        metric: 'touches whose user agent is a known bot or crawler',
        observed: n,
        expected: 0,
        change: Infinity,
        window: { from: hourStart, to: hourStart + HOUR },
        comparedWith: 'none expected from real people',
        test: 'user agent matched against known bot, crawler and scripted-client patterns at ingest',
        pValue: 0,
        confidence: 1,
        volume: { observed: n, baseline: 0 },
      },
      details: { userAgent: m.userAgent.slice(0, 200) },
      flaggedTouchpoints: n,
    });
  }

  private utm(m: TouchpointMessage): void {
    const params = utmParams(m.url);
    if (!params) return;
    const campaign = params.get('utm_campaign');
    if (!campaign) return;
    const incomplete = !params.get('utm_source') || !params.get('utm_medium') ? 1 : 0;
    this.utmTagging.add(m.timestamp, [1, incomplete]);
    const norm = campaign.trim().toLowerCase().replace(/[\s_\-+.]+/g, '');
    let variants = this.utmVariants.get(norm);
    if (!variants) {
      this.utmVariants.set(norm, (variants = new Map()));
      if (this.utmVariants.size > this.o.maxKeys) this.utmVariants.delete(this.utmVariants.keys().next().value!);
    }
    let s = variants.get(campaign.trim());
    if (!s) variants.set(campaign.trim(), (s = new BucketSeries(1, 2 * HOUR, this.o.utm.windowMs + HOUR)));
    s.add(m.timestamp, [1]);
  }

  private detectUtm(now: number, found: TrafficFindings): void {
    const o = this.o.utm;
    const from = now - o.windowMs;
    const day = Math.floor(now / DAY);
    for (const [norm, variants] of this.utmVariants) {
      if (variants.size < 2) continue;
      const counts = [...variants].map(([raw, s]) => ({ raw, n: s.sum(from, now + MINUTE, now)[0]! })).filter((c) => c.n >= o.minVariantTouches);
      if (counts.length < 2) continue;
      const id = findingId('utm-variants', norm, day);
      if (!this.once(id)) continue;
      counts.sort((a, b) => b.n - a.n);
      const total = counts.reduce((s, c) => s + c.n, 0);
      found.alerts.push({
        v: 1,
        kind: 'alert',
        id,
        type: 'tracking_health',
        signal: 'utm_variants',
        severity: 'warning',
        at: now,
        model: '',
        channel: '',
        campaign: counts[0]!.raw,
        summary: `utm_campaign is spelled ${counts.length} ways in the last ${hours(o.windowMs)}: ${counts.map((c) => `"${truncate(c.raw, 40)}" (${num(c.n, 0)})`).join(', ')}; credit is split between them`,
        evidence: {
          metric: 'distinct spellings of one utm_campaign',
          observed: counts.length,
          expected: 1,
          change: counts.length - 1,
          window: { from, to: now },
          comparedWith: 'one spelling per campaign',
          test: 'values equal after ignoring case, spaces, dashes, dots and underscores',
          pValue: 0,
          confidence: 1,
          volume: { observed: total, baseline: 0 },
        },
        details: { variants: counts.map((c) => c.raw), touches: counts.map((c) => c.n) },
        flaggedTouchpoints: 0,
      });
    }
    const [tagged, incomplete] = this.utmTagging.sum(from, now + MINUTE, now);
    if (tagged! < o.minTouches) return;
    const share = incomplete! / tagged!;
    if (share <= o.incompleteShare) return;
    const p = binomialUpperTail(incomplete!, tagged!, o.incompleteShare);
    if (p >= o.maxPValue) return;
    const id = findingId('utm-incomplete', day);
    if (!this.once(id)) return;
    found.alerts.push({
      v: 1,
      kind: 'alert',
      id,
      type: 'tracking_health',
      signal: 'utm_incomplete',
      severity: 'warning',
      at: now,
      model: '',
      channel: '',
      campaign: '',
      summary: `${pct(share, false)} of the ${num(tagged!, 0)} links tagged with utm_campaign in the last ${hours(o.windowMs)} lack utm_source or utm_medium, so their channel is guessed (${pText(p)})`,
      evidence: {
        metric: 'share of utm_campaign-tagged touches without utm_source or utm_medium',
        observed: share,
        expected: o.incompleteShare,
        change: share / o.incompleteShare - 1,
        window: { from, to: now },
        comparedWith: `a ceiling of ${pct(o.incompleteShare, false)}`,
        test: 'one-sided exact binomial test against the ceiling',
        pValue: p,
        confidence: 1 - p,
        volume: { observed: tagged!, baseline: 0 },
      },
      details: { tagged: tagged!, incomplete: incomplete! },
      flaggedTouchpoints: 0,
    });
  }

  private prune(now: number): void {
    for (const map of this.rates.values()) {
      for (const [k, r] of map) if (r.series.prune(now)) map.delete(k);
      capKeys(map, this.o.maxKeys, (r) => r.lastSeen);
    }
    const w = this.o.burst.windowMs;
    for (const map of [this.addresses, this.devices]) {
      for (const [k, b] of map) {
        const last = b.clicks[b.clicks.length - 1]?.ts ?? -Infinity;
        if (last < now - w - HOUR && b.quarantineUntil < now) map.delete(k);
      }
      capKeys(map, this.o.maxKeys, (b) => Math.max(b.quarantineUntil, b.clicks[b.clicks.length - 1]?.ts ?? -Infinity));
    }
    const activityFloor = now - this.o.deadClicks.followMs - HOUR;
    for (const [d, t] of this.lastActivity) if (t < activityFloor && !this.pending.has(d)) this.lastActivity.delete(d);
    for (const [k, s] of this.dead) if (s.prune(now)) this.dead.delete(k);
    for (const [k, s] of this.bots) if (s.prune(now)) this.bots.delete(k);
    for (const [norm, variants] of this.utmVariants) {
      for (const [raw, s] of variants) if (s.prune(now)) variants.delete(raw);
      if (variants.size === 0) this.utmVariants.delete(norm);
    }
    this.utmTagging.prune(now);
    for (const [ip, h] of this.burstRanges) if (h < Math.floor(now / HOUR)) this.burstRanges.delete(ip);
    // Ids carry their hour or day: only the newest can come up again.
    for (const id of this.fired) {
      if (this.fired.size <= MAX_FIRED) break;
      this.fired.delete(id);
    }
  }
}

function dimensionKey(d: Dimension, m: TouchpointMessage): string {
  switch (d) {
    case 'campaign':
      return `${m.channel}\u0000${m.campaign}`;
    case 'source':
      return m.source;
    case 'ip':
      return m.ip;
    case 'userAgent':
      return m.userAgent;
  }
}

function utmParams(url: string): URLSearchParams | undefined {
  const q = url.indexOf('?');
  if (q < 0 || !url.includes('utm_')) return undefined;
  const end = url.indexOf('#', q);
  return new URLSearchParams(url.slice(q + 1, end < 0 ? undefined : end));
}

const ONE = [1];

/** Keeps the `max` most recently seen keys (checked on each prune, not on every click). */
function capKeys<V>(map: Map<string, V>, max: number, seen: (v: V) => number): void {
  if (map.size <= max) return;
  const cut = [...map].sort((a, b) => seen(a[1]) - seen(b[1])).slice(0, map.size - max);
  for (const [k] of cut) map.delete(k);
}

function mostCommon(xs: string[]): string {
  const counts = new Map<string, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  let best = xs[0] ?? '';
  let n = 0;
  for (const [x, c] of counts) if (c > n) [best, n] = [x, c];
  return best;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
