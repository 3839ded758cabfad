import { describe, expect, it } from 'vitest';
import { heuristicWeights, journeyWeightsFromChannelScores, journeyWeightsFromPositionScores, markovAttribution, naiveSum } from '../src/index.js';
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

describe('journeyWeightsFromPositionScores (ordered Shapley per journey)', () => {
  const byPosition = new Map([
    ['a', [4, 1]],
    ['b', [2, 1]],
  ]);
  const close = (xs: number[]) => xs.map((x) => expect.closeTo(x, 15));

  it('scores each channel at the position of its first appearance', () => {
    expect(journeyWeightsFromPositionScores(touches('a b'), byPosition)).toEqual(close([0.8, 0.2]));
    expect(journeyWeightsFromPositionScores(touches('b a'), byPosition)).toEqual(close([2 / 3, 1 / 3]));
    // a opens the journey (4) and b comes second (1); a's two touches share its part.
    expect(journeyWeightsFromPositionScores(touches('a b a'), byPosition)).toEqual(close([0.4, 0.2, 0.4]));
  });

  it('a position a channel never held scores 0; all 0 → linear', () => {
    expect(journeyWeightsFromPositionScores(touches('a c'), byPosition)).toEqual([1, 0]);
    expect(journeyWeightsFromPositionScores(touches('c a b'), byPosition)).toEqual([0, 1, 0]);
    expect(journeyWeightsFromPositionScores(touches('c d'), byPosition)).toEqual([0.5, 0.5]);
  });

  it('is what heuristicWeights uses for shapley_ordered when given position scores', () => {
    const journey = [
      { id: '1', channel: 'b', timestamp: 1 },
      { id: '2', channel: 'a', timestamp: 2 },
    ];
    expect(heuristicWeights('shapley_ordered', journey, { conversionTime: 3, positionScores: byPosition })).toEqual(close([2 / 3, 1 / 3]));
    expect(heuristicWeights('shapley_ordered', journey, { conversionTime: 3, channelScores: { a: 1, b: 1 } })).toEqual([0.5, 0.5]);
  });
});
