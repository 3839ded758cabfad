import {
  Event,
  type ConversionMessage,
  type CostMessage,
  type DeadletterMessage,
  type IdentityMessage,
  type TopicMap,
  type TouchpointMessage,
} from '@touchline/contracts';
import type { BusRecord } from '@touchline/platform';
import { deriveChannel } from './channel.js';
import { isBotUserAgent, truncateIp } from './client.js';
import { hashEmail, hashPhone, scrubEmails, sha256Hex } from './privacy.js';

export interface IngestContext {
  receivedAt: number;
  /** The client's clock when it sent the batch, for skew correction. */
  sentAt?: number | undefined;
}

export type Normalised =
  | { ok: true; topic: keyof Pick<TopicMap, 'touchpoints' | 'conversions' | 'identities' | 'costs'>; record: BusRecord }
  | { ok: false; path: string; reason: string; deadletter: BusRecord };

/** Events more than this far in the future are clamped to the time of receipt. */
const MAX_FUTURE_MS = 5 * 60_000;

/**
 * Validates one raw event and turns it into the message for its topic: channel derived, clock skew
 * corrected, emails and phones hashed, a deterministic messageId when the client sent none.
 * Pure: the caller publishes.
 */
export function normaliseEvent(raw: unknown, ctx: IngestContext): Normalised {
  const parsed = Event.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.join('.');
    const reason = parsed.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ');
    return { ok: false, path, reason, deadletter: deadletterRecord(raw, reason, path, ctx.receivedAt) };
  }
  const e = parsed.data;
  const messageId = e.messageId ?? derivedMessageId(raw);
  const receivedAt = ctx.receivedAt;
  if (e.type === 'cost') {
    const msg: CostMessage = {
      v: 1,
      kind: 'cost',
      messageId,
      date: e.date,
      channel: e.channel.trim().toLowerCase().replace(/[\s-]+/g, '_'),
      campaign: e.campaign?.trim() ?? '',
      amount: e.amount,
      currency: e.currency,
      receivedAt,
    };
    return { ok: true, topic: 'costs', record: { key: `${msg.channel}|${msg.campaign}`, value: JSON.stringify(msg) } };
  }
  const timestamp = correctedTime(toMillis(e.timestamp), ctx);
  const ids = { ...(e.anonymousId ? { anonymousId: e.anonymousId } : {}), ...(e.userId ? { userId: e.userId } : {}) };
  const key = e.userId ?? e.anonymousId ?? messageId;
  const consent = e.context?.consent?.attribution !== false;
  switch (e.type) {
    case 'touch': {
      const url = e.url ?? e.context?.page?.url ?? '';
      const referrer = e.referrer ?? e.context?.page?.referrer ?? '';
      const ch = deriveChannel({ ...e, url, referrer });
      const msg: TouchpointMessage = {
        v: 1,
        kind: 'touchpoint',
        messageId,
        ...ids,
        timestamp,
        receivedAt,
        interaction: e.interaction,
        ...ch,
        url: stripQueryPii(url),
        referrer: stripQueryPii(referrer),
        cost: e.cost ?? 0,
        consent,
        ip: truncateIp(e.context?.ip),
        userAgent: (e.context?.userAgent ?? '').slice(0, 512),
        bot: isBotUserAgent(e.context?.userAgent),
      };
      return { ok: true, topic: 'touchpoints', record: { key, value: JSON.stringify(msg) } };
    }
    case 'conversion': {
      const msg: ConversionMessage = {
        v: 1,
        kind: 'conversion',
        messageId,
        conversionId: e.conversionId,
        ...ids,
        timestamp,
        receivedAt,
        name: e.name,
        value: e.value,
        currency: e.currency,
        ...(e.stage ? { stage: e.stage } : {}),
        consent,
      };
      return { ok: true, topic: 'conversions', record: { key, value: JSON.stringify(msg) } };
    }
    case 'identify': {
      const traits = e.traits ?? {};
      const email = typeof traits.email === 'string' && traits.email.includes('@') ? traits.email : undefined;
      const phone = typeof traits.phone === 'string' && traits.phone.trim() ? traits.phone : undefined;
      const msg: IdentityMessage = {
        v: 1,
        kind: 'identity',
        messageId,
        ...ids,
        ...(email ? { emailHash: hashEmail(email) } : {}),
        ...(phone ? { phoneHash: hashPhone(phone) } : {}),
        ...(traits.accountId ? { accountId: traits.accountId } : {}),
        timestamp,
        receivedAt,
      };
      return { ok: true, topic: 'identities', record: { key, value: JSON.stringify(msg) } };
    }
  }
}

function toMillis(t: string | number): number {
  return typeof t === 'number' ? t : Date.parse(t);
}

/** `receivedAt − (sentAt − timestamp)` when the client said when it sent; future times clamped. */
export function correctedTime(timestamp: number, ctx: IngestContext): number {
  const t = ctx.sentAt !== undefined ? ctx.receivedAt - (ctx.sentAt - timestamp) : timestamp;
  return t > ctx.receivedAt + MAX_FUTURE_MS ? ctx.receivedAt : t;
}

/**
 * A client that sends no messageId gets one derived from the event's content (SHA-256 of its
 * canonical JSON), so resending the same event is recognised as the same event.
 */
export function derivedMessageId(raw: unknown): string {
  return `d-${sha256Hex(canonicalJson(raw)).slice(0, 32)}`;
}

export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
}

const PII_PARAMS = /^(email|e-mail|mail|phone|tel|mobile|name|first_?name|last_?name)$/i;

/** Query parameters that carry personal data never reach a topic. */
function stripQueryPii(url: string): string {
  if (!url || !url.includes('?')) return scrubEmails(url);
  try {
    const u = new URL(url);
    for (const k of [...u.searchParams.keys()]) if (PII_PARAMS.test(k)) u.searchParams.set(k, '[redacted]');
    return scrubEmails(u.toString());
  } catch {
    return scrubEmails(url);
  }
}

function deadletterRecord(raw: unknown, reason: string, path: string, receivedAt: number): BusRecord {
  const redacted = redactTraits(raw);
  let payload = '';
  try {
    payload = scrubEmails(JSON.stringify(redacted) ?? '').slice(0, 64 * 1024);
  } catch {
    payload = '(unserialisable)';
  }
  const messageId =
    raw && typeof raw === 'object' && typeof (raw as { messageId?: unknown }).messageId === 'string'
      ? String((raw as { messageId: string }).messageId).slice(0, 256)
      : derivedMessageId(raw);
  const msg: DeadletterMessage = { v: 1, kind: 'deadletter', stage: 'ingest', reason, path, messageId, payload, receivedAt };
  return { key: messageId, value: JSON.stringify(msg) };
}

function redactTraits(raw: unknown): unknown {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const copy = { ...(raw as Record<string, unknown>) };
  const traits = copy.traits;
  if (traits && typeof traits === 'object' && !Array.isArray(traits)) {
    const t = { ...(traits as Record<string, unknown>) };
    if ('email' in t) t.email = '[redacted]';
    if ('phone' in t) t.phone = '[redacted]';
    copy.traits = t;
  }
  return copy;
}
