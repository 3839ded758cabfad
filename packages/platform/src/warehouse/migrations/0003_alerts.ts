/**
 * Alerts, suggestions and fraud flags as the stream serves them. `seq` is the stream position
 * (strictly increasing, microsecond-based so it keeps increasing across restarts): a WebSocket
 * client that reconnects asks for everything after the last position it saw, and what has left the
 * in-memory replay buffer is read back from here. `stream` is the stream channel (alerts,
 * suggestions, fraud), `signal` the detector, `risk` a suggestion's risk tier.
 */
export const name = 'alerts_stream';

export const statements = [
  `ALTER TABLE touchline.alerts
    ADD COLUMN IF NOT EXISTS seq UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS stream LowCardinality(String) DEFAULT 'alerts',
    ADD COLUMN IF NOT EXISTS signal LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS risk LowCardinality(String) DEFAULT ''`,
];
