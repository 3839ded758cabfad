/**
 * Channel grouping: turns what a tracker knows (explicit channel, UTM tags, click ids, referrer,
 * interaction type) into one normalised channel. Explicit values win; then click ids; then medium
 * and source; then the interaction; then the referrer; else `direct`.
 */

export const CLICK_ID_PARAMS = ['gclid', 'gbraid', 'wbraid', 'msclkid', 'fbclid', 'li_fat_id', 'ttclid'] as const;

const CLICK_ID_CHANNEL: Record<(typeof CLICK_ID_PARAMS)[number], string> = {
  gclid: 'paid_search',
  gbraid: 'paid_search',
  wbraid: 'paid_search',
  msclkid: 'paid_search',
  fbclid: 'paid_social',
  li_fat_id: 'paid_social',
  ttclid: 'paid_social',
};

const MEDIUM_CHANNEL: Array<[RegExp, string]> = [
  [/^(cpc|ppc|paid[_ -]?search|sem|search[_ -]?ads?)$/, 'paid_search'],
  [/^(paid[_ -]?social|social[_ -]?paid|social[_ -]?ads?|sponsored)$/, 'paid_social'],
  [/^(e-?mail|newsletter|e-?mailing)$/, 'email'],
  [/^(display|banner|cpm|programmatic|native)$/, 'display'],
  [/^(video|ctv|youtube[_ -]?ads?)$/, 'video'],
  [/^(affiliate|partner)s?$/, 'affiliate'],
  [/^(social|organic[_ -]?social|social[_ -]?network)$/, 'organic_social'],
  [/^(organic|seo)$/, 'organic_search'],
  [/^(referral|link)$/, 'referral'],
  [/^(webinar)s?$/, 'webinar'],
  [/^(event|fair|trade[_ -]?(show|fair)|conference|expo)s?$/, 'events'],
  [/^(call|phone)s?$/, 'calls'],
  [/^(offline|print|direct[_ -]?mail|ooh|radio|tv)$/, 'offline'],
];

const INTERACTION_CHANNEL: Record<string, string> = {
  email_open: 'email',
  email_click: 'email',
  webinar: 'webinar',
  event: 'events',
  call: 'calls',
  meeting: 'calls',
  offline: 'offline',
};

const SEARCH_HOSTS = /(^|\.)(google|bing|duckduckgo|yahoo|ecosia|baidu|yandex|qwant|startpage|brave)\.[a-z.]+$/;
const SOCIAL_HOSTS =
  /(^|\.)(facebook\.com|fb\.com|instagram\.com|linkedin\.com|lnkd\.in|t\.co|twitter\.com|x\.com|reddit\.com|tiktok\.com|pinterest\.[a-z.]+|youtube\.com|xing\.com|threads\.net|bsky\.app|mastodon\.[a-z.]+)$/;

/** Aliases for explicit channel names; keys and values are already lower-case. */
const ALIASES: Record<string, string> = {
  'linked_in': 'linkedin',
  'google': 'google_ads',
  'adwords': 'google_ads',
  'googleads': 'google_ads',
  'fb': 'facebook',
  'meta': 'facebook',
  'e_mail': 'email',
  'mail': 'email',
  'trade_fair': 'events',
  'fair': 'events',
  'fairs': 'events',
};

/** "LinkedIn " and "linkedin" are one value: trimmed, lower-case, inner spaces as underscores. */
export function normaliseLabel(value: string | undefined): string {
  if (!value) return '';
  return value.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

export function normaliseChannel(value: string): string {
  const v = normaliseLabel(value);
  return ALIASES[v] ?? v;
}

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

export function deriveChannel(input: ChannelInput): ChannelFields {
  const params = queryParams(input.url);
  const source = normaliseLabel(input.source ?? params.get('utm_source') ?? undefined);
  const medium = normaliseLabel(input.medium ?? params.get('utm_medium') ?? undefined);
  const campaign = (input.campaign ?? params.get('utm_campaign') ?? '').trim();
  const content = (input.content ?? params.get('utm_content') ?? '').trim();
  const term = (input.term ?? params.get('utm_term') ?? '').trim();
  let clickId = '';
  let clickIdType = '';
  for (const p of CLICK_ID_PARAMS) {
    const v = params.get(p);
    if (v) {
      clickId = v.slice(0, 512);
      clickIdType = p;
      break;
    }
  }
  return { channel: groupChannel(input, source, medium, clickIdType), source, medium, campaign, content, term, clickId, clickIdType };
}

function groupChannel(input: ChannelInput, source: string, medium: string, clickIdType: string): string {
  if (input.channel && input.channel.trim()) return normaliseChannel(input.channel);
  if (clickIdType) return CLICK_ID_CHANNEL[clickIdType as keyof typeof CLICK_ID_CHANNEL];
  if (medium) {
    for (const [re, channel] of MEDIUM_CHANNEL) {
      if (re.test(medium)) {
        if (channel === 'organic_social' && /paid|ads?$/.test(source)) return 'paid_social';
        return channel;
      }
    }
  }
  const byInteraction = INTERACTION_CHANNEL[input.interaction];
  if (byInteraction) return byInteraction;
  const host = hostOf(input.referrer);
  if (host) {
    if (SEARCH_HOSTS.test(host)) return 'organic_search';
    if (SOCIAL_HOSTS.test(host)) return 'organic_social';
    if (!sameSite(host, hostOf(input.url))) return 'referral';
  }
  if (source) return medium ? `${source}_${medium}` : source;
  return 'direct';
}

function queryParams(url: string | undefined): URLSearchParams {
  if (!url) return new URLSearchParams();
  try {
    return new URL(url, 'http://placeholder.invalid').searchParams;
  } catch {
    return new URLSearchParams();
  }
}

function hostOf(url: string | undefined): string {
  if (!url) return '';
  try {
    return new URL(url).hostname.toLowerCase().replace(/^www\./, '');
  } catch {
    return '';
  }
}

function sameSite(a: string, b: string): boolean {
  if (!b) return false;
  return a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);
}
