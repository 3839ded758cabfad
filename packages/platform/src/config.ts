import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CONFIG_KEYS, TouchlineConfig, formatIssues } from '@touchline/contracts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses the configuration once: `touchline.config.json` (or the file named by TOUCHLINE_CONFIG)
 * under the environment, which wins. A bad value stops start-up with a message naming the setting.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): TouchlineConfig {
  const fileName = env.TOUCHLINE_CONFIG ?? 'touchline.config.json';
  const path = resolve(cwd, fileName);
  let fromFile: Record<string, unknown> = {};
  if (existsSync(path)) {
    try {
      fromFile = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`${fileName}: not valid JSON (${(err as Error).message})`);
    }
    const unknown = Object.keys(fromFile).filter((k) => !CONFIG_KEYS.includes(k));
    if (unknown.length > 0) {
      throw new ConfigError(`${fileName}: unknown setting ${unknown.join(', ')}; known: ${CONFIG_KEYS.join(', ')}`);
    }
    // Lists of names become the comma-separated form; lists of objects (experiments) stay JSON.
    fromFile = Object.fromEntries(Object.entries(fromFile).map(([k, v]) => [k, Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null) ? v.join(',') : v]));
  } else if (env.TOUCHLINE_CONFIG) {
    throw new ConfigError(`TOUCHLINE_CONFIG: file ${path} does not exist`);
  }
  const merged: Record<string, unknown> = { ...fromFile };
  for (const key of CONFIG_KEYS) {
    const value = env[key];
    if (value !== undefined && value !== '') merged[key] = value;
  }
  const parsed = TouchlineConfig.safeParse(merged);
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${formatIssues(parsed.error)}`);
  return parsed.data;
}
