import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TouchlineConfig } from '@touchline/contracts';

export interface ResolvedKeys {
  write: string[];
  admin: string[];
  read: string[];
  /** True when the keys were generated now: the caller shows them once. */
  generated: boolean;
  file?: string;
}

const newKey = (prefix: string) => `${prefix}_${randomBytes(24).toString('base64url')}`;

/**
 * Keys from TOUCHLINE_WRITE_KEYS / TOUCHLINE_ADMIN_KEYS / TOUCHLINE_READ_KEYS. When none are set,
 * keys generated on the first start are kept in `<data dir>/keys.json` (mode 0600) and reused.
 */
export function resolveKeys(config: TouchlineConfig): ResolvedKeys {
  const write = config.TOUCHLINE_WRITE_KEYS ?? [];
  const admin = config.TOUCHLINE_ADMIN_KEYS ?? [];
  const read = config.TOUCHLINE_READ_KEYS ?? [];
  if (write.length + admin.length > 0) return { write, admin, read, generated: false };
  const file = join(config.TOUCHLINE_DATA_DIR, 'keys.json');
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { write: string[]; admin: string[]; read: string[] };
    return { write: stored.write, admin: stored.admin, read: [...stored.read, ...read], generated: false, file };
  }
  mkdirSync(config.TOUCHLINE_DATA_DIR, { recursive: true });
  const keys = { write: [newKey('tlw')], admin: [newKey('tla')], read: [newKey('tlr')] };
  writeFileSync(file, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return { ...keys, read: [...keys.read, ...read], generated: true, file };
}
