import { runStandalone } from '@touchline/platform';
import { alertsOptionsFrom, startAlerts } from './index.js';

await runStandalone('alerts', async ({ bus, logger, topics, groups, warehouse, keys, http, config }) => {
  const app = await http();
  const alerts = await startAlerts({
    bus,
    warehouse: await warehouse(),
    logger,
    topics,
    groups,
    keys,
    app,
    dataDir: config.TOUCHLINE_DATA_DIR,
    options: alertsOptionsFrom(config),
  });
  return () => alerts.stop();
});
