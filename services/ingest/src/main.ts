import { runStandalone } from '@touchline/platform';
import { ingestRoutes } from './routes.js';
import { ingestOptionsFromConfig } from './settings.js';

await runStandalone('ingest', async ({ bus, keys, topics, groups, config, http, warehouse }) => {
  const app = await http();
  await app.register(async (scope) => {
    await ingestRoutes(scope, {
      bus,
      keys,
      topics,
      dataDir: config.TOUCHLINE_DATA_DIR,
      // Opened on the first privacy delete only: ingest keeps taking events without ClickHouse.
      warehouse,
      pipeline: { raw: [groups.stitcher, groups.warehouse], journeys: [groups.attributor] },
      options: ingestOptionsFromConfig(config),
    });
  });
  return async () => {};
});
