import type { FastifyInstance } from 'fastify';
import { KeyRing, keyFromAuthorization, type Warehouse } from '@touchline/platform';

const FORMAT = /^[A-Za-z][A-Za-z0-9]*$/;

/**
 * `POST /v1/sql`: an analyst's query, body = SQL text, `?format=` any ClickHouse output format
 * (default JSONEachRow). Needs an admin or read key. Runs in a read-only session: anything but a
 * read is refused by the engine itself.
 */
export async function sqlRoute(app: FastifyInstance, deps: { warehouse: Warehouse; keys: KeyRing }): Promise<void> {
  app.addContentTypeParser(['text/plain', 'application/sql', 'application/x-www-form-urlencoded'], { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.post<{ Querystring: { format?: string } }>('/v1/sql', async (req, reply) => {
    const role = deps.keys.roleOf(keyFromAuthorization(req.headers.authorization));
    if (!KeyRing.allows(role, 'read')) {
      return reply.code(401).send({ error: 'unauthorized', message: 'send an admin or read key as "Authorization: Bearer <key>"' });
    }
    const sql = typeof req.body === 'string' ? req.body : '';
    if (!sql.trim()) return reply.code(400).send({ error: 'bad_request', message: 'body: send the SQL query as text/plain' });
    const format = req.query.format ?? 'JSONEachRow';
    if (!FORMAT.test(format)) return reply.code(400).send({ error: 'bad_request', message: `format: ${JSON.stringify(format)} is not a ClickHouse format name` });
    try {
      const result = await deps.warehouse.analystQuery(sql, format);
      return reply.type(result.contentType).send(result.body);
    } catch (err) {
      const e = err as { message?: string; type?: string; code?: string };
      const readonly = e.type === 'READONLY' || e.code === '164' || /readonly/i.test(e.message ?? '');
      return reply.code(readonly ? 403 : 400).send({
        error: readonly ? 'read_only' : 'query_failed',
        message: readonly ? 'only reads are allowed here' : (e.message ?? 'query failed').slice(0, 2000),
      });
    }
  });
}
