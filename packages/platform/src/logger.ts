import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line: credentials and any clear personal data. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.email',
  '*.phone',
  '*.traits.email',
  '*.traits.phone',
  'CLICKHOUSE_PASSWORD',
  'TOUCHLINE_WRITE_KEYS',
  'TOUCHLINE_ADMIN_KEYS',
  'TOUCHLINE_READ_KEYS',
];

export function createLogger(level: string, name = 'touchline'): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}

/** A logger that swallows everything, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
