import { dataDrivenAttribution, fitDataDriven } from '@touchline/attribution';
import { ATTRIBUTOR_DATA_DRIVEN_OPTIONS } from '@touchline/attributor';
import { accuracyOf, ALGORITHMIC_MODELS, getScenario, SCENARIO_NAMES, simulateOffline, type ReportModel, type Scenario, type SimulationRun } from '@touchline/simulator';
import { z } from 'zod';
import { parseStageFlags, type BenchRow, type BenchStage } from '../bench.js';

const SEEDS = [1, 2, 3];

const commaList = z.string().transform((s) => s.split(',').filter((x) => x !== ''));
const atLeastOne = 'give at least one value, comma-separated';

/**
 * `--scenario=b2b,synergy` and `--seeds=1,2`: run part of the bench while working on one case.
 * `--scale=4`: the `model` observation with four times each scenario's population, to tell a
 * model's bias from sampling noise (noise shrinks with the population, bias does not).
 * `--pipeline=no`: leave out the pipeline observation's rows (the slow part).
 */
const AccuracyFlags = z
  .object({
    scenario: commaList
      .pipe(z.array(z.enum(SCENARIO_NAMES as [string, ...string[]], { error: (i) => `unknown scenario ${JSON.stringify(i.input)}; scenarios: ${SCENARIO_NAMES.join(', ')}` })).min(1, atLeastOne))
      .optional(),
    seeds: commaList.pipe(z.array(z.string().regex(/^\d+$/, 'seeds are non-negative integers').transform(Number)).min(1, atLeastOne)).optional(),
    scale: z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'a positive number of times the scenario\'s population')
      .transform(Number)
      .refine((x) => x > 0 && x <= 16, 'between 0 and 16 times the scenario\'s population')
      .optional(),
    pipeline: z.enum(['yes', 'no'], { error: 'yes or no' }).optional(),
  })
  .strict();

export function parseAccuracyFlags(flags: ReadonlyMap<string, string> | undefined): z.infer<typeof AccuracyFlags> {
  return parseStageFlags(AccuracyFlags, flags);
}

/**
 * The data-driven credit as the streaming attributor computes it from the same path statistics
 * (`ATTRIBUTOR_DATA_DRIVEN_OPTIONS`, canonical path order): it has no empty null paths to fit, so
 * this is what a deployment gets today, beside the offline fit that knows every untouched unit.
 */
function attributorDataDriven(run: SimulationRun): number {
  const stats = run.stats.canonical();
  const credits = dataDrivenAttribution(stats, fitDataDriven(stats, ATTRIBUTOR_DATA_DRIVEN_OPTIONS)).credits;
  return accuracyOf({ model: 'data_driven', credits }, run.truth).tvd;
}

/** Units per run of the pipeline observation: the stitcher's and attributor's own state costs ~1–4 s per 1,000 units. */
export const PIPELINE_UNITS = 20_000;

/**
 * The data-driven model as the product computes it: the scenario's events through ingest, the
 * stitcher and the attributor in process (`observation: 'pipeline'`), at `PIPELINE_UNITS` units.
 * `snapshot`: the fit's channel credit (`model_snapshots.attributed_conversions`); `rows`: the
 * per-conversion credit of the touches summed per channel (`credits_current`, synthetic touches
 * of untouched conversions left out).
 */
function pipelineDataDriven(scenario: Scenario, seed: number): { snapshot: number; rows: number; lastTouch: number } {
  const run = simulateOffline({ ...scenario, units: Math.min(scenario.units, PIPELINE_UNITS) }, seed, { observation: 'pipeline' });
  const fit = run.pipeline?.snapshot.fits.get('data_driven');
  const tvdOf = (model: ReportModel) => run.accuracy.find((a) => a.model === model)?.tvd ?? NaN;
  return {
    snapshot: fit?.status === 'fitted' ? accuracyOf({ model: 'data_driven', credits: fit.credits }, run.truth).tvd : NaN,
    rows: tvdOf('data_driven'),
    lastTouch: tvdOf('last_touch'),
  };
}

/**
 * Accuracy of every attribution model against a known truth: each named scenario of the
 * simulator is run with several seeds, and each model's share of credit per channel is compared
 * with the true share of incremental conversions (from re-running the same population with each
 * channel removed, common random numbers) as a total variation distance. Per scenario and model:
 * the mean TVD over the seeds (the worst seed in the metric's name), with last-touch's as the
 * baseline; the data-driven model once more as the streaming attributor fits it (no untouched
 * units); then two reference points: the truth's own noise (realised vs expected true shares),
 * and an oracle that compares, channel by channel, the units the simulator randomly targeted with
 * those it did not — what a perfect experiment on every channel would measure with this many
 * units, i.e. how much of a model's TVD is sampling noise. Last, data_driven on the pipeline
 * observation (`pipelineDataDriven`, at `PIPELINE_UNITS` units, beside last touch on the same
 * run): what the product computes from the events. `--quick`: one seed;
 * `--scenario=a,b` and `--seeds=1,2` narrow the run.
 */
