import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CLICK_ID_TYPES, INTERACTIONS, type ClickIdType } from '@touchline/contracts';
import { hostOf, sameSite, wantedParams } from './url.js';

/**
 * Channel grouping: turns what a tracker knows (explicit channel, UTM tags, click ids, referrer,
 * interaction type) into one normalised channel. An explicit channel wins; otherwise ordered rules
 * decide, the operator's first, then the defaults below; the first rule that matches names the
 * channel. Nothing matched: the event keeps its source and medium as its channel (and the values
 * are counted as unknown, so the operator can add a rule), or is `direct` when it has neither.
 */

export const CLICK_ID_PARAMS = CLICK_ID_TYPES;

/** A condition on one signal: a value, any of several, a regular expression, or presence. */
export const Condition = z.union([
  z.string(),
  z.array(z.string()).min(1),
  z.object({ matches: z.string().min(1) }).strict(),
  z.object({ present: z.boolean() }).strict(),
]);
export type Condition = z.infer<typeof Condition>;

const SIGNALS = ['source', 'medium', 'campaign', 'clickIdType', 'referrerHost', 'interaction'] as const;
type Signal = (typeof SIGNALS)[number];

export const ChannelRule = z
  .object({
    when: z
      .object({
        source: Condition.optional(),
        medium: Condition.optional(),
        campaign: Condition.optional(),
        clickIdType: Condition.optional(),
        referrerHost: Condition.optional(),
        interaction: Condition.optional(),
      })
      .strict(),
    channel: z.string().trim().min(1, 'must name a channel'),
  })
  .strict()
  .superRefine((rule, ctx) => {
    for (const [signal, cond] of Object.entries(rule.when)) {
      const closed = signal === 'interaction' ? INTERACTIONS : signal === 'clickIdType' ? CLICK_ID_TYPES : undefined;
      const values = typeof cond === 'string' ? [cond] : Array.isArray(cond) ? cond : [];
      for (const v of closed ? values : []) {
        if (!(closed as readonly string[]).includes(v)) {
          ctx.addIssue({ code: 'custom', path: ['when', signal], message: `${JSON.stringify(v)} is not one of ${closed!.join(', ')}` });
        }
      }
      if (cond && typeof cond === 'object' && 'matches' in cond) {
        try {
          new RegExp(cond.matches);
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: ['when', signal, 'matches'], message: `not a regular expression: ${(err as Error).message}` });
        }
      }
    }
  });
export type ChannelRule = z.infer<typeof ChannelRule>;

const Aliases = z.record(z.string(), z.string());
/** The channel rules file: a list of rules, or rules and aliases. */
export const ChannelConfig = z.union([
  z.array(ChannelRule),
  z
    .object({
      rules: z.array(ChannelRule).default([]),
      aliases: z.object({ channel: Aliases.optional(), source: Aliases.optional(), medium: Aliases.optional() }).strict().optional(),
    })
    .strict(),
]);
export type ChannelConfig = z.infer<typeof ChannelConfig>;

const PAID_MEDIUM = '^(.*cp[a-z]?|ppc|paid.*|retargeting|sponsored|ads?)$';
const SOCIAL_SOURCE = '^(linkedin|facebook|instagram|meta|twitter|x|tiktok|xing|reddit|pinterest|snapchat|youtube|threads|bluesky|mastodon)$';
const SEARCH_SOURCE = '^(google|bing|microsoft|duckduckgo|yahoo|ecosia|baidu|yandex|qwant|startpage|brave)$';
const SEARCH_HOSTS = '(^|\\.)(google|bing|duckduckgo|yahoo|ecosia|baidu|yandex|qwant|startpage|brave)\\.[a-z.]+$';
const SOCIAL_HOSTS =
  '(^|\\.)(facebook\\.com|fb\\.com|instagram\\.com|linkedin\\.com|lnkd\\.in|t\\.co|twitter\\.com|x\\.com|reddit\\.com|tiktok\\.com|pinterest\\.[a-z.]+|youtube\\.com|xing\\.com|threads\\.net|bsky\\.app|mastodon\\.[a-z.]+)$';

