import { z } from 'zod';
import { Interaction, Stage } from './events.js';

/**
 * Topic messages: versioned JSON envelopes `{ v: 1, kind, ... }`, decoded with these schemas at
 * every consumer boundary. Times are epoch milliseconds. No clear email or phone ever appears here.
 */

const v = z.literal(1);

/**
 * Arms of the event's unit in the incrementality experiments running when it happened, by
 * experiment id, as ingest assigned them (`holdoutArm` of the id the experiment hashes). Absent
 * when no experiment applies or the event carries no such id (an anonymous touch before
 * identification: its person's arm follows from the id it is later linked to).
 */
export const Arms = z.record(z.string(), z.enum(['holdout', 'exposed']));
export type Arms = z.infer<typeof Arms>;

export const TouchpointMessage = z.object({
  v,
  kind: z.literal('touchpoint'),
  messageId: z.string(),
  anonymousId: z.string().optional(),
  userId: z.string().optional(),
  timestamp: z.number(),
  receivedAt: z.number(),
  interaction: Interaction,
  channel: z.string(),
  source: z.string(),
  medium: z.string(),
  campaign: z.string(),
  content: z.string(),
  term: z.string(),
  clickId: z.string(),
  clickIdType: z.string(),
  url: z.string(),
  referrer: z.string(),
  cost: z.number(),
  /** false when the person withheld attribution consent: stored, never attributed. */
  consent: z.boolean(),
  /** Client IP truncated before anything is stored (IPv4 last octet, IPv6 last 80 bits zeroed). */
  ip: z.string().default(''),
  userAgent: z.string().default(''),
  /** The user agent is a known bot or crawler. */
  bot: z.boolean().default(false),
  arms: Arms.optional(),
});
export type TouchpointMessage = z.infer<typeof TouchpointMessage>;

export const ConversionMessage = z.object({
  v,
  kind: z.literal('conversion'),
  messageId: z.string(),
  conversionId: z.string(),
  anonymousId: z.string().optional(),
  userId: z.string().optional(),
  timestamp: z.number(),
  receivedAt: z.number(),
  name: z.string(),
  value: z.number(),
  currency: z.string(),
  stage: Stage.optional(),
  consent: z.boolean(),
  arms: Arms.optional(),
});
export type ConversionMessage = z.infer<typeof ConversionMessage>;

export const IdentityMessage = z.object({
  v,
  kind: z.literal('identity'),
  messageId: z.string(),
  anonymousId: z.string().optional(),
  userId: z.string().optional(),
  /** SHA-256 (hex) of the normalised email address. */
  emailHash: z.string().optional(),
  phoneHash: z.string().optional(),
  accountId: z.string().optional(),
  timestamp: z.number(),
  receivedAt: z.number(),
  arms: Arms.optional(),
});
export type IdentityMessage = z.infer<typeof IdentityMessage>;

export const CostMessage = z.object({
  v,
  kind: z.literal('cost'),
  messageId: z.string(),
  date: z.string(),
  channel: z.string(),
  campaign: z.string(),
  amount: z.number(),
  currency: z.string(),
  receivedAt: z.number(),
});
export type CostMessage = z.infer<typeof CostMessage>;

export const DeadletterMessage = z.object({
  v,
  kind: z.literal('deadletter'),
  /** Where the record was refused: 'ingest', or a consumer's group id. */
  stage: z.string(),
  reason: z.string(),
  path: z.string(),
  messageId: z.string(),
  /** The refused payload as text, with clear emails and phones removed. */
  payload: z.string(),
  receivedAt: z.number(),
});
export type DeadletterMessage = z.infer<typeof DeadletterMessage>;

export const JourneyTouch = z.object({
  messageId: z.string(),
  timestamp: z.number(),
  interaction: Interaction,
  channel: z.string(),
  campaign: z.string(),
  source: z.string(),
  medium: z.string(),
});
export type JourneyTouch = z.infer<typeof JourneyTouch>;

/**
 * A conversion with the ordered touches that may earn credit for it. Emitted again (a higher
 * `revision`) when late data changes the touches; the attributor then restates the credit.
 */
export const JourneyMessage = z.object({
  v,
  kind: z.literal('journey'),
  personId: z.string(),
  conversion: z.object({
    conversionId: z.string(),
    messageId: z.string(),
    name: z.string(),
    timestamp: z.number(),
    value: z.number(),
    currency: z.string(),
    stage: Stage.optional(),
  }),
  touches: z.array(JourneyTouch),
  /**
   * When the journey's lead and opportunity were created (the earliest conversions with those
   * stages of the same person or account), for W-shaped credit. Absent when unknown.
   */
  milestones: z.object({ leadTime: z.number().optional(), opportunityTime: z.number().optional() }).optional(),
  /** 'person' or 'account': the level this conversion is credited at. */
  level: z.enum(['person', 'account']).default('person'),
  /** The person was deleted (privacy) or the conversion withdrawn: its credit must be retracted. */
  retracted: z.boolean().default(false),
  revision: z.number().int().nonnegative(),
  /** Microseconds since the epoch when the stitcher built this journey: the credit version. */
  emittedAt: z.number().int(),
  lookbackDays: z.number(),
});
export type JourneyMessage = z.infer<typeof JourneyMessage>;

