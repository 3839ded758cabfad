import type { PathStats } from '../paths/path-stats.js';
import type { ChannelAttribution, PathModelName } from '../types.js';
import { dataDrivenAttribution, fitDataDriven, type DataDrivenOptions } from './data-driven.js';
import { markovAttribution, type MarkovOptions } from './markov.js';
import { pathHeuristicAttribution } from './path-heuristics.js';
import { orderedShapleyAttribution, shapleyAttribution, type ShapleyOptions } from './shapley.js';

export interface PathAttributionOptions {
  markov?: MarkovOptions;
  shapley?: ShapleyOptions;
  dataDriven?: DataDrivenOptions;
}

/**
 * Channel-level credit of one model over aggregated paths — one entry point for the models that
 * apply to path data (`PATH_MODEL_NAMES`). See each model's function for its definition.
 */
export function attributePaths(stats: PathStats, model: PathModelName, options: PathAttributionOptions = {}): ChannelAttribution {
  switch (model) {
    case 'first_touch':
    case 'last_touch':
    case 'linear':
    case 'position_based':
      return pathHeuristicAttribution(stats, model);
    case 'markov':
      return markovAttribution(stats, options.markov);
    case 'shapley':
      return shapleyAttribution(stats, options.shapley);
    case 'shapley_ordered':
      return orderedShapleyAttribution(stats);
    case 'data_driven':
      return dataDrivenAttribution(stats, fitDataDriven(stats, options.dataDriven));
  }
}
