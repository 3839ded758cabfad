import { isIP } from 'node:net';

/**
 * IP truncation before anything is stored: IPv4 keeps its /24 (last octet zeroed), IPv6 its /48
 * (last 80 bits zeroed). Anything that is not an IP address is dropped.
 */
export function truncateIp(ip: string | undefined): string {
  if (!ip) return '';
  const quad = dottedQuadPrefix(ip);
  if (quad !== undefined) return quad === '' ? '' : `${quad}.0`;
  const v = ip.trim().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  const kind = isIP(v);
  if (kind === 4) return v.replace(/\.\d+$/, '.0');
  if (kind === 6) {
    const groups = expandIpv6(v);
    return `${groups.slice(0, 3).join(':')}::`;
  }
  return '';
}

/**
 * For `a.b.c.d` (digits and dots only, the usual case) in one pass without isIP's general parser:
 * `a.b.c` when it is a valid IPv4 address, '' when it is not one. Undefined for anything else.
 */
function dottedQuadPrefix(ip: string): string | undefined {
  let dots = 0;
  let lastDot = -1;
  let value = 0;
  let digits = 0;
  let valid = true;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // Leading zeros make it no address for node:net (and ambiguous: octal?).
      if (digits === 1 && value === 0) valid = false;
      value = value * 10 + (c - 48);
      if (++digits > 3) return undefined;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return undefined;
      if (value > 255) valid = false;
      lastDot = i;
      value = 0;
      digits = 0;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  if (value > 255) valid = false;
  return valid ? ip.slice(0, lastDot) : '';
}

function expandIpv6(ip: string): string[] {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => (g.includes('.') ? g : g.toLowerCase().replace(/^0+(?=.)/, '')));
}

const BOT_UA =
  /bot\b|crawl|spider|slurp|bingpreview|facebookexternalhit|headless|phantomjs|python-requests|curl\/|wget\/|httpclient|go-http-client|java\/|okhttp|scrapy|lighthouse|pingdom|uptime|monitor/i;

const uaVerdicts = new Map<string, boolean>();
const MAX_CACHED_UAS = 2_000;
// The events of one batch mostly come from one browser: comparing with the last user agent costs
// a fraction of hashing it again for the map (every event brings its own copy of the string).
let lastUa: string | undefined;
let lastVerdict = false;

/** Whether a user agent is a known bot, crawler, monitor or scripted client. */
export function isBotUserAgent(ua: string | undefined): boolean {
  if (!ua) return false;
  if (ua === lastUa) return lastVerdict;
  // Traffic comes from a few hundred user agents; the regular expression is the costly part.
  let bot = uaVerdicts.get(ua);
  if (bot === undefined) {
    bot = BOT_UA.test(ua);
    if (uaVerdicts.size >= MAX_CACHED_UAS) uaVerdicts.clear();
    uaVerdicts.set(ua, bot);
  }
  lastUa = ua;
  lastVerdict = bot;
  return bot;
}
