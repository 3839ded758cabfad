import type { FastifyInstance } from 'fastify';
import type { Logger } from '@touchline/platform';

/**
 * A gentle synthetic feed for the demo: people meet a few channels, some convert. Events go through
 * the real ingest route (validation, enrichment, the bus), so the whole pipeline runs.
 */
const CHANNELS = [
  { channel: 'google_ads', interaction: 'click', campaign: 'brand-search', weight: 5 },
  { channel: 'linkedin', interaction: 'click', campaign: 'abm-q4', weight: 3 },
  { channel: 'email', interaction: 'email_click', campaign: 'nurture', weight: 3 },
  { channel: 'webinar', interaction: 'webinar', campaign: 'product-tour', weight: 1 },
  { channel: 'events', interaction: 'event', campaign: 'trade-fair', weight: 1 },
  { channel: 'organic_search', interaction: 'visit', campaign: '', weight: 4 },
  { channel: 'direct', interaction: 'visit', campaign: '', weight: 2 },
] as const;

export function startDemoFeed(opts: { app: FastifyInstance; writeKey: string; rate: number; logger: Logger; seed?: number }): () => void {
  let s = opts.seed ?? 42;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = () => {
    const total = CHANNELS.reduce((a, c) => a + c.weight, 0);
    let r = rand() * total;
    for (const c of CHANNELS) if ((r -= c.weight) <= 0) return c;
    return CHANNELS[0];
  };
  let person = 0;
  const tick = async () => {
    const id = `demo-${Date.now().toString(36)}-${person++}`;
    const touches = 1 + Math.floor(rand() * 5);
    const now = Date.now();
    const batch: object[] = [];
    for (let i = 0; i < touches; i++) {
      const c = pick();
      batch.push({
        type: 'touch',
        anonymousId: id,
        interaction: c.interaction,
        channel: c.channel,
        ...(c.campaign ? { campaign: c.campaign } : {}),
        timestamp: new Date(now - (touches - i) * 3_600_000 * (1 + rand() * 24)).toISOString(),
      });
    }
    if (rand() < 0.35) {
      batch.push({
        type: 'conversion',
        anonymousId: id,
        conversionId: `${id}-c`,
        name: rand() < 0.7 ? 'demo_request' : 'purchase',
        value: Math.round(100 + rand() * 4900),
        currency: 'EUR',
        timestamp: new Date(now).toISOString(),
      });
    }
    const res = await opts.app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { authorization: `Bearer ${opts.writeKey}`, 'content-type': 'application/json' },
      payload: { batch },
    });
    if (res.statusCode !== 200) opts.logger.warn({ status: res.statusCode, body: res.body.slice(0, 300) }, 'demo batch refused');
  };
  const everyMs = Math.max(20, 1000 / opts.rate);
  const timer = setInterval(() => void tick().catch((err: unknown) => opts.logger.warn({ err }, 'demo feed failed')), everyMs);
  return () => clearInterval(timer);
}
