import { runStandalone } from '@touchline/platform';
import { startStitcher } from './index.js';

await runStandalone('stitcher', async ({ bus, logger, topics, groups, config }) => {
  const s = await startStitcher({ bus, logger, topics, groups, lookbackDays: config.TOUCHLINE_LOOKBACK_DAYS });
  return () => s.consumer.stop();
});
