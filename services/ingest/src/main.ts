import { runStandalone } from '@touchline/platform';
import { ingestRoutes } from './routes.js';

await runStandalone('ingest', async ({ bus, keys, topics, http }) => {
  const app = await http();
  await app.register(async (scope) => ingestRoutes(scope, { bus, keys, topics }));
  return async () => {};
});
