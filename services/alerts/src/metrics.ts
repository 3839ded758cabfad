import type { CostMessage, CreditMessage } from '@touchline/contracts';
import { BucketSeries, DAY, HOUR, dayOf, spreadDaily } from './series.js';

/** Sliding windows of the live metrics, by name. */
export const WINDOWS = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY } as const;
export type WindowName = keyof typeof WINDOWS;

/** The campaign of a channel-level subject (all its campaigns); no real campaign can be it. */
export const ALL = '\u0001all';

/** Channels that stand for "no known marketing touch". */
export const UNKNOWN_CHANNELS = new Set(['direct', 'unknown', '(none)', 'none', '']);

export interface MetricRow {
  channel: string;
  campaign: string;
  conversions: number;
  revenue: number;
  spend: number;
  /** (revenue − spend) / spend; null without spend. */
  roi: number | null;
  /** revenue / spend; null without spend. */
  roas: number | null;
  /** spend / conversions; null without spend or conversions. */
  cpa: number | null;
}

export interface WindowTotals {
  conversions: number;
  revenue: number;
  /** Σ v² over the conversions' credited values (v = the value one conversion gave this subject). */
  revenueSq: number;
  spend: number;
}

interface Credited {
  version: number;
  ts: number;
  /** Per channel and campaign, and per channel (campaign ALL): credited weight and value. */
  parts: Map<string, { weight: number; value: number }>;
  directOnly: boolean;
}

const CONV = 0;
const REV = 1;
const REV_SQ = 2;

/**
 * Attributed conversions and revenue per model, channel and campaign over time (by conversion
 * time), and spend per channel and campaign per day, for sliding-window metrics and the detectors.
 * A credit replaces the earlier credit of its conversion and model (an older version is ignored);
 * a cost is counted once per messageId. Spend of a day is spread evenly over its 24 hours.
 */
export class MetricsStore {
  private readonly credits = new Map<string, Credited>();
  /** model → `channel\0campaign` → [conversions, revenue, revenue²]. */
  private readonly series = new Map<string, Map<string, BucketSeries>>();
  /** model → [conversions, conversions with only direct/unknown touches]. */
  private readonly tracking = new Map<string, BucketSeries>();
  /** messageId → day of the cost, to count each cost once and forget it with its day. */
  private readonly costIds = new Map<string, number>();
  /** Per channel and campaign, and per channel (campaign ALL): day → amount. */
  private readonly spend = new Map<string, Map<number, number>>();
  private currencyCounts = new Map<string, number>();

  constructor(private readonly retentionMs = 35 * DAY) {}

  /** Applies one credit; returns false when it is older than what the store holds. */
  applyCredit(c: CreditMessage): boolean {
    const parts = new Map<string, { weight: number; value: number }>();
    let direct = true;
    for (const s of c.shares) {
      for (const k of [key(s.channel, s.campaign), key(s.channel, ALL)]) {
        const p = parts.get(k) ?? { weight: 0, value: 0 };
        p.weight += s.weight;
        p.value += s.value;
        parts.set(k, p);
      }
      if (!UNKNOWN_CHANNELS.has(s.channel)) direct = false;
    }
    this.currencyCounts.set(c.currency, (this.currencyCounts.get(c.currency) ?? 0) + 1);
    return this.setCredit(c.conversionId, c.model, c.version, c.conversionTimestamp, parts, direct);
  }

  /** Seeds one conversion's credit (from the warehouse); parts keyed by channel and campaign. */
  seedCredit(conversionId: string, model: string, version: number, ts: number, byCampaign: Array<{ channel: string; campaign: string; weight: number; value: number }>): boolean {
    const parts = new Map<string, { weight: number; value: number }>();
    let direct = true;
    for (const s of byCampaign) {
      for (const k of [key(s.channel, s.campaign), key(s.channel, ALL)]) {
        const p = parts.get(k) ?? { weight: 0, value: 0 };
        p.weight += s.weight;
        p.value += s.value;
        parts.set(k, p);
      }
      if (!UNKNOWN_CHANNELS.has(s.channel)) direct = false;
    }
    return this.setCredit(conversionId, model, version, ts, parts, direct);
  }

  private setCredit(conversionId: string, model: string, version: number, ts: number, parts: Credited['parts'], directOnly: boolean): boolean {
    const id = `${conversionId}\u0000${model}`;
    const prev = this.credits.get(id);
    if (prev && prev.version > version) return false;
    if (prev) this.addParts(model, prev, -1);
    const next: Credited = { version, ts, parts, directOnly };
    this.addParts(model, next, 1);
    this.credits.set(id, next);
    return true;
  }

  private addParts(model: string, c: Credited, sign: 1 | -1): void {
    let byKey = this.series.get(model);
    if (!byKey) this.series.set(model, (byKey = new Map()));
    for (const [k, p] of c.parts) {
      let s = byKey.get(k);
      if (!s) byKey.set(k, (s = new BucketSeries(3, undefined, this.retentionMs)));
      s.add(c.ts, [sign * p.weight, sign * p.value, sign * p.value * p.value]);
    }
    let t = this.tracking.get(model);
    if (!t) this.tracking.set(model, (t = new BucketSeries(2, undefined, this.retentionMs)));
    t.add(c.ts, [sign, c.directOnly ? sign : 0]);
  }

  /** Counts a cost once per messageId; returns false for a repeat. */
  applyCost(m: CostMessage): boolean {
    if (this.costIds.has(m.messageId)) return false;
    const d = dayOf(m.date);
    if (!Number.isFinite(d)) return false;
    this.costIds.set(m.messageId, d);
    for (const k of [key(m.channel, m.campaign), key(m.channel, ALL)]) {
      let days = this.spend.get(k);
      if (!days) this.spend.set(k, (days = new Map()));
      days.set(d, (days.get(d) ?? 0) + m.amount);
    }
    this.currencyCounts.set(m.currency, (this.currencyCounts.get(m.currency) ?? 0) + 1);
    return true;
  }

