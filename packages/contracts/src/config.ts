import { z } from 'zod';
import { Experiments } from './holdout.js';

/**
 * Configuration, composed from small fragments and parsed once at start. Keys are the environment
 * variable names, so an error names the exact setting to fix. A `touchline.config.json` may hold
 * the same keys; the environment wins.
 */

const csv = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const bool = z.union([z.boolean(), z.enum(['0', '1', 'true', 'false', 'yes', 'no', ''])]).transform((v) => v === true || v === '1' || v === 'true' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const ServerConfig = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export const KeysConfig = z.object({
  /** Keys that may send events. Generated on first start when neither these nor admin keys are set. */
  TOUCHLINE_WRITE_KEYS: csv.optional(),
  /** Keys that may read SQL, subscribe to the stream and delete people. */
  TOUCHLINE_ADMIN_KEYS: csv.optional(),
  /** Read-only keys for dashboards: stream and read, never write or delete. */
  TOUCHLINE_READ_KEYS: csv.optional(),
});

export const StorageConfig = z.object({
  TOUCHLINE_DATA_DIR: z.string().min(1).default('./.touchline'),
  TOUCHLINE_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'may hold only letters, digits, dot, underscore and dash')
    .default('touchline.'),
  TOUCHLINE_PARTITIONS: int(1, 1024).default(4),
});

export const KafkaConfig = z.object({
  /** Comma-separated brokers; when set, Kafka replaces the embedded log. */
  KAFKA_BROKERS: csv.optional(),
  KAFKA_CLIENT_ID: z.string().default('touchline'),
  /** How long a consumer that died holds its partitions before the group moves them. */
  KAFKA_SESSION_TIMEOUT_MS: int(1000, 300_000).default(30_000),
  KAFKA_HEARTBEAT_INTERVAL_MS: int(100, 60_000).default(3_000),
});

export const ClickHouseConfig = z.object({
  /** ClickHouse server URL; when unset, the embedded engine (chdb) stores data in the data dir. */
  CLICKHOUSE_URL: z.url({ message: 'must be a URL such as http://localhost:8123' }).optional(),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
});

const ConversionWindow = z
  .object({
    lookbackDays: z.number().positive().max(3650).optional(),
    viewThroughDays: z.number().nonnegative().max(3650).optional(),
    level: z.enum(['person', 'account']).optional(),
  })
  .strict();

const jsonObject = <T extends z.ZodType>(schema: T) =>
  z.union([
    z.string().transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    }).pipe(schema),
    schema,
  ]);

/** Industry presets of lookback and view-through windows (days). */
export const WINDOW_PRESETS = {
  default: undefined,
  saas_smb: { lookbackDays: 60, viewThroughDays: 14 },
  machinery: { lookbackDays: 365, viewThroughDays: 30 },
  consulting: { lookbackDays: 180, viewThroughDays: 21 },
  enterprise_software: { lookbackDays: 540, viewThroughDays: 45 },
} as const;

