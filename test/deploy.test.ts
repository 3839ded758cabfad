import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/** docker-compose.yml cannot be run here (no Docker engine); this keeps it consistent with the code. */
const root = fileURLToPath(new URL('..', import.meta.url));
const compose = parse(readFileSync(`${root}/docker-compose.yml`, 'utf8'), { merge: true }) as {
  services: Record<string, { command?: string[]; environment?: Record<string, string>; build?: { dockerfile: string }; image?: string }>;
};

describe('docker-compose.yml', () => {
  it('runs Kafka, ClickHouse and the four services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['alerts', 'attributor', 'clickhouse', 'ingest', 'kafka', 'stitcher']);
    expect(compose.services.kafka!.image).toMatch(/^apache\/kafka:/);
    expect(compose.services.clickhouse!.image).toMatch(/^clickhouse\/clickhouse-server:/);
  });

  it.each(['ingest', 'stitcher', 'attributor', 'alerts'])('%s starts its own workspace against Kafka and ClickHouse', (name) => {
    const s = compose.services[name]!;
    expect(s.command).toEqual(['npm', 'run', 'start', '-w', `services/${name}`]);
    expect(s.environment?.KAFKA_BROKERS).toBe('kafka:9092');
    expect(s.environment?.CLICKHOUSE_URL).toBe('http://clickhouse:8123');
    expect(existsSync(`${root}/${s.build!.dockerfile}`)).toBe(true);
    const pkg = JSON.parse(readFileSync(`${root}/services/${name}/package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe('tsx src/main.ts');
    expect(existsSync(`${root}/services/${name}/src/main.ts`)).toBe(true);
  });

  it('keeps secrets out of the file', () => {
    const text = readFileSync(`${root}/docker-compose.yml`, 'utf8');
    for (const line of text.split('\n').filter((l) => /PASSWORD|KEYS/.test(l) && l.includes(':') && !l.trim().startsWith('#'))) {
      expect(line).toMatch(/\$\{[A-Z_]+(:[?-][^}]*)?\}|from_env/);
    }
  });
});
