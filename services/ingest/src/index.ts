export { ingestRoutes, DEFAULT_INGEST_OPTIONS, type IngestDeps, type IngestOptions, type IngestHandle } from './routes.js';
export { Normaliser, normaliseEvent, derivedMessageId, canonicalJson, correctedTime, FLAGS_HEADER, FLAG_FUTURE_CLAMPED, type Normalised, type NormaliserOptions } from './normalise.js';
export {
  ChannelGrouper,
  ChannelConfig,
  ChannelRule,
  DEFAULT_RULES,
  DEFAULT_CHANNELS,
  deriveChannel,
  normaliseChannel,
  normaliseLabel,
  loadChannelConfig,
  grouperOptions,
} from './channel.js';
export { hashEmail, hashPhone, normaliseEmail, normalisePhone, pseudonymiseId } from './privacy.js';
export { DenyList, denyListFile } from './deny-list.js';
export type { PipelineGroups } from './forget.js';
export { MetricsRegistry, Counter, Gauge, Histogram, PROMETHEUS_CONTENT_TYPE } from './metrics.js';
export { openApiDocument } from './openapi.js';
export { IngestConfig, ingestOptionsFromConfig } from './settings.js';
// What a body worker thread does to one request, for benchmarks that measure it on its own.
export { processBody, parseJson, type ProcessResult } from './batch.js';
export { pack } from './packed.js';
export { readRaw, BodyError, type RawBody } from './body.js';
export { IdSets, UnknownTally, makeNormaliser } from './work.js';
