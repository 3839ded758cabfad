import { Worker } from 'node:worker_threads';
import type { TopicMap } from '@touchline/contracts';
import { readRaw } from '@touchline/ingest';
import type { Bus, BusRecord } from '@touchline/platform';
import type { FastifyInstance } from 'fastify';

/**
 * The ingest bench's `--floor` server: the least any ingest of JSON batches in JavaScript does, as a
 * lower bound on the CPU an accepted event costs. It answers POST /v1/batch like ingest (a bearer
 * key, the body read as bytes and moved to one of `threads` worker threads, every record written
 * to the log and made durable before a 200), but its workers only `JSON.parse` the body and
 * `JSON.stringify` each event back as its record: no validation, enrichment, scrubbing, deny list,
 * rate limit or metrics. It is not an ingest (what it stores is what was sent); it measures how
 * far from the raw log's rate the transport, the parse and the hand-offs alone already are.
 */
const WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ id, body }) => {
  const batch = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')).batch;
  const n = batch.length;
  const keys = new Array(n);
  const values = new Array(n);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const e = batch[i];
    keys[i] = String(e.messageId);
    values[i] = JSON.stringify(e);
    size += Buffer.byteLength(values[i]);
  }
  const bytes = Buffer.allocUnsafeSlow(size);
  const ends = new Uint32Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    at += bytes.write(values[i], at, 'utf8');
    ends[i] = at;
  }
  parentPort.postMessage({ id, keys, ends, bytes: bytes.buffer }, [bytes.buffer, ends.buffer]);
});
`;

interface FloorResult {
  id: number;
  keys: string[];
  ends: Uint32Array;
  bytes: ArrayBuffer;
}

/** Registers the floor's POST /v1/batch on `app`; returns a function that ends its workers. */
export async function floorRoutes(app: FastifyInstance, opts: { bus: Bus; topics: TopicMap; writeKey: string; threads: number; maxBodyBytes: number }): Promise<() => Promise<void>> {
  const workers = Array.from({ length: opts.threads }, () => new Worker(WORKER, { eval: true }));
  const waiting = new Map<number, (r: FloorResult) => void>();
  for (const w of workers) w.on('message', (r: FloorResult) => waiting.get(r.id)?.(r));
  let nextId = 0;
  const authorization = `Bearer ${opts.writeKey}`;

  await app.register(async (scope) => {
    scope.removeContentTypeParser(['application/json']);
    scope.addContentTypeParser(['application/json'], (req, payload, done) => {
      readRaw(req.headers, payload, opts.maxBodyBytes).then(
        (raw) => done(null, raw.body),
        (err: Error) => done(err, undefined),
      );
    });
    scope.post('/v1/batch', async (req, reply) => {
      if (req.headers.authorization !== authorization) return reply.code(401).send({ error: 'unauthorized' });
      const body = req.body as Uint8Array;
      const id = nextId++;
      const result = await new Promise<FloorResult>((resolve) => {
        waiting.set(id, resolve);
        workers[id % workers.length]!.postMessage({ id, body }, [body.buffer as ArrayBuffer]);
      });
      waiting.delete(id);
      const records: BusRecord[] = new Array<BusRecord>(result.keys.length);
      let start = 0;
      for (let i = 0; i < records.length; i++) {
        const end = result.ends[i]!;
        records[i] = { key: result.keys[i]!, value: Buffer.from(result.bytes, start, end - start) };
        start = end;
      }
      await opts.bus.publishMany([{ topic: opts.topics.touchpoints, records }]);
      return reply.code(200).send({ accepted: records.length });
    });
  });
  return async () => {
    await Promise.all(workers.map((w) => w.terminate()));
  };
}
