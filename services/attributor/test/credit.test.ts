import { describe, expect, it } from 'vitest';
import { naiveSum, PathStats } from '@touchline/attribution';
import type { JourneyMessage } from '@touchline/contracts';
import { ALL_MODELS, creditJourney } from '../src/credit.js';
import { computeSnapshot } from '../src/snapshot.js';

const DAY = 86_400_000;
const T = Date.parse('2026-11-20T00:00:00Z');

const journey = (touches: Array<[string, number]>, value = 200, extra: Partial<JourneyMessage> = {}): JourneyMessage => ({
  v: 1,
  kind: 'journey',
  personId: 'u:1',
  conversion: { conversionId: 'c1', messageId: 'm', name: 'purchase', timestamp: T, value, currency: 'EUR' },
  touches: touches.map(([channel, at], i) => ({ messageId: `t${i}`, timestamp: at, interaction: 'click', channel, campaign: `${channel}-cmp`, source: '', medium: '' })),
  level: 'person',
  retracted: false,
  revision: 0,
  emittedAt: 1_000_000,
  lookbackDays: 90,
  ...extra,
});

const four = journey([
  ['linkedin', T - 21 * DAY],
  ['direct', T - 14 * DAY],
  ['email', T - 7 * DAY],
  ['direct', T],
]);

/** A snapshot in which linkedin converts on its own and email does not. */
function fittedSnapshot() {
  const stats = new PathStats();
  stats.add(['linkedin'], 60, 6000, 20);
  stats.add(['email'], 10, 1000, 90);
  stats.add(['linkedin', 'direct', 'email', 'direct'], 40, 4000, 30);
  stats.add(['direct'], 30, 3000, 70);
  return computeSnapshot(stats, 1, 0, { markovOrder: 1, minConversions: 10, minNullPaths: 10 });
}

describe('creditJourney', () => {
  it('credits every touch under all eleven models, each summing to exactly 1 and to the conversion value', () => {
    const credits = creditJourney(four, { models: ALL_MODELS, halfLifeDays: 7, snapshot: fittedSnapshot() });
    expect(credits.map((c) => c.model)).toEqual([...ALL_MODELS]);
    for (const c of credits) {
      expect(c.shares, c.model).toHaveLength(4);
      expect(naiveSum(c.shares.map((s) => s.weight)), c.model).toBe(1);
      expect(c.shares.reduce((s, x) => s + x.value, 0)).toBeCloseTo(200, 10);
      expect(c.version).toBe(1_000_000);
    }
    const w = Object.fromEntries(credits.map((c) => [c.model, c.shares.map((s) => s.weight)]));
    expect(w.first_touch).toEqual([1, 0, 0, 0]);
    expect(w.last_touch).toEqual([0, 0, 0, 1]);
    expect(w.last_non_direct).toEqual([0, 0, 1, 0]);
    expect(w.position_based![0]).toBeCloseTo(0.4, 15);
    expect(w.position_based![1]).toBeCloseTo(0.1, 15);
    // Time decay with a 7-day half-life: weights 1/8 : 1/4 : 1/2 : 1, normalised.
    expect(w.time_decay![0]).toBeCloseTo(0.125 / 1.875, 12);
    expect(w.time_decay![3]).toBeCloseTo(1 / 1.875, 12);
    // No milestones: W-shaped falls back to position-based.
    expect(w.w_shaped).toEqual(w.position_based);
    // The fitted models favour linkedin over email, unlike linear.
    for (const m of ['markov', 'shapley', 'shapley_ordered', 'data_driven']) expect(w[m]![0], m).toBeGreaterThan(w[m]![2]!);
  });

  it('gives W-shaped 30/30/30/10 on first, lead-creation and opportunity-creation touches from the milestones', () => {
    const j = { ...four, milestones: { leadTime: T - 14 * DAY, opportunityTime: T - 7 * DAY } };
    const [c] = creditJourney(j, { models: ['w_shaped'], halfLifeDays: 7 });
    expect(c!.shares.map((s) => s.weight)).toEqual([0.3, 0.3, 0.3, 0.1].map((x, i) => (i === 3 ? expect.closeTo(x, 15) : x)));
  });

  it('until a snapshot exists, the algorithmic models credit linearly', () => {
    const credits = creditJourney(four, { models: ['markov', 'shapley', 'shapley_ordered', 'data_driven'], halfLifeDays: 7 });
    for (const c of credits) expect(c.shares.map((s) => s.weight)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('gives a conversion without touches wholly to direct', () => {
    for (const c of creditJourney(journey([]), { models: ALL_MODELS, halfLifeDays: 7 })) {
      expect(c.shares).toEqual([{ touchpointId: '', channel: 'direct', campaign: '', touchTimestamp: T, weight: 1, value: 200 }]);
    }
  });

  it('a retracted journey retracts under every model: no shares, no person', () => {
    for (const c of creditJourney({ ...four, retracted: true }, { models: ALL_MODELS, halfLifeDays: 7 })) {
      expect(c.shares).toEqual([]);
      expect(c.personId).toBe('');
    }
  });
});
