import { runStandalone } from '@touchline/platform';
import { startAttributor } from './index.js';

await runStandalone('attributor', async ({ bus, logger, topics, groups, config, warehouse }) => {
  const consumers = await startAttributor({ bus, warehouse: await warehouse(), logger, topics, groups, halfLifeDays: config.TOUCHLINE_TIME_DECAY_HALF_LIFE_DAYS });
  return async () => {
    for (const c of consumers) await c.stop();
  };
});
