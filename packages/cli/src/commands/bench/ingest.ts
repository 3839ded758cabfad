import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { topicNames } from '@touchline/contracts';
import { DEFAULT_INGEST_OPTIONS, IdSets, Normaliser, UnknownTally, ingestRoutes, makeNormaliser, pack, parseJson, processBody } from '@touchline/ingest';
import { EmbeddedBus, KeyRing, buildHttp, silentLogger, type BusRecord } from '@touchline/platform';
import { z } from 'zod';
import { parseStageFlags, quantile, type BenchRow, type BenchStage } from '../bench.js';
import { floorRoutes } from './ingest-floor.js';

/**
 * `npm run bench -- ingest`: the ingest front door on the embedded log. The server (fastify,
 * ingest routes with their worker threads, an EmbeddedBus in a temp directory, the deny list tailing
 * the identities topic) runs in a child process; this process is the load generator: fetch over
 * keep-alive connections, batches of 500 tracker-like events (touches with UTM tags, click ids and
 * referrers, identifies with emails to hash, conversions), each with the messageId an SDK sends.
 * The client is node:http with a keep-alive agent: fetch costs the load generator about 4 µs of CPU
 * per event at these body sizes, taken from the same two cores the server runs on.
 *
 * Raw baseline, in the same run and the same child: the bare log's publish rate for the very
 * records ingest produces from those batches, published in batches of 500 by as many concurrent
 * publishers as there are connections. The machine is shared, so raw and HTTP phases alternate in
 * short rounds (load from elsewhere hits both alike), and the server's CPU time per event is
 * reported beside the rates: it does not depend on what else runs.
 *
 * TOUCHLINE_BENCH_CPU_PROF=<dir> writes V8 CPU profiles of the server's threads there.
 *
 * `--server=floor` runs the same rounds against a server that only parses and re-serialises the
 * events (`ingest-floor.ts`): how close to the raw rate the transport, JSON and the thread hand-offs
 * alone come on this machine, the bound under ingest's own ratio.
 */

const BATCH = 500;
const CONNECTIONS = 8;
const DISTINCT_BATCHES = 64;
const WRITE_KEY = 'bench-write-key';
const SERVER_ENV = 'TOUCHLINE_INGEST_BENCH_DIR';
const FLOOR_ENV = 'TOUCHLINE_INGEST_BENCH_FLOOR';

const IngestFlags = z.object({ server: z.enum(['ingest', 'floor'], { error: 'ingest (the default) or floor' }).optional() }).strict();

export function parseIngestFlags(flags: ReadonlyMap<string, string> | undefined): z.infer<typeof IngestFlags> {
  return parseStageFlags(IngestFlags, flags);
}
const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SOURCES = [
  ['google', 'cpc'],
  ['linkedin', 'paid_social'],
  ['newsletter', 'email'],
  ['partner-blog', 'referral'],
  ['LinkedIn', 'Social'],
  ['bing', 'cpc'],
] as const;

/** Batch `b` of the bench feed; the same in both processes. */
export function benchBatch(b: number): object[] {
  const out: object[] = [];
  for (let k = 0; k < BATCH; k++) {
    const i = b * BATCH + k;
    const r = i % 10;
    const [source, medium] = SOURCES[i % SOURCES.length]!;
    const base = {
      messageId: `bench-${b}-${k}`,
      anonymousId: `anon-${i % 20_000}`,
      timestamp: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
      context: {
        ip: `203.0.${i % 256}.${(i * 7) % 256}`,
        userAgent: UA,
        locale: 'de-DE',
        page: { url: 'https://shop.example/pricing', referrer: 'https://www.google.com/' },
        library: { name: '@touchline/sdk', version: '0.1.0' },
      },
    };
    if (r < 8) {
      out.push({
        ...base,
        type: 'touch',
        interaction: r < 4 ? 'visit' : 'click',
        url: `https://shop.example/landing?utm_source=${source}&utm_medium=${medium}&utm_campaign=q4-${i % 40}${r === 5 ? `&gclid=Cj0KCQ${i}` : ''}`,
        referrer: r % 2 ? 'https://www.google.com/' : 'https://blog.partner.example/post',
      });
    } else if (r === 8) {
      out.push({ ...base, type: 'identify', userId: `user-${i % 9000}`, traits: { email: `Person.${i}@Example.com`, accountId: `acct-${i % 300}` } });
    } else {
      out.push({ ...base, type: 'conversion', userId: `user-${i % 9000}`, conversionId: `order-${i}`, name: 'purchase', value: 120 + (i % 50), currency: 'eur' });
    }
  }
  return out;
}

