import { z } from 'zod';
import { FraudFlagMessage } from './messages.js';

/**
 * What the alerts service says: alerts with their evidence, budget-shift suggestions, bid signals
 * and fractional conversion values for ad platforms, and webhook registrations. Times are epoch
 * milliseconds; money is in the currency named on the message.
 */

const v = z.literal(1);

export const ALERT_TYPES = ['roi_drop', 'opportunity', 'fraud_spike', 'tracking_health'] as const;
export const AlertType = z.enum(ALERT_TYPES);
export type AlertType = z.infer<typeof AlertType>;

/** The detector behind an alert, finer than its type (a fraud spike may be a burst or a bot wave). */
export const ALERT_SIGNALS = [
  'roi_drop',
  'opportunity',
  'click_burst',
  'device_burst',
  'rate_spike',
  'bot_traffic',
  'dead_clicks',
  'direct_share',
  'utm_variants',
  'utm_incomplete',
] as const;
export const AlertSignal = z.enum(ALERT_SIGNALS);
export type AlertSignal = z.infer<typeof AlertSignal>;

export const Severity = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof Severity>;

export const TimeWindow = z.object({ from: z.number(), to: z.number() });
export type TimeWindow = z.infer<typeof TimeWindow>;

/**
 * Why an alert fired: what was measured, how much, compared with what, and how sure. `change` is
 * `observed / expected − 1`; `pValue` is the one-sided probability of seeing something at least
 * this extreme if nothing had changed (`confidence` = 1 − pValue).
 */
export const Evidence = z.object({
  metric: z.string(),
  observed: z.number(),
  expected: z.number(),
  change: z.number(),
  window: TimeWindow,
  comparedWith: z.string(),
  baselineWindow: TimeWindow.optional(),
  test: z.string(),
  pValue: z.number().min(0).max(1),
  confidence: z.number().min(0).max(1),
  /** The counts behind the rates: conversions, clicks or touches in each window. */
  volume: z.object({ observed: z.number(), baseline: z.number() }),
});
export type Evidence = z.infer<typeof Evidence>;

const DetailValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.array(z.number())]);

export const AlertMessage = z.object({
  v,
  kind: z.literal('alert'),
  /** Deterministic per finding (type, subject, period): the same finding twice has the same id. */
  id: z.string().min(1),
  type: AlertType,
  signal: AlertSignal,
  severity: Severity,
  at: z.number(),
  /** The attribution model the numbers come from; '' when no model is involved (traffic). */
  model: z.string(),
  channel: z.string(),
  campaign: z.string(),
  summary: z.string(),
  evidence: Evidence,
  details: z.record(z.string(), DetailValue).default({}),
  /** Touchpoints flagged with this alert (fraud only): they stop earning credit. */
  flaggedTouchpoints: z.number().int().nonnegative().default(0),
});
export type AlertMessage = z.infer<typeof AlertMessage>;

export const RISK_TIERS = ['low', 'medium', 'high', 'very_high'] as const;
export const RiskTier = z.enum(RISK_TIERS);
export type RiskTier = z.infer<typeof RiskTier>;

export const ChannelResponse = z.object({
  channel: z.string(),
  weeklySpend: z.number(),
  weeklyRevenue: z.number(),
  averageRoas: z.number(),
  /** Revenue from the next euro at the current spend: elasticity × average ROAS. */
  marginalRoas: z.number(),
  /** Exponent b of the response curve revenue ∝ spend^b (b < 1: diminishing returns). */
  elasticity: z.number(),
  elasticityStdError: z.number(),
  days: z.number().int(),
  conversions: z.number(),
  strategic: z.boolean(),
});
export type ChannelResponse = z.infer<typeof ChannelResponse>;

export const BudgetShiftSuggestion = z.object({
  v,
  kind: z.literal('budget_shift'),
  id: z.string().min(1),
  at: z.number(),
  model: z.string(),
  currency: z.string(),
  from: ChannelResponse,
  to: ChannelResponse,
  /** Total shift per week once fully rolled out. */
  amount: z.number().positive(),
  /** Share of the source channel's weekly spend that moves. */
  shareOfSource: z.number(),
  /** At most this much moves in any one week (the weekly guardrail). */
  weeklyStep: z.number().positive(),
  weeks: z.number().int().positive(),
  risk: z.object({ tier: RiskTier, action: z.string() }),
  expected: z.object({
    revenueChange: z.number(),
    roiBefore: z.number(),
    roiAfter: z.number(),
    /** Relative change of the portfolio ROI: (after − before) / |before|. */
    roiChange: z.number(),
    confidence: z.number().min(0).max(1),
  }),
  guardrails: z.array(z.string()),
  summary: z.string(),
});
export type BudgetShiftSuggestion = z.infer<typeof BudgetShiftSuggestion>;

/** What the alerts topic carries: fraud flags for the stitcher, and every alert and suggestion. */
export const AlertsTopicMessage = z.discriminatedUnion('kind', [FraudFlagMessage, AlertMessage, BudgetShiftSuggestion]);
export type AlertsTopicMessage = z.infer<typeof AlertsTopicMessage>;

export const BID_ACTIONS = ['raise_bid', 'lower_bid', 'hold'] as const;

export const ModelValue = z.object({ model: z.string(), conversions: z.number(), value: z.number() });

