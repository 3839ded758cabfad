import { z } from 'zod';
import {
  ConversionMessage,
  CostMessage,
  FraudFlagMessage,
  JourneysTopicMessage,
  IdentityMessage,
  PrivacyDeleteMessage,
  TouchpointMessage,
  type GroupMap,
  type TopicMap,
  type TouchlineConfig,
} from '@touchline/contracts';
import { readTopicToEnd, startStage, type Bus, type Consumer, type Logger } from '@touchline/platform';
import { stitch, type StitcherInput } from './handler.js';
import { PublishedOutputs, StitcherState, type StitchOutput } from './state.js';
import type { Windows } from './windows.js';
import type { ProbabilisticLinking } from './probable.js';

export { MAX_PROBABLE_CLUSTER, PublishedOutputs, StitcherState, journeySignature, type StitchOutput } from './state.js';
export { stitch, type StitcherInput } from './handler.js';
export { Windows } from './windows.js';
export { ProbableLinks, probableLinkId, userAgentFamily, type ProbabilisticLinking } from './probable.js';

/** The probabilistic-linking settings of a configuration, or undefined when linking is off. */
export function probabilisticFromConfig(config: TouchlineConfig): ProbabilisticLinking | undefined {
  return config.TOUCHLINE_PROBABILISTIC_LINKING ? { windowMs: config.TOUCHLINE_PROBABILISTIC_WINDOW_MINUTES * 60_000 } : undefined;
}

export interface StitcherDeps {
  bus: Bus;
  logger: Logger;
  topics: TopicMap;
  groups: GroupMap;
  windows: Windows;
  maxTouchesPerJourney?: number;
  /** Probabilistic device links (off when absent). */
  probabilistic?: ProbabilisticLinking;
}

export interface Stitcher {
  state: StitcherState;
  consumer: Consumer;
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
 * Consumes touchpoints, conversions, identities (with privacy deletes) and fraud flags; publishes a
 * journey for every conversion, a restated one whenever late data changes it, and null paths.
 * State is rebuilt from the log at start.
 */
export async function startStitcher(deps: StitcherDeps): Promise<Stitcher> {
  const state = new StitcherState({
    windows: deps.windows,
    ...(deps.maxTouchesPerJourney ? { maxTouchesPerJourney: deps.maxTouchesPerJourney } : {}),
    ...(deps.probabilistic ? { probabilistic: deps.probabilistic } : {}),
  });
  const logger = deps.logger.child({ service: 'stitcher' });
  const apply = (m: StitcherInput | undefined): StitchOutput[] => (m ? stitch(state, m) : []);
  const publish = async (out: StitchOutput[]) => {
    const journeys = out.filter((j) => j.kind !== 'identity_link');
    const links = out.filter((j) => j.kind === 'identity_link');
    if (links.length > 0) await deps.bus.publish(deps.topics.identityLinks, links.map((l) => ({ key: l.linkId, value: JSON.stringify(l) })));
    if (journeys.length > 0) {
      await deps.bus.publish(
        deps.topics.journeys,
        journeys.map((j) => ({ key: j.kind === 'journey' ? j.conversion.conversionId : j.personId, value: JSON.stringify(j) })),
      );
    }
  };
  const consumer = await startStage({
    bus: deps.bus,
    logger,
    groupId: deps.groups.stitcher,
    topics: [deps.topics.touchpoints, deps.topics.conversions, deps.topics.identities, deps.topics.alerts],
    schema: StitcherMessage,
    deadletterTopic: deps.topics.deadletter,
    restore: (items) => {
      for (const { message } of items) apply(message);
    },
    afterRestore: async () => {
      const published = new PublishedOutputs();
      const read = await readTopicToEnd(deps.bus, deps.topics.journeys, JourneysTopicMessage, (m) => published.add(m));
      const out = state.reconcile(published);
      if (out.length > 0) await publish(out);
      logger.info({ journeysRead: read, republished: out.length }, 'journeys reconciled with the log');
    },
    handle: async (items) => {
      const out: StitchOutput[] = [];
      for (const { message } of items) out.push(...apply(message));
      if (out.length > 0) await publish(out);
    },
  });
  return { state, consumer };
}
