import type { Experiment, TouchlineConfig } from '@touchline/contracts';
import { DEFAULT_BID_OPTIONS, type BidOptions } from './bids.js';
import type { DirectShareOptions, OpportunityOptions, RoiDropOptions } from './detectors/performance.js';
import { DEFAULT_TRAFFIC_OPTIONS, type TrafficOptions } from './detectors/traffic.js';
import type { JournalOptions } from './journal.js';
import { DAY, HOUR, MINUTE } from './series.js';
import { DEFAULT_STREAM_OPTIONS, type StreamOptions } from './stream.js';
import { DEFAULT_SUGGESTION_OPTIONS, type SuggestionOptions } from './suggestions.js';
import { DEFAULT_DELIVERY_OPTIONS, type DeliveryOptions } from './webhooks/delivery.js';

export interface AlertsOptions {
  /** The attribution model detectors, suggestions and bid signals read (metrics cover every model). */
  model: string;
  /** How often the windowed detectors run. */
  evaluateEveryMs: number;
  suggestEveryMs: number;
  /** After credit or spend changed, suggestions are recomputed this soon (imports show up quickly). */
  suggestAfterChangeMs: number;
  bidEveryMs: number;
  /** Window metrics go out at most this often while credit or spend changes, and at least every 10 s. */
  metricsEveryMs: number;
  /** Conversions and spend older than this are forgotten by the live metrics. */
  retentionMs: number;
  roiDrop: RoiDropOptions;
  opportunity: OpportunityOptions;
  directShare: DirectShareOptions;
  traffic: TrafficOptions;
  suggestions: SuggestionOptions;
  bids: BidOptions;
  delivery: DeliveryOptions;
  stream: StreamOptions;
  journal: Omit<JournalOptions, 'now'>;
  /** Incrementality experiments whose lift is measured live (none: no experiments consumer). */
  experiments: Experiment[];
  /** Experiment estimates go out at most this often while events arrive. */
  liftEveryMs: number;
  /** Confidence level of the lift intervals. */
  liftConfidence: number;
  /** The model the `incrementality_calibrated` credit rescales. */
  calibrationModel: string;
}

export const DEFAULT_ALERTS_OPTIONS: AlertsOptions = {
  model: 'linear',
  evaluateEveryMs: 5000,
  suggestEveryMs: 10 * MINUTE,
  suggestAfterChangeMs: 15_000,
  bidEveryMs: 15 * MINUTE,
  metricsEveryMs: 1000,
  retentionMs: 35 * DAY,
  roiDrop: { trailingMs: DAY, baselineMs: 7 * DAY, minBaselineConversions: 30, minExpectedConversions: 10, maxPValue: 0.01, minDrop: 0.25 },
  opportunity: { windowMs: 7 * DAY, minConversions: 20, minLift: 0.5, minPeers: 2, maxPValue: 0.01 },
  directShare: { windowMs: DAY, threshold: 0.2, minConversions: 20, maxPValue: 0.05 },
  traffic: DEFAULT_TRAFFIC_OPTIONS,
  suggestions: DEFAULT_SUGGESTION_OPTIONS,
  bids: DEFAULT_BID_OPTIONS,
  delivery: DEFAULT_DELIVERY_OPTIONS,
  stream: DEFAULT_STREAM_OPTIONS,
  journal: { bufferSize: 1000, dedupeWindowMs: 8 * DAY + HOUR },
  experiments: [],
  liftEveryMs: 1000,
  liftConfidence: 0.95,
  calibrationModel: 'data_driven',
};

type Nested<T> = { [K in keyof T]?: T[K] extends (...args: never[]) => unknown ? T[K] : T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? Nested<T[K]> : T[K] };
export type AlertsOptionsInput = Nested<AlertsOptions>;

/** The options the configuration sets. */
export function alertsOptionsFrom(config: TouchlineConfig): AlertsOptionsInput {
  return {
    model: config.TOUCHLINE_ALERTS_MODEL,
    experiments: config.TOUCHLINE_EXPERIMENTS,
    suggestions: {
      strategic: config.TOUCHLINE_STRATEGIC_CHANNELS,
      ...(config.TOUCHLINE_MAX_SHIFT_PER_WEEK !== undefined ? { maxShiftPerWeek: config.TOUCHLINE_MAX_SHIFT_PER_WEEK } : {}),
    },
  };
}

/** Defaults, overridden field by field (nested groups are merged, not replaced). */
export function alertsOptions(input: AlertsOptionsInput = {}): AlertsOptions {
  return merge(DEFAULT_ALERTS_OPTIONS, input) as AlertsOptions;
}

function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isPlain(base) || !isPlain(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k === 'strategic' ? v : merge(base[k], v);
  return out;
}

function isPlain(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
