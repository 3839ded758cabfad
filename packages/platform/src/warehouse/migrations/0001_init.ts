/**
 * Raw tables carry `src_topic`, `src_partition`, `src_offset` of the record they came from: a
 * consumer that restarts skips what is already written (see `sink.ts`), so a replay never doubles
 * a row even when its batch boundaries differ from the first attempt. Inserts also carry an
 * `insert_deduplication_token`, which needs a deduplication window on plain MergeTree tables
 * (its default is 0). Raw tables are not partitioned so that one insert is one part: atomic.
 */
export const name = 'init';

const dedup = 'non_replicated_deduplication_window = 10000';

export const statements = [
  `CREATE TABLE IF NOT EXISTS touchline.touchpoints (
    message_id String,
    anonymous_id String,
    user_id String,
    ts DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    interaction LowCardinality(String),
    channel LowCardinality(String),
    source String,
    medium String,
    campaign String,
    content String,
    term String,
    click_id String,
    click_id_type LowCardinality(String),
    url String,
    referrer String,
    cost Float64,
    consent UInt8,
    ip String,
    user_agent String,
    bot UInt8,
    src_topic LowCardinality(String),
    src_partition UInt32,
    src_offset UInt64
  ) ENGINE = ReplacingMergeTree
  ORDER BY (channel, ts, message_id)
  SETTINGS ${dedup}`,

  `CREATE TABLE IF NOT EXISTS touchline.conversions (
    message_id String,
    conversion_id String,
    anonymous_id String,
    user_id String,
    ts DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    name LowCardinality(String),
    value Float64,
    currency LowCardinality(String),
    stage LowCardinality(String),
    consent UInt8,
    src_topic LowCardinality(String),
    src_partition UInt32,
    src_offset UInt64
  ) ENGINE = ReplacingMergeTree
  ORDER BY (conversion_id)
  SETTINGS ${dedup}`,

  `CREATE TABLE IF NOT EXISTS touchline.identity_links (
    message_id String,
    anonymous_id String,
    user_id String,
    email_hash String,
    phone_hash String,
    account_id String,
    link_type LowCardinality(String),
    confidence Float64,
    ts DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    src_topic LowCardinality(String),
    src_partition UInt32,
    src_offset UInt64
  ) ENGINE = ReplacingMergeTree
  ORDER BY (message_id)
  SETTINGS ${dedup}`,

  `CREATE TABLE IF NOT EXISTS touchline.costs (
    message_id String,
    date Date,
    channel LowCardinality(String),
    campaign String,
    amount Float64,
    currency LowCardinality(String),
    received_at DateTime64(3, 'UTC'),
    src_topic LowCardinality(String),
    src_partition UInt32,
    src_offset UInt64
  ) ENGINE = ReplacingMergeTree
  ORDER BY (date, channel, campaign, message_id)
  SETTINGS ${dedup}`,

  `CREATE TABLE IF NOT EXISTS touchline.deadletter (
    message_id String,
    stage LowCardinality(String),
    reason String,
    path String,
    payload String,
    received_at DateTime64(3, 'UTC'),
    src_topic LowCardinality(String),
    src_partition UInt32,
    src_offset UInt64
  ) ENGINE = MergeTree
  ORDER BY (received_at, message_id)
  SETTINGS ${dedup}`,

  // One row per conversion x model x touchpoint and version. A restatement writes a whole new
  // version; a retraction writes a version holding one row with retracted = 1.
  `CREATE TABLE IF NOT EXISTS touchline.credits (
    conversion_id String,
    model LowCardinality(String),
    version UInt64,
    touchpoint_id String,
    channel LowCardinality(String),
    campaign String,
    touch_ts DateTime64(3, 'UTC'),
    conversion_ts DateTime64(3, 'UTC'),
    conversion_name LowCardinality(String),
    person_id String,
    weight Float64,
    value Float64,
    currency LowCardinality(String),
    retracted UInt8,
    computed_at DateTime64(3, 'UTC'),
    src_topic LowCardinality(String),
    src_partition UInt32,
    src_offset UInt64
  ) ENGINE = ReplacingMergeTree
  ORDER BY (conversion_id, model, version, touchpoint_id)
  SETTINGS ${dedup}`,

  // The analysts' contract: the latest credit of every conversion and model, one row per touch.
  // Correct at every moment without FINAL: the newest version wins, exact duplicates collapse in
  // the GROUP BY, retracted conversions vanish. Plain sum() over it is right.
  `CREATE VIEW IF NOT EXISTS touchline.credits_current AS
  SELECT
    conversion_id,
    model,
    version,
    touchpoint_id,
    any(channel) AS channel,
    any(campaign) AS campaign,
    any(touch_ts) AS touch_ts,
    any(conversion_ts) AS conversion_ts,
    any(conversion_name) AS conversion_name,
    any(person_id) AS person_id,
    any(weight) AS weight,
    any(value) AS value,
    any(currency) AS currency
  FROM touchline.credits
  WHERE (conversion_id, model, version) IN (
    SELECT conversion_id, model, max(version) FROM touchline.credits GROUP BY conversion_id, model
  )
    AND retracted = 0
  GROUP BY conversion_id, model, version, touchpoint_id`,

  `CREATE TABLE IF NOT EXISTS touchline.model_snapshots (
    model LowCardinality(String),
    computed_at DateTime64(3, 'UTC'),
    conversions Float64,
    journeys UInt64,
    channel LowCardinality(String),
    score Float64
  ) ENGINE = MergeTree
  ORDER BY (model, computed_at, channel)`,

  `CREATE TABLE IF NOT EXISTS touchline.alerts (
    id String,
    ts DateTime64(3, 'UTC'),
    type LowCardinality(String),
    severity LowCardinality(String),
    channel LowCardinality(String),
    campaign String,
    model LowCardinality(String),
    summary String,
    payload String
  ) ENGINE = ReplacingMergeTree
  ORDER BY (ts, id)
  SETTINGS ${dedup}`,

  `CREATE VIEW IF NOT EXISTS touchline.credit_by_channel_daily AS
  SELECT toDate(conversion_ts) AS day, model, channel,
         sum(weight) AS conversions, sum(value) AS revenue
  FROM touchline.credits_current
  GROUP BY day, model, channel`,

  `CREATE VIEW IF NOT EXISTS touchline.credit_by_campaign_daily AS
  SELECT toDate(conversion_ts) AS day, model, channel, campaign,
         sum(weight) AS conversions, sum(value) AS revenue
  FROM touchline.credits_current
  GROUP BY day, model, channel, campaign`,
];
