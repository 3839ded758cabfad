import { mulberry32 } from '../math/rng.js';
import { shapleyFromWorth, zetaTransform } from '../math/subsets.js';
import type { PathStats } from '../paths/path-stats.js';
import type { ChannelAttribution } from '../types.js';

export interface ShapleyOptions {
  /**
   * `exact`: subset transforms over bitmasks (at most `maxExactChannels` channels);
   * `closed_form`: Zhao et al.'s simplified formula (exact, any number of channels);
   * `monte_carlo`: permutation sampling with standard errors;
   * `auto` (default): `exact` up to `maxExactChannels`, `closed_form` beyond.
   */
  method?: 'auto' | 'exact' | 'closed_form' | 'monte_carlo';
  /** Default 20: 2^20 coalitions, 8 MB per worth table. At most 25. */
  maxExactChannels?: number;
  /** Permutations for Monte Carlo (default 2000). */
  samples?: number;
  /** Seed of the Monte Carlo permutations (default 1): results are reproducible. */
  seed?: number;
}

export interface ShapleyResult extends ChannelAttribution {
  model: 'shapley';
  method: 'exact' | 'closed_form' | 'monte_carlo';
  /** Monte Carlo only: standard error of each channel's attributed conversions (s.d. / √samples). */
  standardErrors?: number[];
  /** Monte Carlo only: standard error of each channel's attributed value. */
  valueStandardErrors?: number[];
  /** Monte Carlo only: permutations sampled. */
  samples?: number;
}

interface Coalitions {
  channels: string[];
  /** Distinct channel sets, as sorted channel-index lists. */
  members: number[][];
  conv: number[];
  value: number[];
}

function coalitionsOf(stats: PathStats): Coalitions {
  const channels = stats.channels();
  const index = new Map(channels.map((c, i) => [c, i] as const));
  const byKey = new Map<string, number>();
  const out: Coalitions = { channels, members: [], conv: [], value: [] };
  for (const rec of stats.paths()) {
    if (!(rec.conversions > 0) && !(rec.value > 0)) continue;
    const set = [...new Set(rec.channels.map((c) => index.get(c) as number))].sort((a, b) => a - b);
    const key = set.join(',');
    let id = byKey.get(key);
    if (id === undefined) {
      id = out.members.length;
      byKey.set(key, id);
      out.members.push(set);
      out.conv.push(0);
      out.value.push(0);
    }
    out.conv[id] = (out.conv[id] as number) + rec.conversions;
    out.value[id] = (out.value[id] as number) + rec.value;
  }
  return out;
}

/**
 * Shapley-value attribution (Shapley 1953) of aggregated paths with the coalition worth of Zhao,
 * Mahboobi & Bagheri 2018 ("Shapley Value Methods for Attribution Modeling in Online
 * Advertising", arXiv:1804.05327): players are channels and v(S) = conversions of the journeys
 * whose channel SET is a subset of S. Value is attributed the same way with value as the worth.
 *
 * Methods (all give the same numbers up to rounding, except Monte Carlo's sampling error):
 * - `exact`: R(T) (conversions of journeys whose channel set is exactly T) over bitmasks, zeta
 *   transform → v, Möbius transform → Harsanyi dividends d, φ_i = Σ_{T∋i} d(T)/|T|: O(2ⁿ·n).
 * - `closed_form`: the paper's simplified Shapley value φ_i = Σ_{T∋i} R(T)/|T| — because v is a
 *   sum of unanimity games, d = R; each journey's conversion is split equally among its distinct
 *   channels. Exact for any n, which is why `auto` uses it beyond 20 channels rather than sampling.
 * - `monte_carlo`: random channel orders (Castro, Gómez & Tejada 2009), φ_i = mean marginal
 *   contribution, with standard errors; v is tracked incrementally (a coalition's journeys join
 *   the worth when its last member arrives).
 *
 * Credits: the Shapley values are the attributed conversions (efficiency: they sum to the total,
 * Monte Carlo included, since every order distributes v(N) in full).
 *
 * Edge cases: no paths → no credits; a channel only on non-converting paths → 0; repeats of a
 * channel in a journey do not matter (only the channel set does).
 */
export function shapleyAttribution(stats: PathStats, options: ShapleyOptions = {}): ShapleyResult {
  const maxExact = Math.min(25, options.maxExactChannels ?? 20);
  const co = coalitionsOf(stats);
  const n = co.channels.length;
  const asked = options.method ?? 'auto';
  if (asked === 'exact' && n > maxExact) throw new RangeError(`exact Shapley limited to ${maxExact} channels, got ${n}`);
  const method: ShapleyResult['method'] = asked === 'auto' ? (n <= maxExact ? 'exact' : 'closed_form') : asked;
  const credit = (conv: ArrayLike<number>, value: ArrayLike<number>) =>
    co.channels.map((channel, i) => ({ channel, conversions: conv[i] as number, value: value[i] as number }));
  if (method === 'exact') {
    const [conv, value] = exactShapley(co);
    return { model: 'shapley', method, credits: credit(conv, value) };
  }
  if (method === 'closed_form') {
    const [conv, value] = closedFormShapley(co);
    return { model: 'shapley', method, credits: credit(conv, value) };
  }
  const mc = monteCarloShapley(co, options.samples ?? 2000, options.seed ?? 1);
  return {
    model: 'shapley',
    method,
    credits: credit(mc.conv, mc.value),
    standardErrors: [...mc.seConv],
    valueStandardErrors: [...mc.seValue],
    samples: mc.samples,
  };
}

