/**
 * @touchline/simulator — simulated markets whose causal structure is known, to measure attribution
 * against the truth.
 *
 * - `Scenario` (scenario.ts) states the causal structure: channels with reach, frequency, an
 *   effect on the conversion hazard, delays, wear-out and synergies; click fraud; holdouts.
 *   `SCENARIOS`: b2c (default), b2b, synergy, display.
 * - `createWorld` draws a population from per-unit, per-purpose random streams (common random
 *   numbers), unit by unit and on demand; `conversionTime` is the hazard process (outcome.ts).
 * - `simulateOffline` runs a scenario once through: ground truth by removal (`TruthAccumulator`),
 *   the journeys and path statistics a pipeline would see (`Observer`), every model's credit and
 *   its total variation distance from the truth, holdout lifts, the incrementality-calibrated model.
 *   With `observation: 'pipeline'` the journeys and credit come from Touchline's own ingest,
 *   stitcher and attributor state run in process (`PipelineObserver`): what a live run settles to.
 * - `unitEvents` / `costEvents`: the v1 HTTP events of a world; `sendLive` posts them to a running
 *   Touchline (the only I/O here); `liveFeed` is an endless, pure feed for demos.
 * - `inHoldout` / `holdoutArm`: the deterministic holdout assignment, shared with ingest.
 */
export * from './scenario.js';
export { SCENARIOS, SCENARIO_NAMES, DEFAULT_SCENARIO, getScenario } from './scenarios.js';
export { murmur32, fmix32, stream, streamOf, keyOf, type Stream } from './random.js';
export { createWorld, unitsOf, touchId, runPrefix, type World, type SimUnit, type SimTouch, type SimMember, type GhostTouch } from './world.js';
export { conversionModel, conversionTime, cumulativeHazard, withTouches, type ConversionModel } from './outcome.js';
export { TruthAccumulator, type GroundTruth, type ChannelTruth } from './truth.js';
export { Observer, conversionIdOf, conversionWindowsFor, dayZeroMs, DAY_MS, type SimJourney } from './journeys.js';
export {
  JOURNEY_MODELS,
  ALGORITHMIC_MODELS,
  JourneyCredit,
  creditPathModels,
  accuracyOf,
  totalVariationDistance,
  shares,
  type ReportModel,
  type ModelCredit,
  type ModelAccuracy,
  type ChannelShare,
} from './attribution.js';
export { PipelineObserver, pipelineSettingsFor, type PipelineObservation } from './pipeline.js';
export { simulateOffline, type SimulationRun, type RunOptions, type ExperimentResult, type Floors } from './run.js';
export {
  estimateLift,
  incrementalityCalibrated,
  normalQuantile,
  wilsonInterval,
  type ArmCounts,
  type Interval,
  type LiftEstimate,
  type MeasuredIncrementality,
} from '@touchline/attribution';
export { holdoutBucket, holdoutArm, inHoldout, murmur3x86_32, type HoldoutArm } from '@touchline/contracts';
export {
  unitEvents,
  costEvents,
  dailySpend,
  eventTime,
  type SimEvent,
  type SimTouchEvent,
  type SimIdentifyEvent,
  type SimConversionEvent,
  type SimCostEvent,
  type SimContext,
} from './events.js';
export { liveFeed, type LiveFeedOptions } from './feed.js';
export { sendLive, retryAfterMs, LiveSendError, MAX_BATCH, type LiveOptions, type LiveResult, type ProgressSink } from './live.js';
export { simulationReport, type SimulationReport } from './report.js';
