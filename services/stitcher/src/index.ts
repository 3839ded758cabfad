import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  ConversionMessage,
  CostMessage,
  FraudFlagMessage,
  JourneysTopicMessage,
  IdentityMessage,
  PrivacyDeleteMessage,
  TouchpointMessage,
  decodeMessage,
  type GroupMap,
  type TopicMap,
  type TouchlineConfig,
} from '@touchline/contracts';
import { startStage, type Bus, type ConsumedBatch, type Consumer, type Logger } from '@touchline/platform';
import { Emitter, Signal } from './emitter.js';
import { stitch } from './handler.js';
import { Ownership, outputKey } from './ownership.js';
import { PublishedOutputs, StitcherState, type StitchOutput } from './state.js';
import type { Windows } from './windows.js';
import type { ProbabilisticLinking } from './probable.js';

export { MAX_PROBABLE_CLUSTER, PublishedOutputs, StitcherState, journeySignature, nullPathSignature, type StitchOutput } from './state.js';
export { stitch, type StitcherInput } from './handler.js';
export { Ownership, outputKey } from './ownership.js';
export { Windows } from './windows.js';
export { ProbableLinks, probableLinkId, userAgentFamily, type ProbabilisticLinking } from './probable.js';

/** The probabilistic-linking settings of a configuration, or undefined when linking is off. */
export function probabilisticFromConfig(config: TouchlineConfig): ProbabilisticLinking | undefined {
  return config.TOUCHLINE_PROBABILISTIC_LINKING ? { windowMs: config.TOUCHLINE_PROBABILISTIC_WINDOW_MINUTES * 60_000 } : undefined;
}

/** Header naming the instance (one id per start) that published a record on the journeys or identity-links topic. */
export const WRITER_HEADER = 'touchline-writer';

export interface StitcherDeps {
  bus: Bus;
  logger: Logger;
  topics: TopicMap;
  groups: GroupMap;
  windows: Windows;
  maxTouchesPerJourney?: number;
  /** Probabilistic device links (off when absent). */
  probabilistic?: ProbabilisticLinking | undefined;
}

export interface Stitcher {
  state: StitcherState;
  /**
   * The instance as one consumer: `stop` leaves the stitcher group and stops reading, `committed`
   * gives the group's progress (an input partition is committed by the instance holding it once
   * that instance has applied it and published its share), `pause`/`resume` hold the input reader.
   */
  consumer: Consumer;
  /** What this instance publishes; for health and tests. */
  ownership: Ownership;
  /**
   * Whether the instance is settled: it is reconciled for its assignment, has applied every input
   * record published before the call, has published what that produced, and has read the journeys
   * topic up to its end (so it has seen, and corrected, what others published for its keys).
   */
  caughtUp(): Promise<boolean>;
}

/**
 * Everything the stitcher reads, on four topics. The alerts topic also carries other kinds (alerts,
 * suggestions); only fraud flags concern the stitcher, the rest is skipped, not dead-lettered.
 */
const StitcherMessage = z.union([
  z.discriminatedUnion('kind', [TouchpointMessage, ConversionMessage, IdentityMessage, CostMessage, FraudFlagMessage, PrivacyDeleteMessage]),
  z.object({ v: z.literal(1), kind: z.string() }).loose().transform(() => undefined),
]);

/**
 * One stitcher instance; any number of them may run on the same topics (docs/architecture.md,
 * "Stitcher across several instances").
 *
 * - A reader (its own group, never committing) reads every partition of the inputs from the
 *   beginning, so every instance holds the whole state: merges across partitions are seen by all.
 * - A journeys reader (likewise) keeps what the journeys topic last holds per key.
 * - A member of the shared stitcher group holds some partitions of the touchpoints topic; the
 *   instance publishes the outputs whose key hashes to those (`Ownership`). After each assignment,
 *   once both readers caught up, it reconciles its state with the journeys topic for the keys it
 *   now owns and publishes exactly what differs; outputs another instance still published after
 *   the handover are seen on the journeys topic and corrected. Probabilistic links (keyed by their
 *   device pair) go to the identity-links topic under the same rule; a reconciliation publishes
 *   every link the instance now owns again, since the table keeps one row per linkId. That member
 *   also dead-letters what does not decode and commits an input partition once the reader applied
 *   it and the outputs are published, which makes the group's offsets the stitcher's progress.
 *
 * A restart, a crash or a rebalance therefore needs no changelog: the state is a function of the
 * input log, and the topic is brought to that state by the reconciliation.
 */
