import type { FastifyInstance } from 'fastify';
import type { Logger } from '@touchline/platform';
import { liveFeed } from '@touchline/simulator';

/**
 * The demo feed: the simulator's default market at a gentle rate, people who meet channels with
 * known effects and sometimes convert, plus the day's ad spend. Events go through the real ingest
 * route (validation, enrichment, the bus), so the whole pipeline runs. Each start uses a new seed:
 * the same seed would resend the same ids, which are deduplicated.
 */
export function startDemoFeed(opts: { app: FastifyInstance; writeKey: string; rate: number; logger: Logger; seed?: number }): () => void {
  const feed = liveFeed({ seed: opts.seed ?? Date.now() % 2 ** 31, unitsPerBatch: 1, unitsPerDay: Math.round(opts.rate * 86_400) });
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const events = feed.next().value;
      for (let i = 0; i < events.length; i += 500) {
        const res = await opts.app.inject({
          method: 'POST',
          url: '/v1/batch',
          headers: { authorization: `Bearer ${opts.writeKey}`, 'content-type': 'application/json' },
          payload: { batch: events.slice(i, i + 500) },
        });
        if (res.statusCode !== 200) opts.logger.warn({ status: res.statusCode, body: res.body.slice(0, 300) }, 'demo batch refused');
      }
    } finally {
      busy = false;
    }
  };
  const everyMs = Math.max(20, 1000 / opts.rate);
  const timer = setInterval(() => void tick().catch((err: unknown) => opts.logger.warn({ err }, 'demo feed failed')), everyMs);
  return () => clearInterval(timer);
}
