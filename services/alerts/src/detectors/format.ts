import { createHash } from 'node:crypto';

/** Money as people read it in a summary: "2,000 EUR". */
export function money(x: number, currency: string): string {
  const abs = Math.abs(x);
  const digits = abs >= 100 ? 0 : 2;
  return `${x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${currency}`;
}

export function pct(x: number, signed = true): string {
  const v = Math.round(x * 1000) / 10;
  return `${signed && v > 0 ? '+' : ''}${v}%`;
}

export function num(x: number, digits = 2): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** "campaign abm on linkedin", or "channel linkedin". */
export function subject(channel: string, campaign: string): string {
  return campaign ? `campaign ${campaign} on ${channel}` : `channel ${channel}`;
}

/** A short stable id from the parts that make a finding the same finding. */
export function findingId(prefix: string, ...parts: Array<string | number>): string {
  return `${prefix}-${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 20)}`;
}

/** p-values as they are quoted: "p < 1e-12", "p = 0.003". */
export function pText(p: number): string {
  if (p < 1e-12) return 'p < 1e-12';
  if (p < 0.001) return `p = ${p.toExponential(1)}`;
  return `p = ${p.toFixed(3)}`;
}
