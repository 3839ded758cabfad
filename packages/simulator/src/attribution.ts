import {
  compareStrings,
  dataDrivenAttribution,
  fitDataDriven,
  heuristicWeights,
  markovAttribution,
  orderedShapleyAttribution,
  shapleyAttribution,
  type ChannelCredit,
  type HeuristicModelName,
  type PathStats,
} from '@touchline/attribution';
import { ATTRIBUTOR_DATA_DRIVEN_OPTIONS } from '@touchline/attributor';
import type { SimJourney } from './journeys.js';
import type { GroundTruth } from './truth.js';

/**
 * Rule-based models in the report. `w_shaped` is left out: simulated journeys carry no lead or
 * opportunity milestones, so it would only repeat `position_based`, its documented fallback.
 */
export const JOURNEY_MODELS = ['first_touch', 'last_touch', 'last_non_direct', 'linear', 'position_based', 'time_decay'] as const satisfies readonly HeuristicModelName[];

/** Models fitted on all paths (converting and null). */
export const ALGORITHMIC_MODELS = ['markov', 'shapley', 'shapley_ordered', 'data_driven'] as const;

export type ReportModel = (typeof JOURNEY_MODELS)[number] | (typeof ALGORITHMIC_MODELS)[number] | 'incrementality_calibrated';

export interface ModelCredit {
  model: ReportModel;
  /** Attributed conversions per channel. */
  credits: ChannelCredit[];
}

/**
 * The rule-based models' credit, journey by journey (`heuristicWeights`, time decay with a 7-day
 * half-life), summed per channel — so a run never has to keep its journeys.
 */
export class JourneyCredit {
  private readonly byModel = new Map<ReportModel, Map<string, ChannelCredit>>(JOURNEY_MODELS.map((m) => [m, new Map()] as const));

  constructor(private readonly halfLifeDays = 7) {}

  add(j: SimJourney): void {
    if (j.touches.length === 0) return;
    for (const model of JOURNEY_MODELS) {
      const w = heuristicWeights(model, j.touches, { conversionTime: j.timestamp, halfLifeDays: this.halfLifeDays });
      const byChannel = this.byModel.get(model) as Map<string, ChannelCredit>;
      j.touches.forEach((t, i) => {
        let row = byChannel.get(t.channel);
        if (!row) byChannel.set(t.channel, (row = { channel: t.channel, conversions: 0, value: 0 }));
        row.conversions += w[i] as number;
        row.value += (w[i] as number) * j.value;
      });
    }
  }

  result(): ModelCredit[] {
    return JOURNEY_MODELS.map((model) => ({
      model,
      credits: [...(this.byModel.get(model) as Map<string, ChannelCredit>).values()].sort((a, b) => compareStrings(a.channel, b.channel)),
    }));
  }
}

/**
 * The algorithmic models on the path statistics: Markov order 1, Shapley, ordered Shapley,
 * data-driven. The statistics hold every known unit, so the data-driven model fits the untouched
 * ones as the empty path; it is fitted as the attributor fits it otherwise (touch counts, no
 * first- and last-touch indicators, direct visits fitted but not credited).
 */
export function creditPathModels(stats: PathStats): ModelCredit[] {
  return [
    { model: 'markov', credits: markovAttribution(stats, { order: 1 }).credits },
    { model: 'shapley', credits: shapleyAttribution(stats).credits },
    { model: 'shapley_ordered', credits: orderedShapleyAttribution(stats).credits },
    { model: 'data_driven', credits: dataDrivenAttribution(stats, fitDataDriven(stats, { ...ATTRIBUTOR_DATA_DRIVEN_OPTIONS, untouched: true })).credits },
  ];
}

export interface ChannelShare {
  channel: string;
  attributed_share: number;
  true_share: number;
}

export interface ModelAccuracy {
  model: ReportModel;
  tvd: number;
  channels: ChannelShare[];
}

/**
 * Total variation distance between two distributions over the same items:
 * TVD(p, q) = ½ Σ_i |p_i − q_i| — the share of credit that would have to move to make one equal
 * the other; 0 = identical, 1 = disjoint. Throws RangeError on arrays of different lengths.
 */
export function totalVariationDistance(p: readonly number[], q: readonly number[]): number {
  if (p.length !== q.length) throw new RangeError(`totalVariationDistance: ${p.length} vs ${q.length} items`);
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.abs((p[i] as number) - (q[i] as number));
  return s / 2;
}

/** Shares of a non-negative vector (all zero → all zero). */
export function shares(xs: readonly number[]): number[] {
  let t = 0;
  for (const x of xs) t += x;
  return xs.map((x) => (t > 0 ? x / t : 0));
}

/**
 * A model's attributed share of conversions per channel beside the true share of incremental
 * conversions, over every channel of the scenario (a channel a model never credits has share 0),
 * sorted by channel name, and their TVD.
 */
export function accuracyOf(model: ModelCredit, truth: GroundTruth): ModelAccuracy {
  const channels = truth.channels.map((c) => c.channel).sort(compareStrings);
  const credited = new Map(model.credits.map((c) => [c.channel, Math.max(0, c.conversions)] as const));
  const trueShare = new Map(truth.channels.map((c) => [c.channel, c.share] as const));
  const a = shares(channels.map((c) => credited.get(c) ?? 0));
  const t = channels.map((c) => trueShare.get(c) ?? 0);
  return {
    model: model.model,
    tvd: totalVariationDistance(a, t),
    channels: channels.map((channel, i) => ({ channel, attributed_share: a[i] as number, true_share: t[i] as number })),
  };
}
