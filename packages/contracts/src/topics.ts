/** Topic names, without the configurable prefix (default `touchline.`). */
export const TOPICS = {
  touchpoints: 'touchpoints',
  conversions: 'conversions',
  identities: 'identities',
  costs: 'costs',
  deadletter: 'deadletter',
  journeys: 'journeys',
  credits: 'credits',
  alerts: 'alerts',
  bidSignals: 'bid-signals',
  identityLinks: 'identity-links',
} as const;
export type TopicName = keyof typeof TOPICS;

export type TopicMap = { [K in TopicName]: string };

export function topicNames(prefix: string): TopicMap {
  const out = {} as TopicMap;
  for (const [k, v] of Object.entries(TOPICS)) out[k as TopicName] = `${prefix}${v}`;
  return out;
}

/** Consumer groups, under the same prefix as the topics so that deployments sharing a cluster stay apart. */
export const GROUPS = {
  stitcher: 'stitcher',
  warehouse: 'warehouse',
  attributor: 'attributor',
  alerts: 'alerts',
  alertsTraffic: 'alerts-traffic',
  alertsWebhooks: 'alerts-webhooks',
  alertsExperiments: 'alerts-experiments',
} as const;
export type GroupMap = { -readonly [K in keyof typeof GROUPS]: string };

export function groupNames(prefix: string): GroupMap {
  const out = {} as GroupMap;
  for (const [k, v] of Object.entries(GROUPS)) out[k as keyof typeof GROUPS] = `${prefix}${v}`;
  return out;
}

/** Record header naming what ingest changed about an event (comma-separated flags). */
export const FLAGS_HEADER = 'touchline-flags';
/** The event's corrected timestamp lay in the future and was clamped to the time of receipt. */
export const FLAG_FUTURE_CLAMPED = 'future_timestamp_clamped';

/** Whether a record's flags header carries `flag`. */
export function hasRecordFlag(headers: Readonly<Record<string, string>> | undefined, flag: string): boolean {
  const v = headers?.[FLAGS_HEADER];
  return v !== undefined && (v === flag || v.split(',').some((f) => f.trim() === flag));
}
