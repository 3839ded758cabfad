import { heuristicWeights, type ModelName } from '@touchline/attribution';
import type { CreditMessage, JourneyMessage } from '@touchline/contracts';

/** Models credited per journey as it arrives. */
export const STREAMING_MODELS: ModelName[] = ['first_touch', 'last_touch', 'linear', 'time_decay'];

export interface CreditOptions {
  models: readonly ModelName[];
  halfLifeDays: number;
}

/**
 * The credit of one journey under each model: weights over its touches summing to 1, values as
 * weight × conversion value. A conversion with no eligible touch is credited wholly to `direct`.
 */
export function creditJourney(j: JourneyMessage, opts: CreditOptions): CreditMessage[] {
  const touches = j.touches.map((t) => ({ id: t.messageId, channel: t.channel, timestamp: t.timestamp, direct: t.channel === 'direct' }));
  return opts.models.map((model) => {
    const base = {
      v: 1 as const,
      kind: 'credit' as const,
      conversionId: j.conversion.conversionId,
      conversionName: j.conversion.name,
      conversionTimestamp: j.conversion.timestamp,
      personId: j.personId,
      model,
      version: j.emittedAt,
      currency: j.conversion.currency,
      conversionValue: j.conversion.value,
    };
    if (touches.length === 0) {
      return {
        ...base,
        shares: [{ touchpointId: '', channel: 'direct', campaign: '', touchTimestamp: j.conversion.timestamp, weight: 1, value: j.conversion.value }],
      };
    }
    const weights = heuristicWeights(model, touches, { conversionTime: j.conversion.timestamp, halfLifeDays: opts.halfLifeDays });
    return {
      ...base,
      shares: j.touches.map((t, i) => ({
        touchpointId: t.messageId,
        channel: t.channel,
        campaign: t.campaign,
        touchTimestamp: t.timestamp,
        weight: weights[i]!,
        value: weights[i]! * j.conversion.value,
      })),
    };
  });
}
