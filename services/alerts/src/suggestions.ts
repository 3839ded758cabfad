import type { BudgetShiftSuggestion, ChannelResponse, RiskTier } from '@touchline/contracts';
import { findingId, money, num, pct } from './detectors/format.js';
import { ALL, type MetricsStore } from './metrics.js';
import { DAY } from './series.js';
import { linearFit, normalCdf } from './stats.js';

export interface SuggestionOptions {
  lookbackDays: number;
  /** A channel needs spend on at least this many days of the lookback ... */
  minDays: number;
  /** ... and at least this many attributed conversions, or it gets no suggestion. */
  minConversions: number;
  /** Prior of the response-curve exponent: where spend hardly varied, the data cannot tell b. */
  priorElasticity: number;
  priorStdDev: number;
  /** The target channel grows by at most this share of its spend: the curve is not extrapolated far. */
  maxScaleUp: number;
  /** Most that moves in one week, as a share of the total weekly spend ... */
  maxShiftPerWeekShare: number;
  /** ... and in money, when set. */
  maxShiftPerWeek?: number;
  /** Channels that keep at least this share of their spend (brand, partner commitments). */
  strategic: Record<string, number>;
  /** Smallest weekly revenue gain worth a suggestion, as a share of weekly revenue. */
  minGainShare: number;
  /** Probability that the target's marginal ROAS beats the source's. */
  minConfidence: number;
  maxSuggestions: number;
}

export const DEFAULT_SUGGESTION_OPTIONS: SuggestionOptions = {
  lookbackDays: 28,
  minDays: 14,
  minConversions: 30,
  priorElasticity: 0.6,
  priorStdDev: 0.2,
  maxScaleUp: 1,
  maxShiftPerWeekShare: 0.15,
  strategic: {},
  minGainShare: 0.01,
  minConfidence: 0.9,
  maxSuggestions: 3,
};

/** Risk tiers by the share of the source channel's spend that moves, as the issue defines them. */
export function riskTier(share: number): { tier: RiskTier; action: string; rolloutWeeks: number } {
  if (share <= 0.2) return { tier: 'low', action: 'apply now', rolloutWeeks: 1 };
  if (share <= 0.5) return { tier: 'medium', action: 'roll out over 4 weeks', rolloutWeeks: 4 };
  if (share <= 0.8) return { tier: 'high', action: 'test on 30% of the shift first, then roll out', rolloutWeeks: 4 };
  return { tier: 'very_high', action: 'run a pilot first (a geo or audience split) before moving the budget', rolloutWeeks: 8 };
}

interface Curve extends ChannelResponse {
  /** Standard error of the marginal ROAS (elasticity and revenue noise). */
  marginalStdError: number;
}

export interface SuggestionResult {
  suggestions: BudgetShiftSuggestion[];
  /** Channels left out and why (not enough data), for the dashboard and the logs. */
  skipped: Array<{ channel: string; reason: string }>;
}

/**
 * Budget shifts between channels from their response curves. Per channel, weekly revenue as a
 * function of weekly spend is `R(S) = R̄ · (S / S̄)^b` — anchored on what the channel actually
 * earned (R̄) at what it actually spent (S̄) over the lookback, with the exponent b (< 1:
 * diminishing returns) fitted by least squares on the daily log revenue against log spend and
 * shrunk towards a prior where spend hardly varied (a normal prior, precision-weighted). The
 * marginal ROAS is then `b · R̄ / S̄`. Money moves from the lowest marginal return to the highest
 * while the gain still grows, within the guardrails: the weekly maximum, the floors of strategic
 * channels, at most `maxScaleUp` growth of the target, and nothing without enough data.
 */
