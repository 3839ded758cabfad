import {
  Event,
  FLAGS_HEADER,
  FLAG_FUTURE_CLAMPED,
  type ConversionMessage,
  type CostMessage,
  type DeadletterMessage,
  type IdentityMessage,
  type TopicMap,
  type TouchpointMessage,
} from '@touchline/contracts';
import type { BusRecord } from '@touchline/platform';
import { ChannelGrouper, type ChannelFields, type ChannelInput, type UnknownValue } from './channel.js';
import { isBotUserAgent, truncateIp } from './client.js';
import { fastEvent } from './fast-event.js';
import type { HoldoutTagger } from './holdouts.js';
import { hashEmail, hashPhone, pseudonymiseId, scrubEmails, sha256Hex } from './privacy.js';
import { pageJson, touchpointJson } from './serialise.js';

export interface IngestContext {
  receivedAt: number;
  /** The client's clock when it sent the batch, for skew correction. */
  sentAt?: number | undefined;
  /** For events from a browser: its address and user agent, where the event carries none. */
  client?: { ip: string; userAgent: string } | undefined;
}

/** Who an accepted event is about, as stored: for the privacy deny list. */
export interface Subject {
  anonymousId?: string | undefined;
  userId?: string | undefined;
  emailHash?: string | undefined;
}

export type Normalised =
  | {
      ok: true;
      topic: keyof Pick<TopicMap, 'touchpoints' | 'conversions' | 'identities' | 'costs'>;
      record: BusRecord;
      subject?: Subject;
      /** The timestamp was in the future beyond the allowed skew and was clamped to the time of receipt. */
      clamped?: boolean;
    }
  | { ok: false; path: string; reason: string; deadletter: BusRecord };

export { FLAGS_HEADER, FLAG_FUTURE_CLAMPED };

export interface NormaliserOptions {
  grouper?: ChannelGrouper;
  /** Country calling code for phone numbers written nationally, e.g. "49"; see `normalisePhone`. */
  defaultPhoneCountryCode?: string;
  /** Corrected timestamps further than this in the future are clamped to the time of receipt. */
  maxFutureMs?: number;
  /** false: every event through zod (the reference the fast path is tested against). */
  fastPath?: boolean;
  /** Tags events with experiment arms; absent when no experiment is configured. */
  holdouts?: HoldoutTagger | undefined;
}

const DEFAULT_MAX_FUTURE_MS = 5 * 60_000;
/**
 * Bounds of the page memo: entries, and characters of URL plus referrer worth remembering. At most
 * about ten megabytes per thread (two-byte strings); landing pages with their UTM tags are far shorter.
 */
const MAX_MEMO_PAGES = 2048;
const MAX_MEMO_KEY = 768;

/**
 * What a touchpoint message stores of its channel, campaign and page, scrubbed; `json` is their
 * `pageJson` when they are memoised (written once, not per touch).
 */
type TouchFields = ChannelFields & { url: string; referrer: string; json?: string };
/** A memoised page: its fields, and the values no rule knew, to report on every hit. */
interface PageMemo {
  fields: TouchFields;
  unknown: Array<['channel' | 'source' | 'medium', string]> | undefined;
}

/**
 * Validates one raw event and turns it into the message for its topic: channel derived, clock skew
 * corrected, emails and phones hashed, ids that are emails or phones pseudonymised, a
 * deterministic messageId when the client sent none. Pure: the caller publishes.
 */
export class Normaliser {
  private readonly grouper: ChannelGrouper;
  private readonly cc: string;
  private readonly maxFutureMs: number;
  private readonly fast: boolean;
  private readonly pages = new Map<string, PageMemo>();
  private readonly holdouts: HoldoutTagger | undefined;

  constructor(opts: NormaliserOptions = {}) {
    this.holdouts = opts.holdouts;
    this.grouper = opts.grouper ?? new ChannelGrouper();
    this.cc = opts.defaultPhoneCountryCode ?? '';
    this.maxFutureMs = opts.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS;
    this.fast = opts.fastPath ?? true;
  }

