import { normalise } from '../math/normalise.js';

/** Channel scores: a map or a plain record from channel name to a non-negative score. */
export type ChannelScores = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

function scoreOf(scores: ChannelScores, channel: string): number {
  const v = scores instanceof Map ? scores.get(channel) : (scores as Readonly<Record<string, number>>)[channel];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

/**
 * Turns channel-level credit from an algorithmic model (Markov removal effects, Shapley values,
 * data-driven totals) into per-touch weights for one journey. This is the usual way such models
 * are applied to individual journeys, e.g. ChannelAttribution's per-path Markov output splits a
 * path's conversions over its channels in proportion to their removal effects.
 *
 * Definition: the journey's credit (1) is split over its DISTINCT channels in proportion to
 * their scores; each channel's share is then split equally over that channel's touches. So a
 * channel touched three times gets the same total as if touched once — frequency is already in
 * the model's channel score.
 *
 * Edge cases: no touches → `[]`; missing, negative or non-finite scores count as 0; if every
 * channel of the journey scores 0, falls back to linear (1/n per touch). Weights sum to 1 (last
 * weight absorbs rounding).
 */
export function journeyWeightsFromChannelScores(touches: readonly { channel: string }[], channelScores: ChannelScores): number[] {
  const n = touches.length;
  if (n === 0) return [];
  const count = new Map<string, number>();
  for (const t of touches) count.set(t.channel, (count.get(t.channel) ?? 0) + 1);
  let total = 0;
  for (const c of count.keys()) total += scoreOf(channelScores, c);
  if (!(total > 0)) return normalise(new Array<number>(n).fill(1));
  return normalise(touches.map((t) => scoreOf(channelScores, t.channel) / (count.get(t.channel) as number)));
}

/**
 * Per-touch weights of one journey under the ordered Shapley value (Zhao, Mahboobi & Bagheri
 * 2018, arXiv:1804.05327): `positionScores.get(c)[k]` is channel c's credit when it is the k-th
 * distinct channel of a journey (`orderedShapleyAttribution(...).byPosition[·].conversions`). A
 * journey's channels take their positions by first appearance, each channel is scored at its own
 * position, and the scores are turned into weights by `journeyWeightsFromChannelScores`. This is
 * what the ordered variant adds over the plain Shapley value, whose channel totals it shares: an
 * opening channel and a closing one are scored by what each earned in that role.
 *
 * Edge cases: as `journeyWeightsFromChannelScores`; a channel never seen at its position scores 0,
 * and a journey where every channel scores 0 gets linear weights.
 */
export function journeyWeightsFromPositionScores(
  touches: readonly { channel: string }[],
  positionScores: ReadonlyMap<string, readonly number[]>,
): number[] {
  const scores = new Map<string, number>();
  for (const t of touches) {
    if (scores.has(t.channel)) continue;
    scores.set(t.channel, positionScores.get(t.channel)?.[scores.size] ?? 0);
  }
  return journeyWeightsFromChannelScores(touches, scores);
}
