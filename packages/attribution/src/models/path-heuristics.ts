import { positionWeights, type PositionalModelName } from '../journey/heuristics.js';
import type { PathStats } from '../paths/path-stats.js';
import type { ChannelAttribution } from '../types.js';

/**
 * A rule-based model applied to aggregated paths by position (path data has no timestamps):
 * each path's conversions and value are spread over its touches with `positionWeights` — repeats
 * of a channel are separate touches, as in ChannelAttribution's `heuristic_models` — and summed
 * per channel.
 *
 * Edge cases: no paths → no credits; credits sum to the path totals.
 */
export function pathHeuristicAttribution(stats: PathStats, model: PositionalModelName): ChannelAttribution {
  const out = new Map(stats.channels().map((c) => [c, { channel: c, conversions: 0, value: 0 }] as const));
  for (const rec of stats.paths()) {
    if (!(rec.conversions > 0) && !(rec.value > 0)) continue;
    const w = positionWeights(model, rec.channels.length);
    rec.channels.forEach((c, i) => {
      const row = out.get(c) as { conversions: number; value: number };
      row.conversions += rec.conversions * (w[i] as number);
      row.value += rec.value * (w[i] as number);
    });
  }
  return { model, credits: [...out.values()] };
}
