import type { FastifyInstance } from 'fastify';
import { CreditMessage, type GroupMap, type TopicMap } from '@touchline/contracts';
import { startStage, type Bus, type Consumer, type KeyRing, type Logger, type Warehouse } from '@touchline/platform';
import { RevenueBoard } from './board.js';
import { DASHBOARD_HTML } from './dashboard.js';
import { StreamHub, type ServerMessage } from './stream.js';

export { RevenueBoard } from './board.js';
export { StreamHub } from './stream.js';

export interface AlertsDeps {
  bus: Bus;
  warehouse: Warehouse;
  logger: Logger;
  topics: TopicMap;
  groups: GroupMap;
  keys: KeyRing;
  app: FastifyInstance;
}

export interface Alerts {
  board: RevenueBoard;
  hub: StreamHub;
  consumer: Consumer;
  stop(): Promise<void>;
}

/**
 * Live attributed revenue per model and channel, pushed over `/v1/stream`, and the dashboard at `/`.
 * The board is seeded from the warehouse's current credit, then kept live from the credits topic.
 */
export async function startAlerts(deps: AlertsDeps): Promise<Alerts> {
  const logger = deps.logger.child({ service: 'alerts' });
  const board = new RevenueBoard();
  await seedBoard(board, deps.warehouse);

  const metricsFor = (model: string): ServerMessage => ({
    channel: 'metrics',
    type: 'revenue_by_channel',
    data: { model, channels: board.snapshot(model), at: Date.now() },
    match: { model },
  });
  const hub = new StreamHub(deps.keys, logger, (send, channels, filter) => {
    if (!channels.includes('metrics')) return;
    for (const model of board.models()) if (!filter.model || filter.model === model) send(metricsFor(model));
  });
  hub.attach(deps.app);

  deps.app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(DASHBOARD_HTML));

  // Metrics are coalesced: at most one update per model every 200 ms, however fast credit arrives.
  const dirty = new Set<string>();
  const flush = setInterval(() => {
    for (const model of dirty) hub.publish(metricsFor(model));
    dirty.clear();
  }, 200);
  flush.unref();

  const consumer = await startStage({
    bus: deps.bus,
    logger,
    groupId: deps.groups.alerts,
    topics: [deps.topics.credits],
    schema: CreditMessage,
    deadletterTopic: deps.topics.deadletter,
    handle: async (items) => {
      for (const { message } of items) {
        if (!board.apply(message)) continue;
        dirty.add(message.model);
        hub.publish({ channel: 'credits', type: 'credit', data: message, match: { model: message.model } });
      }
    },
  });

  return {
    board,
    hub,
    consumer,
    async stop() {
      clearInterval(flush);
      await consumer.stop();
      hub.close();
    },
  };
}

async function seedBoard(board: RevenueBoard, wh: Warehouse): Promise<void> {
  const rows = await wh.query<{ conversion_id: string; model: string; version: string; channel: string; w: number; v: number }>(
    `SELECT conversion_id, model, version, channel, sum(weight) AS w, sum(value) AS v
     FROM touchline.credits_current GROUP BY conversion_id, model, version, channel`,
  );
  const grouped = new Map<string, { conversionId: string; model: string; version: number; byChannel: Map<string, { weight: number; value: number }> }>();
  for (const r of rows) {
    const key = `${r.conversion_id}\u0000${r.model}`;
    let g = grouped.get(key);
    if (!g) grouped.set(key, (g = { conversionId: r.conversion_id, model: r.model, version: Number(r.version), byChannel: new Map() }));
    g.byChannel.set(r.channel, { weight: Number(r.w), value: Number(r.v) });
  }
  for (const g of grouped.values()) board.set(g.conversionId, g.model, g.version, g.byChannel);
}