  /** An id as ingest stores it (emails and phones become their hashes). */
  storedId(id: string): string {
    return pseudonymiseId(id, this.cc);
  }

  normalise(raw: unknown, ctx: IngestContext): Normalised {
    let e = this.fast ? fastEvent(raw) : undefined;
    if (!e) {
      const parsed = Event.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const path = issue.path.join('.');
        const reason = parsed.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ');
        return { ok: false, path, reason, deadletter: deadletterRecord(raw, reason, path, ctx.receivedAt) };
      }
      e = parsed.data;
    }
    const messageId = e.messageId !== undefined ? this.storedId(e.messageId) : derivedMessageId(raw);
    const receivedAt = ctx.receivedAt;
    if (e.type === 'cost') {
      const msg: CostMessage = {
        v: 1,
        kind: 'cost',
        messageId,
        date: e.date,
        channel: this.grouper.normaliseChannel(e.channel),
        campaign: scrubEmails(e.campaign ?? ''),
        amount: e.amount,
        currency: e.currency,
        receivedAt,
      };
      return { ok: true, topic: 'costs', record: { key: `${msg.channel}|${msg.campaign}`, value: JSON.stringify(msg) } };
    }
    const corrected = correctedTime(toMillis(e.timestamp), ctx);
    const clamped = corrected > receivedAt + this.maxFutureMs;
    const timestamp = clamped ? receivedAt : corrected;
    const anonymousId = e.anonymousId === undefined ? undefined : this.storedId(e.anonymousId);
    const userId = e.userId === undefined ? undefined : this.storedId(e.userId);
    const key = userId ?? anonymousId ?? messageId;
    const context = e.context;
    const consent = context?.consent?.attribution !== false;
    const subject: Subject = { anonymousId, userId };
    const headers = clamped ? { [FLAGS_HEADER]: FLAG_FUTURE_CLAMPED } : undefined;
    let record: BusRecord;
    let topic: 'touchpoints' | 'conversions' | 'identities';
    switch (e.type) {
      case 'touch': {
        const page = context?.page;
        let url = e.url ?? page?.url ?? '';
        if (page?.search && page.search.startsWith('?') && !url.includes('?')) url += page.search;
        const referrer = e.referrer ?? page?.referrer ?? '';
        const f =
          e.channel === undefined && e.source === undefined && e.medium === undefined && e.campaign === undefined && e.content === undefined &&
          e.term === undefined && e.clickId === undefined && e.clickIdType === undefined && context?.campaign === undefined
            ? this.pageFields(e.interaction, url, referrer)
            : this.touchFields({
                interaction: e.interaction,
                channel: e.channel,
                source: e.source,
                medium: e.medium,
                campaign: e.campaign,
                content: e.content,
                term: e.term,
                url,
                referrer,
                clickId: e.clickId,
                clickIdType: e.clickIdType,
                utm: context?.campaign,
              });
        const userAgent = context?.userAgent ?? ctx.client?.userAgent ?? '';
        // Spelled out, no spreads: see fast-event.ts. Undefined ids vanish in JSON.stringify.
        const msg: TouchpointMessage = {
          v: 1,
          kind: 'touchpoint',
          messageId,
          anonymousId,
          userId,
          timestamp,
          receivedAt,
          interaction: e.interaction,
          channel: f.channel,
          source: f.source,
          medium: f.medium,
          campaign: f.campaign,
          content: f.content,
          term: f.term,
          clickId: f.clickId,
          clickIdType: f.clickIdType,
          url: f.url,
          referrer: f.referrer,
          cost: e.cost ?? 0,
          consent,
          ip: truncateIp(context?.ip ?? ctx.client?.ip),
          userAgent: userAgent.length > 512 ? userAgent.slice(0, 512) : userAgent,
          bot: isBotUserAgent(userAgent),
        };
        topic = 'touchpoints';
        if (this.holdouts) this.holdouts.tag(msg);
        record = { key, value: touchpointJson(msg, f.json) };
        break;
      }
      case 'conversion': {
        const msg: ConversionMessage = {
          v: 1,
          kind: 'conversion',
          messageId,
          conversionId: this.storedId(e.conversionId),
          anonymousId,
          userId,
          timestamp,
          receivedAt,
          name: e.name,
          value: e.value,
          currency: e.currency,
          stage: e.stage || undefined,
          consent,
        };
        topic = 'conversions';
        if (this.holdouts) this.holdouts.tag(msg);
        record = { key, value: JSON.stringify(msg) };
        break;
      }
      case 'identify': {
        const traits = e.traits;
        const emailHash = traits?.email ? hashEmail(traits.email) : undefined;
        const phoneHash = traits?.phone ? hashPhone(traits.phone, this.cc) : undefined;
        const msg: IdentityMessage = {
          v: 1,
          kind: 'identity',
          messageId,
          anonymousId,
          userId,
          emailHash,
          phoneHash,
          accountId: traits?.accountId ? this.storedId(traits.accountId) : undefined,
          timestamp,
          receivedAt,
        };
        subject.emailHash = emailHash;
        topic = 'identities';
        if (this.holdouts) this.holdouts.tag(msg);
        record = { key, value: JSON.stringify(msg) };
        break;
      }
    }
    if (headers) record.headers = headers;
    return clamped ? { ok: true, topic, record, subject, clamped } : { ok: true, topic, record, subject };
  }

  /** Channel fields of a touch, scrubbed, with its URL and referrer as stored. */
  private touchFields(input: ChannelInput, report?: UnknownValue): TouchFields {
    // `report` undefined: the grouper's own reporting.
    const ch = this.grouper.derive(input, report);
    return {
      channel: ch.channel,
      source: scrubEmails(ch.source),
      medium: scrubEmails(ch.medium),
      campaign: scrubEmails(ch.campaign),
      content: scrubEmails(ch.content),
      term: scrubEmails(ch.term),
      clickId: ch.clickId,
      clickIdType: ch.clickIdType,
      url: stripQueryPii(input.url ?? ''),
      referrer: stripQueryPii(input.referrer ?? ''),
    };
  }

  /**
   * `touchFields` of a touch that names nothing but its page (the usual tracker event): it is
   * decided by the interaction, URL and referrer alone, and a site's traffic repeats a limited set
   * of those, so the answer is memoised (bounded; cleared when full), unless the URL carries a
   * click id. Values no rule knew are reported again on every hit, so the unknown-value counts do
   * not change.
   */
  private pageFields(interaction: string, url: string, referrer: string): TouchFields {
    if (url.length + referrer.length > MAX_MEMO_KEY) return this.touchFields({ interaction, url, referrer });
    const key = `${interaction}\u0000${url}\u0000${referrer}`;
    let memo = this.pages.get(key);
    if (memo === undefined) {
      let unknown: PageMemo['unknown'];
      const fields = this.touchFields({ interaction, url, referrer }, (field, value) => (unknown ??= []).push([field, value]));
      fields.json = pageJson(fields);
      memo = { fields, unknown };
      // A click id is new with every click: such a page never recurs and would only push out
      // pages that do.
      if (fields.clickId === '') {
        if (this.pages.size >= MAX_MEMO_PAGES) this.pages.clear();
        this.pages.set(key, memo);
      }
    }
    if (memo.unknown) for (const [field, value] of memo.unknown) this.grouper.reportUnknown(field, value);
    return memo.fields;
  }
}