/** Per campaign: how far to move its bid or target ROAS, and its fractional conversions per model. */
export const BidSignalMessage = z.object({
  v,
  kind: z.literal('bid_signal'),
  id: z.string().min(1),
  at: z.number(),
  model: z.string(),
  channel: z.string(),
  campaign: z.string(),
  currency: z.string(),
  window: TimeWindow,
  spend: z.number(),
  revenue: z.number(),
  conversions: z.number(),
  roas: z.number(),
  portfolioRoas: z.number(),
  action: z.enum(BID_ACTIONS),
  /** Relative bid change, e.g. 0.12 = raise bids by 12%. */
  bidAdjustment: z.number(),
  targetRoas: z.object({ current: z.number(), suggested: z.number() }),
  /** Weight of the campaign's own data against the portfolio (n / (n + k)). */
  credibility: z.number().min(0).max(1),
  conversionValues: z.array(ModelValue),
  summary: z.string(),
});
export type BidSignalMessage = z.infer<typeof BidSignalMessage>;

/** One conversion's value split over its touches under one model (multi-touch conversion value). */
export const ConversionValueMessage = z.object({
  v,
  kind: z.literal('conversion_value'),
  id: z.string().min(1),
  conversionId: z.string(),
  conversionName: z.string(),
  conversionTimestamp: z.number(),
  model: z.string(),
  version: z.number().int(),
  currency: z.string(),
  conversionValue: z.number(),
  values: z.array(
    z.object({ touchpointId: z.string(), channel: z.string(), campaign: z.string(), weight: z.number(), value: z.number() }),
  ),
});
export type ConversionValueMessage = z.infer<typeof ConversionValueMessage>;

export const BidSignalsTopicMessage = z.discriminatedUnion('kind', [BidSignalMessage, ConversionValueMessage]);
export type BidSignalsTopicMessage = z.infer<typeof BidSignalsTopicMessage>;

export const WEBHOOK_EVENTS = ['bid_signal', 'conversion_value'] as const;
export const WebhookEvent = z.enum(WEBHOOK_EVENTS);
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/** `POST /v1/webhooks` body. Without `secret`, one is generated and returned once. */
export const WebhookRequest = z
  .object({
    url: z
      .url({ protocol: /^https?$/, message: 'must be an http or https URL' })
      .max(2048, 'must be at most 2048 characters'),
    events: z.array(WebhookEvent).min(1, 'must name at least one event').default(['bid_signal']),
    secret: z
      .string()
      .min(32, 'must be at least 32 characters (or leave it out and one is generated)')
      .max(256, 'must be at most 256 characters')
      .optional(),
    description: z.string().trim().max(256, 'must be at most 256 characters').default(''),
  })
  .strict();
export type WebhookRequest = z.infer<typeof WebhookRequest>;

export const Webhook = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(WebhookEvent),
  description: z.string(),
  createdAt: z.number(),
  secret: z.string(),
});
export type Webhook = z.infer<typeof Webhook>;

/** A registration as listed: the secret never leaves the server after creation. */
export const WebhookView = Webhook.omit({ secret: true });
export type WebhookView = z.infer<typeof WebhookView>;

const Bounds = z.object({ estimate: z.number(), low: z.number(), high: z.number() });
/** Relative bounds: null stands for +∞ (a holdout arm with no conversion). */
const OpenBounds = z.object({ estimate: z.number().nullable(), low: z.number(), high: z.number().nullable() });

/**
 * The live lift of one incrementality experiment: units (people or accounts of the experiment's
 * audience) and converted units per arm, and the lift with its confidence interval — absolute
 * (conversion-rate difference, Newcombe's hybrid score interval), relative (rate ratio − 1, Katz
 * log interval) and in incremental conversions among the exposed. Streamed on `/v1/stream`
 * (channel `metrics`, type `experiment_lift`) and stored in `touchline.experiment_lift`.
 */
export const ExperimentLiftMessage = z.object({
  v,
  kind: z.literal('experiment_lift'),
  experimentId: z.string(),
  /** The tested channel and campaign ('' when the experiment names only one of them). */
  channel: z.string(),
  campaign: z.string(),
  unit: z.enum(['userId', 'accountId']),
  share: z.number(),
  start: z.number(),
  at: z.number(),
  confidence: z.number(),
  exposed: z.object({ units: z.number().int().nonnegative(), conversions: z.number().int().nonnegative() }),
  holdout: z.object({ units: z.number().int().nonnegative(), conversions: z.number().int().nonnegative() }),
  absolute: Bounds,
  relative: OpenBounds,
  incremental: Bounds,
});
export type ExperimentLiftMessage = z.infer<typeof ExperimentLiftMessage>;

/**
 * The `incrementality_calibrated` model's channel credit: a base model's channel credit (all
 * conversions so far) rescaled by the lifts the experiments measured (`incrementalityCalibrated`).
 * Streamed (channel `metrics`, type `calibrated_credit`) and stored in `touchline.calibrated_credit`.
 */
export const CalibratedCreditMessage = z.object({
  v,
  kind: z.literal('calibrated_credit'),
  model: z.literal('incrementality_calibrated'),
  baseModel: z.string(),
  at: z.number(),
  channels: z.array(
    z.object({
      channel: z.string(),
      conversions: z.number(),
      value: z.number(),
      baseConversions: z.number(),
      baseValue: z.number(),
      /** The experiment that measured this channel, '' when the pooled multiplier applied. */
      experimentId: z.string(),
    }),
  ),
});
export type CalibratedCreditMessage = z.infer<typeof CalibratedCreditMessage>;
