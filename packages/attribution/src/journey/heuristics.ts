import { absorbRounding, normalise } from '../math/normalise.js';
import { dataDrivenWeights, type DataDrivenModel } from '../models/data-driven.js';
import type { JourneyTouch, ModelName } from '../types.js';
import { journeyWeightsFromChannelScores, journeyWeightsFromPositionScores, type ChannelScores } from './channel-scores.js';

export const DAY_MS = 86_400_000;

export interface HeuristicOptions {
  /** When the journey converted (ms). Used by `time_decay`. */
  conversionTime: number;
  /** `time_decay` half-life in days (default 7, as in Google Analytics' time-decay model). */
  halfLifeDays?: number;
  /**
   * `w_shaped`: when the lead was created (ms). The lead-creation touch is the LAST touch at or
   * before this time. Ignored if a touch carries `stage: 'lead'`.
   */
  leadTime?: number;
  /** `w_shaped`: when the opportunity was created (ms); same rule as `leadTime`. */
  opportunityTime?: number;
  /**
   * `markov`, `shapley`, `shapley_ordered`: the model's channel-level credit (e.g. removal effects
   * or attributed conversions), split within the journey by `journeyWeightsFromChannelScores`.
   */
  channelScores?: ChannelScores;
  /**
   * `shapley_ordered`: channel credit by position of first appearance
   * (`journeyWeightsFromPositionScores`); when absent, `channelScores` are used as for `shapley`.
   */
  positionScores?: ReadonlyMap<string, readonly number[]>;
  /** `data_driven`: the fitted model (`fitDataDriven`). */
  dataDriven?: DataDrivenModel;
}

/** The heuristic models that need only the positions of the touches (apply to path data). */
export type PositionalModelName = 'first_touch' | 'last_touch' | 'linear' | 'position_based';

/**
 * Weights by position only, for a journey of `length` touches (path data has no timestamps).
 *
 * - `first_touch` / `last_touch`: all credit to the first / last touch.
 * - `linear`: 1/n each.
 * - `position_based` (the "U-shaped" 40/20/40 model, as in Google Analytics' position-based
 *   model): 40% first, 40% last, 20% shared equally by the touches in between; one touch → 100%,
 *   two touches → 50/50 (there is no middle to take the 20%).
 *
 * Edge cases: length 0 → `[]`. Weights sum to 1; the last weight absorbs the rounding (see
 * `normalise`).
 */
export function positionWeights(model: PositionalModelName, length: number): number[] {
  const n = Math.max(0, Math.floor(length));
  if (n === 0) return [];
  if (n === 1) return [1];
  const w = new Array<number>(n).fill(0);
  switch (model) {
    case 'first_touch':
      w[0] = 1;
      break;
    case 'last_touch':
      w[n - 1] = 1;
      break;
    case 'linear':
      w.fill(1 / n);
      break;
    case 'position_based':
      if (n === 2) w.fill(0.5);
      else {
        w.fill(0.2 / (n - 2));
        w[0] = 0.4;
        w[n - 1] = 0.4;
      }
      break;
  }
  absorbRounding(w, n - 1);
  return w;
}

/**
 * Per-touch weights of one journey under a rule-based model. `touches` must be sorted by time
 * (ties keep their order); weights come back in the same order, sum to 1 (left-to-right float
 * sum exactly 1 in practice; the last weight absorbs rounding) and are never negative.
 *
 * Definitions (Google Analytics' classic attribution models unless noted):
 * - `first_touch`, `last_touch`, `linear`, `position_based`: see `positionWeights`.
 * - `last_non_direct`: all credit to the last touch that is not `direct`; if every touch is
 *   direct, to the last touch (GA's "last non-direct click" falls back the same way).
 * - `w_shaped` (Bizible/Marketo W-shaped): 30% to the first touch, 30% to the lead-creation touch,
 *   30% to the opportunity-creation touch, 10% shared equally by all other touches. The
 *   lead-creation touch is the first touch with `stage: 'lead'`, else the last touch at or before
 *   `options.leadTime`; likewise for the opportunity (`stage: 'opportunity'`,
 *   `options.opportunityTime`). `stage: 'closed_won'` is not a W milestone (it is for Z/full-path
 *   models) and is ignored. Coincident milestones stack on their touch (first = lead → 60%). When
 *   no touch is left outside the milestones, the remaining 10% goes to the milestone touches in
 *   proportion to their 30% shares (e.g. 2 touches, lead = opportunity = 2nd → 1/3, 2/3). If the
 *   lead or opportunity milestone is missing (no flag, no time, or the time precedes every
 *   touch), falls back to `position_based`.
 * - `time_decay`: weight ∝ 2^(−(conversionTime − t)/halfLife), half-life continuous (not bucketed
 *   by day), `halfLifeDays` default 7. A touch stamped after `conversionTime` counts as age 0.
 *   Computed relative to the newest touch so that very old journeys do not underflow to all-zero.
 *
 * The algorithmic models are fitted on many journeys, so they need their fit passed in:
 * - `markov`, `shapley`: `options.channelScores` → `journeyWeightsFromChannelScores`;
 * - `shapley_ordered`: `options.positionScores` → `journeyWeightsFromPositionScores` (else as `shapley`);
 * - `data_driven`: `options.dataDriven` → `dataDrivenWeights`.
 *
 * Edge cases: no touches → `[]`; one touch → `[1]` for every model. Throws RangeError if
 * `halfLifeDays` is not positive, or if an algorithmic model is asked for without its fit.
 */
