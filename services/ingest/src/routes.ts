import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BatchRequest, Timestamp, formatIssues, type BatchResponse, type TopicMap } from '@touchline/contracts';
import { KeyRing, keyFromAuthorization, type Bus, type BusRecord } from '@touchline/platform';
import { normaliseEvent } from './normalise.js';

export interface IngestDeps {
  bus: Bus;
  keys: KeyRing;
  topics: TopicMap;
  now?: () => number;
}

/**
 * `POST /v1/batch` and `POST /v1/events`. Each event is validated on its own; valid ones are
 * published, invalid ones answered per index and kept in the deadletter topic. The answer is 2xx
 * only once the bus has durably accepted everything (accepted events and dead letters alike).
 */
export async function ingestRoutes(app: FastifyInstance, deps: IngestDeps): Promise<void> {
  const now = deps.now ?? Date.now;

  const authorise = (req: FastifyRequest, reply: FastifyReply): boolean => {
    const role = deps.keys.roleOf(keyFromAuthorization(req.headers.authorization));
    if (KeyRing.allows(role, 'write')) return true;
    void reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .send({ error: 'unauthorized', message: 'send a write key as "Authorization: Bearer <key>"' });
    return false;
  };

  const accept = async (events: unknown[], sentAt: number | undefined, reply: FastifyReply) => {
    const receivedAt = now();
    const byTopic = new Map<string, BusRecord[]>();
    const rejected: BatchResponse['rejected'] = [];
    const add = (topic: string, record: BusRecord) => {
      const list = byTopic.get(topic);
      if (list) list.push(record);
      else byTopic.set(topic, [record]);
    };
    events.forEach((raw, index) => {
      const n = normaliseEvent(raw, { receivedAt, sentAt });
      if (n.ok) add(deps.topics[n.topic], n.record);
      else {
        rejected.push({ index, path: n.path, reason: n.reason });
        add(deps.topics.deadletter, n.deadletter);
      }
    });
    try {
      await deps.bus.publishMany([...byTopic].map(([topic, records]) => ({ topic, records })));
    } catch (err) {
      reply.log.error({ err }, 'publish failed; batch not accepted');
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ error: 'unavailable', message: 'the event log did not accept the batch; nothing was stored, retry' });
    }
    const accepted = events.length - rejected.length;
    const body: BatchResponse = { accepted, rejected };
    return reply.code(accepted === 0 ? 400 : 200).send(body);
  };

  app.post('/v1/batch', async (req, reply) => {
    if (!authorise(req, reply)) return reply;
    const parsed = BatchRequest.safeParse(req.body);
    if (!parsed.success) {
      return reply.code(400).send({ error: 'bad_request', message: `body: ${formatIssues(parsed.error)}` });
    }
    const sentAt = parsed.data.sentAt === undefined ? undefined : toMillis(parsed.data.sentAt);
    return accept(parsed.data.batch, sentAt, reply);
  });

  app.post('/v1/events', async (req, reply) => {
    if (!authorise(req, reply)) return reply;
    if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
      return reply.code(400).send({ error: 'bad_request', message: 'body: must be one event object' });
    }
    const body = req.body as Record<string, unknown>;
    const sentAtParsed = body.sentAt === undefined ? undefined : Timestamp.safeParse(body.sentAt);
    if (sentAtParsed && !sentAtParsed.success) {
      return reply.code(400).send({ error: 'bad_request', message: `sentAt: ${formatIssues(sentAtParsed.error)}` });
    }
    const { sentAt: _ignored, ...event } = body;
    return accept([event], sentAtParsed?.data === undefined ? undefined : toMillis(sentAtParsed.data), reply);
  });
}

function toMillis(t: string | number): number {
  return typeof t === 'number' ? t : Date.parse(t);
}
