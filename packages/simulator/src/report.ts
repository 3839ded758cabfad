import { ALGORITHMIC_MODELS, JOURNEY_MODELS, type ModelAccuracy, type ReportModel } from './attribution.js';
import type { SimulationRun } from './run.js';

/** The accuracy report of one run: every model's shares beside the true shares, and their TVD. */
export interface SimulationReport {
  scenario: string;
  seed: number;
  models: { model: ReportModel; tvd: number; channels: { channel: string; attributed_share: number; true_share: number }[] }[];
}

const ORDER: readonly ReportModel[] = [...ALGORITHMIC_MODELS, 'incrementality_calibrated', ...JOURNEY_MODELS];

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/**
 * The report of a run, models in a fixed order (algorithmic, calibrated, then rule-based),
 * channels by name, numbers rounded to 4 decimals. TVD is computed before rounding.
 */
export function simulationReport(run: SimulationRun): SimulationReport {
  const byModel = new Map(run.accuracy.map((a) => [a.model, a] as const));
  return {
    scenario: run.scenario.name,
    seed: run.seed,
    models: ORDER.filter((m) => byModel.has(m)).map((m) => {
      const a = byModel.get(m) as ModelAccuracy;
      return {
        model: a.model,
        tvd: round4(a.tvd),
        channels: a.channels.map((c) => ({ channel: c.channel, attributed_share: round4(c.attributed_share), true_share: round4(c.true_share) })),
      };
    }),
  };
}
