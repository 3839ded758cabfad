import { runStandalone } from '@touchline/platform';
import { attributorOptionsFrom, startAttributor } from './index.js';

await runStandalone('attributor', async ({ bus, logger, topics, groups, config, warehouse }) => {
  const consumers = await startAttributor({ bus, warehouse: await warehouse(), logger, topics, groups, ...attributorOptionsFrom(config) });
  return async () => {
    for (const c of consumers) await c.stop();
  };
});
