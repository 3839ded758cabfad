import type { CostMessage, CreditMessage, TouchpointMessage } from '@touchline/contracts';

export const T0 = Date.parse('2026-11-20T12:00:00Z');
export const MIN = 60_000;
export const H = 3_600_000;
export const D = 86_400_000;

/** A credit of one conversion under one model: shares as [channel, campaign, weight]. */
export function credit(
  conversionId: string,
  ts: number,
  value: number,
  shares: Array<[string, string, number]>,
  opts: { model?: string; version?: number } = {},
): CreditMessage {
  return {
    v: 1,
    kind: 'credit',
    conversionId,
    conversionName: 'purchase',
    conversionTimestamp: ts,
    personId: `p-${conversionId}`,
    model: opts.model ?? 'linear',
    version: opts.version ?? 1,
    currency: 'EUR',
    conversionValue: value,
    shares: shares.map(([channel, campaign, weight], i) => ({ touchpointId: `${conversionId}-t${i}`, channel, campaign, touchTimestamp: ts - H, weight, value: weight * value })),
  };
}

export function cost(date: string, channel: string, campaign: string, amount: number, messageId = `cost-${date}-${channel}-${campaign}`): CostMessage {
  return { v: 1, kind: 'cost', messageId, date, channel, campaign, amount, currency: 'EUR', receivedAt: T0 };
}

export const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

let touchSeq = 0;
export function touch(over: Partial<TouchpointMessage> = {}): TouchpointMessage {
  const ts = over.timestamp ?? T0;
  return {
    v: 1,
    kind: 'touchpoint',
    messageId: `tp-${++touchSeq}`,
    anonymousId: `anon-${touchSeq}`,
    timestamp: ts,
    receivedAt: ts,
    interaction: 'click',
    channel: 'paid_search',
    source: 'google',
    medium: 'cpc',
    campaign: 'brand',
    content: '',
    term: '',
    clickId: '',
    clickIdType: '',
    url: '',
    referrer: '',
    cost: 0,
    consent: true,
    ip: '198.51.100.0',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0',
    bot: false,
    ...over,
  };
}
