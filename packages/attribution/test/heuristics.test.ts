import { describe, expect, it } from 'vitest';
import { DAY_MS, heuristicWeights, HEURISTIC_MODEL_NAMES, naiveSum, positionWeights, type JourneyTouch } from '../src/index.js';

const T0 = Date.UTC(2025, 0, 1);
function journey(channels: string, opts: { direct?: string; stages?: Record<number, JourneyTouch['stage']>; stepDays?: number } = {}): JourneyTouch[] {
  const names = channels.split(' ').filter((c) => c.length > 0);
  return names.map((channel, i) => {
    const t: JourneyTouch = { id: `t${i}`, channel, timestamp: T0 + i * (opts.stepDays ?? 1) * DAY_MS };
    if (opts.direct?.split(' ').includes(channel)) t.direct = true;
    const stage = opts.stages?.[i];
    if (stage) t.stage = stage;
    return t;
  });
}
const at = (touches: JourneyTouch[]) => ({ conversionTime: (touches[touches.length - 1]?.timestamp ?? T0) + DAY_MS });

describe('every heuristic model', () => {
  for (const model of HEURISTIC_MODEL_NAMES) {
    it(`${model}: [] for no touches, [1] for one, sums to 1 for 2, 3 and many`, () => {
      expect(heuristicWeights(model, [], { conversionTime: T0 })).toEqual([]);
      expect(heuristicWeights(model, journey('a'), at(journey('a')))).toEqual([1]);
      for (const n of [2, 3, 4, 7, 50, 1000]) {
        const j = journey(Array.from({ length: n }, (_, i) => `c${i % 5}`).join(' '));
        const w = heuristicWeights(model, j, at(j));
        expect(w).toHaveLength(n);
        expect(Math.abs(naiveSum(w) - 1)).toBeLessThanOrEqual(1e-12);
        for (const x of w) expect(x).toBeGreaterThanOrEqual(0);
      }
    });
  }
});

describe('first / last / linear', () => {
  const j = journey('a b c d');
  it('first_touch gives everything to the first touch', () => {
    expect(heuristicWeights('first_touch', j, at(j))).toEqual([1, 0, 0, 0]);
  });
  it('last_touch gives everything to the last touch', () => {
    expect(heuristicWeights('last_touch', j, at(j))).toEqual([0, 0, 0, 1]);
  });
  it('linear splits equally', () => {
    expect(heuristicWeights('linear', j, at(j))).toEqual([0.25, 0.25, 0.25, 0.25]);
    const w3 = heuristicWeights('linear', journey('a b c'), at(j));
    for (const x of w3) expect(x).toBeCloseTo(1 / 3, 15);
    expect(naiveSum(w3)).toBe(1);
  });
});

describe('last_non_direct', () => {
  it('skips trailing direct touches', () => {
    const j = journey('a b direct direct', { direct: 'direct' });
    expect(heuristicWeights('last_non_direct', j, at(j))).toEqual([0, 1, 0, 0]);
  });
  it('takes the last touch when it is not direct', () => {
    const j = journey('direct a direct b', { direct: 'direct' });
    expect(heuristicWeights('last_non_direct', j, at(j))).toEqual([0, 0, 0, 1]);
  });
  it('falls back to the last touch when every touch is direct', () => {
    const j = journey('direct direct direct', { direct: 'direct' });
    expect(heuristicWeights('last_non_direct', j, at(j))).toEqual([0, 0, 1]);
  });
});

describe('position_based (40/20/40)', () => {
  it('one touch 100%, two touches 50/50', () => {
    expect(positionWeights('position_based', 1)).toEqual([1]);
    expect(positionWeights('position_based', 2)).toEqual([0.5, 0.5]);
  });
  it('three touches 40/20/40', () => {
    const w = positionWeights('position_based', 3);
    expect(w[0]).toBe(0.4);
    expect(w[1]).toBeCloseTo(0.2, 15);
    expect(w[2]).toBeCloseTo(0.4, 15);
    expect(naiveSum(w)).toBe(1);
  });
  it('middle touches share 20%', () => {
    const w = positionWeights('position_based', 6);
    expect(w[0]).toBe(0.4);
    for (const x of w.slice(1, 5)) expect(x).toBeCloseTo(0.05, 15);
    expect(w[5]).toBeCloseTo(0.4, 15);
  });
  it('empty → []', () => {
    expect(positionWeights('position_based', 0)).toEqual([]);
  });
});

