import { z } from 'zod';

/**
 * v1 HTTP event contract (`POST /v1/events`, `POST /v1/batch`).
 * Each event is validated on its own, so one bad event never rejects its neighbours.
 */

const id = z.string().trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters');

/** ISO-8601 date-time with offset, or epoch milliseconds. Parsed to epoch ms. */
export const Timestamp = z.union([
  z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time such as 2026-11-22T10:00:00Z' }),
  z.number().int().nonnegative().max(8.64e15),
]);

export const Consent = z
  .object({
    attribution: z.boolean().optional(),
    analytics: z.boolean().optional(),
    marketing: z.boolean().optional(),
  })
  .loose();

export const Context = z
  .object({
    ip: z.string().max(64).optional(),
    userAgent: z.string().max(2048).optional(),
    consent: Consent.optional(),
    page: z
      .object({
        url: z.string().max(8192).optional(),
        referrer: z.string().max(8192).optional(),
        title: z.string().max(1024).optional(),
        path: z.string().max(4096).optional(),
      })
      .optional(),
    locale: z.string().max(64).optional(),
  })
  .loose();

const Properties = z.record(z.string(), z.unknown());

const base = {
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

const label = z.string().trim().max(512);

export const TouchEvent = z.object({
  ...base,
  type: z.literal('touch'),
  interaction: Interaction,
  channel: label.optional(),
  source: label.optional(),
  medium: label.optional(),
  campaign: label.optional(),
  content: label.optional(),
  term: label.optional(),
  url: z.string().max(8192).optional(),
  referrer: z.string().max(8192).optional(),
  cost: z.number().nonnegative().finite().optional(),
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
  conversionId: id,
  name: z.string().trim().min(1).max(128),
  value: z.number().finite().nonnegative().default(0),
  currency: Currency.default('EUR'),
  stage: Stage.optional(),
});

export const IdentifyEvent = z.object({
  ...base,
  type: z.literal('identify'),
  traits: z
    .object({
      email: z.string().trim().max(320).optional(),
      phone: z.string().trim().max(64).optional(),
      accountId: id.optional(),
    })
    .loose()
    .optional(),
});

export const CostEvent = z.object({
  messageId: id.optional(),
  type: z.literal('cost'),
  timestamp: Timestamp.optional(),
  date: z.iso.date({ message: 'must be a date such as 2026-11-22' }),
  channel: label.min(1),
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

/** The batch body. Events stay `unknown` here: each is validated on its own with `Event`. */
export const BatchRequest = z.object({
  batch: z.array(z.unknown()).min(1, 'must hold at least one event'),
  sentAt: Timestamp.optional(),
});
export type BatchRequest = z.infer<typeof BatchRequest>;

export const RejectedEvent = z.object({
  index: z.number().int(),
  path: z.string(),
  reason: z.string(),
});
export const BatchResponse = z.object({
  accepted: z.number().int(),
  rejected: z.array(RejectedEvent),
});
export type BatchResponse = z.infer<typeof BatchResponse>;
