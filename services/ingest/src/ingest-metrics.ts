import type { MetricsRegistry } from './metrics.js';

/** Seconds; from a group-committed fsync on a fast disk to a Kafka cluster in trouble. */
const PUBLISH_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The ingest service's metrics, all under `touchline_ingest_`. */
export function ingestMetrics(r: MetricsRegistry) {
  return {
    eventsAccepted: r.counter('touchline_ingest_events_accepted_total', 'Events durably in the event log, by type.', ['type']),
    eventsRejected: r.counter(
      'touchline_ingest_events_rejected_total',
      'Events refused, by reason (invalid: failed validation, dead-lettered; rate_limited; unavailable) and, for invalid ones, the JSON path.',
      ['reason', 'field'],
    ),
    eventsDropped: r.counter('touchline_ingest_events_dropped_total', 'Valid events dropped on purpose, by reason.', ['reason']),
    requestsRejected: r.counter(
      'touchline_ingest_requests_rejected_total',
      'Requests refused as a whole, by reason (unauthorized, payload_too_large, too_many_events, bad_request, unsupported_media_type, rate_limited, unavailable).',
      ['reason'],
    ),
    publishSeconds: r.histogram('touchline_ingest_publish_seconds', 'Time from publish to the event log confirming the batch durable.', PUBLISH_BUCKETS),
    publishTimeouts: r.counter('touchline_ingest_publish_timeouts_total', 'Publishes not confirmed within the publish timeout (answered 503).'),
    publishLate: r.counter(
      'touchline_ingest_publish_late_total',
      'Timed-out publishes by how they ended: durable (the resend is a duplicate, deduplicated by messageId) or failed.',
      ['outcome'],
    ),
    inFlight: r.gauge('touchline_ingest_in_flight_events', 'Events handed to the event log and not yet confirmed.'),
    unknownChannelValues: r.counter(
      'touchline_ingest_unknown_channel_values_total',
      'Channel, source and medium values no channel rule knew; kept on the event. Add a rule for the frequent ones.',
      ['field', 'value'],
    ),
    clockClamped: r.counter('touchline_ingest_clock_clamped_total', 'Events whose corrected timestamp lay in the future and was clamped to the time of receipt.'),
    privacyDeletes: r.counter('touchline_ingest_privacy_deletes_total', 'Completed privacy delete requests.'),
    denyListIds: r.gauge('touchline_ingest_deny_list_ids', 'Ids of deleted people whose events are dropped.'),
  };
}

export type IngestMetrics = ReturnType<typeof ingestMetrics>;