function exactShapley(co: Coalitions): [Float64Array, Float64Array] {
  const n = co.channels.length;
  const size = 1 << n;
  const conv = new Float64Array(size);
  const value = new Float64Array(size);
  co.members.forEach((m, id) => {
    let mask = 0;
    for (const i of m) mask |= 1 << i;
    conv[mask] = (conv[mask] as number) + (co.conv[id] as number);
    value[mask] = (value[mask] as number) + (co.value[id] as number);
  });
  zetaTransform(conv, n);
  zetaTransform(value, n);
  return [shapleyFromWorth(conv, n), shapleyFromWorth(value, n)];
}

function closedFormShapley(co: Coalitions): [Float64Array, Float64Array] {
  const n = co.channels.length;
  const conv = new Float64Array(n);
  const value = new Float64Array(n);
  co.members.forEach((m, id) => {
    for (const i of m) {
      conv[i] = (conv[i] as number) + (co.conv[id] as number) / m.length;
      value[i] = (value[i] as number) + (co.value[id] as number) / m.length;
    }
  });
  return [conv, value];
}

function monteCarloShapley(co: Coalitions, samples: number, seed: number) {
  const n = co.channels.length;
  const m = Math.max(2, Math.floor(samples));
  const rng = mulberry32(seed);
  const byChannel: number[][] = co.channels.map(() => []);
  co.members.forEach((mem, id) => {
    for (const i of mem) (byChannel[i] as number[]).push(id);
  });
  const need = co.members.map((mem) => mem.length);
  const count = new Int32Array(co.members.length);
  const sumC = new Float64Array(n);
  const sqC = new Float64Array(n);
  const sumV = new Float64Array(n);
  const sqV = new Float64Array(n);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let s = 0; s < m; s++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const t = perm[i] as number;
      perm[i] = perm[j] as number;
      perm[j] = t;
    }
    count.fill(0);
    for (let k = 0; k < n; k++) {
      const i = perm[k] as number;
      let dC = 0;
      let dV = 0;
      for (const id of byChannel[i] as number[]) {
        count[id] = (count[id] as number) + 1;
        if (count[id] === need[id]) {
          dC += co.conv[id] as number;
          dV += co.value[id] as number;
        }
      }
      sumC[i] = (sumC[i] as number) + dC;
      sqC[i] = (sqC[i] as number) + dC * dC;
      sumV[i] = (sumV[i] as number) + dV;
      sqV[i] = (sqV[i] as number) + dV * dV;
    }
  }
  const se = (sum: Float64Array, sq: Float64Array) =>
    sum.map((x, i) => {
      const mean = x / m;
      return Math.sqrt(Math.max(0, ((sq[i] as number) - m * mean * mean) / (m - 1)) / m);
    });
  return { conv: sumC.map((x) => x / m), value: sumV.map((x) => x / m), seConv: se(sumC, sqC), seValue: se(sumV, sqV), samples: m };
}

export interface OrderedShapleyResult extends ChannelAttribution {
  model: 'shapley_ordered';
  /**
   * Per channel (aligned with `credits`), the credit by the position at which the channel FIRST
   * appears in the journey (index 0 = first distinct channel).
   */
  byPosition: { conversions: number[]; value: number[] }[];
}

/**
 * Ordered Shapley value of Zhao et al. 2018 (arXiv:1804.05327, section "ordered Shapley value"):
 * a journey's channels are ordered by first appearance, and its conversions (value) are split
 * equally among its distinct channels as in the simplified Shapley value, each share being booked
 * to the position that channel occupies. φ_i^(k) = Σ over ordered channel sequences S with i at
 * position k of R(S)/|S|.
 *
 * Note: summed over positions this equals the (unordered) Shapley value with worth `conversions`
 * — the ordered variant adds the breakdown by stage of the journey, not a different channel total.
 *
 * Edge cases: no paths → no credits; repeats of a channel count once, at its first position.
 */
export function orderedShapleyAttribution(stats: PathStats): OrderedShapleyResult {
  const channels = stats.channels();
  const index = new Map(channels.map((c, i) => [c, i] as const));
  const conv = new Float64Array(channels.length);
  const value = new Float64Array(channels.length);
  const byPosition = channels.map(() => ({ conversions: [] as number[], value: [] as number[] }));
  for (const rec of stats.paths()) {
    const order = [...new Set(rec.channels)];
    const d = order.length;
    order.forEach((c, k) => {
      const i = index.get(c) as number;
      const bp = byPosition[i] as { conversions: number[]; value: number[] };
      while (bp.conversions.length <= k) {
        bp.conversions.push(0);
        bp.value.push(0);
      }
      bp.conversions[k] = (bp.conversions[k] as number) + rec.conversions / d;
      bp.value[k] = (bp.value[k] as number) + rec.value / d;
      conv[i] = (conv[i] as number) + rec.conversions / d;
      value[i] = (value[i] as number) + rec.value / d;
    });
  }
  return {
    model: 'shapley_ordered',
    credits: channels.map((channel, i) => ({ channel, conversions: conv[i] as number, value: value[i] as number })),
    byPosition,
  };
}