/** The records ingest publishes for a batch, per topic, as it publishes them. */
function recordsOf(events: object[], normaliser: Normaliser, topics: ReturnType<typeof topicNames>): Array<{ topic: string; records: BusRecord[] }> {
  const by = new Map<string, BusRecord[]>();
  for (const e of events) {
    const n = normaliser.normalise(e, { receivedAt: Date.now() });
    if (!n.ok) throw new Error(`bench event rejected: ${n.reason}`);
    const t = topics[n.topic];
    const list = by.get(t);
    if (list) list.push(n.record);
    else by.set(t, [n.record]);
  }
  return [...by].map(([topic, records]) => ({ topic, records }));
}

type ServerMessage =
  | { type: 'listening'; port: number }
  | { type: 'raw'; events: number; seconds: number; cpuSeconds: number; mainCpuSeconds: number }
  | { type: 'cpu'; cpuSeconds: number; mainCpuSeconds: number; workerCpuSeconds: number }
  | { type: 'closed' }
  | { type: 'error'; message: string };

type ParentMessage = { type: 'raw'; ms: number } | { type: 'mark' } | { type: 'cpu' } | { type: 'stop' };

function cpuSecondsSince(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
}

/**
 * CPU seconds of one thread of this process (Linux: /proc/self/task/<tid>/stat, 10 ms ticks), so
 * that the bench can say how the server's CPU splits between the main thread (HTTP, the log's
 * writes), the body workers and the rest (file-system threads, V8's helpers). NaN where /proc is
 * missing or the thread has ended.
 */
function threadCpuSeconds(tid: number | string): number {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat; fields[0] here is field 3 (state).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

const mainThreadCpuSeconds = () => threadCpuSeconds(process.pid);

/** CPU seconds of every thread of this process, by thread id (empty where /proc is missing). */
function taskCpu(): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    // No /proc: the split is not reported.
  }
  for (const t of tids) {
    const c = threadCpuSeconds(t);
    if (!Number.isNaN(c)) out.set(Number(t), c);
  }
  return out;
}

/** The child: the ingest server, and on request a round of raw publishing beside it. */
async function serve(dir: string): Promise<void> {
  const send = (m: ServerMessage) => process.send!(m);
  const topics = topicNames('bench.');

  const raw = await EmbeddedBus.open({ dir: join(dir, 'raw-log'), partitions: 4 });
  await raw.ensureTopics(Object.values(topics), 4);
  const normaliser = new Normaliser();
  const prepared = Array.from({ length: DISTINCT_BATCHES }, (_, b) => recordsOf(benchBatch(b), normaliser, topics));
  let next = 0;
  const publishFor = async (ms: number) => {
    let published = 0;
    const until = performance.now() + ms;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < until) {
          await raw.publishMany(prepared[next++ % prepared.length]!);
          published += BATCH;
        }
      }),
    );
    return published;
  };

  const bus = await EmbeddedBus.open({ dir: join(dir, 'log'), partitions: 4 });
  await bus.ensureTopics(Object.values(topics), 4);
  const app = buildHttp({ logger: silentLogger() });
  let threadsReady: () => Promise<void> = async () => {};
  let endFloor: () => Promise<void> = async () => {};
  if (process.env[FLOOR_ENV] === '1') {
    endFloor = await floorRoutes(app, { bus, topics, writeKey: WRITE_KEY, threads: DEFAULT_INGEST_OPTIONS.threads, maxBodyBytes: 1024 * 1024 });
  } else await app.register(async (scope) => {
    ({ threadsReady } = await ingestRoutes(scope, {
      bus,
      keys: new KeyRing({ write: [WRITE_KEY] }),
      topics,
      dataDir: dir,
      // The limiter runs, but above what one machine can send.
      options: { rateLimit: { eventsPerSecond: 100_000_000, burst: 100_000_000 } },
    }));
  });
  await threadsReady();
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  send({ type: 'listening', port: Number(new URL(address).port) });

  let mark = process.cpuUsage();
  let mainMark = mainThreadCpuSeconds();
  let tasksMark = taskCpu();
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'mark') {
      mark = process.cpuUsage();
      mainMark = mainThreadCpuSeconds();
      tasksMark = taskCpu();
    } else if (m.type === 'cpu') {
      // The body workers are the busiest threads besides the main one during an HTTP phase.
      const busiest = [...taskCpu()]
        .filter(([t]) => t !== process.pid)
        .map(([t, c]) => c - (tasksMark.get(t) ?? 0))
        .sort((a, b) => b - a);
      const workerCpuSeconds = busiest.slice(0, DEFAULT_INGEST_OPTIONS.threads).reduce((a, c) => a + c, 0);
      send({ type: 'cpu', cpuSeconds: cpuSecondsSince(mark), mainCpuSeconds: mainThreadCpuSeconds() - mainMark, workerCpuSeconds: busiest.length ? workerCpuSeconds : Number.NaN });
    } else if (m.type === 'raw') {
      void (async () => {
        const cpu = process.cpuUsage();
        const main0 = mainThreadCpuSeconds();
        const t0 = performance.now();
        const events = await publishFor(m.ms);
        send({ type: 'raw', events, seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSecondsSince(cpu), mainCpuSeconds: mainThreadCpuSeconds() - main0 });
      })();
    } else if (m.type === 'stop') {
      void (async () => {
        await app.close();
        await endFloor();
        await bus.close();
        await raw.close();
        send({ type: 'closed' });
        process.disconnect();
      })();
    }
  });
}