export function suggestBudgetShifts(store: MetricsStore, model: string, now: number, o: SuggestionOptions): SuggestionResult {
  const today = Math.floor(now / DAY);
  const fromDay = today - o.lookbackDays;
  const currency = store.currency();
  const skipped: SuggestionResult['skipped'] = [];
  const curves: Curve[] = [];
  let totalSpend = 0;
  let totalRevenue = 0;
  const channels = store.subjects(model).filter((s) => s.campaign === ALL).map((s) => s.channel);
  for (const channel of channels) {
    const days = store.daily(model, channel, ALL, fromDay, today);
    const spend = days.reduce((s, d) => s + d.spend, 0);
    const revenue = days.reduce((s, d) => s + d.revenue, 0);
    if (spend <= 0) continue;
    totalSpend += spend;
    totalRevenue += revenue;
    const spendDays = days.filter((d) => d.spend > 0).length;
    const conversions = days.reduce((s, d) => s + d.conversions, 0);
    if (spendDays < o.minDays) {
      skipped.push({ channel, reason: `spend on ${spendDays} of ${o.lookbackDays} days; needs ${o.minDays}` });
      continue;
    }
    if (conversions < o.minConversions) {
      skipped.push({ channel, reason: `${num(conversions, 1)} attributed conversions; needs ${o.minConversions}` });
      continue;
    }
    const fitDays = days.filter((d) => d.spend > 0 && d.revenue > 0);
    const fit = linearFit(
      fitDays.map((d) => Math.log(d.spend)),
      fitDays.map((d) => Math.log(d.revenue)),
    );
    const prior = { mean: o.priorElasticity, precision: 1 / o.priorStdDev ** 2 };
    // A (near) perfect fit still carries some doubt: the curve is a model, not the truth.
    const likelihood = fit ? { mean: fit.slope, precision: 1 / Math.max(fit.slopeStdError, 0.01) ** 2 } : { mean: 0, precision: 0 };
    const precision = prior.precision + likelihood.precision;
    const elasticity = clamp((prior.mean * prior.precision + likelihood.mean * likelihood.precision) / precision, 0.05, 1);
    const elasticityStdError = Math.sqrt(1 / precision);
    const weeklySpend = (7 * spend) / o.lookbackDays;
    const weeklyRevenue = (7 * revenue) / o.lookbackDays;
    const averageRoas = revenue / spend;
    const marginalRoas = elasticity * averageRoas;
    const t = store.totals(model, channel, ALL, fromDay * DAY, today * DAY, now);
    const revenueRelVar = t.revenue > 0 ? t.revenueSq / (t.revenue * t.revenue) : 1;
    const marginalStdError = marginalRoas * Math.sqrt((elasticityStdError / elasticity) ** 2 + revenueRelVar);
    curves.push({
      channel,
      weeklySpend,
      weeklyRevenue,
      averageRoas,
      marginalRoas,
      elasticity,
      elasticityStdError,
      days: spendDays,
      conversions,
      strategic: channel in o.strategic,
      marginalStdError,
    });
  }
  if (curves.length < 2 || totalSpend <= 0) return { suggestions: [], skipped };

  const weeklyTotalSpend = (7 * totalSpend) / o.lookbackDays;
  const weeklyTotalRevenue = (7 * totalRevenue) / o.lookbackDays;
  const maxPerWeek = Math.min(o.maxShiftPerWeekShare * weeklyTotalSpend, o.maxShiftPerWeek ?? Infinity);
  const candidates: Array<{ from: Curve; to: Curve; amount: number; gain: number; confidence: number; guardrails: string[] }> = [];
  for (const from of curves) {
    for (const to of curves) {
      if (from === to || to.marginalRoas <= from.marginalRoas) continue;
      const se = Math.hypot(from.marginalStdError, to.marginalStdError);
      const confidence = se > 0 ? normalCdf((to.marginalRoas - from.marginalRoas) / se) : 1;
      if (confidence < o.minConfidence) continue;
      const guardrails: string[] = [];
      const floor = o.strategic[from.channel] ?? 0;
      let upper = from.weeklySpend * (1 - floor);
      if (floor > 0) guardrails.push(`${from.channel} is strategic: it keeps at least ${pct(floor, false)} of its spend`);
      const growth = to.weeklySpend * o.maxScaleUp;
      if (growth < upper) {
        upper = growth;
        guardrails.push(`${to.channel} grows by at most ${pct(o.maxScaleUp, false)}: its response curve is not extrapolated further`);
      }
      const best = optimalShift(from, to, upper);
      const amount = niceDown(best);
      if (amount <= 0) continue;
      const gain = shiftGain(from, to, amount);
      if (gain < o.minGainShare * weeklyTotalRevenue) continue;
      candidates.push({ from, to, amount, gain, confidence, guardrails });
    }
  }
  candidates.sort((a, b) => b.gain - a.gain);
  const used = new Set<string>();
  const suggestions: BudgetShiftSuggestion[] = [];
  const roiBefore = (weeklyTotalRevenue - weeklyTotalSpend) / weeklyTotalSpend;
  for (const c of candidates) {
    if (suggestions.length >= o.maxSuggestions) break;
    if (used.has(c.from.channel) || used.has(c.to.channel)) continue;
    used.add(c.from.channel);
    used.add(c.to.channel);
    const share = c.amount / c.from.weeklySpend;
    const risk = riskTier(share);
    const capped = maxPerWeek < c.amount / risk.rolloutWeeks;
    const weeklyStep = Math.max(1, Math.floor(capped ? maxPerWeek : c.amount / risk.rolloutWeeks));
    const weeks = Math.max(1, Math.ceil(c.amount / weeklyStep - 1e-9));
    const guardrails = [...c.guardrails];
    if (capped) guardrails.push(`at most ${money(maxPerWeek, currency)} moves per week`);
    for (const ch of [c.from, c.to]) {
      if (ch.elasticityStdError > 0.9 * o.priorStdDev) guardrails.push(`${ch.channel}'s spend varied too little to measure its diminishing returns: the prior exponent ${o.priorElasticity} is assumed`);
    }
    const roiAfter = (weeklyTotalRevenue + c.gain - weeklyTotalSpend) / weeklyTotalSpend;
    const roiChange = roiBefore !== 0 ? (roiAfter - roiBefore) / Math.abs(roiBefore) : 0;
    const { marginalStdError: _a, ...from } = c.from;
    const { marginalStdError: _b, ...to } = c.to;
    suggestions.push({
      v: 1,
      kind: 'budget_shift',
      id: findingId('shift', model, c.from.channel, c.to.channel, Math.floor(now / (7 * DAY))),
      at: now,
      model,
      currency,
      from,
      to,
      amount: c.amount,
      shareOfSource: share,
      weeklyStep,
      weeks,
      risk: { tier: risk.tier, action: risk.action },
      expected: { revenueChange: c.gain, roiBefore, roiAfter, roiChange, confidence: c.confidence },
      guardrails,
      summary:
        `move ${money(c.amount, currency)} a week from ${c.from.channel} to ${c.to.channel}, expected ${pct(roiChange)} ROI ` +
        `(${money(c.gain, currency)} more revenue a week; marginal ROAS ${num(c.from.marginalRoas)} vs ${num(c.to.marginalRoas)}). ` +
        `${pct(share, false)} of ${c.from.channel}'s budget: ${risk.tier.replace('_', ' ')} risk, ${risk.action}` +
        (weeks > 1 ? ` (${money(weeklyStep, currency)} a week over ${weeks} weeks)` : ''),
    });
  }
  return { suggestions, skipped };
}

