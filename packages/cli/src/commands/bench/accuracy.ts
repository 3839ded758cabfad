import { ALGORITHMIC_MODELS, getScenario, SCENARIO_NAMES, simulateOffline, type ReportModel, type Scenario } from '@touchline/simulator';
import type { BenchRow, BenchStage } from '../bench.js';

const SEEDS = [1, 2, 3];

/**
 * Accuracy of every attribution model against a known truth: each named scenario of the
 * simulator is run with several seeds, and each model's share of credit per channel is compared
 * with the true share of incremental conversions (from re-running the same population with each
 * channel removed, common random numbers) as a total variation distance. Per scenario and model:
 * the mean TVD over the seeds (the worst seed in the metric's name), with last-touch's as the
 * baseline; then two reference points: the truth's own noise (realised vs expected true shares),
 * and an oracle that compares, channel by channel, the units the simulator randomly targeted with
 * those it did not — what a perfect experiment on every channel would measure with this many
 * units, i.e. how much of a model's TVD is sampling noise. `--quick`: one seed.
 */
const stage: BenchStage = {
  describe: 'TVD of every model from the true share of incremental conversions, per simulated scenario',
  async run({ quick, log }) {
    const seeds = quick ? SEEDS.slice(0, 1) : SEEDS;
    const rows: BenchRow[] = [];
    for (const name of SCENARIO_NAMES) {
      const tvds = new Map<ReportModel, number[]>();
      const floors: number[] = [];
      const oracle: number[] = [];
      for (const seed of seeds) {
        const scenario = getScenario(name) as Scenario;
        const t0 = performance.now();
        const run = simulateOffline(scenario, seed);
        const t = run.truth;
        floors.push(run.floors.truthNoise);
        oracle.push(run.floors.randomisedComparison);
        for (const a of run.accuracy) tvds.set(a.model, [...(tvds.get(a.model) ?? []), a.tvd]);
        const best = [...run.accuracy].filter((a) => (ALGORITHMIC_MODELS as readonly string[]).includes(a.model)).sort((x, y) => x.tvd - y.tvd)[0];
        log(
          `  ${name} seed ${seed}: ${run.units.toLocaleString('en-US')} units, ${t.conversions.toLocaleString('en-US')} conversions, ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
            `best algorithmic ${best?.model} ${best?.tvd.toFixed(3)}, last_touch ${run.accuracy.find((a) => a.model === 'last_touch')?.tvd.toFixed(3)}, ` +
            `oracle ${run.floors.randomisedComparison.toFixed(3)}`,
        );
      }
      const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
      const lastTouch = mean(tvds.get('last_touch') ?? [NaN]);
      for (const [model, xs] of tvds) {
        rows.push({
          metric: `${name}: ${model} TVD (mean of ${xs.length} seeds; worst ${Math.max(...xs).toFixed(3)})`,
          value: mean(xs),
          unit: '',
          ...(model === 'last_touch' ? {} : { baseline: { what: 'last_touch', value: lastTouch } }),
        });
      }
      rows.push({ metric: `${name}: truth's own noise, TVD(realised, expected true shares)`, value: mean(floors), unit: '' });
      rows.push({ metric: `${name}: oracle experiment, targeted vs not targeted per channel (sampling noise at this size)`, value: mean(oracle), unit: '' });
    }
    return rows;
  },
};

export default stage;