interface Server {
  child: ChildProcess;
  send: (m: ParentMessage) => void;
  next: <T extends ServerMessage['type']>(type: T) => Promise<Extract<ServerMessage, { type: T }>>;
  /** Resolves when the child ended (after writing its CPU profiles, if asked to). */
  exit: Promise<void>;
}

function startServer(dir: string, floor: boolean): Server {
  const here = fileURLToPath(import.meta.url);
  const loader = process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : ['--import', import.meta.resolve('tsx')];
  const profile = process.env.TOUCHLINE_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.TOUCHLINE_BENCH_CPU_PROF}`] : [];
  const child = fork(here, [], {
    env: { ...process.env, [SERVER_ENV]: dir, [FLOOR_ENV]: floor ? '1' : '' },
    execArgv: [...loader, ...profile],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queue: ServerMessage[] = [];
  const waiting: Array<() => void> = [];
  child.on('message', (m: ServerMessage) => {
    queue.push(m);
    waiting.splice(0).forEach((w) => w());
  });
  let stopping = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const exited = exit.then(() => {
    throw new Error(`bench server exited with ${child.exitCode ?? child.signalCode}${stopping ? '' : ' before it was told to stop'}`);
  });
  exited.catch(() => undefined);
  const next = async <T extends ServerMessage['type']>(type: T): Promise<Extract<ServerMessage, { type: T }>> => {
    if (type === 'closed') stopping = true;
    for (;;) {
      const i = queue.findIndex((m) => m.type === type || m.type === 'error');
      if (i >= 0) {
        const m = queue.splice(i, 1)[0]!;
        if (m.type === 'error') throw new Error(`bench server: ${m.message}`);
        return m as Extract<ServerMessage, { type: T }>;
      }
      await Promise.race([new Promise<void>((r) => waiting.push(r)), exited]);
    }
  };
  return { child, send: (m) => child.send(m), next, exit };
}

interface Phase {
  events: number;
  seconds: number;
  /** Server process, all threads. */
  cpuSeconds: number;
  /** Server process, main thread only. */
  mainCpuSeconds: number;
  /** Server process, the body worker threads (NaN where threads cannot be told apart). */
  workerCpuSeconds: number;
  /** The load generator (this process). */
  clientCpuSeconds: number;
  latencies: number[];
}

/** POSTs a body on a keep-alive connection; resolves with the status once the answer is read. */
function post(agent: http.Agent, url: URL, body: Buffer, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: '/v1/batch', method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends batches over CONNECTIONS keep-alive connections for `ms`; measures the server's CPU too. */
async function load(server: Server, agent: http.Agent, url: URL, bodies: Buffer[], ms: number, gzip: boolean): Promise<Phase> {
  const headers: Record<string, string> = { authorization: `Bearer ${WRITE_KEY}`, 'content-type': 'application/json' };
  if (gzip) headers['content-encoding'] = 'gzip';
  let next = 0;
  let events = 0;
  const latencies: number[] = [];
  server.send({ type: 'mark' });
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const until = t0 + ms;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < until) {
        const body = bodies[next++ % bodies.length]!;
        const t = performance.now();
        const res = await post(agent, url, body, headers);
        if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${res.text.slice(0, 300)}`);
        latencies.push(performance.now() - t);
        events += BATCH;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const clientCpuSeconds = cpuSecondsSince(client0);
  server.send({ type: 'cpu' });
  const { cpuSeconds, mainCpuSeconds, workerCpuSeconds } = await server.next('cpu');
  return { events, seconds, cpuSeconds, mainCpuSeconds, workerCpuSeconds, clientCpuSeconds, latencies };
}

