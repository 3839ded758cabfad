import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebhookRequest, formatIssues, type Webhook, type WebhookView } from '@touchline/contracts';
import { KeyRing, keyFromAuthorization } from '@touchline/platform';
import type { WebhookStore } from './store.js';

const view = ({ secret: _secret, ...rest }: Webhook): WebhookView => rest;

/**
 * `POST /v1/webhooks` (register; the answer holds the signing secret, the only time it is shown),
 * `GET /v1/webhooks` (list, without secrets), `DELETE /v1/webhooks/:id`. Admin keys only: a read
 * key must not be able to send the company's numbers elsewhere.
 */
export async function webhookRoutes(app: FastifyInstance, deps: { store: WebhookStore; keys: KeyRing; now?: () => number }): Promise<void> {
  const now = deps.now ?? Date.now;
  const admin = (req: FastifyRequest, reply: FastifyReply): boolean => {
    if (KeyRing.allows(deps.keys.roleOf(keyFromAuthorization(req.headers.authorization)), 'admin')) return true;
    void reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'send an admin key as "Authorization: Bearer <key>"' });
    return false;
  };

  app.post('/v1/webhooks', async (req, reply) => {
    if (!admin(req, reply)) return reply;
    const parsed = WebhookRequest.safeParse(req.body ?? {});
    if (!parsed.success) return reply.code(400).send({ error: 'bad_request', message: formatIssues(parsed.error) });
    const hook = await deps.store.add(parsed.data, now());
    return reply.code(201).send({ ...view(hook), secret: hook.secret });
  });

  app.get('/v1/webhooks', async (req, reply) => {
    if (!admin(req, reply)) return reply;
    return reply.send({ webhooks: (await deps.store.list()).map(view) });
  });

  app.delete<{ Params: { id: string } }>('/v1/webhooks/:id', async (req, reply) => {
    if (!admin(req, reply)) return reply;
    if (!(await deps.store.remove(req.params.id))) {
      return reply.code(404).send({ error: 'not_found', message: `no webhook ${JSON.stringify(req.params.id.slice(0, 64))}` });
    }
    return reply.code(204).send();
  });
}