export async function startStitcher(deps: StitcherDeps): Promise<Stitcher> {
  const { bus, topics, groups } = deps;
  const logger = deps.logger.child({ service: 'stitcher' });
  const state = new StitcherState({
    windows: deps.windows,
    ...(deps.maxTouchesPerJourney ? { maxTouchesPerJourney: deps.maxTouchesPerJourney } : {}),
    ...(deps.probabilistic ? { probabilistic: deps.probabilistic } : {}),
  });
  const inputs = [topics.touchpoints, topics.conversions, topics.identities, topics.alerts];
  await bus.ensureTopics([...inputs, topics.journeys, topics.identityLinks, topics.deadletter]);
  const ownership = new Ownership(topics.touchpoints, (await bus.endOffsets(topics.touchpoints)).size);
  const instance = randomUUID();
  const emitter = new Emitter({ bus, topics: { journeys: topics.journeys, identityLinks: topics.identityLinks }, ownership, headers: { [WRITER_HEADER]: instance }, logger });
  const progress = new Signal();
  const onTopic = new PublishedOutputs();
  let stopping = false;

  /** Input `topic:partition` → next offset the reader applied; journeys partition → next offset read. */
  const applied = new Map<string, bigint>();
  const viewed = new Map<number, bigint>();
  const inputEnds = new Map<string, bigint>();
  for (const topic of inputs) for (const [p, o] of await bus.endOffsets(topic)) if (BigInt(o) > 0n) inputEnds.set(`${topic}:${p}`, BigInt(o));
  let inputsCaughtUp = false;
  /** End of the journeys topic when the current assignment arrived: read up to it before reconciling. */
  let journeysEnd: Map<number, bigint> | undefined;

  const publishable = (out: StitchOutput[], generation: number) => out.filter((o) => ownership.mayPublish(outputKey(o), generation));

  const tryActivate = (): void => {
    if (!ownership.pending || !inputsCaughtUp || !journeysEnd) return;
    for (const [p, end] of journeysEnd) if ((viewed.get(p) ?? 0n) < end) return;
    const generation = ownership.generation;
    const owns = (key: string) => ownership.holds(key);
    const out = state.reconcileOwned(onTopic, owns);
    const links = state.ownedLinks(owns);
    ownership.activate();
    const sent = publishable([...links, ...out], generation);
    logger.info(
      { partitions: ownership.partitions, republished: sent.length - links.length, links: links.length },
      'stitcher owns its partitions; journeys reconciled with the topic, its links published',
    );
    emitter.emit(sent, generation).catch((err: unknown) => logger.error({ err }, 'reconciled journeys not published'));
    progress.notify();
  };

  const onAssignment = (assignment: Array<{ topic: string; partition: number }>): void => {
    ownership.assign(assignment);
    journeysEnd = undefined;
    progress.notify();
    if (!ownership.pending) {
      logger.info({ instance }, 'stitcher holds no partitions');
      return;
    }
    const generation = ownership.generation;
    void (async () => {
      for (let attempt = 1; !stopping && generation === ownership.generation; attempt++) {
        try {
          const end = await bus.endOffsets(topics.journeys);
          if (generation !== ownership.generation) return;
          journeysEnd = new Map([...end].map(([p, o]) => [p, BigInt(o)]));
          tryActivate();
          return;
        } catch (err) {
          logger.warn({ err, attempt }, 'journeys end offsets unavailable; retrying');
          await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
        }
      }
    })();
  };

  const readInputs = async (batch: ConsumedBatch): Promise<void> => {
    const generation = ownership.generation;
    const out: StitchOutput[] = [];
    for (const record of batch.records) {
      const d = decodeMessage(StitcherMessage, record.value);
      if (d.ok && d.value) out.push(...stitch(state, d.value));
    }
    await emitter.emit(publishable(out, generation), generation);
    const key = `${batch.topic}:${batch.partition}`;
    applied.set(key, BigInt(batch.records[batch.records.length - 1]!.offset) + 1n);
    if (!inputsCaughtUp && [...inputEnds].every(([tp, end]) => (applied.get(tp) ?? 0n) >= end)) {
      inputsCaughtUp = true;
      logger.info({ stats: state.stats }, 'stitcher state caught up with the inputs');
      tryActivate();
    }
    progress.notify();
  };

  const readJourneys = async (batch: ConsumedBatch): Promise<void> => {
    const foreign = new Set<string>();
    for (const record of batch.records) {
      const d = decodeMessage(JourneysTopicMessage, record.value);
      if (!d.ok) continue;
      onTopic.add(d.value);
      state.observeEmittedAt(d.value.emittedAt);
      // Published by someone else (an earlier owner finishing a publish after the handover, or an
      // instance that lost the group without knowing yet) for a key this instance owns: correct it.
      const key = outputKey(d.value);
      if (ownership.isActive && record.headers[WRITER_HEADER] !== instance && ownership.holds(key)) foreign.add(key);
    }
    let corrected: Promise<void> | undefined;
    if (foreign.size > 0) {
      const generation = ownership.generation;
      const out = publishable(state.reconcileOwned(onTopic, (key) => foreign.has(key)), generation);
      if (out.length > 0) logger.info({ keys: foreign.size, republished: out.length }, 'journeys published by another instance corrected');
      corrected = emitter.emit(out, generation);
    }
    // Marked read only once the corrections are queued, so `caughtUp` cannot miss them.
    viewed.set(batch.partition, BigInt(batch.records[batch.records.length - 1]!.offset) + 1n);
    tryActivate();
    await corrected;
  };

  const started = await Promise.allSettled([
    bus.consume({ groupId: `${groups.stitcher}.state.${instance}`, topics: inputs, commit: false, fromBeginning: true, maxBatchSize: 2000, handler: readInputs }),
    bus.consume({ groupId: `${groups.stitcher}.journeys.${instance}`, topics: [topics.journeys], commit: false, fromBeginning: true, maxBatchSize: 5000, handler: readJourneys }),
    startStage({
      bus,
      logger,
      groupId: groups.stitcher,
      topics: inputs,
      schema: StitcherMessage,
      deadletterTopic: topics.deadletter,
      onAssignment,
      // The records themselves were applied by the reader; this commits them once that happened and
      // this instance's outputs are published (or it owns nothing to publish).
      handle: async (_items, batch) => {
        const key = `${batch.topic}:${batch.partition}`;
        const last = BigInt(batch.records[batch.records.length - 1]!.offset);
        while ((applied.get(key) ?? 0n) <= last || ownership.pending) {
          if (stopping) throw new Error('stitcher stopping; the batch stays uncommitted');
          await batch.heartbeat();
          await progress.wait(250);
        }
        await emitter.idle();
      },
    }),
  ]);
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    stopping = true;
    await Promise.allSettled(started.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw failed.reason;
  }
  const [reader, journeysReader, member] = started.map((r) => (r as PromiseFulfilledResult<Consumer>).value) as [Consumer, Consumer, Consumer];
  // An empty log: nothing to catch up on.
  if (inputEnds.size === 0 && !inputsCaughtUp) {
    inputsCaughtUp = true;
    tryActivate();
  }

  let stopped: Promise<void> | undefined;
  const consumer: Consumer = {
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        progress.notify();
        await member.stop();
        await Promise.all([reader.stop(), journeysReader.stop()]);
        await emitter.idle();
      })()),
    committed: () => member.committed(),
    pause: () => reader.pause(),
    resume: () => reader.resume(),
  };
  const caughtUp = async (): Promise<boolean> => {
    // Not before the group's first assignment: an instance that owns nothing yet has nothing to
    // publish, which would read as caught up although its reconciliation has not even started.
    if (ownership.generation === 0 || ownership.pending || !inputsCaughtUp) return false;
    for (const topic of inputs) {
      for (const [p, o] of await bus.endOffsets(topic)) if ((applied.get(`${topic}:${p}`) ?? 0n) < BigInt(o)) return false;
    }
    await emitter.idle();
    for (const [p, o] of await bus.endOffsets(topics.journeys)) if ((viewed.get(p) ?? 0n) < BigInt(o)) return false;
    return !ownership.pending;
  };
  return { state, consumer, ownership, caughtUp };
}
