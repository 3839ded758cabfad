import { createHash } from 'node:crypto';
import { domainToASCII } from 'node:url';

/**
 * Email normalisation before hashing: trimmed, Unicode NFC, lower-case, the domain in its ASCII
 * (punycode) form; for Gmail addresses the dots and any "+tag" of the local part are removed (Gmail
 * ignores both, so they are one inbox and one person) and googlemail.com is gmail.com.
 */
export function normaliseEmail(email: string): string {
  const e = email.trim().normalize('NFC').toLowerCase();
  const at = e.lastIndexOf('@');
  if (at < 1) return e;
  let local = e.slice(0, at);
  const rawDomain = e.slice(at + 1);
  let domain = /^[a-z0-9.-]*$/.test(rawDomain) ? rawDomain : domainToASCII(rawDomain) || rawDomain;
  if (domain === 'googlemail.com') domain = 'gmail.com';
  if (domain === 'gmail.com') local = local.replace(/\+.*$/, '').replace(/\./g, '');
  return `${local}@${domain}`;
}

/** Country codes whose national numbers keep their leading zero after the country code. */
const KEEPS_TRUNK_ZERO = new Set(['39', '378', '379']);

/**
 * A phone number in E.164 (`+` country code and national number, digits only). Numbers written
 * internationally (`+49 …`, `0049 …`) keep their country code; national numbers (`030 1234567`)
 * take `defaultCountryCode` with their trunk prefix 0 dropped (kept for Italy). Without a default
 * country code a national number stays digits only, which hashes differently from its E.164 form:
 * configure it.
 */
export function normalisePhone(phone: string, defaultCountryCode = ''): string {
  const p = phone.trim().replace(/\(0\)/g, '');
  const digits = p.replace(/\D/g, '');
  if (p.startsWith('+')) return `+${digits}`;
  if (p.startsWith('00')) return `+${digits.slice(2)}`;
  const cc = defaultCountryCode.replace(/\D/g, '');
  if (!cc) return digits;
  if (cc === '1') {
    if (p.startsWith('011')) return `+${digits.slice(3)}`;
    return digits.length === 11 && digits.startsWith('1') ? `+${digits}` : `+1${digits}`;
  }
  const national = digits.startsWith('0') && !KEEPS_TRUNK_ZERO.has(cc) ? digits.replace(/^0+/, '') : digits;
  return `+${cc}${national}`;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export const hashEmail = (email: string): string => sha256Hex(normaliseEmail(email));
export const hashPhone = (phone: string, defaultCountryCode = ''): string => sha256Hex(normalisePhone(phone, defaultCountryCode));

const EMAIL_ID = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE_ID = /^\+[\d\s().-]{7,30}$/;

/**
 * Ids are stored as sent, except ids that are an email address or an international phone number
 * (a common integration mistake: `userId: "jane@example.com"`). Those become the hash the same
 * person's identify would carry, so stitching still works and the clear value goes nowhere.
 */
export function pseudonymiseId(id: string, defaultCountryCode = ''): string {
  const c = id.charCodeAt(0);
  if (c === 43 /* + */ && PHONE_ID.test(id)) return `phone-sha256:${hashPhone(id, defaultCountryCode)}`;
  if (id.includes('@') && EMAIL_ID.test(id)) return `email-sha256:${hashEmail(id)}`;
  return id;
}

const EMAIL_RE = /[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9.-]+\.[A-Za-z]{2,}/gi;

/** Removes anything that looks like an email address (also percent-encoded) from free text. */
export function scrubEmails(text: string): string {
  if (!text.includes('@') && !text.includes('%40')) return text;
  return text.replace(EMAIL_RE, '[email]');
}
