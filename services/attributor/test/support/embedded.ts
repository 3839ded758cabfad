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

/**
 * `touchline.credits_current` for the conversions whose id starts with `prefix`, per
 * `<conversionId>\0<model>` as `[touchpointId, channel, campaign, weight, value]` rows in touch
 * order: the shape `sharesOf` gives a credit message, to compare with a batch computation.
 */
export async function currentCredits(wh: Warehouse, prefix: string): Promise<Map<string, Array<[string, string, string, number, number]>>> {
  const rows = await wh.query<{ conversion_id: string; model: string; touchpoint_id: string; channel: string; campaign: string; weight: number; value: number }>(
    `SELECT conversion_id, model, touchpoint_id, channel, campaign, weight, value FROM touchline.credits_current WHERE startsWith(conversion_id, {prefix:String}) ORDER BY conversion_id, model, touch_ts, touchpoint_id`,
    { prefix },
  );
  const current = new Map<string, Array<[string, string, string, number, number]>>();
  for (const r of rows) {
    const key = `${r.conversion_id}\u0000${r.model}`;
    const list = current.get(key) ?? [];
    list.push([r.touchpoint_id, r.channel, r.campaign, r.weight, r.value]);
    current.set(key, list);
  }
  return current;
}
