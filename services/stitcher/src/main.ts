import { runStandalone } from '@touchline/platform';
import { Windows, probabilisticFromConfig, startStitcher } from './index.js';

await runStandalone('stitcher', async ({ bus, logger, topics, groups, config }) => {
  const s = await startStitcher({ bus, logger, topics, groups, windows: Windows.fromConfig(config), maxTouchesPerJourney: config.TOUCHLINE_MAX_TOUCHES_PER_JOURNEY, probabilistic: probabilisticFromConfig(config) });
  return () => s.consumer.stop();
});