const defaultNormaliser = new Normaliser();

/** `Normaliser#normalise` with the default rules and options. */
export function normaliseEvent(raw: unknown, ctx: IngestContext): Normalised {
  return defaultNormaliser.normalise(raw, ctx);
}

/**
 * Epoch ms of a validated timestamp. The usual `YYYY-MM-DDTHH:MM:SS[.sss]Z` is read digit by digit
 * (Date.parse is several times slower); anything else goes to Date.parse.
 */
export function toMillis(t: string | number): number {
  if (typeof t === 'number') return t;
  const len = t.length;
  if ((len === 20 || (len === 24 && t.charCodeAt(19) === 46)) && t.charCodeAt(len - 1) === 90) {
    const year = digits(t, 0, 4);
    // Date.UTC reads years below 100 as 19xx.
    if (year >= 100) {
      const ms = len === 24 ? digits(t, 20, 3) : 0;
      return Date.UTC(year, digits(t, 5, 2) - 1, digits(t, 8, 2), digits(t, 11, 2), digits(t, 14, 2), digits(t, 17, 2), ms);
    }
  }
  return Date.parse(t);
}

/** The number written by `n` ASCII digits of `s` from `at` (already validated as digits). */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) v = v * 10 + (s.charCodeAt(i) - 48);
  return v;
}

