import { describe, expect, it } from 'vitest';
import { BenchUsageError } from '../src/commands/bench.js';
import { parseAccuracyFlags } from '../src/commands/bench/accuracy.js';

const flags = (o: Record<string, string>) => new Map(Object.entries(o));

describe('bench accuracy flags', () => {
  it('reads scenarios, seeds, a population scale and whether to run the pipeline observation', () => {
    expect(parseAccuracyFlags(flags({ scenario: 'b2b,synergy', seeds: '1,2', scale: '4', pipeline: 'no' }))).toEqual({
      scenario: ['b2b', 'synergy'],
      seeds: [1, 2],
      scale: 4,
      pipeline: 'no',
    });
    expect(parseAccuracyFlags(undefined)).toEqual({});
  });

  it('says what is wrong with a flag', () => {
    expect(() => parseAccuracyFlags(flags({ scale: '0' }))).toThrow(/--scale: between 0 and 16/);
    expect(() => parseAccuracyFlags(flags({ scale: 'x4' }))).toThrow(/--scale: a positive number/);
    expect(() => parseAccuracyFlags(flags({ pipeline: 'maybe' }))).toThrow(/--pipeline: yes or no/);
    expect(() => parseAccuracyFlags(flags({ scenario: 'b2x' }))).toThrow(/unknown scenario "b2x"/);
    expect(() => parseAccuracyFlags(flags({ size: '4' }))).toThrow(BenchUsageError);
    expect(() => parseAccuracyFlags(flags({ size: '4' }))).toThrow(/unknown flag --size; flags: --scenario, --seeds, --scale, --pipeline/);
  });
});
