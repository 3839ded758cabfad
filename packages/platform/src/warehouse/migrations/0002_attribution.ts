/**
 * Streaming attribution: credit rows say which model snapshot and which journey they come from
 * (what a restarted attributor needs to know what it wrote), snapshots hold the fit exactly enough
 * to be used again, and ROI views join credit with spend.
 */
export const name = 'attribution';

/**
 * Spend per cost line once: `touchline.costs` may hold a line twice (an import replayed under a
 * new offset), and the views must be right without FINAL, so lines are collapsed by message_id.
 */
const costLines = `SELECT message_id, any(date) AS day, any(channel) AS channel, any(campaign) AS campaign,
         any(currency) AS currency, any(amount) AS amount
  FROM touchline.costs GROUP BY message_id`;

/**
 * ROI per day, model and key: credit (from credits_current, right at every moment) and spend are
 * stacked and summed per key rather than joined, so a day with spend and no credit (or credit and
 * no spend) still has its row. Spend is repeated for every model that has credit, since each
 * model's ROI is measured against all of it. Revenue and spend are only comparable in one
 * currency, so the currency is part of the key. ROI, ROAS and CPA are NULL where their
 * denominator is 0.
 */
const roiView = (view: string, keys: string[]) => `CREATE VIEW IF NOT EXISTS touchline.${view} AS
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
    FROM (${costLines}) AS c
    CROSS JOIN (SELECT DISTINCT model FROM touchline.credits) AS m
  )
  GROUP BY day, model, ${keys.join(', ')}, currency`;

export const statements = [
  // Which snapshot the weights came from (0: rule-based model, or the empty snapshot) and which
  // journey (its emittedAt) the credit is for.
  `ALTER TABLE touchline.credits ADD COLUMN IF NOT EXISTS snapshot_seq UInt64 DEFAULT 0`,
  `ALTER TABLE touchline.credits ADD COLUMN IF NOT EXISTS journey_version UInt64 DEFAULT 0`,

  // One row per snapshot, model and channel. `score` is what per-journey weights are proportional
  // to (removal effect, Shapley value, data-driven credit); `params` holds the fit's exact numbers.
  // `status` = 'fallback_linear' (with `reason`) while a model does not have enough data.
  `ALTER TABLE touchline.model_snapshots
     ADD COLUMN IF NOT EXISTS seq UInt64 DEFAULT 0,
     ADD COLUMN IF NOT EXISTS markov_order UInt8 DEFAULT 1,
     ADD COLUMN IF NOT EXISTS status LowCardinality(String) DEFAULT 'fitted',
     ADD COLUMN IF NOT EXISTS reason String DEFAULT '',
     ADD COLUMN IF NOT EXISTS null_journeys Float64 DEFAULT 0,
     ADD COLUMN IF NOT EXISTS attributed_conversions Float64 DEFAULT 0,
     ADD COLUMN IF NOT EXISTS attributed_value Float64 DEFAULT 0,
     ADD COLUMN IF NOT EXISTS params String DEFAULT ''`,
  `ALTER TABLE touchline.model_snapshots MODIFY SETTING non_replicated_deduplication_window = 10000`,

  roiView('roi_by_channel_daily', ['channel']),
  roiView('roi_by_campaign_daily', ['channel', 'campaign']),
];
