// Bundles the `touchline` command into dist/touchline.mjs, and ingest's parsing worker beside it as
// dist/worker.js (where the pool looks for it), for the container image. Native and optional
// modules stay external and come from node_modules.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  external: ['chdb', 'chdb/*', 'kafkajs', '@clickhouse/client', 'pino', 'thread-stream', 'fastify', 'ws', 'bufferutil', 'utf-8-validate'],
  banner: { js: "import { createRequire as bundledCreateRequire } from 'node:module'; const require = bundledCreateRequire(import.meta.url);" },
  logLevel: 'info',
};

await build({ ...common, entryPoints: ['packages/cli/src/main.ts'], outfile: 'dist/touchline.mjs' });
await build({ ...common, entryPoints: ['services/ingest/src/worker.ts'], outfile: 'dist/worker.js' });
