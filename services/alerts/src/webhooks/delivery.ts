import type { BidSignalsTopicMessage, DeadletterMessage, Webhook } from '@touchline/contracts';
import type { Bus, Logger } from '@touchline/platform';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';
import type { WebhookStore } from './store.js';

export interface DeliveryOptions {
  /** Tries per message and webhook, the first included. */
  attempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
  /** Requests in flight at once, over all webhooks. */
  concurrency: number;
}

export const DEFAULT_DELIVERY_OPTIONS: DeliveryOptions = {
  attempts: 6,
  initialBackoffMs: 1000,
  maxBackoffMs: 60_000,
  timeoutMs: 5000,
  concurrency: 8,
};

export type Fetch = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{ status: number; headers: { get(name: string): string | null } }>;

export interface DeliveryOutcome {
  webhookId: string;
  messageId: string;
  ok: boolean;
  attempts: number;
  detail: string;
}

class Stopped extends Error {}

/**
 * Delivers bid-signal messages to the webhooks registered for their kind: a POST of the exact
 * message bytes, signed (`Touchline-Signature`), retried with exponential backoff and jitter
 * (honouring Retry-After) on network errors, timeouts, 408, 425, 429 and 5xx; any other answer,
 * or the last failed try, sends the message to the deadletter topic with the reason. `deliver`
 * resolves once every webhook has either taken the message or it is dead-lettered, so the
 * consumer commits only then; `close` interrupts the waits and the batch is delivered again later.
 */
export class WebhookDeliverer {
  private readonly abort = new AbortController();
  private readonly o: DeliveryOptions;

  constructor(
    private readonly store: WebhookStore,
    private readonly bus: Bus,
    private readonly deadletterTopic: string,
    private readonly logger: Logger,
    options: Partial<DeliveryOptions> = {},
    private readonly fetchImpl: Fetch = fetch as unknown as Fetch,
    private readonly now: () => number = Date.now,
  ) {
    this.o = { ...DEFAULT_DELIVERY_OPTIONS, ...options };
  }

  /** Delivers each message (with its exact bytes) to every webhook that wants its kind. */
  async deliver(messages: Array<{ message: BidSignalsTopicMessage; raw: string }>): Promise<DeliveryOutcome[]> {
    const hooks = await this.store.list();
    if (hooks.length === 0) return [];
    const tasks: Array<() => Promise<DeliveryOutcome>> = [];
    for (const { message, raw } of messages) {
      for (const hook of hooks) if (hook.events.includes(message.kind)) tasks.push(() => this.deliverOne(hook, message, raw));
    }
    const outcomes = await pool(tasks, this.o.concurrency);
    const dead = outcomes.filter((o) => !o.ok);
    if (dead.length > 0) {
      const byKey = new Map(messages.map((m) => [m.message.id, m.raw]));
      const records = dead.map((d) => {
        const msg: DeadletterMessage = {
          v: 1,
          kind: 'deadletter',
          stage: 'webhook',
          reason: `webhook ${d.webhookId}: ${d.detail}`,
          path: d.webhookId,
          messageId: `${d.webhookId}:${d.messageId}`,
          payload: (byKey.get(d.messageId) ?? '').slice(0, 64 * 1024),
          receivedAt: this.now(),
        };
        return { key: d.webhookId, value: JSON.stringify(msg) };
      });
      await this.bus.publish(this.deadletterTopic, records);
      this.logger.warn({ count: dead.length, webhooks: [...new Set(dead.map((d) => d.webhookId))] }, 'webhook deliveries dead-lettered');
    }
    return outcomes;
  }

  close(): void {
    this.abort.abort();
  }

  private async deliverOne(hook: Webhook, message: BidSignalsTopicMessage, raw: string): Promise<DeliveryOutcome> {
    let detail = '';
    for (let attempt = 1; attempt <= this.o.attempts; attempt++) {
      if (this.abort.signal.aborted) throw new Stopped('delivery stopped');
      let retryAfterMs: number | undefined;
      try {
        const res = await this.fetchImpl(hook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Touchline-Webhooks/1',
            [SIGNATURE_HEADER]: signatureHeader(hook.secret, raw, this.now()),
            'Touchline-Event': message.kind,
            'Touchline-Delivery': message.id,
            'Touchline-Attempt': String(attempt),
          },
          body: raw,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.o.timeoutMs)]),
        });
        if (res.status >= 200 && res.status < 300) return { webhookId: hook.id, messageId: message.id, ok: true, attempts: attempt, detail: `HTTP ${res.status}` };
        detail = `POST ${redact(hook.url)} answered HTTP ${res.status}`;
        if (!retryable(res.status)) return { webhookId: hook.id, messageId: message.id, ok: false, attempts: attempt, detail: `${detail} (not retried)` };
        const ra = Number(res.headers.get('retry-after'));
        if (Number.isFinite(ra) && ra > 0) retryAfterMs = ra * 1000;
      } catch (err) {
        if (this.abort.signal.aborted) throw new Stopped('delivery stopped');
        detail = `POST ${redact(hook.url)} failed: ${(err as Error).name === 'TimeoutError' ? `no answer within ${this.o.timeoutMs} ms` : (err as Error).message}`;
      }
      if (attempt === this.o.attempts) break;
      const backoff = Math.min(this.o.maxBackoffMs, this.o.initialBackoffMs * 2 ** (attempt - 1));
      const wait = Math.min(this.o.maxBackoffMs, Math.max(retryAfterMs ?? 0, backoff * (0.5 + Math.random() / 2)));
      await sleep(wait, this.abort.signal);
    }
    return { webhookId: hook.id, messageId: message.id, ok: false, attempts: this.o.attempts, detail: `${detail}; gave up after ${this.o.attempts} tries` };
  }
}

function retryable(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** The URL without credentials or query (either may hold a token). */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Stopped('delivery stopped'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Stopped('delivery stopped'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function pool<T>(tasks: Array<() => Promise<T>>, concurrency: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  return out;
}
