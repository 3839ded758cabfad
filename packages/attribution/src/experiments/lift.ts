import type { ChannelCredit } from '../types.js';

/** People of one arm of an experiment and how many of them converted. */
export interface ArmCounts {
  units: number;
  conversions: number;
}

export interface Interval {
  low: number;
  high: number;
}

export interface LiftEstimate {
  exposed: ArmCounts;
  holdout: ArmCounts;
  confidence: number;
  /** Conversion rate of the exposed arm minus that of the holdout (per person). */
  absoluteLift: number;
  absoluteInterval: Interval;
  /** CR_exposed / CR_holdout − 1 (Infinity when the holdout converted no one but the exposed did). */
  relativeLift: number;
  relativeInterval: Interval;
  /** absoluteLift × exposed units: conversions the channel caused among the people it reached. */
  incrementalConversions: number;
  incrementalInterval: Interval;
}

/**
 * Inverse of the standard normal CDF (Peter Acklam's rational approximation, relative error below
 * 1.15e-9 on (0, 1): far below what a confidence level needs). Throws RangeError outside (0, 1).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const lowTail = 0.02425;
  let x: number;
  if (p < lowTail) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  } else if (p <= 1 - lowTail) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  return x;
}

/** Wilson score interval of a proportion (Wilson 1927). n = 0 → [0, 1]. */
export function wilsonInterval(successes: number, n: number, z: number): Interval {
  if (!(n > 0)) return { low: 0, high: 1 };
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * Lift of an incrementality experiment: conversion rate of the people who were shown the
 * channel (exposed arm) against that of comparable people who were held out.
 *
 * - Absolute lift p₁ − p₀ with Newcombe's hybrid score interval (Newcombe 1998, "Interval
 *   estimation for the difference between independent proportions", method 10: Wilson intervals
 *   of each arm combined), which keeps its coverage at the low conversion rates of marketing,
 *   where the Wald interval does not.
 * - Relative lift p₁/p₀ − 1 with the Katz log interval (Katz et al. 1978): ln(p₁/p₀) ± z·√(1/x₁ −
 *   1/n₁ + 1/x₀ − 1/n₀), with ½ added to each count when either arm has no conversion.
 * - Incremental conversions among the exposed: n₁·(p₁ − p₀), interval scaled the same way.
 *
 * Edge cases: an empty arm gives rates of 0 and intervals [−1, 1] (absolute) and [−1, ∞)
 * (relative). `confidence` in (0, 1), default 0.95.
 */
export function estimateLift(exposed: ArmCounts, holdout: ArmCounts, confidence = 0.95): LiftEstimate {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p1 = exposed.units > 0 ? exposed.conversions / exposed.units : 0;
  const p0 = holdout.units > 0 ? holdout.conversions / holdout.units : 0;
  const absoluteLift = p1 - p0;
  let absoluteInterval: Interval = { low: -1, high: 1 };
  let relativeInterval: Interval = { low: -1, high: Infinity };
  if (exposed.units > 0 && holdout.units > 0) {
    const w1 = wilsonInterval(exposed.conversions, exposed.units, z);
    const w0 = wilsonInterval(holdout.conversions, holdout.units, z);
    absoluteInterval = {
      low: absoluteLift - Math.sqrt((p1 - w1.low) ** 2 + (w0.high - p0) ** 2),
      high: absoluteLift + Math.sqrt((w1.high - p1) ** 2 + (p0 - w0.low) ** 2),
    };
    const fix = exposed.conversions === 0 || holdout.conversions === 0 ? 0.5 : 0;
    const x1 = exposed.conversions + fix;
    const x0 = holdout.conversions + fix;
    const n1 = exposed.units + fix;
    const n0 = holdout.units + fix;
    const logRr = Math.log(x1 / n1 / (x0 / n0));
    const se = Math.sqrt(Math.max(0, 1 / x1 - 1 / n1 + 1 / x0 - 1 / n0));
    relativeInterval = { low: Math.exp(logRr - z * se) - 1, high: Math.exp(logRr + z * se) - 1 };
  }
  const relativeLift = p0 > 0 ? p1 / p0 - 1 : p1 > 0 ? Infinity : 0;
  return {
    exposed,
    holdout,
    confidence,
    absoluteLift,
    absoluteInterval,
    relativeLift,
    relativeInterval,
    incrementalConversions: absoluteLift * exposed.units,
    incrementalInterval: { low: absoluteInterval.low * exposed.units, high: absoluteInterval.high * exposed.units },
  };
}

/** A channel's incremental conversions as measured by an experiment. */
export interface MeasuredIncrementality {
  channel: string;
  incrementalConversions: number;
}

/**
 * The "incrementality-calibrated" model: an algorithmic model's channel credit rescaled by what
 * holdout experiments measured, in the spirit of calibrating multi-touch attribution with
 * experiments (e.g. Google's "Modern Measurement" playbook: a calibration multiplier per channel
 * = experiment incrementality / attributed conversions).
 *
 * For a channel with a measurement, multiplier m_c = max(0, measured_c) / credit_c; a channel
 * without one gets the pooled multiplier Σ measured / Σ credit over the measured channels (the
 * best guess of how much the model over- or under-credits in general). Calibrated credit =
 * credit_c × m_c for conversions and value alike, then scaled so the totals are unchanged: the
 * model still distributes every conversion, in proportions the experiments corrected.
 *
 * Edge cases: no measurements (or no measured channel with credit) → the credits unchanged; a
 * measured channel the model gave no credit keeps 0 (there is nothing to scale).
 */
export function incrementalityCalibrated(credits: readonly ChannelCredit[], measured: readonly MeasuredIncrementality[]): ChannelCredit[] {
  const byChannel = new Map<string, number>();
  for (const m of measured) byChannel.set(m.channel, (byChannel.get(m.channel) ?? 0) + m.incrementalConversions);
  let sumMeasured = 0;
  let sumCredit = 0;
  for (const c of credits) {
    const m = byChannel.get(c.channel);
    if (m === undefined || !(c.conversions > 0)) continue;
    sumMeasured += Math.max(0, m);
    sumCredit += c.conversions;
  }
  if (!(sumCredit > 0)) return credits.map((c) => ({ ...c }));
  const pooled = sumMeasured / sumCredit;
  const scaled = credits.map((c) => {
    const m = byChannel.get(c.channel);
    const k = m === undefined ? pooled : c.conversions > 0 ? Math.max(0, m) / c.conversions : 0;
    return { channel: c.channel, conversions: c.conversions * k, value: c.value * k };
  });
  const totalC = credits.reduce((a, c) => a + c.conversions, 0);
  const totalV = credits.reduce((a, c) => a + c.value, 0);
  const newC = scaled.reduce((a, c) => a + c.conversions, 0);
  const newV = scaled.reduce((a, c) => a + c.value, 0);
  return scaled.map((c) => ({
    channel: c.channel,
    conversions: newC > 0 ? (c.conversions * totalC) / newC : 0,
    value: newV > 0 ? (c.value * totalV) / newV : 0,
  }));
}
