import { createHash } from 'node:crypto';

/**
 * Email normalisation before hashing: trimmed, lower-case; for Gmail addresses the dots and any
 * "+tag" of the local part are removed (Gmail ignores both), and googlemail.com is gmail.com.
 */
export function normaliseEmail(email: string): string {
  const e = email.trim().toLowerCase();
  const at = e.lastIndexOf('@');
  if (at < 1) return e;
  let local = e.slice(0, at);
  let domain = e.slice(at + 1);
  if (domain === 'googlemail.com') domain = 'gmail.com';
  if (domain === 'gmail.com') local = local.replace(/\+.*$/, '').replace(/\./g, '');
  return `${local}@${domain}`;
}

/** Phones to E.164-ish digits: keeps a leading +, drops spaces, dashes, dots and brackets. */
export function normalisePhone(phone: string): string {
  const p = phone.trim();
  const digits = p.replace(/[^\d]/g, '');
  if (p.startsWith('+')) return `+${digits}`;
  if (p.startsWith('00')) return `+${digits.slice(2)}`;
  return digits;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export const hashEmail = (email: string): string => sha256Hex(normaliseEmail(email));
export const hashPhone = (phone: string): string => sha256Hex(normalisePhone(phone));

const EMAIL_RE = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/** Removes anything that looks like an email address from free text kept for diagnostics. */
export function scrubEmails(text: string): string {
  return text.replace(EMAIL_RE, '[email]');
}
