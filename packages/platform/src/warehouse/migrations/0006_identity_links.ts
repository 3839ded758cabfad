/**
 * Every link the stitcher uses is a row of `identity_links`, so analysts can see why two ids are
 * one person. `link_type` says how it was learned: `identify` (an identify event), `event` (a touch
 * or conversion carrying both an anonymousId and a userId), `probabilistic` (two anonymous devices
 * on the same truncated network with the same user-agent family within minutes; `confidence` < 1).
 * `evidence` holds the message ids the link rests on; `linked_anonymous_id` the second device of a
 * probabilistic link. Rows written before this migration said `deterministic` for identify events.
 */
export const name = 'identity_links_kinds';

export const statements = [
  `ALTER TABLE touchline.identity_links
    ADD COLUMN IF NOT EXISTS linked_anonymous_id String DEFAULT '' AFTER anonymous_id,
    ADD COLUMN IF NOT EXISTS evidence Array(String) DEFAULT []`,
  `ALTER TABLE touchline.identity_links UPDATE link_type = 'identify', evidence = [message_id]
    WHERE link_type = 'deterministic' SETTINGS mutations_sync = 1`,
];