/**
 * `receivedAt − (sentAt − timestamp)` when the client said when it sent. Not clamped here: the
 * caller clamps and flags what lands in the future.
 */
export function correctedTime(timestamp: number, ctx: IngestContext): number {
  return ctx.sentAt !== undefined ? ctx.receivedAt - (ctx.sentAt - timestamp) : timestamp;
}

/**
 * A client that sends no messageId gets one derived from the event's content: `d-` and the first
 * 32 hex digits of SHA-256 over its canonical JSON (keys sorted at every level, no whitespace,
 * `sentAt` of the batch not included). Resending the same event, in any key order, in any batch,
 * gives the same id; any change to its content gives another.
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

const PII_PARAMS = /^(email|e-mail|mail|phone|tel|mobile|name|first_?name|last_?name|fullname|full_name|address|zip|postcode)$/i;
const PII_PARAM_IN_QUERY = /[?&](email|e-mail|mail|phone|tel|mobile|name|first_?name|last_?name|fullname|full_name|address|zip|postcode)=/i;

/** Query parameters that carry personal data never reach a topic; neither do credentials in the URL. */
export function stripQueryPii(url: string): string {
  if (!url) return url;
  const q = url.indexOf('?');
  const hasUserinfo = url.includes('@') && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url);
  if ((q < 0 || !PII_PARAM_IN_QUERY.test(url.slice(q))) && !hasUserinfo) return scrubEmails(url);
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    for (const k of [...u.searchParams.keys()]) if (PII_PARAMS.test(k)) u.searchParams.set(k, '[redacted]');
    return scrubEmails(u.toString());
  } catch {
    return scrubEmails(url);
  }
}

const PHONE_TEXT = /\+\d[\d\s().-]{6,}\d/g;

function deadletterRecord(raw: unknown, reason: string, path: string, receivedAt: number): BusRecord {
  let payload = '';
  try {
    payload = scrubEmails(JSON.stringify(redactPayload(raw)) ?? '')
      .replace(PHONE_TEXT, '[phone]')
      .slice(0, 64 * 1024);
  } catch {
    payload = '(unserialisable)';
  }
  const messageId =
    raw && typeof raw === 'object' && typeof (raw as { messageId?: unknown }).messageId === 'string'
      ? scrubEmails(String((raw as { messageId: string }).messageId).slice(0, 256))
      : derivedMessageId(raw);
  const msg: DeadletterMessage = { v: 1, kind: 'deadletter', stage: 'ingest', reason, path, messageId, payload, receivedAt };
  return { key: messageId, value: JSON.stringify(msg) };
}

/** What a dead letter may keep of a refused event: no clear email, phone or full IP. */
function redactPayload(raw: unknown): unknown {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const copy = { ...(raw as Record<string, unknown>) };
  const traits = copy.traits;
  if (traits && typeof traits === 'object' && !Array.isArray(traits)) {
    const t = { ...(traits as Record<string, unknown>) };
    if ('email' in t) t.email = '[redacted]';
    if ('phone' in t) t.phone = '[redacted]';
    copy.traits = t;
  }
  const context = copy.context;
  if (context && typeof context === 'object' && !Array.isArray(context)) {
    const c = { ...(context as Record<string, unknown>) };
    if ('ip' in c) c.ip = typeof c.ip === 'string' ? truncateIp(c.ip) || '[redacted]' : '[redacted]';
    copy.context = c;
  }
  return copy;
}
