import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@touchline/platform';
import { processBody, type BodyInput, type Limits, type ProcessResult } from './batch.js';
import { unpack, type PackedResult } from './packed.js';
import { IdSets, UnknownTally, makeNormaliser, type IdLists, type NormaliserConfig } from './work.js';

/**
 * Where request bodies become bus records. Parsing and normalising cost several microseconds an
 * event; done on the main thread they delay the event log's I/O completions (every write and
 * fsync of a group commit resumes there), and publish latency, hence throughput at a given
 * concurrency, suffers threefold. So the work runs in worker threads and the main thread only
 * moves bytes: the body goes to a worker (transferred, not copied), the records come back in one
 * transferred buffer. With `threads: 0` everything runs inline, with the very same code.
 */
export interface WorkerConfig {
  limits: Limits;
  normaliser: NormaliserConfig;
  denied: IdLists;
}

export interface BodyProcessor {
  process(input: BodyInput): Promise<ProcessResult>;
  /** Forwards newly denied ids to every thread. */
  deny(ids: IdLists): void;
  close(): Promise<void>;
}

export interface PoolOptions extends WorkerConfig {
  threads: number;
  logger: Logger;
  onUnknown: (field: string, value: string, count: number) => void;
}

type Task = { resolve: (r: ProcessResult) => void; reject: (err: Error) => void };

interface Thread {
  worker: Worker;
  pending: Map<number, Task>;
}

/** The worker's entry and, when running from TypeScript sources, tsx's API to load it with. */
function workerEntry(): { entry: string; tsx: string | undefined } | undefined {
  for (const ext of ['.js', '.ts']) {
    const url = new URL(`./worker${ext}`, import.meta.url);
    if (url.protocol === 'file:' && existsSync(fileURLToPath(url))) {
      if (ext === '.js') return { entry: url.href, tsx: undefined };
      const tsx = tsxApi();
      return tsx ? { entry: url.href, tsx } : undefined;
    }
  }
  return undefined;
}

/** URL of tsx's ESM API (its CommonJS build cannot register the loader in a worker). */
function tsxApi(): string | undefined {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    try {
      return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    } catch {
      return undefined;
    }
  }
}

// Workers start from this text, register tsx when the entry is TypeScript, then import it.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(workerData.tsx ? import(workerData.tsx).then((m) => m.register()) : Promise.resolve())
  .then(() => import(workerData.entry))
  .catch((err) => setImmediate(() => { throw err; }));
