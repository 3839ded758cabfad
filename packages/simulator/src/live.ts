import { costEvents, unitEvents, type SimEvent } from './events.js';
import { conversionModel, conversionTime } from './outcome.js';
import type { World } from './world.js';

/** The most events one `POST /v1/batch` carries. */
export const MAX_BATCH = 500;

export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface LiveOptions {
  /** Base URL of a running Touchline, e.g. http://localhost:8080. */
  url: string;
  /** A write key. */
  key: string;
  /** Events per second to aim at. */
  rate: number;
  /** Stop sending after this many seconds (default: when every event is sent). */
  durationSeconds?: number;
  /** Events per request, at most 500 (default: about a quarter second's worth). */
  batchSize?: number;
  /** Where the progress bar goes (stderr in the command); null for none. */
  progress?: ProgressSink | null;
  /** Retries of one batch on 429, 503 and network errors before giving up (default 8). */
  maxRetries?: number;
  fetch?: typeof fetch;
  /** Clock in ms and a way to wait, for pacing (defaults: performance.now and setTimeout). */
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface LiveResult {
  /** Units whose events were all sent, and the units of the world. */
  units: number;
  unitsTotal: number;
  sent: number;
  accepted: number;
  /** Events the ingest refused (each with a reason, kept in its dead-letter topic). */
  rejected: number;
  /** Events ingest dropped (people who asked to be forgotten). */
  dropped: number;
  batches: number;
  retries: number;
  seconds: number;
  stoppedBy: 'done' | 'duration';
  /** The first few refusal reasons, to say what was wrong. */
  rejections: string[];
}

/** Thrown when ingest refuses a batch for a reason a retry cannot fix (bad key, malformed request). */
export class LiveSendError extends Error {}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or undefined. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  const t = header.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * Sends a simulated world to a running Touchline through its ingest API (`POST /v1/batch`), so
 * the whole pipeline runs on it: first the ad spend, then each unit's events in time order, unit
 * after unit, in batches of at most 500, paced to `rate` events per second. A batch answered 429
 * or 503 (or lost to a network error) is sent again after the server's Retry-After, else after an
 * exponential back-off (0.5 s doubling, at most 30 s); ids are deterministic, so a batch that did
 * arrive before its answer was lost is deduplicated. A 401/403 or a malformed-request answer
 * stops the run with a LiveSendError. Events are sent without `sentAt`: their timestamps are the
 * simulated ones, unchanged, so the pipeline sees what the offline run sees.
 */
export async function sendLive(world: World, options: LiveOptions): Promise<LiveResult> {
  if (!(options.rate > 0)) throw new RangeError(`rate must be positive, got ${options.rate}`);
  const doFetch = options.fetch ?? fetch;
  const clock = options.clock ?? (() => performance.now());
  const sleep = options.sleep ?? defaultSleep;
  const maxRetries = options.maxRetries ?? 8;
  const batchSize = Math.max(1, Math.min(MAX_BATCH, Math.floor(options.batchSize ?? Math.round(options.rate / 4))));
  const endpoint = `${options.url.replace(/\/+$/, '')}/v1/batch`;
  const model = conversionModel(world.scenario);
  const started = clock();
  const deadline = options.durationSeconds !== undefined ? started + options.durationSeconds * 1000 : Infinity;
  const result: LiveResult = {
    units: 0,
    unitsTotal: world.unitCount,
    sent: 0,
    accepted: 0,
    rejected: 0,
    dropped: 0,
    batches: 0,
    retries: 0,
    seconds: 0,
    stoppedBy: 'done',
    rejections: [],
  };
  const bar = new ProgressBar(options.progress ?? null, world.unitCount, options.durationSeconds, clock);

  const post = async (batch: SimEvent[]): Promise<void> => {
    const body = JSON.stringify({ batch });
    for (let attempt = 0; ; attempt++) {
      let res: Response | undefined;
      try {
        res = await doFetch(endpoint, { method: 'POST', headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/json' }, body });
      } catch (err) {
        if (attempt >= maxRetries) throw new LiveSendError(`POST ${endpoint} failed ${attempt + 1} times: ${(err as Error).message}`);
      }
      if (res && res.status !== 429 && res.status !== 503) {
        const text = await res.text();
        if (res.status === 200 || (res.status === 400 && text.includes('"accepted"'))) {
          const answer = JSON.parse(text) as { accepted?: number; rejected?: { index: number; reason: string }[]; dropped?: number };
          result.accepted += answer.accepted ?? 0;
          result.rejected += answer.rejected?.length ?? 0;
          result.dropped += answer.dropped ?? 0;
          for (const r of answer.rejected ?? []) if (result.rejections.length < 5) result.rejections.push(`${batch[r.index]?.messageId ?? r.index}: ${r.reason}`);
          return;
        }
        throw new LiveSendError(`POST ${endpoint} answered ${res.status}: ${text.slice(0, 500)}`);
      }
      if (attempt >= maxRetries) throw new LiveSendError(`POST ${endpoint} still answered ${res?.status ?? 'no answer'} after ${maxRetries} retries`);
      result.retries++;
      const hinted = res ? retryAfterMs(res.headers.get('retry-after'), Date.now()) : undefined;
      await sleep(hinted ?? Math.min(30_000, 500 * 2 ** attempt));
    }
  };

  let buffer: SimEvent[] = [];
  /** Sends full batches (all of the buffer with `flush`); false once the duration is up. */
  const drain = async (flush: boolean): Promise<boolean> => {
    while (buffer.length >= batchSize || (flush && buffer.length > 0)) {
      const due = started + (result.sent / options.rate) * 1000;
      const wait = due - clock();
      if (due >= deadline) return false;
      if (wait > 0) await sleep(wait);
      const batch = buffer.slice(0, batchSize);
      buffer = buffer.slice(batch.length);
      await post(batch);
      result.sent += batch.length;
      result.batches++;
      bar.update(result);
    }
    return clock() < deadline;
  };

  buffer.push(...costEvents(world));
  let going = await drain(false);
  for (let u = 0; going && u < world.unitCount; u++) {
    const unit = world.unit(u);
    buffer.push(...unitEvents(world, unit, conversionTime(model, unit)));
    going = await drain(false);
    if (going) result.units = u + 1;
  }
  if (going) going = await drain(true);
  if (!going) result.stoppedBy = 'duration';
  else result.units = world.unitCount;
  result.seconds = (clock() - started) / 1000;
  bar.done(result);
  return result;
}

/** A one-line progress bar, redrawn in place on a terminal and printed every 5 s elsewhere. */
class ProgressBar {
  private lastDraw = -Infinity;

  constructor(
    private readonly sink: ProgressSink | null,
    private readonly totalUnits: number,
    private readonly durationSeconds: number | undefined,
    private readonly clock: () => number,
    private readonly started = clock(),
  ) {}

  update(r: LiveResult): void {
    if (!this.sink) return;
    const now = this.clock();
    if (now - this.lastDraw < (this.sink.isTTY ? 200 : 5_000)) return;
    this.lastDraw = now;
    this.sink.write(this.sink.isTTY ? `\r${this.line(r, now)}\u001b[K` : `${this.line(r, now)}\n`);
  }

  done(r: LiveResult): void {
    if (!this.sink) return;
    this.sink.write(`${this.sink.isTTY ? '\r' : ''}${this.line(r, this.clock())}${this.sink.isTTY ? '\u001b[K' : ''}\n`);
  }

  private line(r: LiveResult, now: number): string {
    const elapsed = (now - this.started) / 1000;
    const byUnits = this.totalUnits > 0 ? r.units / this.totalUnits : 1;
    const byTime = this.durationSeconds ? Math.min(1, elapsed / this.durationSeconds) : 0;
    const f = r.stoppedBy === 'duration' ? 1 : Math.max(byUnits, byTime);
    const width = 24;
    const full = Math.round(f * width);
    const rate = elapsed > 0 ? r.sent / elapsed : 0;
    const eta = f > 0 && f < 1 ? ` · eta ${duration((elapsed * (1 - f)) / f)}` : '';
    const n = (x: number) => Math.round(x).toLocaleString('en-US');
    return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(f * 100).toFixed(0)}% · ${n(r.units)}/${n(this.totalUnits)} units · ${n(r.sent)} events (${n(rate)}/s) · ${n(r.rejected)} rejected · ${n(r.retries)} retries${eta}`;
  }
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