export const PipelineConfig = z.object({
  TOUCHLINE_LOOKBACK_DAYS: z.coerce.number().positive().max(3650).default(90),
  /** Impressions count only this close to the conversion. */
  TOUCHLINE_VIEW_THROUGH_DAYS: z.coerce.number().nonnegative().max(3650).default(1),
  /** Sets lookback and view-through together; explicit per-conversion windows still win. */
  TOUCHLINE_WINDOW_PRESET: z.enum(['default', 'saas_smb', 'machinery', 'consulting', 'enterprise_software']).default('default'),
  /** Per conversion name: `{"deal": {"lookbackDays": 365, "viewThroughDays": 30, "level": "account"}}`. */
  TOUCHLINE_CONVERSION_WINDOWS: jsonObject(z.record(z.string(), ConversionWindow)).default({}),
  /** Conversions with these stages are credited on the whole account's journey. */
  TOUCHLINE_ACCOUNT_STAGES: csv.default(['opportunity', 'closed_won']),
  TOUCHLINE_MAX_TOUCHES_PER_JOURNEY: int(1, 100_000).default(500),
  /**
   * Probabilistic identity links (off by default): anonymous devices seen on the same truncated
   * network with the same user-agent family within TOUCHLINE_PROBABILISTIC_WINDOW_MINUTES.
   */
  TOUCHLINE_PROBABILISTIC_LINKING: z
    .union([z.boolean(), z.enum(['0', '1', 'true', 'false', 'yes', 'no', 'on', 'off', ''])], {
      error: 'must be on or off (true/false, yes/no, 1/0)',
    })
    .transform((v) => v === true || v === '1' || v === 'true' || v === 'yes' || v === 'on')
    .default(false),
  TOUCHLINE_PROBABILISTIC_WINDOW_MINUTES: z.coerce
    .number({ error: 'must be a number of minutes' })
    .int({ error: 'must be a whole number of minutes' })
    .min(1, { error: 'must be at least 1 minute' })
    .max(1440, { error: 'must be at most 1440 minutes (one day)' })
    .default(10),
  /** Models credited, comma-separated (default all eleven). */
  TOUCHLINE_MODELS: csv.optional(),
  TOUCHLINE_MARKOV_ORDER: int(1, 4).default(1),
  /** The algorithmic models are refitted at least this often while data arrives… */
  TOUCHLINE_MODEL_RECOMPUTE_MS: int(10, 86_400_000).default(60_000),
  /** …and after this many new conversions. */
  TOUCHLINE_MODEL_RECOMPUTE_CONVERSIONS: int(1, 10_000_000).default(1000),
  /** A conversion is restated when a new snapshot moves its credit by more than this share. */
  TOUCHLINE_RESTATE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.01),
  /** Converting journeys an algorithmic model needs before it replaces linear. */
  TOUCHLINE_MODEL_MIN_CONVERSIONS: int(0, 100_000_000).default(100),
  /** Non-converting journeys the data-driven model needs. */
  TOUCHLINE_MODEL_MIN_NULL_PATHS: int(0, 100_000_000).default(100),
  /** Journeys the attributor keeps in memory for restatement; older ones are read back. */
  TOUCHLINE_ATTRIBUTOR_RETAINED_JOURNEYS: int(0, 100_000_000).default(200_000),
  /** The model alerts, budget suggestions and bid signals read (live metrics cover every model). */
  TOUCHLINE_ALERTS_MODEL: z.string().min(1).default('linear'),
  /** Channels whose spend may not fall below a share of today's: `brand_search:0.9,events:0.5`. */
  TOUCHLINE_STRATEGIC_CHANNELS: z
    .string()
    .transform((s, ctx) => {
      const out: Record<string, number> = {};
      for (const part of s.split(',').map((x) => x.trim()).filter(Boolean)) {
        const [name, floor] = part.split(':');
        const f = Number(floor);
        if (!name || !(f >= 0 && f <= 1)) {
          ctx.addIssue({ code: 'custom', message: `"${part}" must be channel:floor with a floor from 0 to 1` });
          return z.NEVER;
        }
        out[name] = f;
      }
      return out;
    })
    .default({}),
  /** The most a budget-shift suggestion moves in one week, in the reporting currency. */
  TOUCHLINE_MAX_SHIFT_PER_WEEK: z.coerce.number().positive().optional(),
  TOUCHLINE_TIME_DECAY_HALF_LIFE_DAYS: z.coerce.number().positive().max(3650).default(7),
  /** Milliseconds a batch writer waits before flushing a partial batch. */
  TOUCHLINE_FLUSH_MS: int(1, 60_000).default(100),
  TOUCHLINE_DEMO: bool.default(false),
  /** Events per second of the demo feed. */
  TOUCHLINE_DEMO_RATE: z.coerce.number().positive().max(100_000).default(5),
});

/** Ingest: batch limits, rate limit, publish timeout, worker threads, phones, channel rules. */
export const IngestConfig = z.object({
  TOUCHLINE_INGEST_MAX_EVENTS: int(1, 100_000).optional(),
  TOUCHLINE_INGEST_MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).optional(),
  /** Events per second per write key and instance; 0 disables the limit. */
  TOUCHLINE_INGEST_RATE_LIMIT: z.coerce.number().min(0).optional(),
  TOUCHLINE_INGEST_RATE_BURST: int(1, 1_000_000_000).optional(),
  TOUCHLINE_INGEST_PUBLISH_TIMEOUT_MS: int(50, 600_000).optional(),
  /** Worker threads parsing bodies; 0 parses on the main thread. */
  TOUCHLINE_INGEST_THREADS: int(0, 64).optional(),
  /** Country calling code of phone numbers written nationally, e.g. 49. */
  TOUCHLINE_PHONE_COUNTRY_CODE: z
    .string()
    .regex(/^\+?\d{1,4}$/, 'must be a country calling code such as 49')
    .optional(),
  /** A JSON file of channel rules (or the JSON itself). */
  TOUCHLINE_CHANNEL_RULES: z.string().min(1).optional(),
});

/**
 * Incrementality experiments, JSON: `[{"id":"li-2026q4","channel":"linkedin","share":0.1,
 * "start":"2026-11-01T00:00:00Z","unit":"accountId"}]` (see `Experiment`). Ingest tags events with
 * the arms of their person; the alerts service measures each experiment's lift.
 */
export const ExperimentsConfig = z.object({
  TOUCHLINE_EXPERIMENTS: z
    .unknown()
    .transform((v, ctx) => {
      if (typeof v !== 'string') return v;
      try {
        return JSON.parse(v) as unknown;
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `must be JSON: ${(err as Error).message}` });
        return z.NEVER;
      }
    })
    .pipe(Experiments)
    .default([]),
});

export const TouchlineConfig = ServerConfig.and(KeysConfig)
  .and(StorageConfig)
  .and(KafkaConfig)
  .and(ClickHouseConfig)
  .and(PipelineConfig)
  .and(IngestConfig)
  .and(ExperimentsConfig);
export type TouchlineConfig = z.infer<typeof TouchlineConfig>;

/** Keys the config schema knows, for a helpful message on a typo in the config file. */
export const CONFIG_KEYS: readonly string[] = [
  ServerConfig,
  KeysConfig,
  StorageConfig,
  KafkaConfig,
  ClickHouseConfig,
  PipelineConfig,
  IngestConfig,
  ExperimentsConfig,
].flatMap((s) => Object.keys(s.shape));