`;

class WorkerPool implements BodyProcessor {
  private readonly threads: Thread[] = [];
  private readonly denied = new IdSets();
  private nextId = 1;
  private closing = false;

  private constructor(
    private readonly opts: PoolOptions,
    private readonly entry: { entry: string; tsx: string | undefined },
  ) {
    this.denied.add(opts.denied);
  }

  static async start(opts: PoolOptions, entry: { entry: string; tsx: string | undefined }): Promise<WorkerPool> {
    const pool = new WorkerPool(opts, entry);
    await Promise.all(Array.from({ length: opts.threads }, () => pool.spawn()));
    return pool;
  }

  private spawn(): Promise<void> {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { ...this.entry, limits: this.opts.limits, normaliser: this.opts.normaliser, denied: this.denied.lists() } satisfies WorkerConfig & object,
    });
    // Never what keeps a process alive: the server's socket is.
    worker.unref();
    const thread: Thread = { worker, pending: new Map() };
    this.threads.push(thread);
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: { type: 'ready' } | { type: 'result'; id: number; packed: PackedResult; unknown: Array<[string, string, number]> }) => {
        if (m.type === 'ready') {
          ready = true;
          resolve();
          return;
        }
        for (const [field, value, n] of m.unknown) this.opts.onUnknown(field, value, n);
        const task = thread.pending.get(m.id);
        thread.pending.delete(m.id);
        task?.resolve(unpack(m.packed));
      });
      worker.on('error', (err) => {
        this.opts.logger.error({ err }, 'ingest worker failed');
        if (!ready) reject(err);
      });
      worker.on('exit', (code) => {
        const i = this.threads.indexOf(thread);
        if (i >= 0) this.threads.splice(i, 1);
        const err = new Error(`ingest worker exited (code ${code})`);
        for (const t of thread.pending.values()) t.reject(err);
        thread.pending.clear();
        if (!ready) reject(err);
        else if (!this.closing) void this.spawn().catch((e: unknown) => this.opts.logger.error({ err: e }, 'ingest worker could not be restarted'));
      });
    });
  }

  process(input: BodyInput): Promise<ProcessResult> {
    let thread = this.threads[0];
    for (const t of this.threads) if (thread && t.pending.size < thread.pending.size) thread = t;
    if (!thread) return Promise.reject(new Error('no ingest worker is running'));
    const id = this.nextId++;
    const body = input.body;
    return new Promise<ProcessResult>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ type: 'task', id, input }, body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? [body.buffer as ArrayBuffer] : []);
    });
  }

  deny(ids: IdLists): void {
    this.denied.add(ids);
    for (const t of this.threads) t.worker.postMessage({ type: 'deny', ids });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}

class InlineProcessor implements BodyProcessor {
  private readonly denied = new IdSets();
  private readonly unknown = new UnknownTally();
  private readonly normaliser;

  constructor(private readonly opts: PoolOptions) {
    this.denied.add(opts.denied);
    this.normaliser = makeNormaliser(opts.normaliser, this.unknown);
  }

  async process(input: BodyInput): Promise<ProcessResult> {
    const result = processBody(input, this.opts.limits, this.normaliser, this.denied);
    for (const [field, value, n] of this.unknown.drain()) this.opts.onUnknown(field, value, n);
    return result;
  }

  deny(ids: IdLists): void {
    this.denied.add(ids);
  }

  async close(): Promise<void> {}
}

/**
 * Inline until the worker threads are up, then the threads: starting a thread that loads the
 * TypeScript sources takes a few hundred milliseconds, which neither start-up nor the first
 * requests should wait for.
 */
class StartingPool implements BodyProcessor {
  private pool: WorkerPool | undefined;
  private readonly starting: Promise<WorkerPool | undefined>;
  private readonly denied: IdLists[] = [];

  constructor(
    private readonly inline: InlineProcessor,
    opts: PoolOptions,
    entry: { entry: string; tsx: string | undefined },
  ) {
    this.starting = WorkerPool.start(opts, entry).then(
      (pool) => {
        // Deletions that arrived while the threads started.
        for (const ids of this.denied) pool.deny(ids);
        this.pool = pool;
        return pool;
      },
      (err: unknown) => {
        opts.logger.warn({ err }, 'ingest worker threads did not start; processing bodies on the main thread');
        return undefined;
      },
    );
  }

  /** Resolves once the threads are up (or failed to start). */
  ready(): Promise<void> {
    return this.starting.then(() => undefined);
  }

  process(input: BodyInput): Promise<ProcessResult> {
    return (this.pool ?? this.inline).process(input);
  }

  deny(ids: IdLists): void {
    this.inline.deny(ids);
    if (this.pool) this.pool.deny(ids);
    else this.denied.push(ids);
  }

  async close(): Promise<void> {
    await (await this.starting)?.close();
  }
}

/** Worker threads when `threads` > 0 and the worker module can be loaded; inline otherwise. */
export function startBodyProcessor(opts: PoolOptions): BodyProcessor & { ready(): Promise<void> } {
  const inline = new InlineProcessor(opts);
  const entry = opts.threads > 0 ? workerEntry() : undefined;
  if (opts.threads > 0 && !entry) opts.logger.warn('ingest worker module not found next to this one; processing bodies on the main thread');
  if (!entry) return Object.assign(inline, { ready: async () => {} });
  return new StartingPool(inline, opts, entry);
}
