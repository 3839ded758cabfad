import type { Logger } from '../logger.js';
import type { Warehouse } from './client.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';

/** Applies pending migrations in version order and records each. Safe to run concurrently. */
export async function migrate(wh: Warehouse, logger?: Logger, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  await wh.command('CREATE DATABASE IF NOT EXISTS touchline');
  await wh.command(`CREATE TABLE IF NOT EXISTS touchline.schema_migrations (
    version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
  ) ENGINE = ReplacingMergeTree ORDER BY version`);
  const done = new Set(
    (await wh.query<{ version: number }>('SELECT version FROM touchline.schema_migrations')).map((r) => Number(r.version)),
  );
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements) await wh.command(statement);
    await wh.insertRows('touchline.schema_migrations', [{ version: m.version, name: m.name }], `migration-${m.version}`);
    logger?.info({ version: m.version, name: m.name }, 'migration applied');
    applied.push(m.version);
  }
  return applied;
}
