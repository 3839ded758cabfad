import type { ChannelSpec, Scenario } from '../src/index.js';

/** A small person-level scenario for tests: one strong, one weak and one useless channel. */
export function smallScenario(overrides: Partial<Scenario> = {}): Scenario {
  const channel = (name: string, effect: number, reach: number, extra: Partial<ChannelSpec> = {}): ChannelSpec => ({
    name,
    interaction: 'click',
    campaigns: ['c1', 'c2'],
    utm: { source: name, medium: 'cpc' },
    reach,
    touchesPerWeek: 0.3,
    effect,
    saturation: 0.8,
    spreadDays: 5,
    costPerDay: 100,
    ...extra,
  });
  return {
    name: 'test',
    description: 'test scenario',
    unit: 'person',
    units: 5_000,
    horizonDays: 60,
    lookbackDays: 30,
    startDate: '2026-03-02',
    baselineHazard: 0.0008,
    frailtySigma: 0.5,
    conversion: { name: 'purchase', medianValue: 50, valueSigma: 0.5, currency: 'EUR' },
    channels: [channel('search', 0.02, 0.4), channel('social', 0.006, 0.5, { delayDays: 7, spreadDays: 14 }), channel('banner', 0, 0.6, { interaction: 'impression', touchesPerWeek: 2 })],
    synergies: [],
    ...overrides,
  };
}