/** Weekly revenue change of moving `amount` a week from one curve to the other. */
export function shiftGain(from: ChannelResponse, to: ChannelResponse, amount: number): number {
  const r = (c: ChannelResponse, s: number) => c.weeklyRevenue * Math.pow(Math.max(0, s) / c.weeklySpend, c.elasticity);
  return r(to, to.weeklySpend + amount) - to.weeklyRevenue + r(from, from.weeklySpend - amount) - from.weeklyRevenue;
}

/** The shift in [0, upper] where the marginal returns of both channels meet (the gain is concave). */
function optimalShift(from: ChannelResponse, to: ChannelResponse, upper: number): number {
  if (upper <= 0) return 0;
  const slope = (d: number) =>
    to.elasticity * (to.weeklyRevenue / to.weeklySpend) * Math.pow((to.weeklySpend + d) / to.weeklySpend, to.elasticity - 1) -
    from.elasticity * (from.weeklyRevenue / from.weeklySpend) * Math.pow(Math.max(1e-12, from.weeklySpend - d) / from.weeklySpend, from.elasticity - 1);
  if (slope(0) <= 0) return 0;
  if (slope(upper) >= 0) return upper;
  let lo = 0;
  let hi = upper;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (slope(mid) > 0) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Rounds down to two significant digits: people move 2,000, not 2,043.17. */
export function niceDown(x: number): number {
  if (!(x > 0)) return 0;
  const magnitude = Math.pow(10, Math.floor(Math.log10(x)) - 1);
  return Math.floor(x / magnitude) * magnitude;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
