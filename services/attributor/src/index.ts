import { z } from 'zod';
import {
  ConversionMessage,
  CostMessage,
  DeadletterMessage,
  IdentityLinkMessage,
  IdentityMessage,
  JourneysTopicMessage,
  TouchpointMessage,
  type GroupMap,
  type TopicMap,
} from '@touchline/contracts';
import { isModelName, type ModelName } from '@touchline/attribution';
import { WarehouseSink, startStage, type Bus, type Consumer, type Logger, type Warehouse } from '@touchline/platform';
import { StreamingAttributor } from './attributor.js';
import { ALL_MODELS } from './credit.js';
import { conversionRow, costRow, deadletterRow, eventLinkRow, identityRow, probabilisticLinkRow, touchpointRow } from './rows.js';
import { ALGORITHMIC_MODELS, isAlgorithmicModel } from './snapshot.js';
import { AttributorState } from './state.js';
import { WarehouseAttributorStore } from './store.js';

export { ALL_MODELS, creditJourney, creditMessage, journeyWeights, targetOf, type CreditTarget } from './credit.js';
export {
  ALGORITHMIC_MODELS,
  ATTRIBUTOR_DATA_DRIVEN_OPTIONS,
  UNCREDITED_CHANNELS,
  EMPTY_SNAPSHOT,
  computeSnapshot,
  creditMove,
  pathWeights,
  snapshotFromRows,
  snapshotRows,
  JOURNEY_LEVELS,
  type JourneyLevel,
  type ModelSnapshot,
  type ModelFit,
} from './snapshot.js';
export { AttributorState, type CreditRecord, type Restatement } from './state.js';
export { StreamingAttributor, type AttributorPorts, type AttributorStatus, type BeliefRow, type SourcedCredit, type StoredTarget } from './attributor.js';
export { attributorOptionsFrom } from './options.js';
export { syntheticJourneyFeed, type SyntheticFeed, type SyntheticFeedOptions } from './synthetic.js';

/** Defaults of the streaming options (each may be overridden per deployment). */
export const ATTRIBUTOR_DEFAULTS = {
  markovOrder: 1,
  recomputeEveryMs: 60_000,
  recomputeEveryConversions: 1_000,
  restateThreshold: 0.01,
  minConversions: 100,
  minNullPaths: 100,
  maxRetainedJourneys: 200_000,
} as const;

export interface AttributorDeps {
  bus: Bus;
  warehouse: Warehouse;
  logger: Logger;
  topics: TopicMap;
  groups: GroupMap;
  halfLifeDays: number;
  /** Models credited (default: all eleven). */
  models?: readonly ModelName[];
  /** Markov chain order, 1–4 (default 1). */
  markovOrder?: number;
  /** Refit the algorithmic models at least this often while data arrives (ms, default 60 000). */
  recomputeEveryMs?: number;
  /** …and after this many new journeys (default 1 000). */
  recomputeEveryConversions?: number;
  /** Restate a conversion when a new snapshot moves its credit by more than this share (default 0.01). */
  restateThreshold?: number;
  /** Converting journeys an algorithmic model needs before it replaces linear (default 100). */
  minConversions?: number;
  /** Non-converting journeys the data-driven model needs (default 100). */
  minNullPaths?: number;
  /** Journeys kept in memory for restatement; older ones are read back from the warehouse (default 200 000). */
  maxRetainedJourneys?: number;
}

const StreamingSettings = z.object({
  models: z.array(z.string().refine(isModelName, { message: 'is not a model name' })).min(1),
  halfLifeDays: z.number().positive(),
  markovOrder: z.number().int().min(1).max(4),
  recomputeEveryMs: z.number().int().min(10),
  recomputeEveryConversions: z.number().int().min(1),
  restateThreshold: z.number().min(0).max(1),
  minConversions: z.number().min(0),
  minNullPaths: z.number().min(0),
  maxRetainedJourneys: z.number().int().min(0),
});

const RawMessage = z.discriminatedUnion('kind', [
  TouchpointMessage,
  ConversionMessage,
  IdentityMessage,
  CostMessage,
  DeadletterMessage,
  IdentityLinkMessage,
]);

/**
 * A resent event is in the log again at a new offset: the raw event tables keep its first copy, one
 * row per messageId. Cost lines are not deduplicated: a corrected export re-sends a line under its id
 * with a new amount, and `costs_current` takes the latest (migration 0004).
 */
const RAW_UNIQUE = {
  'touchline.touchpoints': 'message_id',
  'touchline.conversions': 'message_id',
  'touchline.identity_links': 'message_id',
};

export interface Attribution {
  /** The warehouse sink of raw topics and the attributor, in that order. */
  consumers: Consumer[];
  attributor: StreamingAttributor;
}

