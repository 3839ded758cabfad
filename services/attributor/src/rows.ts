import type {
  ConversionMessage,
  CostMessage,
  DeadletterMessage,
  IdentityLinkMessage,
  IdentityMessage,
  TouchpointMessage,
} from '@touchline/contracts';
import { FLAG_FUTURE_CLAMPED, hasRecordFlag } from '@touchline/contracts';
import type { ConsumedRecord, SourcePosition } from '@touchline/platform';
import type { CreditRecord } from './state.js';

/** Warehouse rows from topic messages. */

const src = (r: ConsumedRecord): SourcePosition => ({ src_topic: r.topic, src_partition: r.partition, src_offset: r.offset });
/** 1 when ingest clamped the event's future timestamp to the time of receipt (a record header). */
const clamped = (r: ConsumedRecord) => (hasRecordFlag(r.headers, FLAG_FUTURE_CLAMPED) ? 1 : 0);
/** DateTime64(3, 'UTC') text: `YYYY-MM-DD hh:mm:ss.sss`, unambiguous for any instant. */
export const ts = (ms: number) => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');

export function touchpointRow(m: TouchpointMessage, r: ConsumedRecord) {
  return {
    message_id: m.messageId,
    anonymous_id: m.anonymousId ?? '',
    user_id: m.userId ?? '',
    ts: ts(m.timestamp),
    received_at: ts(m.receivedAt),
    interaction: m.interaction,
    channel: m.channel,
    source: m.source,
    medium: m.medium,
    campaign: m.campaign,
    content: m.content,
    term: m.term,
    click_id: m.clickId,
    click_id_type: m.clickIdType,
    url: m.url,
    referrer: m.referrer,
    cost: m.cost,
    consent: m.consent ? 1 : 0,
    ip: m.ip,
    user_agent: m.userAgent,
    bot: m.bot ? 1 : 0,
    timestamp_clamped: clamped(r),
    ...src(r),
  };
}

export function conversionRow(m: ConversionMessage, r: ConsumedRecord) {
  return {
    message_id: m.messageId,
    conversion_id: m.conversionId,
    anonymous_id: m.anonymousId ?? '',
    user_id: m.userId ?? '',
    ts: ts(m.timestamp),
    received_at: ts(m.receivedAt),
    name: m.name,
    value: m.value,
    currency: m.currency,
    stage: m.stage ?? '',
    consent: m.consent ? 1 : 0,
    timestamp_clamped: clamped(r),
    ...src(r),
  };
}

export function identityRow(m: IdentityMessage, r: ConsumedRecord) {
  return {
    message_id: m.messageId,
    anonymous_id: m.anonymousId ?? '',
    linked_anonymous_id: '',
    user_id: m.userId ?? '',
    email_hash: m.emailHash ?? '',
    phone_hash: m.phoneHash ?? '',
    account_id: m.accountId ?? '',
    link_type: 'identify',
    confidence: 1,
    evidence: [m.messageId],
    ts: ts(m.timestamp),
    received_at: ts(m.receivedAt),
    timestamp_clamped: clamped(r),
    ...src(r),
  };
}

/**
 * The link a touch or conversion makes when it carries both an anonymousId and a userId (the
 * stitcher joins the two), or undefined when it carries one id only.
 */
export function eventLinkRow(m: TouchpointMessage | ConversionMessage, r: ConsumedRecord) {
  if (!m.anonymousId || !m.userId) return undefined;
  return {
    message_id: m.messageId,
    anonymous_id: m.anonymousId,
    linked_anonymous_id: '',
    user_id: m.userId,
    email_hash: '',
    phone_hash: '',
    account_id: '',
    link_type: 'event',
    confidence: 1,
    evidence: [m.messageId],
    ts: ts(m.timestamp),
    received_at: ts(m.receivedAt),
    ...src(r),
  };
}

/** A probabilistic link the stitcher found; `message_id` is the link's id, one row per device pair. */
export function probabilisticLinkRow(m: IdentityLinkMessage, r: ConsumedRecord) {
  return {
    message_id: m.linkId,
    anonymous_id: m.anonymousId,
    linked_anonymous_id: m.linkedAnonymousId,
    user_id: '',
    email_hash: '',
    phone_hash: '',
    account_id: '',
    link_type: m.method,
    confidence: m.confidence,
    evidence: m.evidence,
    ts: ts(m.timestamp),
    received_at: ts(m.linkedAt),
    ...src(r),
  };
}

export function costRow(m: CostMessage, r: ConsumedRecord) {
  return {
    message_id: m.messageId,
    date: m.date,
    channel: m.channel,
    campaign: m.campaign,
    amount: m.amount,
    currency: m.currency,
    received_at: ts(m.receivedAt),
    ...src(r),
  };
}

export function deadletterRow(m: DeadletterMessage, r: ConsumedRecord) {
  return {
    message_id: m.messageId,
    stage: m.stage,
    reason: m.reason,
    path: m.path,
    payload: m.payload,
    received_at: ts(m.receivedAt),
    ...src(r),
  };
}

/**
 * Rows of restated credit come from no topic record: an empty `src_topic` keeps them out of the
 * offset bookkeeping of `WarehouseSink`, and their versions (never reused) keep them apart.
 */
export const RESTATEMENT_SOURCE: SourcePosition = { src_topic: '', src_partition: 0, src_offset: '0' };

/**
 * Formats times for rows, each distinct time once: the touches of a journey recur in the rows of
 * every model, and formatting dominates row building otherwise.
 */
export function timeTexts(): (ms: number) => string {
  const seen = new Map<number, string>();
  return (ms) => {
    let t = seen.get(ms);
    if (t === undefined) {
      if (seen.size > 100_000) seen.clear();
      seen.set(ms, (t = ts(ms)));
    }
    return t;
  };
}

/** Rows of one credit: one per touch, or for a retraction (no shares) one row with `retracted = 1`. */
export function creditRows(r: CreditRecord, pos: SourcePosition, computedAt: number, text: (ms: number) => string = ts) {
  const c = r.message;
  const conversionTs = text(c.conversionTimestamp);
  const computed = text(computedAt);
  if (c.shares.length === 0) {
    return [
      {
        conversion_id: c.conversionId,
        model: c.model,
        version: c.version,
        touchpoint_id: '',
        channel: '',
        campaign: '',
        touch_ts: conversionTs,
        conversion_ts: conversionTs,
        conversion_name: '',
        person_id: '',
        weight: 0,
        value: 0,
        currency: '',
        retracted: 1,
        computed_at: computed,
        snapshot_seq: 0,
        journey_version: r.journeyVersion,
        ...pos,
      },
    ];
  }
  return c.shares.map((s) => ({
    conversion_id: c.conversionId,
    model: c.model,
    version: c.version,
    touchpoint_id: s.touchpointId,
    channel: s.channel,
    campaign: s.campaign,
    touch_ts: text(s.touchTimestamp),
    conversion_ts: conversionTs,
    conversion_name: c.conversionName,
    person_id: c.personId,
    weight: s.weight,
    value: s.value,
    currency: c.currency,
    retracted: 0,
    computed_at: computed,
    snapshot_seq: r.snapshotSeq,
    journey_version: r.journeyVersion,
    ...pos,
  }));
}

export { src as sourceOf };
