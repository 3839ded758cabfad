import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Touchline-Signature';
/** Requests signed longer ago than this (or this far in the future) are refused: replays. */
export const SIGNATURE_TOLERANCE_MS = 5 * 60_000;

/**
 * `Touchline-Signature: t=<unix seconds>,v1=<hex>`, where v1 = HMAC-SHA256(secret, `${t}.${rawBody}`)
 * (the scheme Stripe uses): the timestamp is signed with the body, so neither can be changed and
 * an old request cannot be replayed outside the tolerance.
 */
export function signatureHeader(secret: string, rawBody: string | Buffer, now = Date.now()): string {
  const t = Math.floor(now / 1000);
  return `t=${t},v1=${hmac(secret, t, rawBody)}`;
}

export type Verification = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * Checks a `Touchline-Signature` header against the raw request body, exactly as received (parse
 * the JSON only after this). Several `v1=` entries are accepted (any one may match), so a secret
 * can be rotated. Comparison is constant-time.
 */
export function verifySignature(
  secret: string,
  header: string | undefined | null,
  rawBody: string | Buffer,
  now = Date.now(),
  toleranceMs = SIGNATURE_TOLERANCE_MS,
): Verification {
  if (!header) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  let t: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't' && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/i.test(v)) signatures.push(v.toLowerCase());
  }
  if (t === undefined) return { ok: false, reason: 'no timestamp (t=) in the signature header' };
  if (signatures.length === 0) return { ok: false, reason: 'no v1 signature in the signature header' };
  if (Math.abs(now - t * 1000) > toleranceMs) {
    return { ok: false, reason: `timestamp outside the ${toleranceMs / 1000} s tolerance: signed at ${new Date(t * 1000).toISOString()}` };
  }
  const expected = Buffer.from(hmac(secret, t, rawBody), 'hex');
  const match = signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  return match ? { ok: true, timestamp: t } : { ok: false, reason: 'signature does not match the body' };
}

function hmac(secret: string, t: number, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest('hex');
}
