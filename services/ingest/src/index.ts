export { ingestRoutes, type IngestDeps } from './routes.js';
export { normaliseEvent, derivedMessageId, canonicalJson, correctedTime } from './normalise.js';
export { deriveChannel, normaliseChannel, normaliseLabel } from './channel.js';
export { hashEmail, hashPhone, normaliseEmail, normalisePhone } from './privacy.js';