function sum(phases: Phase[]): Phase {
  return phases.reduce(
    (a, p) => ({
      events: a.events + p.events,
      seconds: a.seconds + p.seconds,
      cpuSeconds: a.cpuSeconds + p.cpuSeconds,
      mainCpuSeconds: a.mainCpuSeconds + p.mainCpuSeconds,
      workerCpuSeconds: a.workerCpuSeconds + p.workerCpuSeconds,
      clientCpuSeconds: a.clientCpuSeconds + p.clientCpuSeconds,
      latencies: [...a.latencies, ...p.latencies],
    }),
    { events: 0, seconds: 0, cpuSeconds: 0, mainCpuSeconds: 0, workerCpuSeconds: 0, clientCpuSeconds: 0, latencies: [] },
  );
}

/**
 * A body worker's work measured alone, on this thread, without HTTP or the log: µs of CPU per
 * event for JSON text and parse only, and for everything a worker does (parse, validate, enrich,
 * serialise, pack for the hand-off). Median of several passes over the bench bodies.
 */
function bodyWork(bodies: Buffer[], passes: number): { parse: number; total: number } {
  const normaliser = makeNormaliser({ channels: undefined, defaultPhoneCountryCode: '', maxFutureMs: 5 * 60_000 }, new UnknownTally());
  const denied = new IdSets();
  const limits = { maxEvents: 1000, maxBodyBytes: 1024 * 1024 };
  const measure = (work: (body: Buffer) => void) => {
    const samples: number[] = [];
    for (let p = 0; p < passes; p++) {
      const c0 = process.cpuUsage();
      for (const body of bodies) work(body);
      samples.push(cpuSecondsSince(c0) * 1e6 / (bodies.length * BATCH));
    }
    return quantile(samples.slice(1), 0.5);
  };
  const parse = measure((body) => void parseJson(body.toString('utf8')));
  const total = measure((body) => {
    const result = processBody({ body: new Uint8Array(body), encoding: 'identity', kind: 'batch', receivedAt: Date.now() }, limits, normaliser, denied);
    if (!result.ok || result.rejected.length > 0) throw new Error('bench body refused');
    pack(result);
  });
  return { parse, total };
}

