import { z } from 'zod';
import {
  ConversionMessage,
  CostMessage,
  DeadletterMessage,
  IdentityMessage,
  JourneysTopicMessage,
  TouchpointMessage,
  type CreditMessage,
  type GroupMap,
  type TopicMap,
} from '@touchline/contracts';
import type { ModelName } from '@touchline/attribution';
import { WarehouseSink, startStage, type Bus, type Consumer, type Logger, type Warehouse } from '@touchline/platform';
import { STREAMING_MODELS, creditJourney } from './credit.js';
import { conversionRow, costRow, creditRows, deadletterRow, identityRow, touchpointRow } from './rows.js';

export { creditJourney, STREAMING_MODELS } from './credit.js';

export interface AttributorDeps {
  bus: Bus;
  warehouse: Warehouse;
  logger: Logger;
  topics: TopicMap;
  groups: GroupMap;
  halfLifeDays: number;
  models?: readonly ModelName[];
}

const RawMessage = z.discriminatedUnion('kind', [
  TouchpointMessage,
  ConversionMessage,
  IdentityMessage,
  CostMessage,
  DeadletterMessage,
]);

/**
 * Two stages: the warehouse sink (raw touchpoints, conversions, identities, costs and dead letters
 * into their tables) and the attributor (journeys → credit rows and credit messages).
 */
export async function startAttributor(deps: AttributorDeps): Promise<Consumer[]> {
  const logger = deps.logger.child({ service: 'attributor' });
  const sink = new WarehouseSink(deps.warehouse);
  const t = deps.topics;

  const raw = startStage({
    bus: deps.bus,
    logger,
    groupId: deps.groups.warehouse,
    topics: [t.touchpoints, t.conversions, t.identities, t.costs, t.deadletter],
    schema: RawMessage,
    deadletterTopic: t.deadletter,
    handle: async (items, batch) => {
      const first = batch.records[0]?.offset ?? '0';
      const rows = { touchpoints: [] as object[], conversions: [] as object[], identity_links: [] as object[], costs: [] as object[], deadletter: [] as object[] };
      for (const { message: m, record } of items) {
        switch (m.kind) {
          case 'touchpoint':
            rows.touchpoints.push(touchpointRow(m, record));
            break;
          case 'conversion':
            rows.conversions.push(conversionRow(m, record));
            break;
          case 'identity':
            rows.identity_links.push(identityRow(m, record));
            break;
          case 'cost':
            rows.costs.push(costRow(m, record));
            break;
          case 'deadletter':
            rows.deadletter.push(deadletterRow(m, record));
            break;
        }
      }
      for (const [table, list] of Object.entries(rows)) {
        if (list.length > 0) await sink.write(`touchline.${table}`, batch.topic, batch.partition, first, list as never);
      }
    },
  });

  const models = deps.models ?? STREAMING_MODELS;
  const credits = startStage({
    bus: deps.bus,
    logger,
    groupId: deps.groups.attributor,
    topics: [t.journeys],
    schema: JourneysTopicMessage,
    deadletterTopic: t.deadletter,
    handle: async (items, batch) => {
      const computedAt = Date.now();
      const messages: CreditMessage[] = [];
      const rows: ReturnType<typeof creditRows> = [];
      for (const { message, record } of items) {
        // Null paths feed the algorithmic models' path statistics; they earn no credit themselves.
        if (message.kind !== 'journey') continue;
        for (const c of creditJourney(message, { models, halfLifeDays: deps.halfLifeDays })) {
          messages.push(c);
          for (const row of creditRows(c, record, computedAt)) rows.push(row);
        }
      }
      await sink.write('touchline.credits', batch.topic, batch.partition, batch.records[0]?.offset ?? '0', rows);
      // Published even when the rows were already written by an earlier attempt: downstream applies
      // a credit message as a replacement, so a repeat changes nothing.
      if (messages.length > 0) {
        await deps.bus.publish(t.credits, messages.map((m) => ({ key: m.conversionId, value: JSON.stringify(m) })));
      }
    },
  });
  return Promise.all([raw, credits]);
}
