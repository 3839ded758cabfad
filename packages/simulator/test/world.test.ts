import { describe, expect, it } from 'vitest';
import { conversionModel, conversionTime, createWorld, simulateOffline, type Scenario } from '../src/index.js';
import { smallScenario } from './helpers.js';

const outcomes = (s: Scenario, seed: number) => {
  const world = createWorld(s, seed);
  const model = conversionModel(s);
  return Array.from({ length: world.unitCount }, (_, u) => conversionTime(model, world.unit(u)));
};

describe('determinism', () => {
  it('the same scenario and seed give the same population, touches and conversions', () => {
    const s = smallScenario({ units: 500 });
    const a = createWorld(s, 7);
    const b = createWorld(s, 7);
    for (let u = 0; u < a.unitCount; u++) expect(b.unit(u)).toEqual(a.unit(u));
    expect(outcomes(s, 7)).toEqual(outcomes(s, 7));
  });

  it('a unit is the same whether drawn alone or after all the others', () => {
    const world = createWorld(smallScenario({ units: 300 }), 3);
    const late = world.unit(299);
    for (let u = 0; u < 299; u++) world.unit(u);
    expect(world.unit(299)).toEqual(late);
  });

  it('another seed gives another population', () => {
    const s = smallScenario({ units: 500 });
    const a = createWorld(s, 7);
    const b = createWorld(s, 8);
    let same = 0;
    for (let u = 0; u < a.unitCount; u++) if (JSON.stringify(a.unit(u).touches) === JSON.stringify(b.unit(u).touches)) same++;
    // Only people no channel reached look alike.
    expect(same).toBeLessThan(100);
  });

  it('the whole offline run is reproducible', () => {
    const s = smallScenario({ units: 3_000 });
    const first = simulateOffline(s, 11);
    const again = simulateOffline(s, 11);
    expect(again.truth).toEqual(first.truth);
    expect(again.accuracy).toEqual(first.accuracy);
  });
});

describe('common random numbers', () => {
  it('removing a channel that has no effect changes no conversion', () => {
    const s = smallScenario({ units: 4_000 });
    const without: Scenario = { ...s, channels: s.channels.filter((c) => c.name !== 'banner') };
    const withBanner = outcomes(s, 5);
    expect(withBanner.filter((t) => t !== undefined).length).toBeGreaterThan(100);
    expect(outcomes(without, 5)).toEqual(withBanner);
  });

  it('adding a channel that has no effect changes no conversion, and its true incremental is 0', () => {
    const s = smallScenario({ units: 4_000 });
    const more: Scenario = { ...s, channels: [...s.channels, { ...s.channels[0]!, name: 'podcast', effect: 0 }] };
    expect(outcomes(more, 9)).toEqual(outcomes(s, 9));
    const truth = simulateOffline(more, 9).truth;
    expect(truth.channels.find((c) => c.channel === 'podcast')?.incrementalConversions).toBe(0);
    expect(truth.channels.find((c) => c.channel === 'banner')?.incrementalConversions).toBe(0);
  });

  it('removing a channel that works only delays or prevents conversions, never causes one', () => {
    const s = smallScenario({ units: 4_000 });
    const model = conversionModel(s);
    const world = createWorld(s, 2);
    const removed = new Uint8Array(s.channels.length);
    removed[0] = 1;
    let lost = 0;
    for (let u = 0; u < world.unitCount; u++) {
      const unit = world.unit(u);
      const factual = conversionTime(model, unit);
      const counterfactual = conversionTime(model, unit, removed);
      if (factual === undefined) expect(counterfactual).toBeUndefined();
      else if (counterfactual === undefined) lost++;
      else expect(counterfactual).toBeGreaterThanOrEqual(factual);
    }
    expect(lost).toBeGreaterThan(20);
  });
});

describe('ground truth where the answer is known analytically', () => {
  // Independent additive hazards, no frailty: channel c reaches a person with probability r_c and
  // adds hazard a_c at a single touch on day 10 (all of it well inside the 60-day horizon). With
  // Λ = h·H + Σ a_c x_c and P(convert) = 1 − e^(−Λ), removing c loses, in expectation,
  //   N · r_c · (1 − e^(−a_c)) · e^(−hH) · Π_{d≠c} (1 − r_d + r_d e^(−a_d))   conversions.
  const h = 0.002;
  const H = 60;
  const spec = [
    { name: 'alpha', reach: 0.5, effect: 0.3 },
    { name: 'beta', reach: 0.3, effect: 0.8 },
    { name: 'gamma', reach: 0.4, effect: 0 },
  ];
  const N = 60_000;
  const scenario: Scenario = {
    ...smallScenario(),
    units: N,
    horizonDays: H,
    baselineHazard: h,
    frailtySigma: 0,
    channels: spec.map((c) => ({ name: c.name, interaction: 'click', campaigns: ['only'], reach: c.reach, eventDays: [10], effect: c.effect, spreadDays: 0.01, costPerDay: 0 })),
  };
  const run = simulateOffline(scenario, 21);
  const expected = (c: number) => {
    const me = spec[c]!;
    let rest = Math.exp(-h * H);
    spec.forEach((d, i) => {
      if (i !== c) rest *= 1 - d.reach + d.reach * Math.exp(-d.effect);
    });
    return N * me.reach * (1 - Math.exp(-me.effect)) * rest;
  };

  it('each channel’s realised incremental conversions are within 4 standard deviations of the formula', () => {
    spec.forEach((c, i) => {
      const got = run.truth.channels.find((t) => t.channel === c.name)!.incrementalConversions;
      const want = expected(i);
      // Each unit is lost or not: a sum of independent Bernoullis, variance ≤ mean.
      expect(Math.abs(got - want), `${c.name}: ${got} vs ${want.toFixed(1)}`).toBeLessThanOrEqual(4 * Math.sqrt(want) + 1e-9);
    });
    expect(run.truth.channels.find((t) => t.channel === 'gamma')!.incrementalConversions).toBe(0);
  });

  it('the expected (threshold-averaged) truth is within 1% of the formula, and the true shares follow', () => {
    spec.forEach((c, i) => {
      const got = run.truth.channels.find((t) => t.channel === c.name)!.expectedIncrementalConversions;
      if (c.effect === 0) expect(got).toBe(0);
      else expect(Math.abs(got / expected(i) - 1)).toBeLessThan(0.02);
    });
    const total = expected(0) + expected(1);
    expect(run.truth.channels[0]!.expectedShare).toBeCloseTo(expected(0) / total, 2);
    expect(run.truth.channels[0]!.share).toBeCloseTo(expected(0) / total, 1);
  });

  it('baseline conversions match N·(1 − e^(−hH)) within 4 standard deviations', () => {
    const want = N * (1 - Math.exp(-h * H));
    expect(Math.abs(run.truth.baselineConversions - want)).toBeLessThan(4 * Math.sqrt(want));
  });
});
