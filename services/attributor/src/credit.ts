import { heuristicWeights, MODEL_NAMES, type ModelName } from '@touchline/attribution';
import type { CreditMessage, JourneyMessage } from '@touchline/contracts';
import { EMPTY_SNAPSHOT, isAlgorithmicModel, pathWeights, type ModelSnapshot } from './snapshot.js';

/** Every model, rule-based and algorithmic: what the attributor credits unless told otherwise. */
export const ALL_MODELS: readonly ModelName[] = MODEL_NAMES;

/**
 * What a credit message needs to know about a conversion and its touches. Built from a journey,
 * or read back from the warehouse for a conversion whose journey is no longer kept in memory.
 */
export interface CreditTarget {
  conversionId: string;
  conversionName: string;
  conversionTimestamp: number;
  personId: string;
  currency: string;
  value: number;
  touches: Array<{ messageId: string; channel: string; campaign: string; timestamp: number }>;
}

export function targetOf(j: JourneyMessage): CreditTarget {
  return {
    conversionId: j.conversion.conversionId,
    conversionName: j.conversion.name,
    conversionTimestamp: j.conversion.timestamp,
    personId: j.personId,
    currency: j.conversion.currency,
    value: j.conversion.value,
    touches: j.touches.map((t) => ({ messageId: t.messageId, channel: t.channel, campaign: t.campaign, timestamp: t.timestamp })),
  };
}

export interface CreditOptions {
  models: readonly ModelName[];
  halfLifeDays: number;
  /** The algorithmic models' fit; without one they fall back to linear. */
  snapshot?: ModelSnapshot;
}

/**
 * Per-touch weights of a journey under one model, summing to 1. Rule-based models read the
 * journey itself (W-shaped its milestones, last-non-direct the `direct` channel, time-decay the
 * half-life); algorithmic ones apply the snapshot's fit to the journey's channel sequence
 * (`pathWeights`), so they depend on the channels in order and nothing else.
 */
export function journeyWeights(model: ModelName, j: JourneyMessage, opts: { halfLifeDays: number; snapshot: ModelSnapshot }): number[] {
  if (isAlgorithmicModel(model)) return pathWeights(opts.snapshot, model, j.touches.map((t) => t.channel), j.level);
  const touches = j.touches.map((t) => ({ id: t.messageId, channel: t.channel, timestamp: t.timestamp, direct: t.channel === 'direct' }));
  return heuristicWeights(model, touches, {
    conversionTime: j.conversion.timestamp,
    halfLifeDays: opts.halfLifeDays,
    ...(j.milestones?.leadTime !== undefined ? { leadTime: j.milestones.leadTime } : {}),
    ...(j.milestones?.opportunityTime !== undefined ? { opportunityTime: j.milestones.opportunityTime } : {}),
  });
}

/**
 * The complete credit of a conversion under one model: one share per touch (zero weights
 * included, so that every version lists every touch), value = weight × conversion value. A
 * conversion with no touch is credited wholly to `direct`.
 */
export function creditMessage(target: CreditTarget, model: ModelName, weights: readonly number[], version: number): CreditMessage {
  const base = {
    v: 1 as const,
    kind: 'credit' as const,
    conversionId: target.conversionId,
    conversionName: target.conversionName,
    conversionTimestamp: target.conversionTimestamp,
    personId: target.personId,
    model,
    version,
    currency: target.currency,
    conversionValue: target.value,
  };
  if (target.touches.length === 0) {
    return { ...base, shares: [{ touchpointId: '', channel: 'direct', campaign: '', touchTimestamp: target.conversionTimestamp, weight: 1, value: target.value }] };
  }
  if (weights.length !== target.touches.length) throw new Error(`credit of ${target.conversionId} under ${model}: ${weights.length} weights for ${target.touches.length} touches`);
  return {
    ...base,
    shares: target.touches.map((t, i) => ({
      touchpointId: t.messageId,
      channel: t.channel,
      campaign: t.campaign,
      touchTimestamp: t.timestamp,
      weight: weights[i] as number,
      value: (weights[i] as number) * target.value,
    })),
  };
}

/**
 * The retraction of a conversion's credit under one model: a credit with no shares. It replaces
 * earlier credit like any other version; in the warehouse it is one row with `retracted = 1`,
 * which `credits_current` leaves out. Carries no personal id.
 */
export function retractionMessage(target: CreditTarget, model: ModelName, version: number): CreditMessage {
  return {
    v: 1,
    kind: 'credit',
    conversionId: target.conversionId,
    conversionName: target.conversionName,
    conversionTimestamp: target.conversionTimestamp,
    personId: '',
    model,
    version,
    currency: target.currency,
    conversionValue: 0,
    shares: [],
  };
}

/**
 * The credit of one journey under each model, all at the journey's version (`emittedAt`). The
 * streaming attributor versions algorithmic credit itself (see `AttributorState`); this is the
 * batch form, used to check it.
 */
export function creditJourney(j: JourneyMessage, opts: CreditOptions): CreditMessage[] {
  const snapshot = opts.snapshot ?? EMPTY_SNAPSHOT;
  const target = targetOf(j);
  if (j.retracted) return opts.models.map((model) => retractionMessage(target, model, j.emittedAt));
  return opts.models.map((model) => creditMessage(target, model, journeyWeights(model, j, { halfLifeDays: opts.halfLifeDays, snapshot }), j.emittedAt));
}
