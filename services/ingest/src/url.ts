/**
 * Just enough URL handling for the hot path: the few query parameters ingest reads and the host.
 * `new URL()` per touch (three of them: url, referrer, redaction) costs more than the rest of the
 * enrichment together, and the answers below match WHATWG's for the parts read here.
 */

/** Query parameters ingest reads: UTM tags and click ids. */
export const WANTED_PARAMS = new Set([
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
  'gclid',
  'gbraid',
  'wbraid',
  'msclkid',
  'fbclid',
  'li_fat_id',
  'ttclid',
]);

/** The wanted parameters of a URL's query (first occurrence wins, like URLSearchParams.get). */
export function wantedParams(url: string | undefined): Map<string, string> | undefined {
  if (!url) return undefined;
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  let end = url.indexOf('#', q);
  if (end < 0) end = url.length;
  let out: Map<string, string> | undefined;
  let i = q + 1;
  while (i < end) {
    let amp = url.indexOf('&', i);
    if (amp < 0 || amp > end) amp = end;
    const eq = url.indexOf('=', i);
    const keyEnd = eq >= 0 && eq < amp ? eq : amp;
    const key = decodeComponent(url.slice(i, keyEnd));
    if (WANTED_PARAMS.has(key) && !out?.has(key)) {
      out ??= new Map();
      out.set(key, keyEnd === amp ? '' : decodeComponent(url.slice(keyEnd + 1, amp)));
    }
    i = amp + 1;
  }
  return out;
}

/** application/x-www-form-urlencoded decoding, lenient about stray `%` like URLSearchParams. */
function decodeComponent(s: string): string {
  const plus = s.includes('+');
  if (!plus && !s.includes('%')) return s;
  const t = plus ? s.replace(/\+/g, ' ') : s;
  try {
    return decodeURIComponent(t);
  } catch {
    return new URLSearchParams(`x=${s}`).get('x') ?? t;
  }
}

/** Lower-case host of an absolute http(s) URL without a leading `www.`; '' when there is none. */
export function hostOf(url: string | undefined): string {
  if (!url) return '';
  const fast = simpleHttpHost(url);
  if (fast !== undefined) return fast;
  try {
    return new URL(url).hostname.toLowerCase().replace(/^www\./, '');
  } catch {
    return '';
  }
}

/**
 * The host of `http(s)://host[:port]…` when it is plain ASCII letters, digits, dots and dashes, read
 * in one pass; undefined for anything WHATWG would treat specially (userinfo, IP numbers,
 * percent-encoding, IDN, odd ports), which `hostOf` leaves to `new URL`.
 */
function simpleHttpHost(url: string): string | undefined {
  // "http" then an optional "s", then "://" (| 0x20: lower case).
  if ((url.charCodeAt(0) | 0x20) !== 104 || (url.charCodeAt(1) | 0x20) !== 116 || (url.charCodeAt(2) | 0x20) !== 116 || (url.charCodeAt(3) | 0x20) !== 112) {
    return undefined;
  }
  let i = (url.charCodeAt(4) | 0x20) === 115 ? 5 : 4;
  if (url.charCodeAt(i) !== 58 || url.charCodeAt(i + 1) !== 47 || url.charCodeAt(i + 2) !== 47) return undefined;
  const start = i + 3;
  let upper = false;
  let labelStart = start;
  let end = start;
  for (i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 || c === 63 || c === 35 || c === 58) break; // '/', '?', '#', ':'
    if (c >= 65 && c <= 90) upper = true;
    else if (c === 46) labelStart = i + 1;
    else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45)) return undefined;
  }
  end = i;
  if (end === start) return undefined;
  if (url.charCodeAt(end) === 58) {
    // A port: digits only, at most 65535, then the end of the authority.
    let j = end + 1;
    let port = 0;
    for (; j < url.length; j++) {
      const c = url.charCodeAt(j);
      if (c === 47 || c === 63 || c === 35) break;
      if (c < 48 || c > 57) return undefined;
      port = port * 10 + (c - 48);
      if (port > 65535) return undefined;
    }
  }
  // A last label that is a number (or 0x…) makes WHATWG parse the host as an IPv4 address.
  const last = labelStart < end ? labelStart : url.lastIndexOf('.', end - 2) + 1;
  const c0 = url.charCodeAt(last);
  if (c0 >= 48 && c0 <= 57) return undefined;
  let host = url.slice(start, end);
  if (upper) host = host.toLowerCase();
  return host.startsWith('www.') ? host.slice(4) : host;
}

/** Same site: equal hosts, or one a subdomain of the other. */
export function sameSite(a: string, b: string): boolean {
  if (!a || !b) return false;
  return a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);
}