/** The defaults, after the operator's rules. Values are compared after normalisation (lower-case, `_` for spaces). */
export const DEFAULT_RULES: ChannelRule[] = [
  { when: { clickIdType: ['gclid', 'gbraid', 'wbraid', 'msclkid'] }, channel: 'paid_search' },
  { when: { clickIdType: ['fbclid', 'li_fat_id', 'ttclid'] }, channel: 'paid_social' },
  { when: { source: { matches: SOCIAL_SOURCE }, medium: { matches: PAID_MEDIUM } }, channel: 'paid_social' },
  { when: { medium: { matches: '^(cpc|ppc|paid_?search|sem|search_?ads?)$' } }, channel: 'paid_search' },
  { when: { medium: { matches: '^(paid_?social|social_?paid|social_?ads?|sponsored)$' } }, channel: 'paid_social' },
  { when: { medium: { matches: '^(social|organic_?social|social_?network|social_?media|sm)$' }, source: { matches: '(paid|ads?)$' } }, channel: 'paid_social' },
  { when: { medium: { matches: '^(e_?mail|newsletter|e_?mailing|mailing)$' } }, channel: 'email' },
  { when: { source: { matches: '(^|_)(e_?mail|newsletter)($|_)' }, medium: { present: false } }, channel: 'email' },
  { when: { medium: { matches: '^(display|banner|cpm|programmatic|native|interstitial)$' } }, channel: 'display' },
  { when: { medium: { matches: '^(video|ctv|ott|youtube_?ads?|pre_?roll)$' } }, channel: 'video' },
  { when: { medium: { matches: '^(affiliates?|partners?)$' } }, channel: 'affiliate' },
  { when: { medium: { matches: '^(social|organic_?social|social_?network|social_?media|sm)$' } }, channel: 'organic_social' },
  { when: { medium: { matches: '^(organic|seo)$' } }, channel: 'organic_search' },
  { when: { medium: { matches: '^(referral|link)$' } }, channel: 'referral' },
  { when: { medium: { matches: '^webinars?$' } }, channel: 'webinar' },
  { when: { medium: { matches: '^(events?|fairs?|trade_?(show|fair)s?|conferences?|expos?)$' } }, channel: 'events' },
  { when: { medium: { matches: '^(calls?|phone|telephone)$' } }, channel: 'calls' },
  { when: { medium: { matches: '^(offline|print|direct_?mail|ooh|radio|tv)$' } }, channel: 'offline' },
  { when: { source: { matches: SOCIAL_SOURCE }, medium: { present: false } }, channel: 'organic_social' },
  { when: { source: { matches: SEARCH_SOURCE }, medium: { present: false } }, channel: 'organic_search' },
  { when: { interaction: ['email_open', 'email_click'] }, channel: 'email' },
  { when: { interaction: 'webinar' }, channel: 'webinar' },
  { when: { interaction: 'event' }, channel: 'events' },
  { when: { interaction: ['call', 'meeting'] }, channel: 'calls' },
  { when: { interaction: 'offline' }, channel: 'offline' },
  { when: { source: { present: false }, medium: { present: false }, referrerHost: { matches: SEARCH_HOSTS } }, channel: 'organic_search' },
  { when: { source: { present: false }, medium: { present: false }, referrerHost: { matches: SOCIAL_HOSTS } }, channel: 'organic_social' },
  { when: { source: { present: false }, medium: { present: false }, referrerHost: { present: true } }, channel: 'referral' },
  { when: { source: { present: false }, medium: { present: false } }, channel: 'direct' },
];

/** The channels the defaults know; explicit channels outside these (and the operator's) are counted. */
export const DEFAULT_CHANNELS = [
  'paid_search',
  'paid_social',
  'organic_search',
  'organic_social',
  'email',
  'referral',
  'display',
  'video',
  'affiliate',
  'webinar',
  'events',
  'calls',
  'offline',
  'direct',
] as const;

/** Keys and values are normalised labels. */
export const DEFAULT_ALIASES = {
  channel: {
    linked_in: 'linkedin',
    google: 'google_ads',
    adwords: 'google_ads',
    googleads: 'google_ads',
    fb: 'facebook',
    meta: 'facebook',
    e_mail: 'email',
    mail: 'email',
    newsletter: 'email',
    trade_fair: 'events',
    trade_fairs: 'events',
    trade_show: 'events',
    fair: 'events',
    fairs: 'events',
    event: 'events',
    call: 'calls',
    phone: 'calls',
    webinars: 'webinar',
    seo: 'organic_search',
    sea: 'paid_search',
    ppc: 'paid_search',
  } as Record<string, string>,
  source: {
    linked_in: 'linkedin',
    'linkedin.com': 'linkedin',
    'lnkd.in': 'linkedin',
    li: 'linkedin',
    fb: 'facebook',
    'facebook.com': 'facebook',
    'm.facebook.com': 'facebook',
    ig: 'instagram',
    'instagram.com': 'instagram',
    'google.com': 'google',
    adwords: 'google',
    google_ads: 'google',
    'bing.com': 'bing',
    'twitter.com': 'twitter',
    'x.com': 'x',
    yt: 'youtube',
    'youtube.com': 'youtube',
  } as Record<string, string>,
  medium: {
    e_mail: 'email',
    'e-mail': 'email',
    mail: 'email',
  } as Record<string, string>,
};

