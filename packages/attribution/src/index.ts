/**
 * @touchline/attribution — the attribution models, as pure functions (no I/O, no dependencies).
 *
 * Two kinds of input:
 * - one journey (`JourneyTouch[]`, sorted by time) → per-touch weights summing to 1:
 *   `heuristicWeights` (rule-based models; algorithmic ones given their fit),
 *   `journeyWeightsFromChannelScores`, `dataDrivenWeights`;
 * - aggregated paths (`PathStats`, ChannelAttribution's `path;conversions;value;nulls` layout,
 *   kept incrementally by a streaming attributor) → channel-level credit:
 *   `attributePaths`, `markovAttribution`, `shapleyAttribution`, `orderedShapleyAttribution`,
 *   `dataDrivenAttribution`, `pathHeuristicAttribution`.
 *
 * Design choices worth knowing (details at each function):
 * - Markov removal effects are solved exactly on the absorbing chain (dense LU up to 300 states,
 *   Gauss–Seidel to 1e-15 beyond), never simulated; order k uses ChannelAttribution's sliding-
 *   window states and removing a channel removes every state that contains it.
 * - Shapley uses Zhao et al.'s worth (conversions of journeys whose channel set ⊆ S); it is
 *   additive, so the simplified closed form is exact for any number of channels. Exact bitmask
 *   transforms up to 20 channels, the closed form beyond; Monte Carlo on request, with errors.
 * - Data-driven: L2 logistic regression (presence, first, last, pairwise order), Newton-fitted;
 *   credit = counterfactual drop in predicted conversion probability, channel first, then touch.
 * - Weights returned to callers sum to 1 in left-to-right float arithmetic: the last weight
 *   absorbs rounding (`normalise`).
 */
export * from './types.js';
export { normalise, absorbRounding } from './math/normalise.js';
export { compensatedSum, naiveSum, nextUp, nextDown } from './math/float.js';
export { zetaTransform, mobiusTransform, shapleyFromWorth, popcount } from './math/subsets.js';
export { mulberry32 } from './math/rng.js';
export { heuristicWeights, positionWeights, DAY_MS, type HeuristicOptions, type PositionalModelName } from './journey/heuristics.js';
export { journeyWeightsFromChannelScores, journeyWeightsFromPositionScores, type ChannelScores } from './journey/channel-scores.js';
export { parsePathsCsv, splitPath, splitCsvLine, type PathRow, type ParsePathsResult } from './paths/parse.js';
export { PathStats, compareStrings, type PathRecord } from './paths/path-stats.js';
export {
  buildMarkovChain,
  type MarkovChain,
  type MarkovChainOptions,
  type MarkovStateConvention,
} from './models/markov-chain.js';
export {
  absorptionProbability,
  markovAttribution,
  creditsFromScores,
  type AbsorptionOptions,
  type AbsorptionResult,
  type MarkovOptions,
  type MarkovResult,
} from './models/markov.js';
export {
  shapleyAttribution,
  orderedShapleyAttribution,
  type ShapleyOptions,
  type ShapleyResult,
  type OrderedShapleyResult,
} from './models/shapley.js';
export {
  fitDataDriven,
  predictConversion,
  dataDrivenWeights,
  dataDrivenAttribution,
  type DataDrivenModel,
  type DataDrivenOptions,
  type DataDrivenResult,
} from './models/data-driven.js';
export { pathHeuristicAttribution } from './models/path-heuristics.js';
export { attributePaths, type PathAttributionOptions } from './models/attribute-paths.js';
export {
  estimateLift,
  incrementalityCalibrated,
  normalQuantile,
  wilsonInterval,
  type ArmCounts,
  type Interval,
  type LiftEstimate,
  type MeasuredIncrementality,
} from './experiments/lift.js';
