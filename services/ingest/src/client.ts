import { isIP } from 'node:net';

/**
 * IP truncation before anything is stored: IPv4 keeps its /24 (last octet zeroed), IPv6 its /48
 * (last 80 bits zeroed). Anything that is not an IP address is dropped.
 */
export function truncateIp(ip: string | undefined): string {
  if (!ip) return '';
  const v = ip.trim().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  const kind = isIP(v);
  if (kind === 4) return v.replace(/\.\d+$/, '.0');
  if (kind === 6) {
    const groups = expandIpv6(v);
    return `${groups.slice(0, 3).join(':')}::`;
  }
  return '';
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

/** Whether a user agent is a known bot, crawler, monitor or scripted client. */
export function isBotUserAgent(ua: string | undefined): boolean {
  return !!ua && BOT_UA.test(ua);
}