/** "LinkedIn " and "linkedin" are one value: trimmed, lower-case, inner spaces and dashes as underscores. */
export function normaliseLabel(value: string | undefined): string {
  if (!value) return '';
  const t = value.trim().toLowerCase();
  return NEEDS_UNDERSCORE.test(t) ? t.replace(/[\s-]+/g, '_') : t;
}
const NEEDS_UNDERSCORE = /[\s-]/;

export interface ChannelInput {
  interaction: string;
  channel?: string | undefined;
  source?: string | undefined;
  medium?: string | undefined;
  campaign?: string | undefined;
  content?: string | undefined;
  term?: string | undefined;
  url?: string | undefined;
  referrer?: string | undefined;
  clickId?: string | undefined;
  clickIdType?: ClickIdType | undefined;
  /** `context.campaign`: UTM tags sent beside the URL. */
  utm?: { source?: string | undefined; medium?: string | undefined; name?: string | undefined; content?: string | undefined; term?: string | undefined } | undefined;
}

export interface ChannelFields {
  channel: string;
  source: string;
  medium: string;
  campaign: string;
  content: string;
  term: string;
  clickId: string;
  clickIdType: string;
}

/** A value no rule knew, kept on the event and reported here. */
export type UnknownValue = (field: 'channel' | 'source' | 'medium', value: string) => void;

interface Signals {
  source: string;
  medium: string;
  campaign: string;
  clickIdType: string;
  referrerHost: string;
  interaction: string;
}

type Test = (value: string) => boolean;
const MAX_CACHED = 10_000;
interface CompiledRule {
  tests: Array<[Signal, Test]>;
  channel: string;
}

export interface ChannelGrouperOptions {
  /** The operator's rules, tried before the defaults. */
  rules?: readonly ChannelRule[];
  aliases?: { channel?: Record<string, string>; source?: Record<string, string>; medium?: Record<string, string> };
  onUnknown?: UnknownValue;
}

/** Ordered channel rules over the defaults, compiled once. */
export class ChannelGrouper {
  private readonly rules: CompiledRule[];
  private readonly known: Set<string>;
  private readonly channelAliases: Record<string, string>;
  private readonly sourceAliases: Record<string, string>;
  private readonly mediumAliases: Record<string, string>;
  private readonly onUnknown: UnknownValue | undefined;
  private readonly usesCampaign: boolean;
  private readonly cache = new Map<string, string>();

  constructor(opts: ChannelGrouperOptions = {}) {
    const own = (opts.rules ?? []).map((r) => ChannelRule.parse(r));
    this.channelAliases = normaliseAliases({ ...DEFAULT_ALIASES.channel, ...opts.aliases?.channel });
    this.sourceAliases = normaliseAliases({ ...DEFAULT_ALIASES.source, ...opts.aliases?.source });
    this.mediumAliases = normaliseAliases({ ...DEFAULT_ALIASES.medium, ...opts.aliases?.medium });
    this.rules = [...own, ...DEFAULT_RULES].map((r) => compile(r, this.channelAliases));
    this.known = new Set<string>([...DEFAULT_CHANNELS, ...this.rules.map((r) => r.channel), ...Object.values(this.channelAliases)]);
    this.onUnknown = opts.onUnknown;
    this.usesCampaign = this.rules.some((r) => r.tests.some(([signal]) => signal === 'campaign'));
  }

  /** An explicit channel value as stored: normalised, aliases applied. */
  normaliseChannel(value: string): string {
    const v = normaliseLabel(value);
    return this.channelAliases[v] ?? v;
  }

