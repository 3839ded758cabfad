import { z } from 'zod';

/**
 * v1 HTTP event contract (`POST /v1/events`, `POST /v1/batch`, `POST /v1/privacy/delete`).
 * Each event is validated on its own, so one bad event never rejects its neighbours.
 * Error messages never quote the refused value: it may be personal data.
 */

const id = z.string().trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters');

/** ISO-8601 date-time with offset, or epoch milliseconds. Parsed to epoch ms. */
export const Timestamp = z.union([
  z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time such as 2026-11-22T10:00:00Z' }),
  z.number().int().nonnegative().max(8.64e15),
]);

export const Consent = z
  .object({
    /** false: the event is stored, flagged, and never attributed. */
    attribution: z.boolean().optional(),
    analytics: z.boolean().optional(),
    marketing: z.boolean().optional(),
  })
  .loose();

/** UTM tags as trackers following Segment's spec send them (`context.campaign`). */
export const CampaignContext = z
  .object({
    source: z.string().max(512).optional(),
    medium: z.string().max(512).optional(),
    name: z.string().max(512).optional(),
    content: z.string().max(512).optional(),
    term: z.string().max(512).optional(),
  })
  .loose();

export const Context = z
  .object({
    /** Truncated at ingest (IPv4 last octet, IPv6 last 80 bits) before anything is stored. */
    ip: z.string().max(64).optional(),
    userAgent: z.string().max(2048).optional(),
    consent: Consent.optional(),
    page: z
      .object({
        url: z.string().max(8192).optional(),
        referrer: z.string().max(8192).optional(),
        title: z.string().max(1024).optional(),
        path: z.string().max(4096).optional(),
        search: z.string().max(8192).optional(),
      })
      .optional(),
    /** BCP 47 language tag of the client, e.g. de-DE. */
    locale: z.string().max(64).optional(),
    /** IANA time zone of the client, e.g. Europe/Berlin. */
    timezone: z.string().max(64).optional(),
    campaign: CampaignContext.optional(),
    library: z.object({ name: z.string().max(128).optional(), version: z.string().max(64).optional() }).loose().optional(),
  })
  .loose();

const Properties = z.record(z.string(), z.unknown());

const base = {
  /** Idempotency key: the same messageId again is the same event. Derived from the content when absent. */
  messageId: id.optional(),
  timestamp: Timestamp,
  anonymousId: id.optional(),
  userId: id.optional(),
  context: Context.optional(),
  properties: Properties.optional(),
};

export const INTERACTIONS = [
  'impression',
  'click',
  'visit',
  'email_open',
  'email_click',
  'social',
  'webinar',
  'event',
  'call',
  'meeting',
  'offline',
] as const;
export const Interaction = z.enum(INTERACTIONS);
export type Interaction = z.infer<typeof Interaction>;

/** Ad platforms' click ids, in the order ingest looks for them in a URL. */
export const CLICK_ID_TYPES = ['gclid', 'gbraid', 'wbraid', 'msclkid', 'fbclid', 'li_fat_id', 'ttclid'] as const;
export const ClickIdType = z.enum(CLICK_ID_TYPES);
export type ClickIdType = z.infer<typeof ClickIdType>;

const label = z.string().trim().max(512);

export const TouchEvent = z
  .object({
    ...base,
    type: z.literal('touch'),
    interaction: Interaction,
    /** When given it wins over the channel rules (normalised: "LinkedIn " is "linkedin"). */
    channel: label.optional(),
    source: label.optional(),
    medium: label.optional(),
    campaign: label.optional(),
    content: label.optional(),
    term: label.optional(),
    /** UTM tags and click ids are read from it; falls back to `context.page.url`. */
    url: z.string().max(8192).optional(),
    referrer: z.string().max(8192).optional(),
    /** A click id known without a URL (call tracking, offline imports); needs `clickIdType`. */
    clickId: z.string().trim().min(1, 'must not be empty').max(512).optional(),
    clickIdType: ClickIdType.optional(),
    cost: z.number().nonnegative().finite().optional(),
  })
  .refine((e) => (e.clickId === undefined) === (e.clickIdType === undefined), {
    message: 'clickId and clickIdType go together',
    path: ['clickIdType'],
  });

export const STAGES = ['lead', 'opportunity', 'closed_won'] as const;
export const Stage = z.enum(STAGES);
export type Stage = z.infer<typeof Stage>;

export const Currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO-4217 code such as EUR')
  .transform((c) => c.toUpperCase());

export const ConversionEvent = z.object({
  ...base,
  type: z.literal('conversion'),
  /** The conversion's own id (order, deal, form submission): a conversion is credited once per id. */
  conversionId: id,
  name: z.string().trim().min(1, 'must not be empty').max(128),
  value: z.number().finite().nonnegative().default(0),
  currency: Currency.default('EUR'),
  /** Funnel milestone for W-shaped credit. */
  stage: Stage.optional(),
});