export function heuristicWeights(model: ModelName, touches: readonly JourneyTouch[], options: HeuristicOptions): number[] {
  const n = touches.length;
  if (n === 0) return [];
  if (n === 1) return [1];
  switch (model) {
    case 'markov':
    case 'shapley':
    case 'shapley_ordered':
      if (model === 'shapley_ordered' && options.positionScores) return journeyWeightsFromPositionScores(touches, options.positionScores);
      if (!options.channelScores) throw new RangeError(`${model}: per-journey weights need options.channelScores (the model's channel credit)`);
      return journeyWeightsFromChannelScores(touches, options.channelScores);
    case 'data_driven':
      if (!options.dataDriven) throw new RangeError('data_driven: per-journey weights need options.dataDriven (a fitted model)');
      return dataDrivenWeights(options.dataDriven, touches);
    case 'first_touch':
    case 'last_touch':
    case 'linear':
    case 'position_based':
      return positionWeights(model, n);
    case 'last_non_direct': {
      let k = n - 1;
      for (let i = n - 1; i >= 0; i--) {
        if (!(touches[i] as JourneyTouch).direct) {
          k = i;
          break;
        }
      }
      return oneHot(n, k);
    }
    case 'w_shaped':
      return wShapedWeights(touches, options);
    case 'time_decay':
      return timeDecayWeights(touches, options.conversionTime, options.halfLifeDays ?? 7);
  }
}

function oneHot(n: number, k: number): number[] {
  const w = new Array<number>(n).fill(0);
  w[k] = 1;
  return w;
}

/** Index of the milestone touch: the first flagged touch, else the last touch at/before `time`. */
function milestoneIndex(touches: readonly JourneyTouch[], stage: 'lead' | 'opportunity', time: number | undefined): number {
  const flagged = touches.findIndex((t) => t.stage === stage);
  if (flagged >= 0) return flagged;
  if (time === undefined || !Number.isFinite(time)) return -1;
  let k = -1;
  for (let i = 0; i < touches.length; i++) if ((touches[i] as JourneyTouch).timestamp <= time) k = i;
  return k;
}

function wShapedWeights(touches: readonly JourneyTouch[], options: HeuristicOptions): number[] {
  const n = touches.length;
  const lead = milestoneIndex(touches, 'lead', options.leadTime);
  const opp = milestoneIndex(touches, 'opportunity', options.opportunityTime);
  if (lead < 0 || opp < 0) return positionWeights('position_based', n);
  const w = new Array<number>(n).fill(0);
  for (const k of [0, lead, opp]) w[k] = (w[k] as number) + 0.3;
  const rest: number[] = [];
  for (let i = 0; i < n; i++) if (w[i] === 0) rest.push(i);
  if (rest.length === 0) return normalise(w);
  for (const i of rest) w[i] = 0.1 / rest.length;
  absorbRounding(w, n - 1);
  return w;
}

function timeDecayWeights(touches: readonly JourneyTouch[], conversionTime: number, halfLifeDays: number): number[] {
  if (!(halfLifeDays > 0)) throw new RangeError(`time_decay: halfLifeDays must be positive, got ${halfLifeDays}`);
  const halfLife = halfLifeDays * DAY_MS;
  // log2 of each weight; subtracting the largest keeps the newest touch at 2^0.
  const log2w = touches.map((t) => -Math.max(0, conversionTime - t.timestamp) / halfLife);
  const top = log2w.reduce((a, b) => (b > a ? b : a), -Infinity);
  return normalise(log2w.map((e) => 2 ** (e - top)));
}
