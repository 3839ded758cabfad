import { z } from 'zod';
import {
  ConversionMessage,
  IdentityMessage,
  PrivacyDeleteMessage,
  TouchpointMessage,
  type CalibratedCreditMessage,
  type Experiment,
  type ExperimentLiftMessage,
  type GroupMap,
  type TopicMap,
} from '@touchline/contracts';
import { startStage, type Bus, type Consumer, type Logger, type Warehouse } from '@touchline/platform';
import type { RevenueBoard } from './board.js';
import { calibratedCredit, LiftTracker } from './experiments.js';
import type { ServerMessage } from './stream.js';

const ExperimentInput = z.discriminatedUnion('kind', [TouchpointMessage, ConversionMessage, IdentityMessage, PrivacyDeleteMessage]);

export interface ExperimentsOptions {
  experiments: readonly Experiment[];
  /** Estimates go out at most this often while events arrive. */
  everyMs: number;
  confidence: number;
  /** The model whose channel credit the experiments calibrate. */
  calibrationModel: string;
}

export interface ExperimentsStage {
  consumer: Consumer;
  tracker: LiftTracker;
  /** The latest estimates and calibrated credit, as stream messages (for a new subscriber). */
  latest(): ServerMessage[];
  /** The calibrated model's base credit changed. */
  creditChanged(): void;
  /** Estimates now, stored and pushed; resolves once they are in the warehouse. */
  publish(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The experiments consumer (group `<alerts>-experiments`: touchpoints, conversions, identities).
 * Its state is rebuilt from the log at every start (the tracker counts sets of units and
 * conversions, so reading a record twice changes nothing), which makes the estimates after a
 * restart exactly those of an uninterrupted run. On a timer, when anything changed, every
 * experiment's estimate is written to `touchline.experiment_lift`, the calibrated credit to
 * `touchline.calibrated_credit`, and both are pushed on `/v1/stream` (channel `metrics`).
 */
export async function startExperiments(deps: {
  bus: Bus;
  warehouse: Warehouse;
  logger: Logger;
  topics: TopicMap;
  groups: GroupMap;
  board: RevenueBoard;
  publish: (m: ServerMessage) => void;
  options: ExperimentsOptions;
  now: () => number;
}): Promise<ExperimentsStage> {
  const { options: o, logger } = deps;
  const tracker = new LiftTracker(o.experiments);
  let lifts: ExperimentLiftMessage[] = [];
  let calibrated: CalibratedCreditMessage | undefined;
  let creditDirty = true;

  const apply = (m: z.infer<typeof ExperimentInput>) => (m.kind === 'privacy_delete' ? tracker.forget(m) : tracker.observe(m));
  const consumer = await startStage({
    bus: deps.bus,
    logger,
    groupId: deps.groups.alertsExperiments,
    topics: [deps.topics.touchpoints, deps.topics.conversions, deps.topics.identities],
    schema: ExperimentInput,
    deadletterTopic: deps.topics.deadletter,
    restore: (items) => {
      for (const { message } of items) apply(message);
    },
    handle: async (items) => {
      for (const { message } of items) apply(message);
    },
  });

  const liftMessage = (m: ExperimentLiftMessage): ServerMessage => ({ channel: 'metrics', type: 'experiment_lift', data: m, match: m.channel ? { channel: m.channel } : {} });
  const creditMessage = (m: CalibratedCreditMessage): ServerMessage => ({ channel: 'metrics', type: 'calibrated_credit', data: m, match: { model: m.model } });

  let estimateMs = 0;
  const publish = async () => {
    if (!tracker.changed && !creditDirty && lifts.length > 0) return;
    const at = deps.now();
    const began = performance.now();
    lifts = tracker.estimates(at, o.confidence);
    estimateMs = performance.now() - began;
    creditDirty = false;
    const base = deps.board.snapshot(o.calibrationModel).map((c) => ({ channel: c.channel, conversions: c.conversions, value: c.revenue }));
    calibrated = base.length > 0 ? calibratedCredit(o.calibrationModel, base, lifts, at) : undefined;
    await deps.warehouse.insertRows('touchline.experiment_lift', lifts.map(liftRow), `experiment-lift-${at}`);
    if (calibrated) await deps.warehouse.insertRows('touchline.calibrated_credit', calibratedRows(calibrated), `calibrated-credit-${at}`);
    for (const l of lifts) deps.publish(liftMessage(l));
    if (calibrated) deps.publish(creditMessage(calibrated));
  };

  let running: Promise<void> | undefined;
  // An estimate walks every conversion of the audience: on a large one, wait at least ten times as
  // long as the last one took, so estimating never takes more than a tenth of the time.
  let nextAt = 0;
  const timer = setInterval(() => {
    if (running || Date.now() < nextAt) return;
    running = publish()
      .then(() => {
        nextAt = Date.now() + 10 * estimateMs;
      })
      .catch((err: unknown) => {
        creditDirty = true;
        logger.error({ err }, 'experiment estimates could not be stored; retried on the next tick');
      })
      .finally(() => (running = undefined));
  }, o.everyMs);
  timer.unref();

  return {
    consumer,
    tracker,
    latest: () => [...lifts.map(liftMessage), ...(calibrated ? [creditMessage(calibrated)] : [])],
    creditChanged: () => {
      creditDirty = true;
    },
    async publish() {
      while (running) await running;
      creditDirty = true;
      await publish();
    },
    async stop() {
      clearInterval(timer);
      await consumer.stop();
      if (running) await running;
    },
  };
}

/** DateTime64(3) text, as ClickHouse reads it in JSONEachRow. */
const ms = (t: number) => new Date(t).toISOString().slice(0, 23).replace('T', ' ');

function liftRow(m: ExperimentLiftMessage): object {
  return {
    experiment_id: m.experimentId,
    at: ms(m.at),
    channel: m.channel,
    campaign: m.campaign,
    unit: m.unit,
    share: m.share,
    start: ms(m.start),
    confidence: m.confidence,
    exposed_units: m.exposed.units,
    exposed_conversions: m.exposed.conversions,
    holdout_units: m.holdout.units,
    holdout_conversions: m.holdout.conversions,
    absolute_lift: m.absolute.estimate,
    absolute_low: m.absolute.low,
    absolute_high: m.absolute.high,
    relative_lift: m.relative.estimate,
    relative_low: m.relative.low,
    relative_high: m.relative.high,
    incremental_conversions: m.incremental.estimate,
    incremental_low: m.incremental.low,
    incremental_high: m.incremental.high,
  };
}

function calibratedRows(m: CalibratedCreditMessage): object[] {
  return m.channels.map((c) => ({
    at: ms(m.at),
    model: m.model,
    base_model: m.baseModel,
    channel: c.channel,
    conversions: c.conversions,
    value: c.value,
    base_conversions: c.baseConversions,
    base_value: c.baseValue,
    experiment_id: c.experimentId,
  }));
}