/**
 * Two stages: the warehouse sink (raw touchpoints, conversions, identities, costs and dead letters
 * into their tables) and the attributor (journeys and null paths → credit under every model, model
 * snapshots, restatements).
 *
 * The attributor's state is rebuilt at start: what was written (per conversion, the newest credit
 * version and its snapshot under each algorithmic model, and the snapshots themselves) is read from
 * the warehouse, and the path statistics are rebuilt by replaying the journeys topic up to the
 * committed offsets (startStage's `restore`). Replayed and redelivered journeys replace their
 * conversion's earlier journey rather than add to it, so a restart counts nothing twice.
 *
 * Cluster mode: the models need the statistics of every journey, so the attributor group should
 * have one member (more members would each fit on their own partitions).
 */
export async function startAttribution(deps: AttributorDeps): Promise<Attribution> {
  const logger = deps.logger.child({ service: 'attributor' });
  const settings = StreamingSettings.parse({
    ...ATTRIBUTOR_DEFAULTS,
    ...Object.fromEntries(Object.entries(deps).filter(([k, v]) => k in ATTRIBUTOR_DEFAULTS && v !== undefined)),
    models: [...(deps.models ?? ALL_MODELS)],
    halfLifeDays: deps.halfLifeDays,
  });
  const models = settings.models as ModelName[];
  const sink = new WarehouseSink(deps.warehouse, RAW_UNIQUE);
  const t = deps.topics;

  const raw = await startStage({
    bus: deps.bus,
    logger,
    groupId: deps.groups.warehouse,
    topics: [t.touchpoints, t.conversions, t.identities, t.costs, t.deadletter, t.identityLinks],
    schema: RawMessage,
    deadletterTopic: t.deadletter,
    handle: async (items, batch) => {
      const first = batch.records[0]?.offset ?? '0';
      const last = batch.records[batch.records.length - 1]?.offset ?? first;
      const rows = { touchpoints: [] as object[], conversions: [] as object[], identity_links: [] as object[], costs: [] as object[], deadletter: [] as object[] };
      for (const { message: m, record } of items) {
        switch (m.kind) {
          case 'touchpoint': {
            rows.touchpoints.push(touchpointRow(m, record));
            const link = eventLinkRow(m, record);
            if (link) rows.identity_links.push(link);
            break;
          }
          case 'conversion': {
            rows.conversions.push(conversionRow(m, record));
            const link = eventLinkRow(m, record);
            if (link) rows.identity_links.push(link);
            break;
          }
          case 'identity':
            rows.identity_links.push(identityRow(m, record));
            break;
          case 'identity_link':
            rows.identity_links.push(probabilisticLinkRow(m, record));
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
        // A table that took only some records of the batch (links ride on some touches) is still
        // complete up to the batch's end: the next batch then follows on without a lookup.
        sink.advance(`touchline.${table}`, batch.topic, batch.partition, last);
      }
    },
  });

  const state = new AttributorState({
    models,
    halfLifeDays: settings.halfLifeDays,
    markovOrder: settings.markovOrder,
    minConversions: settings.minConversions,
    minNullPaths: settings.minNullPaths,
    maxRetainedJourneys: settings.maxRetainedJourneys,
  });
  const ruleModel = models.find((m) => !isAlgorithmicModel(m));
  const beliefModels = [...ALGORITHMIC_MODELS.filter((m) => models.includes(m)), ...(ruleModel ? [ruleModel] : [])];
  const store = new WarehouseAttributorStore(deps.warehouse, new WarehouseSink(deps.warehouse), deps.bus, t.credits, beliefModels, ruleModel ?? models[0]!);
  const started = Date.now();
  const loaded = await store.loadInto(state);
  const attributor = new StreamingAttributor(
    state,
    store,
    { recomputeEveryConversions: settings.recomputeEveryConversions, restateThreshold: settings.restateThreshold, restatementChunkRows: 50_000 },
    logger,
  );
  const credits = await startStage({
    bus: deps.bus,
    logger,
    groupId: deps.groups.attributor,
    topics: [t.journeys],
    schema: JourneysTopicMessage,
    deadletterTopic: t.deadletter,
    restore: (items) => attributor.restore(items),
    handle: (items, batch) => attributor.handle(items, batch),
  });
  logger.info(
    { ...loaded, conversions: state.conversionCount, nullPaths: state.nullPathCount, snapshot: state.snapshot.seq, ms: Date.now() - started },
    'attributor state rebuilt',
  );

  const timer = setInterval(() => {
    attributor.tick().catch((err: unknown) => logger.error({ err }, 'model refresh failed; retried on the next tick'));
  }, settings.recomputeEveryMs);
  timer.unref();

  const consumer: Consumer = {
    async stop() {
      clearInterval(timer);
      await credits.stop();
      await attributor.idle();
    },
    committed: () => credits.committed(),
    pause: () => credits.pause(),
    resume: () => credits.resume(),
  };
  return { consumers: [raw, consumer], attributor };
}

/** The attributor's consumers (see `startAttribution`). */
export async function startAttributor(deps: AttributorDeps): Promise<Consumer[]> {
  return (await startAttribution(deps)).consumers;
}
