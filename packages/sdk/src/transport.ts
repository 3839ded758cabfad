/**
 * Sends queued events in batches, one request at a time (so a retried batch keeps its place),
 * retrying what the server or the network did not take with exponential backoff and jitter, or
 * after the server's Retry-After. An event keeps its messageId across retries, so a retry of a
 * batch that did arrive is recognised as a duplicate by Touchline. `sentAt` is set per attempt,
 * which lets the server correct the client clock's skew.
 */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; keepalive?: boolean },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export interface WireEvent {
  messageId: string;
  [field: string]: unknown;
}

export type DeliveryProblem =
  | { kind: 'rejected'; events: WireEvent[]; reasons: Array<{ messageId: string; path: string; reason: string }> }
  | { kind: 'unauthorized' | 'bad_request' | 'gave_up' | 'dropped_overflow'; events: WireEvent[]; message: string };

export interface TransportOptions {
  endpoint: string;
  writeKey: string;
  /** header: `Authorization: Bearer` (servers); query: `?writeKey=` with text/plain bodies, which browsers send without a CORS preflight. */
  auth: 'header' | 'query';
  fetch: FetchLike;
  batchSize: number;
  maxQueue: number;
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  random: () => number;
  now: () => number;
  onProblem: (p: DeliveryProblem) => void;
  /** navigator.sendBeacon, when there is one. */
  beacon?: ((url: string, body: string) => boolean) | undefined;
}

/** Browsers cap keepalive and beacon bodies at 64 KB (all in flight together). */
const KEEPALIVE_BYTES = 60 * 1024;

export class Transport {
  private queue: WireEvent[] = [];
  private attempts = 0;
  private sending: Promise<void> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly o: TransportOptions) {}

  get pending(): number {
    return this.queue.length;
  }

  /** Queues an event; past `maxQueue` the oldest are given up (and reported). */
  push(e: WireEvent): void {
    this.queue.push(e);
    if (this.queue.length > this.o.maxQueue) {
      const dropped = this.queue.splice(0, this.queue.length - this.o.maxQueue);
      this.o.onProblem({ kind: 'dropped_overflow', events: dropped, message: `queue over ${this.o.maxQueue} events: the oldest were dropped` });
    }
  }

  /** Sends everything queued; resolves when the queue is empty or waits for a retry. */
  flush(): Promise<void> {
    if (this.retryTimer !== undefined) {
      // A flush asked for explicitly does not wait out the backoff.
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    this.sending ??= this.drain().finally(() => (this.sending = undefined));
    return this.sending;
  }

  /** Hands everything queued to sendBeacon (the page is going away); what it refuses stays queued. */
  beaconAll(): void {
    const beacon = this.o.beacon;
    if (!beacon || this.queue.length === 0) return;
    const url = this.url(true);
    while (this.queue.length > 0) {
      let n = Math.min(this.queue.length, this.o.batchSize);
      let body = this.body(this.queue.slice(0, n));
      while (body.length > KEEPALIVE_BYTES && n > 1) {
        n = Math.ceil(n / 2);
        body = this.body(this.queue.slice(0, n));
      }
      if (!beacon(url, body)) return;
      this.queue.splice(0, n);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const batch = this.queue.slice(0, this.o.batchSize);
      const outcome = await this.send(batch);
      if (outcome === 'done') {
        this.queue.splice(0, batch.length);
        this.attempts = 0;
        continue;
      }
      if (outcome === 'split') {
        // 413: the same events in two smaller batches.
        continue;
      }
      this.attempts++;
      if (this.attempts >= this.o.maxAttempts) {
        this.queue.splice(0, batch.length);
        this.attempts = 0;
        this.o.onProblem({ kind: 'gave_up', events: batch, message: `not delivered after ${this.o.maxAttempts} attempts` });
        continue;
      }
      const backoff = Math.min(this.o.maxBackoffMs, this.o.initialBackoffMs * 2 ** (this.attempts - 1));
      const wait = Math.max(outcome.retryAfterMs, backoff * (0.5 + this.o.random() / 2));
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.flush();
      }, wait);
      return;
    }
  }

  private url(query: boolean): string {
    const base = `${this.o.endpoint.replace(/\/+$/, '')}/v1/batch`;
    return query ? `${base}?writeKey=${encodeURIComponent(this.o.writeKey)}` : base;
  }

  private body(batch: WireEvent[]): string {
    return JSON.stringify({ batch, sentAt: new Date(this.o.now()).toISOString() });
  }

  private async send(batch: WireEvent[]): Promise<'done' | 'split' | { retryAfterMs: number }> {
    const body = this.body(batch);
    const query = this.o.auth === 'query';
    const headers: Record<string, string> = query
      ? { 'content-type': 'text/plain;charset=UTF-8' }
      : { 'content-type': 'application/json', authorization: `Bearer ${this.o.writeKey}` };
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await this.o.fetch(this.url(query), { method: 'POST', headers, body, ...(body.length <= KEEPALIVE_BYTES ? { keepalive: true } : {}) });
    } catch {
      return { retryAfterMs: 0 };
    }
    const text = await res.text().catch(() => '');
    if (res.status >= 200 && res.status < 300) {
      this.reportRejected(batch, text);
      return 'done';
    }
    if (res.status === 413 && batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      this.o.batchSize = Math.max(1, Math.min(this.o.batchSize, half));
      return 'split';
    }
    if (res.status === 429 || res.status >= 500 || res.status === 408) {
      const after = Number(res.headers.get('retry-after'));
      return { retryAfterMs: Number.isFinite(after) && after > 0 ? after * 1000 : 0 };
    }
    // 400 with a per-event answer: every event was invalid; other 4xx: the request itself. Either
    // way a resend would be refused the same, so the events are given up and reported.
    if (res.status === 400 && this.reportRejected(batch, text)) return 'done';
    this.o.onProblem({
      kind: res.status === 401 || res.status === 403 ? 'unauthorized' : 'bad_request',
      events: batch,
      message: `${res.status}: ${text.slice(0, 500)}`,
    });
    return 'done';
  }

  /** Reports events the server refused one by one; true when the answer was a batch answer. */
  private reportRejected(batch: WireEvent[], text: string): boolean {
    let answer: { accepted?: unknown; rejected?: Array<{ index: number; path: string; reason: string }> };
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      return false;
    }
    if (!Array.isArray(answer.rejected)) return false;
    if (answer.rejected.length > 0) {
      const reasons = answer.rejected.map((r) => ({ messageId: batch[r.index]?.messageId ?? '', path: r.path, reason: r.reason }));
      this.o.onProblem({ kind: 'rejected', events: answer.rejected.map((r) => batch[r.index]!).filter(Boolean), reasons });
    }
    return true;
  }
}