  /**
   * The channel fields of a touch. `report` receives the values no rule knew (by default the
   * grouper's `onUnknown`); a caller that memoises the answer records them to report them again.
   */
  derive(input: ChannelInput, report: UnknownValue | undefined = this.onUnknown): ChannelFields {
    const params = wantedParams(input.url);
    const utm = input.utm;
    const source = this.alias(this.sourceAliases, normaliseLabel(input.source ?? params?.get('utm_source') ?? utm?.source));
    const medium = this.alias(this.mediumAliases, normaliseLabel(input.medium ?? params?.get('utm_medium') ?? utm?.medium));
    const campaign = (input.campaign ?? params?.get('utm_campaign') ?? utm?.name ?? '').trim();
    const content = (input.content ?? params?.get('utm_content') ?? utm?.content ?? '').trim();
    const term = (input.term ?? params?.get('utm_term') ?? utm?.term ?? '').trim();
    let clickId = input.clickId ?? '';
    let clickIdType: string = input.clickIdType ?? '';
    if (!clickIdType && params) {
      for (const p of CLICK_ID_PARAMS) {
        const v = params.get(p);
        if (v) {
          clickId = v.slice(0, 512);
          clickIdType = p;
          break;
        }
      }
    }
    const fields = { channel: '', source, medium, campaign, content, term, clickId, clickIdType };
    if (input.channel && input.channel.trim()) {
      fields.channel = this.normaliseChannel(input.channel);
      if (!this.known.has(fields.channel)) report?.('channel', fields.channel);
      return fields;
    }
    let referrerHost = '';
    if (input.referrer) {
      const host = hostOf(input.referrer);
      if (host && !sameSite(host, hostOf(input.url))) referrerHost = host;
    }
    const signals: Signals = { source, medium, campaign: this.usesCampaign ? campaign.toLowerCase() : '', clickIdType, referrerHost, interaction: input.interaction };
    // Few distinct signal combinations occur in practice; the rules are evaluated once for each.
    const cacheKey = `${signals.interaction}\u0000${source}\u0000${medium}\u0000${clickIdType}\u0000${referrerHost}\u0000${signals.campaign}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) {
      fields.channel = cached;
      return fields;
    }
    for (const rule of this.rules) {
      if (matches(rule, signals)) {
        if (this.cache.size >= MAX_CACHED) this.cache.clear();
        this.cache.set(cacheKey, rule.channel);
        fields.channel = rule.channel;
        return fields;
      }
    }
    // No rule knew these values: keep them as the channel rather than lose them, and say so.
    if (source) report?.('source', source);
    if (medium) report?.('medium', medium);
    fields.channel = source && medium ? `${source}_${medium}` : source || medium || 'direct';
    return fields;
  }

  /** Reports a value no rule knew, as `derive` does. */
  reportUnknown(field: 'channel' | 'source' | 'medium', value: string): void {
    this.onUnknown?.(field, value);
  }

  private alias(table: Record<string, string>, v: string): string {
    return v ? (table[v] ?? v) : v;
  }
}

function matches(rule: CompiledRule, s: Signals): boolean {
  for (const [signal, test] of rule.tests) if (!test(s[signal])) return false;
  return true;
}

function normaliseAliases(table: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(table)) out[normaliseLabel(k)] = normaliseLabel(v);
  return out;
}

function compile(rule: ChannelRule, channelAliases: Record<string, string>): CompiledRule {
  const tests: Array<[Signal, Test]> = [];
  for (const signal of SIGNALS) {
    const cond = rule.when[signal];
    if (cond !== undefined) tests.push([signal, compileCondition(signal, cond)]);
  }
  const channel = normaliseLabel(rule.channel);
  return { tests, channel: channelAliases[channel] ?? channel };
}

function compileCondition(signal: Signal, cond: Condition): Test {
  const norm = (v: string) => (signal === 'campaign' ? v.trim().toLowerCase() : signal === 'referrerHost' ? v.trim().toLowerCase().replace(/^www\./, '') : normaliseLabel(v));
  if (typeof cond === 'string' || Array.isArray(cond)) {
    const wanted = new Set((typeof cond === 'string' ? [cond] : cond).map(norm));
    if (signal === 'referrerHost') {
      const list = [...wanted];
      return (v) => v !== '' && list.some((d) => sameDomain(v, d));
    }
    return (v) => wanted.has(v);
  }
  if ('matches' in cond) {
    const re = new RegExp(cond.matches, 'i');
    return (v) => re.test(v);
  }
  const present = cond.present;
  return (v) => (v !== '') === present;
}

/** A host condition "linkedin.com" also matches "de.linkedin.com". */
function sameDomain(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

/** Reads and checks a channel rules file (or inline JSON); the message names the bad rule. */
export function loadChannelConfig(pathOrJson: string): ChannelConfig {
  const text = pathOrJson.trim().startsWith('[') || pathOrJson.trim().startsWith('{') ? pathOrJson : readFileSync(pathOrJson, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`channel rules: not valid JSON (${(err as Error).message})`);
  }
  const parsed = ChannelConfig.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`channel rules: ${issues}`);
  }
  return parsed.data;
}

/** Options for a ChannelGrouper from a loaded channel config. */
export function grouperOptions(config: ChannelConfig | undefined): Pick<ChannelGrouperOptions, 'rules' | 'aliases'> {
  if (!config) return {};
  if (Array.isArray(config)) return { rules: config };
  return { rules: config.rules, ...(config.aliases ? { aliases: config.aliases } : {}) };
}

const defaultGrouper = new ChannelGrouper();

/** Channel fields under the default rules. */
export function deriveChannel(input: ChannelInput): ChannelFields {
  return defaultGrouper.derive(input);
}

/** An explicit channel value under the default aliases. */
export function normaliseChannel(value: string): string {
  return defaultGrouper.normaliseChannel(value);
}
