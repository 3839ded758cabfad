import type { PathStats } from '@touchline/attribution';
import {
  accuracyOf,
  ALGORITHMIC_MODELS,
  creditPathModels,
  JOURNEY_MODELS,
  JourneyCredit,
  shares,
  totalVariationDistance,
  type ModelAccuracy,
  type ModelCredit,
} from './attribution.js';
import { costEvents, unitEvents } from './events.js';
import { Observer, type SimJourney } from './journeys.js';
import { PipelineObserver, pipelineSettingsFor, type PipelineObservation } from './pipeline.js';
import { estimateLift, incrementalityCalibrated, type LiftEstimate } from '@touchline/attribution';
import { conversionModel, conversionTime, cumulativeHazard, withTouches, type ConversionModel } from './outcome.js';
import type { HoldoutExperiment, Scenario } from './scenario.js';
import { TruthAccumulator, type GroundTruth } from './truth.js';
import { createWorld, type SimTouch, type SimUnit, type World } from './world.js';

export interface ExperimentResult {
  experiment: HoldoutExperiment;
  /** What an analyst measures: exposed arm vs held-out arm, among the people the channel targeted. */
  lift: LiftEstimate;
  /**
   * The true average effect of showing the experiment's touches to the targeted people (both
   * arms), from the counterfactual of each: realised with the drawn thresholds, and expected
   * over them. The measured lift estimates the expected one.
   */
  trueAbsoluteLift: number;
  expectedAbsoluteLift: number;
}

export interface SimulationRun {
  scenario: Scenario;
  seed: number;
  units: number;
  touches: number;
  truth: GroundTruth;
  stats: PathStats;
  /** Converting journeys (only with `keepJourneys`, under the `model` observation). */
  journeys: SimJourney[];
  /** Every model's channel credit, scored against the truth (under `pipeline`: the touches' credit, `PipelineObservation.touchedCredits`). */
  credits: ModelCredit[];
  accuracy: ModelAccuracy[];
  experiments: ExperimentResult[];
  /** How precisely this run can judge a model at all (see `Floors`). */
  floors: Floors;
  /** With `observation: 'pipeline'`: what Touchline's stages hold at the end (see `PipelineObserver`). */
  pipeline?: PipelineObservation;
}

/**
 * Reference points for the accuracy of a run, in TVD from the true shares.
 * - `truthNoise`: realised vs expected true shares — how much the truth itself owes to the luck
 *   of the conversion draws.
 * - `randomisedComparison`: an oracle that knows, unit by unit, whom each channel targeted (which
 *   the simulator randomises) and estimates c's incremental conversions as
 *   n_targeted × (conversion rate targeted − conversion rate not targeted): what a perfect
 *   experiment on every channel at once would measure with this many units — the scale of the
 *   sampling noise. (A regression that adjusts for the other channels can do better than this
 *   raw comparison, which also ignores interactions.)
 */
export interface Floors {
  truthNoise: number;
  randomisedComparison: number;
}

export interface RunOptions {
  keepJourneys?: boolean;
  /** Confidence level of the lift intervals (default 0.95). */
  confidence?: number;
  /** Called every 10,000 units with (done, total). */
  onProgress?: (done: number, total: number) => void;
  /**
   * How journeys and credit are observed. `model` (default): the `Observer`'s definition, every
   * unit with one null path, algorithmic models fitted on aggregate path statistics. `pipeline`:
   * the world's events through Touchline's own ingest, stitcher and attributor state in process
   * (`PipelineObserver`), so the credit is what a live run settles to.
   */
  observation?: 'model' | 'pipeline';
  /** Settings of the pipeline observation, as environment variables (default `pipelineSettingsFor(scenario)`). */
  settings?: Record<string, string>;
}

/** Accumulates one experiment over the units: arm counts and the counterfactual effect. */
class ExperimentAccumulator {
  readonly exposed = { units: 0, conversions: 0 };
  readonly holdout = { units: 0, conversions: 0 };
  private realised = 0;
  private expected = 0;
  private readonly ch: number;

  constructor(
    readonly experiment: HoldoutExperiment,
    channels: readonly string[],
    private readonly model: ConversionModel,
  ) {
    this.ch = channels.indexOf(experiment.channel);
  }

  private matches(t: SimTouch): boolean {
    return t.ch === this.ch && (this.experiment.campaign === undefined || t.campaign === this.experiment.campaign);
  }

  add(unit: SimUnit, T: number | undefined): void {
    const ghosts = unit.ghosts.filter((g) => g.experiment === this.experiment.id);
    const converted = T !== undefined;
    if (ghosts.length > 0) {
      this.holdout.units++;
      if (converted) this.holdout.conversions++;
      const shown = withTouches(unit, [...unit.touches, ...ghosts]);
      this.realised += (conversionTime(this.model, shown) !== undefined ? 1 : 0) - (converted ? 1 : 0);
      this.expected += Math.exp(-cumulativeHazard(this.model, unit)) - Math.exp(-cumulativeHazard(this.model, shown));
      return;
    }
    if (!unit.touches.some((t) => this.matches(t))) return;
    this.exposed.units++;
    if (converted) this.exposed.conversions++;
    const hidden = withTouches(
      unit,
      unit.touches.filter((t) => !this.matches(t)),
    );
    this.realised += (converted ? 1 : 0) - (conversionTime(this.model, hidden) !== undefined ? 1 : 0);
    this.expected += Math.exp(-cumulativeHazard(this.model, hidden)) - Math.exp(-cumulativeHazard(this.model, unit));
  }

