import { describe, expect, it } from 'vitest';
import { journeyWeightsFromChannelScores, markovAttribution, naiveSum } from '../src/index.js';
import { anchorStats } from './anchors.js';

const touches = (s: string) => s.split(' ').map((channel) => ({ channel }));

describe('journeyWeightsFromChannelScores', () => {
  it('splits over distinct channels by score, then equally over each channel’s touches', () => {
    const w = journeyWeightsFromChannelScores(touches('a b a a'), { a: 3, b: 1 });
    expect(w[1]).toBeCloseTo(0.25, 15);
    for (const i of [0, 2, 3]) expect(w[i]).toBeCloseTo(0.25, 15);
    const w2 = journeyWeightsFromChannelScores(touches('a b a'), new Map([['a', 1], ['b', 1]]));
    expect(w2).toEqual([0.25, 0.5, 0.25]);
  });

  it('ignores the scores of channels not in the journey', () => {
    expect(journeyWeightsFromChannelScores(touches('a b'), { a: 1, b: 3, c: 100 })).toEqual([0.25, 0.75]);
  });

  it('treats missing, negative and non-finite scores as 0', () => {
    expect(journeyWeightsFromChannelScores(touches('a b c d'), { a: 2, b: -1, c: Number.NaN })).toEqual([1, 0, 0, 0]);
  });

  it('falls back to linear when every channel scores 0', () => {
    expect(journeyWeightsFromChannelScores(touches('a b a d'), { a: 0 })).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('no touches → []', () => {
    expect(journeyWeightsFromChannelScores([], { a: 1 })).toEqual([]);
  });

  it('applies Markov removal effects to a journey', () => {
    const m = markovAttribution(anchorStats('toy_puzyrov_input.csv'));
    const scores = new Map(m.credits.map((c, i) => [c.channel, m.removalEffects[i]!]));
    const w = journeyWeightsFromChannelScores(touches('mailing google_ads').map((t) => ({ channel: t.channel.replace('_', ' ') })), scores);
    expect(w[0]).toBeCloseTo(0.4, 12); // 0.5 / (0.5 + 0.75)
    expect(naiveSum(w)).toBe(1);
  });
});