const stage: BenchStage = {
  describe: 'TVD of every model from the true share of incremental conversions, per simulated scenario',
  async run({ quick, log, flags }) {
    const parsed = parseAccuracyFlags(flags);
    const seeds = parsed.seeds ?? (quick ? SEEDS.slice(0, 1) : SEEDS);
    const scale = parsed.scale ?? 1;
    const withPipeline = parsed.pipeline !== 'no';
    const scaled = (name: string): Scenario => {
      const base = getScenario(name) as Scenario;
      return scale === 1 ? base : { ...base, units: Math.round(base.units * scale) };
    };
    const at = scale === 1 ? '' : ` at ${scale}× the population`;
    const rows: BenchRow[] = [];
    for (const name of parsed.scenario ?? SCENARIO_NAMES) {
      const tvds = new Map<ReportModel, number[]>();
      const live: number[] = [];
      const floors: number[] = [];
      const oracle: number[] = [];
      const pipe: Array<{ snapshot: number; rows: number; lastTouch: number }> = [];
      for (const seed of seeds) {
        const scenario = getScenario(name) as Scenario;
        const t0 = performance.now();
        const run = simulateOffline(scaled(name), seed);
        const t = run.truth;
        floors.push(run.floors.truthNoise);
        oracle.push(run.floors.randomisedComparison);
        for (const a of run.accuracy) tvds.set(a.model, [...(tvds.get(a.model) ?? []), a.tvd]);
        live.push(attributorDataDriven(run));
        const best = [...run.accuracy].filter((a) => (ALGORITHMIC_MODELS as readonly string[]).includes(a.model)).sort((x, y) => x.tvd - y.tvd)[0];
        log(
          `  ${name} seed ${seed}: ${run.units.toLocaleString('en-US')} units, ${t.conversions.toLocaleString('en-US')} conversions, ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
            `best algorithmic ${best?.model} ${best?.tvd.toFixed(3)}, data_driven as the attributor fits it ${live[live.length - 1]?.toFixed(3)}, ` +
            `last_touch ${run.accuracy.find((a) => a.model === 'last_touch')?.tvd.toFixed(3)}, oracle ${run.floors.randomisedComparison.toFixed(3)}`,
        );
        if (!withPipeline) continue;
        const t1 = performance.now();
        const p = pipelineDataDriven(scenario, seed);
        pipe.push(p);
        log(
          `  ${name} seed ${seed}, pipeline observation at ${Math.min(scenario.units, PIPELINE_UNITS).toLocaleString('en-US')} units, ${((performance.now() - t1) / 1000).toFixed(1)} s: ` +
            `data_driven snapshot ${p.snapshot.toFixed(3)}, credit rows ${p.rows.toFixed(3)}, last_touch ${p.lastTouch.toFixed(3)}`,
        );
      }
      const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
      const lastTouch = mean(tvds.get('last_touch') ?? [NaN]);
      for (const [model, xs] of tvds) {
        rows.push({
          metric: `${name}${at}: ${model} TVD (mean of ${xs.length} seeds; worst ${Math.max(...xs).toFixed(3)})`,
          value: mean(xs),
          unit: '',
          ...(model === 'last_touch' ? {} : { baseline: { what: 'last_touch', value: lastTouch } }),
        });
      }
      rows.push({
        metric: `${name}${at}: data_driven as the streaming attributor fits it, no untouched units (mean of ${live.length} seeds; worst ${Math.max(...live).toFixed(3)})`,
        value: mean(live),
        unit: '',
        baseline: { what: 'last_touch', value: lastTouch },
      });
      const units = Math.min((getScenario(name) as Scenario).units, PIPELINE_UNITS).toLocaleString('en-US');
      const pipeLastTouch = mean(pipe.map((p) => p.lastTouch));
      for (const [what, xs] of (withPipeline
        ? [
            ['snapshot channel credit', pipe.map((p) => p.snapshot)],
            ['credit rows of the touches', pipe.map((p) => p.rows)],
          ]
        : []) as Array<[string, number[]]>) {
        rows.push({
          metric: `${name}: data_driven on the pipeline observation, ${what}, ${units} units (mean of ${xs.length} seeds; worst ${Math.max(...xs).toFixed(3)})`,
          value: mean(xs),
          unit: '',
          baseline: { what: `last_touch on the same runs`, value: pipeLastTouch },
        });
      }
      rows.push({ metric: `${name}${at}: truth's own noise, TVD(realised, expected true shares)`, value: mean(floors), unit: '' });
      rows.push({ metric: `${name}${at}: oracle experiment, targeted vs not targeted per channel (sampling noise at this size)`, value: mean(oracle), unit: '' });
    }
    return rows;
  },
};

export default stage;
