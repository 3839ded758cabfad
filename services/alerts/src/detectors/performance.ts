import type { AlertMessage } from '@touchline/contracts';
import { ALL, type MetricsStore } from '../metrics.js';
import { DAY } from '../series.js';
import { binomialUpperTail, compareRates, wilson } from '../stats.js';
import { findingId, money, num, pText, pct, subject } from './format.js';

export interface RoiDropOptions {
  /** The trailing window compared with its baseline. */
  trailingMs: number;
  /** The baseline: this long, just before the trailing window. */
  baselineMs: number;
  /** Below these volumes a change is noise whatever its size. */
  minBaselineConversions: number;
  minExpectedConversions: number;
  maxPValue: number;
  /** Smallest relative fall in revenue per euro worth an alert. */
  minDrop: number;
}

export interface OpportunityOptions {
  windowMs: number;
  minConversions: number;
  /** How much better than its peers (revenue per euro, or conversions per click) a campaign must be. */
  minLift: number;
  minPeers: number;
  maxPValue: number;
}

export interface DirectShareOptions {
  windowMs: number;
  /** Alert when the share of conversions with only direct/unknown touches is above this. */
  threshold: number;
  minConversions: number;
  maxPValue: number;
}

/** Clicks per campaign in a window, from the traffic monitor (for peers without spend). */
export type ClickCounter = (channel: string, campaign: string, from: number, to: number) => number;

/**
 * ROI drop: per channel and per campaign, attributed revenue per euro spent in the trailing window
 * against the baseline before it. Fires only with enough conversions on both sides, a fall of at
 * least `minDrop` and a one-sided p-value below `maxPValue`, so a halving on steady spend fires and
 * a swing on a handful of conversions does not. Subjects without spend in both windows are skipped:
 * without spend there is no ROI.
 */
export function detectRoiDrops(store: MetricsStore, model: string, now: number, o: RoiDropOptions): AlertMessage[] {
  const out: AlertMessage[] = [];
  const currency = store.currency();
  const tFrom = now - o.trailingMs;
  const bFrom = tFrom - o.baselineMs;
  for (const { channel, campaign } of store.subjects(model)) {
    const cur = store.totals(model, channel, campaign, tFrom, now, now);
    const base = store.totals(model, channel, campaign, bFrom, tFrom, now);
    if (cur.spend <= 0 || base.spend <= 0) continue;
    if (base.conversions < o.minBaselineConversions) continue;
    const expectedConversions = (base.conversions / base.spend) * cur.spend;
    if (expectedConversions < o.minExpectedConversions) continue;
    const test = compareRates(
      { sum: cur.revenue, sumSq: cur.revenueSq, exposure: cur.spend },
      { sum: base.revenue, sumSq: base.revenueSq, exposure: base.spend },
      'lower',
    );
    if (!test || test.change > -o.minDrop || test.pValue >= o.maxPValue) continue;
    const camp = campaign === ALL ? '' : campaign;
    const roiBefore = test.expectedRate - 1;
    const roiAfter = test.observedRate - 1;
    out.push({
      v: 1,
      kind: 'alert',
      id: findingId('roi_drop', model, channel, campaign, Math.floor(now / DAY)),
      type: 'roi_drop',
      signal: 'roi_drop',
      severity: test.change <= -0.5 ? 'critical' : 'warning',
      at: now,
      model,
      channel,
      campaign: camp,
      summary:
        `ROI of ${subject(channel, camp)} fell from ${num(roiBefore)} to ${num(roiAfter)}: ` +
        `${money(test.observedRate, currency)} of attributed revenue per ${currency} spent in the last ${hours(o.trailingMs)}, ` +
        `against ${money(test.expectedRate, currency)} in the ${hours(o.baselineMs)} before (${pct(test.change)}, ${pText(test.pValue)}, ` +
        `${num(cur.conversions, 1)} conversions on ${money(cur.spend, currency)} of spend)`,
      evidence: {
        metric: `attributed revenue per ${currency} spent (${model})`,
        observed: test.observedRate,
        expected: test.expectedRate,
        change: test.change,
        window: { from: tFrom, to: now },
        comparedWith: `the same ${campaign === ALL ? 'channel' : 'campaign'} over the ${hours(o.baselineMs)} before`,
        baselineWindow: { from: bFrom, to: tFrom },
        test: 'one-sided two-sample test of compound-Poisson revenue rates per unit of spend (pooled variance, normal approximation)',
        pValue: test.pValue,
        confidence: 1 - test.pValue,
        volume: { observed: cur.conversions, baseline: base.conversions },
      },
      details: {
        roiBefore,
        roiAfter,
        revenue: cur.revenue,
        spend: cur.spend,
        baselineRevenue: base.revenue,
        baselineSpend: base.spend,
        expectedConversions,
        z: test.z,
        currency,
      },
      flaggedTouchpoints: 0,
    });
  }
  return out;
}

/**
 * Opportunity: a campaign earning clearly more per euro than its peers (the other campaigns with
 * spend, pooled), or, where no campaign has spend, converting clearly more per click. One alert per
 * campaign and week.
 */
