import type { BidSignalMessage, ConversionValueMessage, CreditMessage } from '@touchline/contracts';
import { findingId, money, num, pct } from './detectors/format.js';
import { ALL, type MetricsStore } from './metrics.js';
import { DAY } from './series.js';

export interface BidOptions {
  windowMs: number;
  /** Campaigns with fewer attributed conversions in the window get no signal. */
  minConversions: number;
  /** Conversions' worth of portfolio ROAS a campaign's own ROAS is blended with (credibility n / (n + k)). */
  credibilityK: number;
  /** Largest bid change in one signal, either way. */
  maxAdjustment: number;
  /** A campaign's signal is sent again when its adjustment moves by this much ... */
  minChange: number;
  /** ... or when this long has passed since the last one. */
  resendMs: number;
}

export const DEFAULT_BID_OPTIONS: BidOptions = {
  windowMs: 7 * DAY,
  minConversions: 10,
  credibilityK: 20,
  maxAdjustment: 0.3,
  minChange: 0.02,
  resendMs: DAY,
};

/**
 * Bid signals per campaign. A campaign's ROAS over the window is blended with the portfolio's
 * (credibility weighting: a campaign with n conversions counts n / (n + k)), and its bid moves by
 * the ratio of the two, capped at ±`maxAdjustment`: money flows to where a euro returns more. The
 * suggested target ROAS is the blended ROAS divided by (1 + adjustment) — the portfolio ROAS when
 * the cap does not bind, i.e. the target that equalises returns across campaigns.
 */
export class BidSignaller {
  private readonly last = new Map<string, { adjustment: number; at: number }>();

  constructor(private readonly o: BidOptions = DEFAULT_BID_OPTIONS) {}

  signals(store: MetricsStore, model: string, now: number): BidSignalMessage[] {
    const from = now - this.o.windowMs;
    const currency = store.currency();
    const campaigns = store
      .subjects(model)
      .filter((s) => s.campaign !== ALL && s.campaign !== '')
      .map((s) => ({ ...s, t: store.totals(model, s.channel, s.campaign, from, now, now) }))
      .filter((c) => c.t.spend > 0);
    const spend = campaigns.reduce((s, c) => s + c.t.spend, 0);
    const revenue = campaigns.reduce((s, c) => s + c.t.revenue, 0);
    if (spend <= 0 || revenue <= 0) return [];
    const portfolioRoas = revenue / spend;
    const models = store.models();
    const out: BidSignalMessage[] = [];
    for (const c of campaigns) {
      if (c.t.conversions < this.o.minConversions) continue;
      const roas = c.t.revenue / c.t.spend;
      const credibility = c.t.conversions / (c.t.conversions + this.o.credibilityK);
      const blended = credibility * roas + (1 - credibility) * portfolioRoas;
      const raw = blended / portfolioRoas - 1;
      const bidAdjustment = Math.round(Math.max(-this.o.maxAdjustment, Math.min(this.o.maxAdjustment, raw)) * 100) / 100;
      const k = `${model}\u0000${c.channel}\u0000${c.campaign}`;
      const prev = this.last.get(k);
      if (prev && Math.abs(prev.adjustment - bidAdjustment) < this.o.minChange && now - prev.at < this.o.resendMs) continue;
      this.last.set(k, { adjustment: bidAdjustment, at: now });
      const action = bidAdjustment >= 0.01 ? 'raise_bid' : bidAdjustment <= -0.01 ? 'lower_bid' : 'hold';
      const suggested = blended / (1 + bidAdjustment);
      out.push({
        v: 1,
        kind: 'bid_signal',
        id: findingId('bid', model, c.channel, c.campaign, now),
        at: now,
        model,
        channel: c.channel,
        campaign: c.campaign,
        currency,
        window: { from, to: now },
        spend: c.t.spend,
        revenue: c.t.revenue,
        conversions: c.t.conversions,
        roas,
        portfolioRoas,
        action,
        bidAdjustment,
        targetRoas: { current: roas, suggested },
        credibility,
        conversionValues: models.map((m) => {
          const t = store.totals(m, c.channel, c.campaign, from, now, now);
          return { model: m, conversions: t.conversions, value: t.revenue };
        }),
        summary:
          `${action === 'hold' ? 'hold bids' : `${action === 'raise_bid' ? 'raise' : 'lower'} bids ${pct(bidAdjustment)}`} on ${c.campaign} (${c.channel}): ` +
          `ROAS ${num(roas)} on ${money(c.t.spend, currency)} against ${num(portfolioRoas)} for the portfolio; target ROAS ${num(suggested)}`,
      });
    }
    return out;
  }
}

/** One credit as the fractional conversion value ad platforms import, per touch. */
export function conversionValue(c: CreditMessage): ConversionValueMessage {
  return {
    v: 1,
    kind: 'conversion_value',
    id: `${c.conversionId}:${c.model}:${c.version}`,
    conversionId: c.conversionId,
    conversionName: c.conversionName,
    conversionTimestamp: c.conversionTimestamp,
    model: c.model,
    version: c.version,
    currency: c.currency,
    conversionValue: c.conversionValue,
    values: c.shares.map((s) => ({ touchpointId: s.touchpointId, channel: s.channel, campaign: s.campaign, weight: s.weight, value: s.value })),
  };
}
