import type { ModelName } from '@touchline/attribution';
import type { TouchlineConfig } from '@touchline/contracts';

/** The attributor's settings from the configuration (model names are checked by startAttributor). */
export function attributorOptionsFrom(config: TouchlineConfig) {
  return {
    halfLifeDays: config.TOUCHLINE_TIME_DECAY_HALF_LIFE_DAYS,
    ...(config.TOUCHLINE_MODELS ? { models: config.TOUCHLINE_MODELS as ModelName[] } : {}),
    markovOrder: config.TOUCHLINE_MARKOV_ORDER,
    recomputeEveryMs: config.TOUCHLINE_MODEL_RECOMPUTE_MS,
    recomputeEveryConversions: config.TOUCHLINE_MODEL_RECOMPUTE_CONVERSIONS,
    restateThreshold: config.TOUCHLINE_RESTATE_THRESHOLD,
    minConversions: config.TOUCHLINE_MODEL_MIN_CONVERSIONS,
    minNullPaths: config.TOUCHLINE_MODEL_MIN_NULL_PATHS,
    maxRetainedJourneys: config.TOUCHLINE_ATTRIBUTOR_RETAINED_JOURNEYS,
  };
}
