/**
 * Token buckets per API key, counted in events: a key may send `ratePerSecond` events per second on
 * average and bursts of up to `burst`. A request takes as many tokens as it holds events, all or
 * nothing, so a refused batch can be resent whole. Limits are per ingest instance.
 */
export interface RateLimitOptions {
  /** Sustained events per second per key; 0 or less disables the limit. */
  ratePerSecond: number;
  /** Bucket size in events; at least one full batch. */
  burst: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

const MAX_KEYS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(private readonly opts: RateLimitOptions) {
    this.now = opts.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.opts.ratePerSecond > 0;
  }

  /** Whether the key has any token left; a cheap check before reading the body. */
  hasTokens(key: string): boolean {
    if (!this.enabled) return true;
    return this.refill(key).tokens >= 1;
  }

  /** Takes `n` tokens or none; when refused, says how long until `n` are there. */
  take(key: string, n: number): TakeResult {
    if (!this.enabled) return { ok: true };
    const b = this.refill(key);
    if (b.tokens >= n) {
      b.tokens -= n;
      return { ok: true };
    }
    const need = Math.min(n, this.opts.burst) - b.tokens;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(need / this.opts.ratePerSecond)) };
  }

  /** Seconds until one token is back, for requests refused before their size is known. */
  retryAfter(key: string): number {
    const b = this.refill(key);
    return Math.max(1, Math.ceil((1 - b.tokens) / this.opts.ratePerSecond));
  }

  private refill(key: string): Bucket {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      // Forget idle keys (their buckets are full again anyway) rather than grow without bound.
      if (this.buckets.size >= MAX_KEYS) this.buckets.clear();
      b = { tokens: this.opts.burst, at: now };
      this.buckets.set(key, b);
      return b;
    }
    const elapsed = now - b.at;
    if (elapsed > 0) {
      b.tokens = Math.min(this.opts.burst, b.tokens + (elapsed / 1000) * this.opts.ratePerSecond);
      b.at = now;
    }
    return b;
  }
}
