import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { murmur2, murmur2Partitioner, murmur2String } from '../src/bus/partitioner.js';

const require = createRequire(import.meta.url);
// kafkajs's own implementations: the hash, and the DefaultPartitioner built on it.
const kafkaMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string | Buffer) => number;
const { Partitioners } = require('kafkajs') as {
  Partitioners: {
    DefaultPartitioner: () => (args: {
      topic: string;
      partitionMetadata: Array<{ partitionId: number; leader: number }>;
      message: { key: string };
    }) => number;
  };
};

function randomKey(i: number): string {
  switch (i % 5) {
    case 0:
      return randomBytes(1 + (i % 40)).toString('hex');
    case 1:
      return `user-${i}-${Math.random()}`;
    case 2:
      // Non-ASCII: multi-byte UTF-8 (accents, CJK, emoji as surrogate pairs).
      return `é${i}漢字🙂${randomBytes(3).toString('base64')}`;
    case 3:
      return randomBytes(i % 4).toString('latin1'); // 0..3 chars, exercises every tail length and ''
    default:
      return String.fromCharCode(...Array.from({ length: 1 + (i % 13) }, () => Math.floor(Math.random() * 0xd7ff)));
  }
}

describe('murmur2Partitioner', () => {
  it('hashes exactly like kafkajs murmur2 for thousands of random keys', () => {
    for (let i = 0; i < 5000; i++) {
      const key = randomKey(i);
      expect(murmur2(Buffer.from(key)), JSON.stringify(key)).toBe(kafkaMurmur2(key));
      expect(murmur2String(key), JSON.stringify(key)).toBe(kafkaMurmur2(key));
    }
  });

  it('picks the same partition as kafkajs DefaultPartitioner', () => {
    const kafka = Partitioners.DefaultPartitioner();
    for (const n of [1, 2, 3, 4, 7, 12, 64]) {
      const partitionMetadata = Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0 }));
      for (let i = 0; i < 1000; i++) {
        const key = randomKey(i);
        const expected = kafka({ topic: 't', partitionMetadata, message: { key } });
        expect(murmur2Partitioner(key, n), `${JSON.stringify(key)} / ${n}`).toBe(expected);
      }
    }
  });

  it('matches known Kafka values and masks the sign bit rather than taking abs', () => {
    // Values of org.apache.kafka.common.utils.Utils.murmur2 (Kafka's own unit tests).
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from(''))).toBe(275646681);
    // -973932308 & 0x7fffffff = 1173551340, not 973932308 (what Math.abs would give).
    expect(murmur2Partitioner('21', 1_000_000_007)).toBe(1173551340 % 1_000_000_007);
  });

  it('rejects a non-positive partition count', () => {
    expect(() => murmur2Partitioner('k', 0)).toThrow(RangeError);
  });
});