const rate = (p: Phase) => p.events / p.seconds;
const cpuPerEvent = (p: Phase) => (p.cpuSeconds / p.events) * 1e6;
const perEvent = (seconds: number, p: Phase) => (seconds / p.events) * 1e6;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const stage: BenchStage = {
  describe: `POST /v1/batch (batches of ${BATCH}, ${CONNECTIONS} keep-alive connections, server in a child process) vs the bare embedded log`,
  async run({ quick, log, flags }) {
    const floor = parseIngestFlags(flags).server === 'floor';
    const rounds = quick ? 3 : 6;
    const roundMs = quick ? 1_000 : 2_000;
    const dir = mkdtempSync(join(tmpdir(), 'touchline-bench-ingest-'));
    const server = startServer(dir, floor);
    try {
      const { port } = await server.next('listening');
      const url = new URL(`http://127.0.0.1:${port}`);
      const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
      const plain = Array.from({ length: DISTINCT_BATCHES }, (_, b) => Buffer.from(JSON.stringify({ batch: benchBatch(b) })));
      const zipped = plain.map((b) => gzipSync(b));
      const bytesPerEvent = plain.reduce((s, b) => s + b.length, 0) / (plain.length * BATCH);
      const work = floor ? { parse: Number.NaN, total: Number.NaN } : bodyWork(plain, quick ? 4 : 8);
      const rawRound = async (ms: number): Promise<Phase> => {
        server.send({ type: 'raw', ms });
        return { ...(await server.next('raw')), workerCpuSeconds: 0, clientCpuSeconds: 0, latencies: [] };
      };
      // Warm-up: JIT, page cache, the worker thread.
      await rawRound(500);
      await load(server, agent, url, plain, 1_000, false);
      if (!floor) await load(server, agent, url, zipped, 500, true);

      const raws: Phase[] = [];
      const jsons: Phase[] = [];
      const gzips: Phase[] = [];
      for (let r = 0; r < rounds; r++) {
        raws.push(await rawRound(roundMs));
        jsons.push(await load(server, agent, url, plain, roundMs, false));
        // The floor server reads JSON bodies only.
        if (!floor) gzips.push(await load(server, agent, url, zipped, roundMs / 2, true));
        log(`round ${r + 1}/${rounds}: raw ${fmt(rate(raws[r]!))} rec/s, ${floor ? 'floor' : 'ingest'} ${fmt(rate(jsons[r]!))} ev/s${floor ? '' : `, gzip ${fmt(rate(gzips[r]!))} ev/s`}`);
      }
      agent.destroy();
      server.send({ type: 'stop' });
      await server.next('closed');
      await server.exit;

      const raw = sum(raws);
      const json = sum(jsons);
      const gz = sum(gzips);
      if (floor) {
        return [
          { metric: `floor server: events per second (JSON, ${Math.round(bytesPerEvent)} B/event; parse and re-serialise only)`, value: rate(json), unit: 'ev/s', baseline: { what: 'bare log publish of the records ingest produces', value: rate(raw) } },
          { metric: 'floor server: request latency p99 (batch of 500)', value: quantile(json.latencies, 0.99), unit: 'ms' },
          { metric: 'floor server: CPU per event (all threads)', value: cpuPerEvent(json), unit: 'µs', baseline: { what: 'bare log CPU per published record', value: cpuPerEvent(raw) } },
          { metric: 'of which the main thread', value: perEvent(json.mainCpuSeconds, json), unit: 'µs', baseline: { what: 'bare log, main thread', value: perEvent(raw.mainCpuSeconds, raw) } },
          { metric: `of which the worker threads (the ${DEFAULT_INGEST_OPTIONS.threads} busiest besides the main one)`, value: perEvent(json.workerCpuSeconds, json), unit: 'µs' },
          { metric: 'of which the rest (file system, garbage collection and compiler helpers)', value: perEvent(json.cpuSeconds - json.mainCpuSeconds - json.workerCpuSeconds, json), unit: 'µs' },
          { metric: 'load generator CPU per event (same two cores)', value: perEvent(json.clientCpuSeconds, json), unit: 'µs' },
        ];
      }
      const rows: BenchRow[] = [
        { metric: `events accepted per second (JSON, ${Math.round(bytesPerEvent)} B/event)`, value: rate(json), unit: 'ev/s', baseline: { what: 'bare log publish of the same records', value: rate(raw) } },
        { metric: 'events accepted per second (gzip bodies)', value: rate(gz), unit: 'ev/s', baseline: { what: 'bare log publish of the same records', value: rate(raw) } },
        { metric: 'request latency p50 (batch of 500)', value: quantile(json.latencies, 0.5), unit: 'ms' },
        { metric: 'request latency p99 (batch of 500)', value: quantile(json.latencies, 0.99), unit: 'ms' },
        { metric: 'request latency p99, gzip', value: quantile(gz.latencies, 0.99), unit: 'ms' },
        { metric: 'server CPU per accepted event (all threads)', value: cpuPerEvent(json), unit: 'µs', baseline: { what: 'bare log CPU per published record', value: cpuPerEvent(raw) } },
        { metric: 'of which the main thread', value: perEvent(json.mainCpuSeconds, json), unit: 'µs', baseline: { what: 'bare log, main thread', value: perEvent(raw.mainCpuSeconds, raw) } },
        { metric: 'of which other threads (body workers, file system, V8 helpers)', value: perEvent(json.cpuSeconds - json.mainCpuSeconds, json), unit: 'µs', baseline: { what: 'bare log, other threads', value: perEvent(raw.cpuSeconds - raw.mainCpuSeconds, raw) } },
        { metric: `of which the body worker threads (the ${DEFAULT_INGEST_OPTIONS.threads} busiest besides the main one)`, value: perEvent(json.workerCpuSeconds, json), unit: 'µs' },
        { metric: 'of which the rest (file system, garbage collection and compiler helpers)', value: perEvent(json.cpuSeconds - json.mainCpuSeconds - json.workerCpuSeconds, json), unit: 'µs' },
        { metric: 'load generator CPU per event (same two cores)', value: perEvent(json.clientCpuSeconds, json), unit: 'µs' },
        { metric: 'one thread, body work alone: parse + validate + enrich + serialise + pack', value: work.total, unit: 'µs' },
        { metric: 'one thread, body work alone: of which JSON text + JSON.parse', value: work.parse, unit: 'µs' },
      ];
      return rows;
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
export default stage;

if (process.env[SERVER_ENV] && process.argv[1] === fileURLToPath(import.meta.url)) {
  serve(process.env[SERVER_ENV]).catch((err: unknown) => {
    process.send?.({ type: 'error', message: (err as Error).stack ?? String(err) });
    process.exitCode = 1;
  });
}
