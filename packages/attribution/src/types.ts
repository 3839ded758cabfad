/**
 * Shared vocabulary of the attribution package: model names, the touch of a journey, and the
 * channel-level credit every model produces.
 */

export const MODEL_NAMES = [
  'first_touch',
  'last_touch',
  'last_non_direct',
  'linear',
  'position_based',
  'w_shaped',
  'time_decay',
  'markov',
  'shapley',
  'shapley_ordered',
  'data_driven',
] as const;

export type ModelName = (typeof MODEL_NAMES)[number];

/** The rule-based models: weights depend on one journey only. */
export const HEURISTIC_MODEL_NAMES = [
  'first_touch',
  'last_touch',
  'last_non_direct',
  'linear',
  'position_based',
  'w_shaped',
  'time_decay',
] as const satisfies readonly ModelName[];

export type HeuristicModelName = (typeof HEURISTIC_MODEL_NAMES)[number];

/**
 * Models that can be computed from aggregated path data (channel order, no timestamps, no
 * `direct` flag, no milestones). `time_decay`, `w_shaped` and `last_non_direct` need facts that
 * path data does not carry, so they are left out.
 */
export const PATH_MODEL_NAMES = [
  'first_touch',
  'last_touch',
  'linear',
  'position_based',
  'markov',
  'shapley',
  'shapley_ordered',
  'data_driven',
] as const satisfies readonly ModelName[];

export type PathModelName = (typeof PATH_MODEL_NAMES)[number];

export function isModelName(s: string): s is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(s);
}

export function isPathModelName(s: string): s is PathModelName {
  return (PATH_MODEL_NAMES as readonly string[]).includes(s);
}

/** Milestone marker of a touch, used by the W-shaped model. */
export type TouchStage = 'lead' | 'opportunity' | 'closed_won';

/** One touchpoint of a journey. */
export interface JourneyTouch {
  id: string;
  channel: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** A direct visit (typed URL, bookmark): skipped by `last_non_direct`. */
  direct?: boolean;
  /** Marks the touch that created the lead / opportunity / closed deal (W-shaped). */
  stage?: TouchStage;
}

/** Credit of one channel under one model. */
export interface ChannelCredit {
  channel: string;
  conversions: number;
  value: number;
}

/** Channel-level result of one model over a set of paths. */
export interface ChannelAttribution {
  model: ModelName;
  /** Markov order (only for `markov`). */
  order?: number;
  /** One row per channel seen in the data, sorted by channel name. */
  credits: ChannelCredit[];
}
