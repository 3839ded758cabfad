import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/index.js';

const empty = () => mkdtempSync(join(tmpdir(), 'cfg-'));

describe('loadConfig', () => {
  it('has defaults that start an embedded Touchline', () => {
    const c = loadConfig({}, empty());
    expect(c).toMatchObject({ PORT: 8080, TOUCHLINE_DATA_DIR: './.touchline', TOUCHLINE_TOPIC_PREFIX: 'touchline.', TOUCHLINE_LOOKBACK_DAYS: 90, TOUCHLINE_DEMO: false });
    expect(c.KAFKA_BROKERS).toBeUndefined();
    expect(c.CLICKHOUSE_URL).toBeUndefined();
  });

  it('splits lists and reads booleans', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'a:9092, b:9092', TOUCHLINE_WRITE_KEYS: 'k1,k2', TOUCHLINE_DEMO: '1' }, empty());
    expect(c.KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
    expect(c.TOUCHLINE_WRITE_KEYS).toEqual(['k1', 'k2']);
    expect(c.TOUCHLINE_DEMO).toBe(true);
  });

  it('names the setting that is wrong', () => {
    expect(() => loadConfig({ PORT: 'eighty' }, empty())).toThrow(/PORT/);
    expect(() => loadConfig({ CLICKHOUSE_URL: 'not a url' }, empty())).toThrow(/CLICKHOUSE_URL/);
    expect(() => loadConfig({ TOUCHLINE_LOOKBACK_DAYS: '-3' }, empty())).toThrow(ConfigError);
  });

  it('keeps probabilistic identity linking off unless asked, and explains a bad setting', () => {
    expect(loadConfig({}, empty())).toMatchObject({ TOUCHLINE_PROBABILISTIC_LINKING: false, TOUCHLINE_PROBABILISTIC_WINDOW_MINUTES: 10 });
    expect(loadConfig({ TOUCHLINE_PROBABILISTIC_LINKING: 'on', TOUCHLINE_PROBABILISTIC_WINDOW_MINUTES: '5' }, empty())).toMatchObject({
      TOUCHLINE_PROBABILISTIC_LINKING: true,
      TOUCHLINE_PROBABILISTIC_WINDOW_MINUTES: 5,
    });
    expect(() => loadConfig({ TOUCHLINE_PROBABILISTIC_LINKING: 'maybe' }, empty())).toThrow(/TOUCHLINE_PROBABILISTIC_LINKING.*must be on or off/);
    expect(() => loadConfig({ TOUCHLINE_PROBABILISTIC_WINDOW_MINUTES: '0' }, empty())).toThrow(/TOUCHLINE_PROBABILISTIC_WINDOW_MINUTES.*at least 1 minute/);
    expect(() => loadConfig({ TOUCHLINE_PROBABILISTIC_WINDOW_MINUTES: 'ten' }, empty())).toThrow(/TOUCHLINE_PROBABILISTIC_WINDOW_MINUTES.*number of minutes/);
  });

  it('reads touchline.config.json under the environment, and refuses unknown keys in it', () => {
    const dir = empty();
    writeFileSync(join(dir, 'touchline.config.json'), JSON.stringify({ PORT: 9000, TOUCHLINE_LOOKBACK_DAYS: 30 }));
    expect(loadConfig({ PORT: '9100' }, dir)).toMatchObject({ PORT: 9100, TOUCHLINE_LOOKBACK_DAYS: 30 });
    writeFileSync(join(dir, 'touchline.config.json'), JSON.stringify({ PROT: 9000 }));
    expect(() => loadConfig({}, dir)).toThrow(/unknown setting PROT/);
  });
});