/** Deliberately loose: a real address has one @ and a dotted domain; anything more is the MTA's job. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[\d\s().\-/]{4,40}$/;

export const Traits = z
  .object({
    /** Hashed at ingest (SHA-256 of the normalised address); never stored in clear. */
    email: z.string().trim().max(320).regex(EMAIL, 'must be an email address such as jane@example.com').optional(),
    /** Hashed at ingest after conversion to E.164; never stored in clear. */
    phone: z.string().trim().max(64).regex(PHONE, 'must be a phone number such as +49 30 1234567').optional(),
    /** B2B account the person belongs to. */
    accountId: id.optional(),
  })
  .loose();

export const IdentifyEvent = z.object({
  ...base,
  type: z.literal('identify'),
  /** Other traits are accepted and not stored. */
  traits: Traits.optional(),
});

export const CostEvent = z.object({
  messageId: id.optional(),
  type: z.literal('cost'),
  timestamp: Timestamp.optional(),
  date: z.iso.date({ message: 'must be a date such as 2026-11-22' }),
  channel: label.min(1, 'must not be empty'),
  campaign: label.optional(),
  amount: z.number().finite().nonnegative(),
  currency: Currency.default('EUR'),
});

export const Event = z.discriminatedUnion('type', [TouchEvent, ConversionEvent, IdentifyEvent, CostEvent]).superRefine(
  (e, ctx) => {
    if (e.type !== 'cost' && e.anonymousId === undefined && e.userId === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs anonymousId or userId', path: ['anonymousId'] });
    }
  },
);
export type Event = z.infer<typeof Event>;
export type TouchEvent = z.infer<typeof TouchEvent>;
export type ConversionEvent = z.infer<typeof ConversionEvent>;
export type IdentifyEvent = z.infer<typeof IdentifyEvent>;
export type CostEvent = z.infer<typeof CostEvent>;
export type Traits = z.infer<typeof Traits>;
export type Context = z.infer<typeof Context>;

/** The batch body. Events stay `unknown` here: each is validated on its own with `Event`. */
export const BatchRequest = z.object({
  batch: z.array(z.unknown()).min(1, 'must hold at least one event'),
  /** The client's clock when it sent the batch: timestamps are corrected for its skew. */
  sentAt: Timestamp.optional(),
});
export type BatchRequest = z.infer<typeof BatchRequest>;

export const RejectedEvent = z.object({
  index: z.number().int(),
  path: z.string(),
  reason: z.string(),
});
export const BatchResponse = z.object({
  /** Events durably in the event log. */
  accepted: z.number().int(),
  rejected: z.array(RejectedEvent),
  /** Valid events of people who asked to be deleted: dropped, nothing to resend. Absent when 0. */
  dropped: z.number().int().optional(),
});
export type BatchResponse = z.infer<typeof BatchResponse>;

/** Every non-2xx answer: a stable code and a sentence that says what to fix. */
export const ErrorResponse = z.object({
  error: z.enum([
    'bad_request',
    'unauthorized',
    'forbidden',
    'payload_too_large',
    'unsupported_media_type',
    'rate_limited',
    'unavailable',
    'internal',
  ]),
  message: z.string(),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;

const oneOrMany = z.union([id, z.array(id).min(1).max(100, 'at most 100 per request')]);
const oneOrManyEmails = z.union([
  z.string().trim().max(320).regex(EMAIL, 'must be an email address'),
  z.array(z.string().trim().max(320).regex(EMAIL, 'must be an email address')).min(1).max(100, 'at most 100 per request'),
]);

/** `POST /v1/privacy/delete` (admin key): forget a person by any of their ids. */
export const PrivacyDeleteRequest = z
  .object({
    userId: oneOrMany.optional(),
    anonymousId: oneOrMany.optional(),
    email: oneOrManyEmails.optional(),
  })
  .strict()
  .refine((r) => r.userId !== undefined || r.anonymousId !== undefined || r.email !== undefined, {
    message: 'name the person: userId, anonymousId or email',
  });
export type PrivacyDeleteRequest = z.infer<typeof PrivacyDeleteRequest>;

export const PrivacyDeleteResponse = z.object({
  requestId: z.string(),
  /** Every id found linked to the person (emails only as hashes): all of them are now refused at ingest. */
  forgotten: z.object({ anonymousIds: z.array(z.string()), userIds: z.array(z.string()), emailHashes: z.array(z.string()) }),
  /** Rows deleted per warehouse table; absent when this ingest has no warehouse. */
  deletedRows: z.record(z.string(), z.number().int()).optional(),
  /** Conversions whose credit was retracted (every model). */
  retractedConversions: z.number().int().optional(),
  /** false when the pipeline had not caught up within the wait: rows still in flight may land later; resend the request. */
  drained: z.boolean().optional(),
});
export type PrivacyDeleteResponse = z.infer<typeof PrivacyDeleteResponse>;