  models(): string[] {
    return [...this.series.keys()].sort();
  }

  /** The currency most messages were in (values are summed as they come: one currency is assumed). */
  currency(): string {
    let best = 'EUR';
    let n = 0;
    for (const [c, k] of this.currencyCounts) if (k > n) [best, n] = [c, k];
    return best;
  }

  /** Channel-level (campaign = ALL) and campaign-level subjects with credit or spend. */
  subjects(model: string): Array<{ channel: string; campaign: string }> {
    const keys = new Set<string>([...(this.series.get(model)?.keys() ?? []), ...this.spend.keys()]);
    return [...keys].map(unkey).sort((a, b) => a.channel.localeCompare(b.channel) || a.campaign.localeCompare(b.campaign));
  }

  /** Totals of one subject (campaign ALL = the whole channel) over [from, to). */
  totals(model: string, channel: string, campaign: string, from: number, to: number, now: number): WindowTotals {
    const s = this.series.get(model)?.get(key(channel, campaign));
    const v = s ? s.sum(from, to, now) : new Float64Array(3);
    const days = this.spend.get(key(channel, campaign));
    return { conversions: v[CONV]!, revenue: v[REV]!, revenueSq: v[REV_SQ]!, spend: days ? spreadDaily(days, from, to) : 0 };
  }

  /** Conversions and those credited only to direct/unknown touches, over [from, to). */
  trackingTotals(model: string, from: number, to: number, now: number): { conversions: number; directOnly: number } {
    const v = this.tracking.get(model)?.sum(from, to, now) ?? new Float64Array(2);
    return { conversions: Math.round(v[0]!), directOnly: Math.round(v[1]!) };
  }

  /** Per UTC day in [fromDay, toDay): attributed conversions and revenue, and spend, of a subject. */
  daily(model: string, channel: string, campaign: string, fromDay: number, toDay: number): Array<{ day: number; conversions: number; revenue: number; spend: number }> {
    const s = this.series.get(model)?.get(key(channel, campaign));
    const rows = s ? s.daily(fromDay, toDay) : [];
    const days = this.spend.get(key(channel, campaign));
    return Array.from({ length: Math.max(0, toDay - fromDay) }, (_, i) => ({
      day: fromDay + i,
      conversions: rows[i]?.[CONV] ?? 0,
      revenue: rows[i]?.[REV] ?? 0,
      spend: days?.get(fromDay + i) ?? 0,
    }));
  }

  /** The live metrics of one model over the window ending at `now`: per channel and per campaign. */
  snapshot(model: string, windowMs: number, now: number): { channels: MetricRow[]; campaigns: MetricRow[]; total: MetricRow } {
    const channels: MetricRow[] = [];
    const campaigns: MetricRow[] = [];
    const from = now - windowMs;
    for (const { channel, campaign } of this.subjects(model)) {
      const t = this.totals(model, channel, campaign, from, now, now);
      if (Math.abs(t.conversions) < 1e-9 && Math.abs(t.revenue) < 1e-9 && t.spend < 1e-9) continue;
      if (campaign === ALL) channels.push(row(channel, '', t.conversions, t.revenue, t.spend));
      else campaigns.push(row(channel, campaign, t.conversions, t.revenue, t.spend));
    }
    const byRevenue = (a: MetricRow, b: MetricRow) => b.revenue - a.revenue || a.channel.localeCompare(b.channel) || a.campaign.localeCompare(b.campaign);
    channels.sort(byRevenue);
    campaigns.sort(byRevenue);
    const sum = channels.reduce((s, r) => ({ c: s.c + r.conversions, r: s.r + r.revenue, s: s.s + r.spend }), { c: 0, r: 0, s: 0 });
    return { channels, campaigns, total: row('', '', sum.c, sum.r, sum.s) };
  }

  /** Forgets conversions and spend older than the retention. */
  prune(now: number): void {
    const floor = now - this.retentionMs;
    for (const [id, c] of this.credits) if (c.ts < floor) this.credits.delete(id);
    for (const byKey of this.series.values()) for (const [k, s] of byKey) if (s.prune(now)) byKey.delete(k);
    for (const t of this.tracking.values()) t.prune(now);
    const floorDay = Math.floor(floor / DAY);
    for (const [id, d] of this.costIds) if (d < floorDay) this.costIds.delete(id);
    for (const [k, days] of this.spend) {
      for (const d of days.keys()) if (d < floorDay) days.delete(d);
      if (days.size === 0) this.spend.delete(k);
    }
  }

  get size(): { conversions: number; costs: number } {
    return { conversions: this.credits.size, costs: this.costIds.size };
  }
}

export function row(channel: string, campaign: string, conversions: number, revenue: number, spend: number): MetricRow {
  const hasSpend = spend > 1e-9;
  return {
    channel,
    campaign,
    conversions: round(conversions),
    revenue: round(revenue),
    spend: round(spend),
    roi: hasSpend ? round((revenue - spend) / spend) : null,
    roas: hasSpend ? round(revenue / spend) : null,
    cpa: hasSpend && conversions > 1e-9 ? round(spend / conversions) : null,
  };
}

export function key(channel: string, campaign: string): string {
  return `${channel}\u0000${campaign}`;
}

function unkey(k: string): { channel: string; campaign: string } {
  const i = k.indexOf('\u0000');
  return { channel: k.slice(0, i), campaign: k.slice(i + 1) };
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
