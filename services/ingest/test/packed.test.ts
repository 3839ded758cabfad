import { describe, expect, it } from 'vitest';
import type { BusRecord } from '@touchline/platform';
import type { ProcessResult } from '../src/batch.js';
import { pack, unpack } from '../src/packed.js';

/** What a worker's answer becomes on the main thread: cloned, its buffers moved. */
function acrossThreads(result: ProcessResult): ProcessResult {
  const { packed, transfer } = pack(result);
  return unpack(structuredClone(packed, { transfer }));
}

const text = (r: BusRecord) => (typeof r.value === 'string' ? r.value : Buffer.from(r.value).toString('utf8'));

describe('records handed from a body worker to the main thread', () => {
  it('arrive with the same topics, keys, values and headers, in order', () => {
    const touchpoints: BusRecord[] = [
      { key: 'anon-1', value: '{"v":1,"kind":"touchpoint","campaign":"Frühling €"}' },
      { key: 'ü-ser 😀', value: '{"v":1,"kind":"touchpoint"}', headers: { 'touchline-flags': 'future-clamped' } },
      { key: '', value: '' },
      { key: 'bytes', value: Buffer.from([0, 255, 1, 2]) },
    ];
    const deadletter: BusRecord[] = [{ key: 'd-1', value: '{"v":1,"kind":"deadletter","reason":"x"}' }];
    const result: ProcessResult = {
      ok: true,
      events: 6,
      topics: [
        { topic: 'touchpoints', records: touchpoints },
        { topic: 'deadletter', records: deadletter },
      ],
      rejected: [{ index: 4, path: 'type', reason: 'type: invalid' }],
      dropped: 1,
      clamped: 1,
      accepted: { touchpoints: 4, conversions: 0, identities: 0, costs: 0 },
    };
    const got = acrossThreads(result);
    if (!got.ok) throw new Error('refused');
    expect(got.topics.map((t) => t.topic)).toEqual(['touchpoints', 'deadletter']);
    const [tp, dl] = got.topics;
    expect(tp!.records.map((r) => r.key)).toEqual(touchpoints.map((r) => r.key));
    expect(tp!.records.slice(0, 3).map(text)).toEqual(touchpoints.slice(0, 3).map(text));
    expect([...(tp!.records[3]!.value as Buffer)]).toEqual([0, 255, 1, 2]);
    expect(tp!.records.map((r) => r.headers)).toEqual([undefined, { 'touchline-flags': 'future-clamped' }, undefined, undefined]);
    expect(dl!.records.map(text)).toEqual(deadletter.map(text));
    // The bus takes Buffers.
    for (const r of [...tp!.records, ...dl!.records]) expect(Buffer.isBuffer(r.value)).toBe(true);
    expect({ ...got, topics: undefined }).toEqual({ ...result, topics: undefined });
  });

  it('passes a refusal through unchanged', () => {
    const refused: ProcessResult = { ok: false, status: 400, error: 'bad_request', message: 'body is not valid JSON', reason: 'bad_request' };
    expect(acrossThreads(refused)).toEqual(refused);
  });
});
