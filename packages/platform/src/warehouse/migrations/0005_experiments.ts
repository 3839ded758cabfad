/**
 * Incrementality experiments: every live estimate of an experiment's lift as it was pushed (one
 * row per experiment and estimate time), and the `incrementality_calibrated` model's channel
 * credit next to the model it calibrates. The `_current` views hold the latest estimate of each.
 * Both tables are history, rebuilt estimates after a restart add rows, never change old ones.
 */
export const name = 'experiments';

const dedup = 'non_replicated_deduplication_window = 10000';

export const statements = [
  `CREATE TABLE IF NOT EXISTS touchline.experiment_lift (
    experiment_id LowCardinality(String),
    at DateTime64(3, 'UTC'),
    channel LowCardinality(String),
    campaign String,
    unit LowCardinality(String),
    share Float64,
    start DateTime64(3, 'UTC'),
    confidence Float64,
    exposed_units UInt64,
    exposed_conversions UInt64,
    holdout_units UInt64,
    holdout_conversions UInt64,
    absolute_lift Float64,
    absolute_low Float64,
    absolute_high Float64,
    relative_lift Nullable(Float64),
    relative_low Float64,
    relative_high Nullable(Float64),
    incremental_conversions Float64,
    incremental_low Float64,
    incremental_high Float64
  ) ENGINE = ReplacingMergeTree
  ORDER BY (experiment_id, at)
  SETTINGS ${dedup}`,

  `CREATE VIEW IF NOT EXISTS touchline.experiment_lift_current AS
  SELECT * FROM touchline.experiment_lift
  WHERE (experiment_id, at) IN (SELECT experiment_id, max(at) FROM touchline.experiment_lift GROUP BY experiment_id)`,

  `CREATE TABLE IF NOT EXISTS touchline.calibrated_credit (
    at DateTime64(3, 'UTC'),
    model LowCardinality(String),
    base_model LowCardinality(String),
    channel LowCardinality(String),
    conversions Float64,
    value Float64,
    base_conversions Float64,
    base_value Float64,
    experiment_id LowCardinality(String)
  ) ENGINE = ReplacingMergeTree
  ORDER BY (at, model, channel)
  SETTINGS ${dedup}`,

  `CREATE VIEW IF NOT EXISTS touchline.calibrated_credit_current AS
  SELECT * FROM touchline.calibrated_credit
  WHERE (model, at) IN (SELECT model, max(at) FROM touchline.calibrated_credit GROUP BY model)`,
];