/**
 * A journey whose window passed without a conversion (a "null path"): the touches that did not
 * lead to a conversion. Markov, Shapley and data-driven models need them. A person's, or (level
 * `account`) an account's: the touches of all its people in the window, the counterpart of the
 * account-level journeys its deals are credited on.
 */
export const NullPathMessage = z.object({
  v,
  kind: z.literal('null_path'),
  /** The person whose window it is; empty for an account's null path. */
  personId: z.string(),
  /** Whose window it is: absent (a person's, as before the field existed) or `account`. */
  level: z.enum(['person', 'account']).optional(),
  /** The account of an account-level null path. */
  accountId: z.string().min(1).optional(),
  /** Identifies this null path; the same id again is the same path (deduplicate on it). */
  pathId: z.string(),
  /** Empty when an earlier null path of this id is withdrawn (a late conversion, a merge, a deletion). */
  touches: z.array(JourneyTouch),
  /** When the window closed (ms). */
  closedAt: z.number(),
  emittedAt: z.number().int(),
  /**
   * A known person (identified, or touched earlier) had neither a touch nor a conversion during a
   * whole window: a null path with no touches that counts, unlike a withdrawal.
   */
  untouched: z.boolean().optional(),
});
export type NullPathMessage = z.infer<typeof NullPathMessage>;

/**
 * A link the stitcher inferred between two anonymous devices (probabilistic linking, off by
 * default): the same truncated network and user-agent family within a few minutes. Published on
 * the identity-links topic so that analysts see it in `touchline.identity_links`; deterministic
 * links (identify events, events carrying two ids) are written there from the input topics.
 */
export const IdentityLinkMessage = z.object({
  v,
  kind: z.literal('identity_link'),
  /** The same two devices give the same id, whatever the evidence. */
  linkId: z.string(),
  method: z.literal('probabilistic'),
  anonymousId: z.string(),
  linkedAnonymousId: z.string(),
  /** In (0, 1): how likely the two devices are one person. */
  confidence: z.number().gt(0).lt(1),
  /** Message ids of the two touches the link rests on. */
  evidence: z.array(z.string()).length(2),
  /** Event time of the later of the two touches. */
  timestamp: z.number(),
  /** When the stitcher found the link (ms). */
  linkedAt: z.number(),
});
export type IdentityLinkMessage = z.infer<typeof IdentityLinkMessage>;

/** What the journeys topic carries. */
export const JourneysTopicMessage = z.discriminatedUnion('kind', [JourneyMessage, NullPathMessage]).superRefine((m, ctx) => {
  if (m.kind === 'null_path' && (m.level === 'account') !== (m.accountId !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['accountId'], message: 'an account-level null path names its account (accountId); a person-level one names none' });
  }
});
export type JourneysTopicMessage = z.infer<typeof JourneysTopicMessage>;

export const CreditShare = z.object({
  touchpointId: z.string(),
  channel: z.string(),
  campaign: z.string(),
  touchTimestamp: z.number(),
  weight: z.number(),
  value: z.number(),
});
export type CreditShare = z.infer<typeof CreditShare>;

/** The complete credit of one conversion under one model: it replaces any earlier one. */
export const CreditMessage = z.object({
  v,
  kind: z.literal('credit'),
  conversionId: z.string(),
  conversionName: z.string(),
  conversionTimestamp: z.number(),
  personId: z.string(),
  model: z.string(),
  version: z.number().int(),
  currency: z.string(),
  conversionValue: z.number(),
  shares: z.array(CreditShare),
});
export type CreditMessage = z.infer<typeof CreditMessage>;

export const InputMessage = z.discriminatedUnion('kind', [
  TouchpointMessage,
  ConversionMessage,
  IdentityMessage,
  CostMessage,
]);
export type InputMessage = z.infer<typeof InputMessage>;

/** Parses a topic record's bytes into a message, or says precisely why not. */
export function decodeMessage<T extends z.ZodType>(
  schema: T,
  bytes: Buffer | string,
): { ok: true; value: z.infer<T> } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, reason: formatIssues(parsed.error) };
}

export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/**
 * Touches found fraudulent (click farms, bursts, bots): the stitcher drops them from journeys and
 * restates the credit of the conversions they were part of. Published on the alerts topic.
 */
export const FraudFlagMessage = z.object({
  v,
  kind: z.literal('fraud_flag'),
  flagId: z.string(),
  touchpointIds: z.array(z.string()),
  reason: z.string(),
  flaggedAt: z.number(),
});
export type FraudFlagMessage = z.infer<typeof FraudFlagMessage>;

/**
 * A person to forget (`POST /v1/privacy/delete`): ids as sent, the email only as its hash.
 * Published on the identities topic so that the stitcher drops the person and later events.
 */
export const PrivacyDeleteMessage = z.object({
  v,
  kind: z.literal('privacy_delete'),
  requestId: z.string(),
  anonymousIds: z.array(z.string()),
  userIds: z.array(z.string()),
  emailHashes: z.array(z.string()),
  requestedAt: z.number(),
});
export type PrivacyDeleteMessage = z.infer<typeof PrivacyDeleteMessage>;