  result(confidence: number): ExperimentResult {
    const n = this.exposed.units + this.holdout.units;
    return {
      experiment: this.experiment,
      lift: estimateLift({ ...this.exposed }, { ...this.holdout }, confidence),
      trueAbsoluteLift: n > 0 ? this.realised / n : 0,
      expectedAbsoluteLift: n > 0 ? this.expected / n : 0,
    };
  }
}

/**
 * Simulates a scenario and attributes it offline, in one pass over the units (each generated,
 * converted, counterfactually re-run and observed, then dropped): the ground truth, the path
 * statistics and journeys a pipeline would see, every model's credit and its accuracy against the
 * truth, and each holdout experiment's measured and true lift. When the scenario has experiments,
 * the `incrementality_calibrated` model is the data-driven credit calibrated by them.
 */
export function simulateOffline(scenario: Scenario, seed: number, options: RunOptions = {}): SimulationRun {
  const world: World = createWorld(scenario, seed);
  const model = conversionModel(scenario);
  const truth = new TruthAccumulator(model, world.channels);
  const journeyCredit = new JourneyCredit();
  const pipeline = options.observation === 'pipeline' ? new PipelineObserver(options.settings ?? pipelineSettingsFor(scenario), [...JOURNEY_MODELS, ...ALGORITHMIC_MODELS]) : undefined;
  const observer = new Observer(world, { keepJourneys: options.keepJourneys ?? false, onJourney: (j) => journeyCredit.add(j) });
  if (pipeline) for (const e of costEvents(world)) pipeline.add(e);
  const experiments = (scenario.holdouts ?? []).map((h) => new ExperimentAccumulator(h, world.channels, model));
  const n = world.channels.length;
  const targeted = { units: new Float64Array(n), conversions: new Float64Array(n) };
  let regularUnits = 0;
  let regularConversions = 0;
  let touches = 0;
  const seen = new Uint8Array(n);
  for (let u = 0; u < world.unitCount; u++) {
    const unit = world.unit(u);
    touches += unit.touches.length;
    const T = conversionTime(model, unit);
    truth.add(unit, T);
    if (pipeline) for (const e of unitEvents(world, unit, T)) pipeline.add(e);
    else observer.add(unit, T);
    for (const e of experiments) e.add(unit, T);
    if (!unit.fraud) {
      regularUnits++;
      if (T !== undefined) regularConversions++;
      seen.fill(0);
      for (const t of unit.touches) seen[t.ch] = 1;
      for (let c = 0; c < n; c++) {
        if (!seen[c]) continue;
        targeted.units[c] = (targeted.units[c] as number) + 1;
        if (T !== undefined) targeted.conversions[c] = (targeted.conversions[c] as number) + 1;
      }
    }
    if (options.onProgress && (u + 1) % 10_000 === 0) options.onProgress(u + 1, world.unitCount);
  }
  options.onProgress?.(world.unitCount, world.unitCount);
  const groundTruth = truth.result();
  const observed = pipeline?.result();
  // Channel accuracy is scored on the credit of touches under either observation: a conversion
  // without any touch is left uncredited by the model observation and credited to a synthetic
  // touch by the pipeline, which says nothing about a channel.
  const credits = observed ? [...observed.touchedCredits] : [...creditPathModels(observer.stats), ...journeyCredit.result()];
  const results = experiments.map((e) => e.result(options.confidence ?? 0.95));
  if (results.length) {
    const dd = credits.find((c) => c.model === 'data_driven') as ModelCredit;
    const measured = results.map((r) => ({ channel: r.experiment.channel, incrementalConversions: r.lift.incrementalConversions }));
    credits.push({ model: 'incrementality_calibrated', credits: incrementalityCalibrated(dd.credits, measured) });
  }
  const comparison = world.channels.map((_, c) => {
    const nt = targeted.units[c] as number;
    const ct = targeted.conversions[c] as number;
    const nu = regularUnits - nt;
    const cu = regularConversions - ct;
    return nt > 0 && nu > 0 ? Math.max(0, nt * (ct / nt - cu / nu)) : 0;
  });
  const floors: Floors = {
    truthNoise: totalVariationDistance(
      groundTruth.channels.map((c) => c.share),
      groundTruth.channels.map((c) => c.expectedShare),
    ),
    randomisedComparison: totalVariationDistance(
      shares(comparison),
      groundTruth.channels.map((c) => c.share),
    ),
  };
  return {
    scenario,
    seed,
    units: world.unitCount,
    touches,
    truth: groundTruth,
    stats: observed ? observed.stats : observer.stats,
    journeys: observer.journeys,
    credits,
    accuracy: credits.map((c) => accuracyOf(c, groundTruth)),
    experiments: results,
    floors,
    ...(observed ? { pipeline: observed } : {}),
  };
}
