import { ExperimentsConfig, IngestConfig } from '@touchline/contracts';
import { loadChannelConfig } from './channel.js';
import type { IngestOptions } from './routes.js';

export { IngestConfig };

/** Ingest options from parsed configuration; throws with the setting's name when one is wrong. */
export function ingestOptionsFromConfig(config: object): Partial<IngestOptions> {
  const parsed = IngestConfig.and(ExperimentsConfig).safeParse(config);
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const c = parsed.data;
  const options: Partial<IngestOptions> = {};
  if (c.TOUCHLINE_INGEST_MAX_EVENTS !== undefined) options.maxEvents = c.TOUCHLINE_INGEST_MAX_EVENTS;
  if (c.TOUCHLINE_INGEST_MAX_BODY_BYTES !== undefined) options.maxBodyBytes = c.TOUCHLINE_INGEST_MAX_BODY_BYTES;
  if (c.TOUCHLINE_INGEST_RATE_LIMIT !== undefined || c.TOUCHLINE_INGEST_RATE_BURST !== undefined) {
    const rate = c.TOUCHLINE_INGEST_RATE_LIMIT ?? 50_000;
    options.rateLimit = { eventsPerSecond: rate, burst: c.TOUCHLINE_INGEST_RATE_BURST ?? Math.max(2 * rate, 1) };
  }
  if (c.TOUCHLINE_INGEST_PUBLISH_TIMEOUT_MS !== undefined) options.publishTimeoutMs = c.TOUCHLINE_INGEST_PUBLISH_TIMEOUT_MS;
  if (c.TOUCHLINE_INGEST_THREADS !== undefined) options.threads = c.TOUCHLINE_INGEST_THREADS;
  if (c.TOUCHLINE_PHONE_COUNTRY_CODE !== undefined) options.defaultPhoneCountryCode = c.TOUCHLINE_PHONE_COUNTRY_CODE.replace(/^\+/, '');
  if (c.TOUCHLINE_EXPERIMENTS.length > 0) options.experiments = c.TOUCHLINE_EXPERIMENTS;
  if (c.TOUCHLINE_CHANNEL_RULES !== undefined) {
    try {
      options.channels = loadChannelConfig(c.TOUCHLINE_CHANNEL_RULES);
    } catch (err) {
      throw new Error(`TOUCHLINE_CHANNEL_RULES: ${(err as Error).message}`);
    }
  }
  return options;
}
