import { InputMessage, type GroupMap, type JourneyMessage, type TopicMap } from '@touchline/contracts';
import { startStage, type Bus, type Consumer, type Logger } from '@touchline/platform';
import { stitch } from './handler.js';
import { StitcherState } from './state.js';

export { StitcherState } from './state.js';
export { stitch } from './handler.js';

export interface StitcherDeps {
  bus: Bus;
  logger: Logger;
  topics: TopicMap;
  groups: GroupMap;
  lookbackDays: number;
}

export interface Stitcher {
  state: StitcherState;
  consumer: Consumer;
}

/**
 * Consumes touchpoints, conversions and identities; publishes a journey for every conversion and a
 * restated one whenever late data changes it. State is rebuilt from the log at start.
 */
export async function startStitcher(deps: StitcherDeps): Promise<Stitcher> {
  const state = new StitcherState({ lookbackDays: deps.lookbackDays });
  const logger = deps.logger.child({ service: 'stitcher' });
  const consumer = await startStage({
    bus: deps.bus,
    logger,
    groupId: deps.groups.stitcher,
    topics: [deps.topics.touchpoints, deps.topics.conversions, deps.topics.identities],
    schema: InputMessage,
    deadletterTopic: deps.topics.deadletter,
    restore: (items) => {
      for (const { message } of items) stitch(state, message);
    },
    handle: async (items) => {
      const journeys: JourneyMessage[] = [];
      for (const { message } of items) journeys.push(...stitch(state, message));
      if (journeys.length === 0) return;
      await deps.bus.publish(
        deps.topics.journeys,
        journeys.map((j) => ({ key: j.conversion.conversionId, value: JSON.stringify(j) })),
      );
    },
  });
  return { state, consumer };
}
