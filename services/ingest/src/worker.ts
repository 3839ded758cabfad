import { parentPort, workerData } from 'node:worker_threads';
import { processBody, type BodyInput } from './batch.js';
import type { WorkerConfig } from './pool.js';
import { pack } from './packed.js';
import { IdSets, UnknownTally, makeNormaliser } from './work.js';

/** A body-processing thread of the ingest pool: bytes in, packed bus records out. */
const config = workerData as WorkerConfig;
const port = parentPort!;
const unknown = new UnknownTally();
const normaliser = makeNormaliser(config.normaliser, unknown);
const denied = new IdSets();
denied.add(config.denied);

port.on('message', (m: { type: 'task'; id: number; input: BodyInput } | { type: 'deny'; ids: WorkerConfig['denied'] }) => {
  if (m.type === 'deny') {
    denied.add(m.ids);
    return;
  }
  const result = processBody(m.input, config.limits, normaliser, denied);
  const { packed, transfer } = pack(result);
  port.postMessage({ type: 'result', id: m.id, packed, unknown: unknown.drain() }, transfer);
});
port.postMessage({ type: 'ready' });