describe('w_shaped (30/30/30/10)', () => {
  it('credits first, lead and opportunity touches 30% each and shares 10% among the rest', () => {
    const j = journey('a b c d e', { stages: { 2: 'lead', 3: 'opportunity' } });
    const w = heuristicWeights('w_shaped', j, at(j));
    expect(w[0]).toBeCloseTo(0.3, 15);
    expect(w[1]).toBeCloseTo(0.05, 15);
    expect(w[2]).toBeCloseTo(0.3, 15);
    expect(w[3]).toBeCloseTo(0.3, 15);
    expect(w[4]).toBeCloseTo(0.05, 15);
    expect(naiveSum(w)).toBe(1);
  });

  it('finds milestones by time: the last touch at or before the milestone', () => {
    const j = journey('a b c d e');
    const w = heuristicWeights('w_shaped', j, { ...at(j), leadTime: T0 + 1.5 * DAY_MS, opportunityTime: T0 + 3 * DAY_MS });
    // lead → touch 1 (day 1), opportunity → touch 3 (day 3, inclusive)
    expect(w.map((x) => Math.round(x * 1000) / 1000)).toEqual([0.3, 0.3, 0.05, 0.3, 0.05]);
  });

  it('a stage flag wins over a milestone time', () => {
    const j = journey('a b c d', { stages: { 1: 'lead' } });
    const w = heuristicWeights('w_shaped', j, { ...at(j), leadTime: T0 + 2 * DAY_MS, opportunityTime: T0 + 3 * DAY_MS });
    expect(w[1]).toBeCloseTo(0.3, 15);
    expect(w[2]).toBeCloseTo(0.1, 15);
  });

  it('stacks coincident milestones on one touch', () => {
    const j = journey('a b c d', { stages: { 0: 'lead', 2: 'opportunity' } });
    const w = heuristicWeights('w_shaped', j, at(j));
    expect(w[0]).toBeCloseTo(0.6, 15);
    expect(w[2]).toBeCloseTo(0.3, 15);
    expect(w[1]).toBeCloseTo(0.05, 15);
    expect(w[3]).toBeCloseTo(0.05, 15);
  });

  it('gives the 10% to the milestones pro rata when no other touch is left', () => {
    const two = journey('a b', { stages: { 1: 'lead' } });
    two[1]!.stage = 'lead';
    const w2 = heuristicWeights('w_shaped', two, { ...at(two), opportunityTime: two[1]!.timestamp });
    expect(w2[0]).toBeCloseTo(1 / 3, 15);
    expect(w2[1]).toBeCloseTo(2 / 3, 15);
    const three = journey('a b c', { stages: { 1: 'lead', 2: 'opportunity' } });
    for (const x of heuristicWeights('w_shaped', three, at(three))) expect(x).toBeCloseTo(1 / 3, 15);
  });

  it('falls back to position-based when a milestone is missing', () => {
    const j = journey('a b c d e', { stages: { 2: 'lead' } });
    expect(heuristicWeights('w_shaped', j, at(j))).toEqual(positionWeights('position_based', 5));
    const none = journey('a b c d e');
    expect(heuristicWeights('w_shaped', none, at(none))).toEqual(positionWeights('position_based', 5));
    // a milestone time before every touch is missing too
    expect(heuristicWeights('w_shaped', none, { ...at(none), leadTime: T0 - 1, opportunityTime: T0 + DAY_MS })).toEqual(
      positionWeights('position_based', 5),
    );
  });

  it('ignores closed_won markers', () => {
    const j = journey('a b c d', { stages: { 1: 'lead', 2: 'opportunity', 3: 'closed_won' } });
    const w = heuristicWeights('w_shaped', j, at(j));
    expect(w[3]).toBeCloseTo(0.1, 15);
  });
});

describe('time_decay', () => {
  it('halves the weight per half-life of age (continuous, 7 days by default)', () => {
    const j = journey('a b c', { stepDays: 7 });
    const w = heuristicWeights('time_decay', j, { conversionTime: j[2]!.timestamp });
    // ages 14, 7, 0 days → 1/4, 1/2, 1 → /1.75
    expect(w[0]).toBeCloseTo(0.25 / 1.75, 15);
    expect(w[1]).toBeCloseTo(0.5 / 1.75, 15);
    expect(w[2]).toBeCloseTo(1 / 1.75, 15);
    expect(naiveSum(w)).toBe(1);
  });

  it('uses halfLifeDays and fractional ages', () => {
    const j = journey('a b', { stepDays: 0.5 });
    const w = heuristicWeights('time_decay', j, { conversionTime: j[1]!.timestamp + 0.25 * DAY_MS, halfLifeDays: 1 });
    const a = 2 ** -0.75;
    const b = 2 ** -0.25;
    expect(w[0]).toBeCloseTo(a / (a + b), 15);
  });

  it('does not underflow for very old journeys', () => {
    const j = journey('a b', { stepDays: 1 });
    const w = heuristicWeights('time_decay', j, { conversionTime: j[1]!.timestamp + 100_000 * DAY_MS, halfLifeDays: 1 });
    expect(w[0]).toBeCloseTo(1 / 3, 15);
    expect(w[1]).toBeCloseTo(2 / 3, 15);
  });

  it('counts a touch after the conversion as age 0', () => {
    const j = journey('a b', { stepDays: 7 });
    const w = heuristicWeights('time_decay', j, { conversionTime: j[0]!.timestamp });
    expect(w).toEqual([0.5, 0.5]);
  });

  it('rejects a non-positive half-life', () => {
    const j = journey('a b');
    expect(() => heuristicWeights('time_decay', j, { ...at(j), halfLifeDays: 0 })).toThrow(RangeError);
  });
});

describe('algorithmic models through heuristicWeights', () => {
  const j = journey('a b a');
  it('markov/shapley need channel scores', () => {
    expect(() => heuristicWeights('markov', j, at(j))).toThrow(/channelScores/);
    const w = heuristicWeights('shapley', j, { ...at(j), channelScores: { a: 1, b: 2 } });
    expect(w).toEqual([1 / 6, 2 / 3, expect.closeTo(1 / 6, 15)]);
  });
  it('data_driven needs a fitted model', () => {
    expect(() => heuristicWeights('data_driven', j, at(j))).toThrow(/dataDriven/);
  });
});