export function detectOpportunities(store: MetricsStore, model: string, now: number, o: OpportunityOptions, clicks?: ClickCounter): AlertMessage[] {
  const from = now - o.windowMs;
  const currency = store.currency();
  const campaigns = store
    .subjects(model)
    .filter((s) => s.campaign !== ALL && s.campaign !== '')
    .map((s) => ({ ...s, t: store.totals(model, s.channel, s.campaign, from, now, now) }));
  const withSpend = campaigns.filter((c) => c.t.spend > 0);
  const bySpend = withSpend.length > o.minPeers;
  const pool = bySpend
    ? withSpend.map((c) => ({ ...c, exposure: c.t.spend, sum: c.t.revenue, sumSq: c.t.revenueSq }))
    : clicks
      ? campaigns
          .map((c) => ({ ...c, exposure: clicks(c.channel, c.campaign, from, now), sum: c.t.conversions, sumSq: c.t.conversions }))
          .filter((c) => c.exposure > 0)
      : [];
  if (pool.length <= o.minPeers) return [];
  const totals = pool.reduce((s, c) => ({ e: s.e + c.exposure, s: s.s + c.sum, q: s.q + c.sumSq }), { e: 0, s: 0, q: 0 });
  const out: AlertMessage[] = [];
  for (const c of pool) {
    if (c.t.conversions < o.minConversions) continue;
    const peers = { sum: totals.s - c.sum, sumSq: totals.q - c.sumSq, exposure: totals.e - c.exposure };
    const test = compareRates({ sum: c.sum, sumSq: c.sumSq, exposure: c.exposure }, peers, 'higher');
    if (!test || test.change < o.minLift || test.pValue >= o.maxPValue) continue;
    const metric = bySpend ? `attributed revenue per ${currency} spent (${model})` : `attributed conversions per click (${model})`;
    const rate = (x: number) => (bySpend ? money(x, currency) : num(x, 4));
    out.push({
      v: 1,
      kind: 'alert',
      id: findingId('opportunity', model, c.channel, c.campaign, Math.floor(now / (7 * DAY))),
      type: 'opportunity',
      signal: 'opportunity',
      severity: 'info',
      at: now,
      model,
      channel: c.channel,
      campaign: c.campaign,
      summary:
        `${subject(c.channel, c.campaign)} converts ${pct(test.change)} better than its ${pool.length - 1} peers: ` +
        `${rate(test.observedRate)} against ${rate(test.expectedRate)} ${bySpend ? `per ${currency}` : 'per click'} over the last ${hours(o.windowMs)} (${pText(test.pValue)})`,
      evidence: {
        metric,
        observed: test.observedRate,
        expected: test.expectedRate,
        change: test.change,
        window: { from, to: now },
        comparedWith: `the other ${pool.length - 1} campaigns ${bySpend ? 'with spend' : 'with clicks'} over the same window, pooled`,
        test: 'one-sided two-sample test of compound-Poisson rates (pooled variance, normal approximation)',
        pValue: test.pValue,
        confidence: 1 - test.pValue,
        volume: { observed: c.t.conversions, baseline: peers.sum },
      },
      details: { revenue: c.t.revenue, spend: c.t.spend, conversions: c.t.conversions, peers: pool.length - 1, z: test.z, currency },
      flaggedTouchpoints: 0,
    });
  }
  return out;
}

/**
 * Tracking health: more than `threshold` of the conversions in the window have only direct or
 * unknown touches (a tag missing on a landing page, a lost UTM, a broken redirect). Tested against
 * the threshold with a one-sided binomial test so a handful of conversions does not fire.
 */
export function detectDirectShare(store: MetricsStore, model: string, now: number, o: DirectShareOptions): AlertMessage[] {
  const from = now - o.windowMs;
  const { conversions: n, directOnly: k } = store.trackingTotals(model, from, now, now);
  if (n < o.minConversions) return [];
  const share = k / n;
  if (share <= o.threshold) return [];
  const p = binomialUpperTail(k, n, o.threshold);
  if (p >= o.maxPValue) return [];
  const ci = wilson(k, n);
  return [
    {
      v: 1,
      kind: 'alert',
      id: findingId('tracking-direct', model, Math.floor(now / DAY)),
      type: 'tracking_health',
      signal: 'direct_share',
      severity: share > 2 * o.threshold ? 'critical' : 'warning',
      at: now,
      model,
      channel: 'direct',
      campaign: '',
      summary:
        `${pct(share, false)} of the ${n} conversions of the last ${hours(o.windowMs)} have only direct or unknown touches ` +
        `(95% interval ${pct(ci.low, false)}–${pct(ci.high, false)}; healthy tracking stays under ${pct(o.threshold, false)}): check tags, UTM links and redirects`,
      evidence: {
        metric: 'share of conversions with only direct/unknown touches',
        observed: share,
        expected: o.threshold,
        change: share / o.threshold - 1,
        window: { from, to: now },
        comparedWith: `the ${pct(o.threshold, false)} ceiling of healthy tracking`,
        test: 'one-sided exact binomial test against the ceiling',
        pValue: p,
        confidence: 1 - p,
        volume: { observed: n, baseline: 0 },
      },
      details: { conversions: n, directOnly: k, low: ci.low, high: ci.high },
      flaggedTouchpoints: 0,
    },
  ];
}

export function hours(ms: number): string {
  if (ms % DAY === 0) return ms === DAY ? '24 hours' : `${ms / DAY} days`;
  const h = ms / 3_600_000;
  return h === 1 ? 'hour' : `${num(h, 1)} hours`;
}
