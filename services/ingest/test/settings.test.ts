import { describe, expect, it } from 'vitest';
import { ingestOptionsFromConfig } from '../src/index.js';

describe('ingest settings from configuration', () => {
  it('maps the keys to options and leaves the rest to the defaults', () => {
    expect(ingestOptionsFromConfig({ PORT: 8080 })).toEqual({});
    const o = ingestOptionsFromConfig({
      TOUCHLINE_INGEST_MAX_EVENTS: '500',
      TOUCHLINE_INGEST_RATE_LIMIT: '1000',
      TOUCHLINE_INGEST_THREADS: '0',
      TOUCHLINE_PHONE_COUNTRY_CODE: '+49',
      TOUCHLINE_CHANNEL_RULES: '[{"when":{"medium":"sms"},"channel":"sms"}]',
    });
    expect(o).toMatchObject({ maxEvents: 500, rateLimit: { eventsPerSecond: 1000, burst: 2000 }, threads: 0, defaultPhoneCountryCode: '49' });
    expect(o.channels).toEqual([{ when: { medium: 'sms' }, channel: 'sms' }]);
  });

  it('names the setting that is wrong', () => {
    expect(() => ingestOptionsFromConfig({ TOUCHLINE_INGEST_MAX_EVENTS: '0' })).toThrow(/TOUCHLINE_INGEST_MAX_EVENTS/);
    expect(() => ingestOptionsFromConfig({ TOUCHLINE_PHONE_COUNTRY_CODE: 'DE' })).toThrow(/TOUCHLINE_PHONE_COUNTRY_CODE: must be a country calling code/);
    expect(() => ingestOptionsFromConfig({ TOUCHLINE_CHANNEL_RULES: '/nonexistent/rules.json' })).toThrow(/TOUCHLINE_CHANNEL_RULES: .*ENOENT/);
  });
});
