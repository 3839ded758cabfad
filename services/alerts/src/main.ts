import { runStandalone } from '@touchline/platform';
import { startAlerts } from './index.js';

await runStandalone('alerts', async ({ bus, logger, topics, groups, warehouse, keys, http }) => {
  const app = await http();
  const alerts = await startAlerts({ bus, warehouse: await warehouse(), logger, topics, groups, keys, app });
  return () => alerts.stop();
});
