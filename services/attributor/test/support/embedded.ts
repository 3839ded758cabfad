import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { EmbeddedBus, Warehouse, migrate } from '@touchline/platform';

/**
 * The embedded engine and log for one test file: chdb binds one data directory per process, and
 * vitest runs each file in its own, so each file opens its own directory under `prefix`.
 * The returned object's fields are set before the file's tests run.
 */
export function embeddedForFile(prefix: string): { wh: Warehouse; bus: EmbeddedBus } {
  const env = {} as { wh: Warehouse; bus: EmbeddedBus };
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    env.wh = await Warehouse.open({ path: join(dir, 'warehouse') });
    await migrate(env.wh);
    env.bus = await EmbeddedBus.open({ dir: join(dir, 'log'), partitions: 2 });
    await env.bus.ensureTopics(['credits']);
  });
  afterAll(async () => {
    await env.bus.close();
    await env.wh.close();
  });
  return env;
}
