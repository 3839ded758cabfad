/**
 * Ingest's guarantees as analysts see them in the raw tables.
 *
 * - `timestamp_clamped`: the event's corrected timestamp lay in the future and ingest clamped it to
 *   the time of receipt (the `touchline-flags` record header), so clients with broken clocks can be
 *   found. Rows written before this migration read 0.
 * - A bloom-filter index on `message_id` of the raw event tables: the warehouse sink looks up, per
 *   batch, which events are already stored (a resent event is in the log again at a new offset) and
 *   writes each event once, so `count()` is right without FINAL. Parts written before this
 *   migration have no index and are scanned.
 * - `costs_current`: one cost line per day, channel, campaign and currency, the one received last.
 *   A corrected export imported again (same lines, new amounts) replaces the earlier amounts, never
 *   adds to them; the ROI views read spend from here. Spend is only comparable within a currency,
 *   so lines in different currencies stay apart (the importer converts to one reporting currency).
 */
export const name = 'ingest_flags';

const costsCurrent = `CREATE OR REPLACE VIEW touchline.costs_current AS
  SELECT date AS day, channel, campaign, currency,
         argMax(amount, (received_at, src_partition, src_offset)) AS amount,
         argMax(message_id, (received_at, src_partition, src_offset)) AS message_id,
         max(received_at) AS last_received_at
  FROM touchline.costs
  GROUP BY date, channel, campaign, currency`;

/** As in 0002 (credit and spend stacked, then summed per key), with spend from `costs_current`. */
const roiView = (view: string, keys: string[]) => `CREATE OR REPLACE VIEW touchline.${view} AS
  SELECT day, model, ${keys.join(', ')}, currency,
         sum(credit_weight) AS conversions,
         sum(credit_value) AS revenue,
         sum(cost_amount) AS spend,
         if(spend > 0, (revenue - spend) / spend, NULL) AS roi,
         if(spend > 0, revenue / spend, NULL) AS roas,
         if(conversions > 0, spend / conversions, NULL) AS cpa
  FROM (
    SELECT toDate(conversion_ts) AS day, model, ${keys.join(', ')}, currency,
           weight AS credit_weight, value AS credit_value, toFloat64(0) AS cost_amount
    FROM touchline.credits_current
    UNION ALL
    SELECT c.day AS day, m.model AS model, ${keys.map((k) => `c.${k} AS ${k}`).join(', ')}, c.currency AS currency,
           toFloat64(0) AS credit_weight, toFloat64(0) AS credit_value, c.amount AS cost_amount
    FROM touchline.costs_current AS c
    CROSS JOIN (SELECT DISTINCT model FROM touchline.credits) AS m
  )
  GROUP BY day, model, ${keys.join(', ')}, currency`;

const messageIdIndex = (table: string) =>
  `ALTER TABLE touchline.${table} ADD INDEX IF NOT EXISTS message_id_bloom message_id TYPE bloom_filter(0.01) GRANULARITY 1`;

export const statements = [
  `ALTER TABLE touchline.touchpoints ADD COLUMN IF NOT EXISTS timestamp_clamped UInt8 DEFAULT 0`,
  `ALTER TABLE touchline.conversions ADD COLUMN IF NOT EXISTS timestamp_clamped UInt8 DEFAULT 0`,
  `ALTER TABLE touchline.identity_links ADD COLUMN IF NOT EXISTS timestamp_clamped UInt8 DEFAULT 0`,
  messageIdIndex('touchpoints'),
  messageIdIndex('conversions'),
  costsCurrent,
  roiView('roi_by_channel_daily', ['channel']),
  roiView('roi_by_campaign_daily', ['channel', 'campaign']),
];
