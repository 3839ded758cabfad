import type { Scenario } from './scenario.js';
import type { SimTouch, SimUnit } from './world.js';

/**
 * When a unit converts, given which channels exist.
 *
 * The causal model: a unit's conversion hazard (per day) over [0, horizonDays) is
 *   λ(t) = frailty × (baselineHazard + Σ_touches rate_i(t)),
 * where touch i of channel c adds effect_c × saturation_c^rank × Π(1 + boost of synergies it
 * enjoys), spread evenly over [t_i + delay_c, t_i + delay_c + spread_c). The unit converts at the
 * first t with ∫₀ᵗ λ ≥ threshold, threshold ~ Exp(1) drawn once per unit — the inverse-transform
 * form of a hazard process, which makes the counterfactuals coupled: removing a channel lowers the
 * cumulative hazard, so the same unit converts later or not at all, never earlier, and a channel
 * with effect 0 changes nothing. One conversion per unit.
 */
export interface ConversionModel {
  horizon: number;
  baseline: number;
  effect: Float64Array;
  saturation: Float64Array;
  delay: Float64Array;
  spread: Float64Array;
  /** Synergies by the channel they boost: [from, boost, window]. */
  synergiesTo: { from: number; boost: number; window: number }[][];
}

export function conversionModel(s: Scenario): ConversionModel {
  const index = new Map(s.channels.map((c, i) => [c.name, i] as const));
  const synergiesTo = s.channels.map(() => [] as { from: number; boost: number; window: number }[]);
  for (const y of s.synergies) {
    synergiesTo[index.get(y.to) as number]?.push({ from: index.get(y.from) as number, boost: y.boost, window: y.windowDays ?? Infinity });
  }
  return {
    horizon: s.horizonDays,
    baseline: s.baselineHazard,
    effect: Float64Array.from(s.channels, (c) => c.effect),
    saturation: Float64Array.from(s.channels, (c) => c.saturation ?? 1),
    delay: Float64Array.from(s.channels, (c) => c.delayDays ?? 0),
    spread: Float64Array.from(s.channels, (c) => c.spreadDays ?? 1),
    synergiesTo,
  };
}

/** Reusable buffers of the touches' hazard segments, so a run allocates none per unit. */
interface Segments {
  lo: number[];
  hi: number[];
  rate: number[];
  last: Float64Array;
}

const segmentsOf = new WeakMap<ConversionModel, Segments>();

/**
 * Each touch's contribution to the hazard of `unit` within [0, horizon) — `rate` on [lo, hi) —
 * with the channels flagged in `removed` taken out of the world: their touches never happen, so
 * they neither act nor boost. The baseline is not included. The returned buffers are reused by
 * the next call.
 */
function effectSegments(model: ConversionModel, unit: SimUnit, removed: Uint8Array | null): Segments {
  let seg = segmentsOf.get(model);
  if (!seg) segmentsOf.set(model, (seg = { lo: [], hi: [], rate: [], last: new Float64Array(model.effect.length) }));
  seg.lo.length = 0;
  seg.hi.length = 0;
  seg.rate.length = 0;
  const last = seg.last.fill(-Infinity);
  const H = model.horizon;
  const z = unit.frailty;
  for (const t of unit.touches) {
    const c = t.ch;
    if (removed && removed[c]) continue;
    const e = model.effect[c] as number;
    let a = e > 0 ? e * (model.saturation[c] as number) ** t.rank : 0;
    if (a > 0) {
      for (const y of model.synergiesTo[c] as { from: number; boost: number; window: number }[]) {
        const seen = last[y.from] as number;
        if (seen < t.time && t.time - seen <= y.window) a *= 1 + y.boost;
      }
    }
    last[c] = t.time;
    if (!(a > 0)) continue;
    const spread = model.spread[c] as number;
    const s0 = t.time + (model.delay[c] as number);
    const lo = Math.max(0, s0);
    const hi = Math.min(H, s0 + spread);
    if (!(hi > lo)) continue;
    seg.lo.push(lo);
    seg.hi.push(hi);
    seg.rate.push((z * a) / spread);
  }
  return seg;
}

/**
 * Λ(horizon): the unit's cumulative hazard over the horizon with the channels flagged in
 * `removed` taken out, so that over the threshold draw P(conversion) = 1 − exp(−Λ).
 */
export function cumulativeHazard(model: ConversionModel, unit: SimUnit, removed: Uint8Array | null = null): number {
  if (!(unit.frailty > 0)) return 0;
  const seg = effectSegments(model, unit, removed);
  let total = unit.frailty * model.baseline * model.horizon;
  for (let i = 0; i < seg.lo.length; i++) total += (seg.rate[i] as number) * ((seg.hi[i] as number) - (seg.lo[i] as number));
  return total;
}

/**
 * The conversion time (days) of `unit` with the channels flagged in `removed` taken out of the
 * world, or undefined if the unit does not convert within the horizon: the first t with
 * Λ(t) = threshold, Λ piecewise linear.
 */
export function conversionTime(model: ConversionModel, unit: SimUnit, removed: Uint8Array | null = null): number | undefined {
  if (!(unit.frailty > 0)) return undefined;
  const E = unit.threshold;
  // Most units never reach their threshold: Λ(horizon) says so without sorting anything.
  if (cumulativeHazard(model, unit, removed) < E) return undefined;
  const seg = effectSegments(model, unit, removed);
  const base = unit.frailty * model.baseline;
  const times: number[] = [0, model.horizon];
  const deltas: number[] = [base, -base];
  for (let i = 0; i < seg.lo.length; i++) {
    times.push(seg.lo[i] as number, seg.hi[i] as number);
    deltas.push(seg.rate[i] as number, -(seg.rate[i] as number));
  }
  const order = Array.from(times.keys()).sort((i, j) => (times[i] as number) - (times[j] as number));
  let cum = 0;
  let rate = 0;
  let prev = 0;
  for (const i of order) {
    const at = times[i] as number;
    if (at > prev) {
      const gain = rate * (at - prev);
      if (cum + gain >= E && rate > 0) return prev + (E - cum) / rate;
      cum += gain;
      prev = at;
    }
    rate += deltas[i] as number;
  }
  // Λ(horizon) ≥ E but the sweep's rounding fell just short: the crossing is at the horizon.
  return model.horizon;
}

/**
 * The unit with a different set of touches (e.g. a holdout's suppressed touches delivered after
 * all, or an experiment's touches taken away): sorted by time and ranked again, since a touch's
 * saturation depends on how many touches of its channel came before it.
 */
export function withTouches(unit: SimUnit, touches: readonly SimTouch[]): SimUnit {
  const sorted = [...touches].sort((a, b) => a.time - b.time || a.seq - b.seq);
  const ranks = new Map<number, number>();
  const reranked = sorted.map((t) => {
    const rank = ranks.get(t.ch) ?? 0;
    ranks.set(t.ch, rank + 1);
    return { seq: t.seq, member: t.member, ch: t.ch, campaign: t.campaign, time: t.time, rank };
  });
  return { ...unit, touches: reranked };
}
