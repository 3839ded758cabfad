/**
 * KafkaBus against librdkafka's mock cluster (3 brokers, real wire protocol), started by the
 * globalSetup `test/setup/kafka-mock.ts` through kcat. Without kcat the suite is skipped LOUDLY;
 * CI installs kcat, so there it runs.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { KafkaBus, type BusLogger } from '../src/bus/kafka.js';
import { murmur2Partitioner } from '../src/bus/partitioner.js';
import type { BusRecord, ConsumedBatch, ConsumedRecord, Consumer } from '../src/bus/types.js';
import { KAFKA_TEST_TUNING } from '../../../test/support/kafka-tuning.js';

const brokers = inject('kafkaBrokers');
if (!brokers) {
  console.warn(
    '\n[kafka-bus.test] SKIPPED: no Kafka mock cluster (kcat missing, see the globalSetup warning). ' +
      'Install kcat to run these tests.\n',
  );
}

interface LogLine {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

/** `TOUCHLINE_KAFKA_TEST_LOG=1` prints the bus's and kafkajs' logs with timestamps (debugging CI). */
const echo = process.env.TOUCHLINE_KAFKA_TEST_LOG === '1';
const T0 = Date.now();

function collectingLogger(lines: LogLine[]): BusLogger {
  const log = (level: LogLine['level']) => (obj: object, msg?: string) => {
    lines.push({ level, obj, msg });
    if (echo) console.log(`+${Date.now() - T0}ms ${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
  };
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function openBus(logs: LogLine[] = []): Promise<KafkaBus> {
  const bus = await KafkaBus.connect({
    brokers: brokers.split(','),
    clientId: `test-${randomUUID().slice(0, 8)}`,
    logger: collectingLogger(logs),
    consumer: KAFKA_TEST_TUNING,
    topicReadyTimeoutMs: 10_000,
  });
  cleanups.push(() => bus.close());
  return bus;
}

function prefix(): string {
  return `t${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  if (echo) console.log(`+${Date.now() - T0}ms waiting for ${what}`);
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Payload {
  seq: number;
  key: string;
}

function rec(seq: number, key: string, extra: Partial<BusRecord> = {}): BusRecord {
  return { key, value: JSON.stringify({ seq, key } satisfies Payload), ...extra };
}

function payload(r: ConsumedRecord): Payload {
  return JSON.parse(r.value.toString('utf8')) as Payload;
}

function sum(m: Map<number, string>): number {
  let n = 0;
  for (const v of m.values()) n += Number(v);
  return n;
}

/** `topic:partition` → high watermark, the shape `Consumer.committed()` uses. */
async function endOffsetsByTp(bus: KafkaBus, topics: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const t of topics) {
    for (const [p, o] of await bus.endOffsets(t)) if (o !== '0') out.set(`${t}:${p}`, o);
  }
  return out;
}

function sorted(m: Map<string, string>): Array<[string, string]> {
  return [...m].sort(([a], [b]) => a.localeCompare(b));
}

describe.skipIf(!brokers)('KafkaBus on the librdkafka mock cluster', () => {
  it('ensureTopics creates topics (createTopics or auto-creation fallback), idempotently', async () => {
    const bus = await openBus();
    const p = prefix();
    const topics = [`${p}.a`, `${p}.b`];
    // Listed through a separate plain admin: listTopics (a metadata request for all topics) does
    // not auto-create, unlike the per-topic metadata behind endOffsets.
    const admin = new Kafka({ clientId: 'probe', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const ours = async (): Promise<string[]> => (await admin.listTopics()).filter((t) => t.startsWith(p)).sort();

    expect(await ours()).toEqual([]);
    await bus.ensureTopics(topics, 4);
    expect(await ours()).toEqual(topics);
    await bus.ensureTopics([...topics, topics[0]!], 4); // idempotent, duplicates tolerated
    expect(await ours()).toEqual(topics);
    const { topics: meta } = await admin.fetchTopicMetadata({ topics });
    for (const t of meta) {
      expect(t.partitions.map((x) => x.partitionId).sort()).toEqual([0, 1, 2, 3]);
      for (const x of t.partitions) expect(x.leader).toBeGreaterThanOrEqual(0);
    }
    for (const t of topics) expect(await bus.endOffsets(t)).toEqual(new Map([[0, '0'], [1, '0'], [2, '0'], [3, '0']]));
    expect(bus.kind).toBe('kafka');

    await bus.close();
    await expect(bus.publish(topics[0]!, [rec(0, 'k')])).rejects.toThrow(/closed/);
  });

  it('publish/publishMany → consume round trip: same key same partition (murmur2), order, payload', async () => {
    const logs: LogLine[] = [];
    const bus = await openBus(logs);
    const p = prefix();
    const [ta, tb] = [`${p}.a`, `${p}.b`];
    await bus.ensureTopics([ta, tb], 4);

    // Keys with known Java murmur2 values (Kafka's UtilsTest) → partition on 4 partitions.
    const known: Record<string, number> = {
      '21': 0,
      foobar: 2,
      'a-little-bit-long-string': 0,
      'a-little-bit-longer-string': 3,
      lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8: 1,
      abc: 3,
    };
    const keys = [...Object.keys(known), ...Array.from({ length: 14 }, (_, i) => `user-${i}`)];
    const keyOf = (seq: number): string => keys[seq % keys.length]!;

    await bus.publish(ta, Array.from({ length: 60 }, (_, s) => rec(s, keyOf(s), { headers: { h: `v${s}` } })));
    await bus.publish(ta, Array.from({ length: 40 }, (_, i) => rec(60 + i, keyOf(60 + i), { timestamp: 1_700_000_000_000 + i })));
    await bus.publishMany([
      { topic: ta, records: Array.from({ length: 50 }, (_, i) => rec(100 + i, keyOf(100 + i))) },
      { topic: tb, records: Array.from({ length: 50 }, (_, s) => rec(s, keyOf(s))) },
      { topic: ta, records: [] },
    ]);
    expect(sum(await bus.endOffsets(ta))).toBe(150);
    expect(sum(await bus.endOffsets(tb))).toBe(50);

    const got: ConsumedRecord[] = [];
    const batches: ConsumedBatch[] = [];
    const consumer = await bus.consume({
      groupId: `${p}-g`,
      topics: [ta, tb],
      maxBatchSize: 7,
      handler: async (batch) => {
        batches.push(batch);
        got.push(...batch.records);
      },
    });
    await waitFor(() => got.length >= 200, '200 records');

    // Batches: one topic-partition each, at most maxBatchSize, consecutive offsets.
    for (const b of batches) {
      expect(b.records.length).toBeGreaterThan(0);
      expect(b.records.length).toBeLessThanOrEqual(7);
      b.records.forEach((r, i) => {
        expect([r.topic, r.partition]).toEqual([b.topic, b.partition]);
        if (i > 0) expect(BigInt(r.offset)).toBe(BigInt(b.records[i - 1]!.offset) + 1n);
      });
    }

    // Exactly the published records (no failures here, so no redelivery either).
    const ids = got.map((r) => `${r.topic}/${payload(r).seq}`);
    expect(new Set(ids).size).toBe(200);
    expect(got.length).toBe(200);

    const partitionOf = new Map<string, number>();
    const lastSeq = new Map<string, number>();
    for (const r of got) {
      const { seq, key } = payload(r);
      expect(r.key).toBe(key);
      const tk = `${r.topic}/${key}`;
      const part = partitionOf.get(tk);
      if (part === undefined) partitionOf.set(tk, r.partition);
      else expect(r.partition).toBe(part);
      expect(r.partition).toBe(murmur2Partitioner(key, 4));
      if (key in known) expect(r.partition).toBe(known[key]);
      // `got` is in delivery order, which within a partition is offset order: publish order per key.
      expect(seq).toBeGreaterThan(lastSeq.get(tk) ?? -1);
      lastSeq.set(tk, seq);
      if (r.topic === ta && seq < 60) expect(r.headers).toEqual({ h: `v${seq}` });
      if (r.topic === ta && seq >= 60 && seq < 100) expect(r.timestamp).toBe(1_700_000_000_000 + seq - 60);
      else expect(Math.abs(r.timestamp - Date.now())).toBeLessThan(120_000);
    }

    // Everything handled is committed (offset = last + 1 = high watermark).
    const end = await endOffsetsByTp(bus, [ta, tb]);
    await waitFor(async () => JSON.stringify(sorted(await consumer.committed())) === JSON.stringify(sorted(end)), 'commits');

    // pause(): nothing is handed out until resume().
    consumer.pause();
    await bus.publish(ta, Array.from({ length: 10 }, (_, i) => rec(200 + i, keyOf(i))));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(got.length).toBe(200);
    consumer.resume();
    await waitFor(() => got.length === 210, 'records published while paused, after resume');

    await consumer.stop();
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('commits after the handler; a new member of the group resumes after the committed offset', async () => {
    const bus = await openBus();
    const p = prefix();
    const topic = `${p}.events`;
    const groupId = `${p}-g`;
    await bus.ensureTopics([topic], 4);
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    await bus.publish(topic, Array.from({ length: 40 }, (_, s) => rec(s, keys[s % keys.length]!)));

    // Member 1 handles seq < 25 and refuses (throws) from seq 25 on, one record per batch: per
    // partition, everything before the first refused record is committed, nothing from it on.
    const seen1: ConsumedRecord[] = [];
    const errors1: Array<{ partition: number; firstOffset: string }> = [];
    const c1 = await bus.consume({
      groupId,
      topics: [topic],
      maxBatchSize: 1,
      // Partitions in parallel, so one partition's refusal does not hold the others back; the long
      // backoff is what stop() must cut short.
      tuning: { partitionsConsumedConcurrently: 4, retryInitialMs: 10_000, retryMaxMs: 10_000 },
      onError: (_err, b) => errors1.push(b),
      handler: async (batch) => {
        if (batch.records.some((r) => payload(r).seq >= 25)) throw new Error('refused');
        seen1.push(...batch.records);
      },
    });

    // Expected commits: per partition, the offset after its last record with seq < 25 (= the first
    // refused one, or the end); no entry for a partition that starts with a refused record.
    const expected = new Map<string, string>();
    await waitFor(() => seen1.length >= 25, 'member 1 handled seq < 25');
    for (const r of seen1) {
      const k = `${topic}:${r.partition}`;
      const next = (BigInt(r.offset) + 1n).toString();
      if (BigInt(expected.get(k) ?? '0') < BigInt(next)) expected.set(k, next);
    }
    await waitFor(async () => JSON.stringify(sorted(await c1.committed())) === JSON.stringify(sorted(expected)), 'member 1 commits');
    await waitFor(() => errors1.length > 0, 'member 1 refusal reported');
    expect(new Set(seen1.map((r) => payload(r).seq))).toEqual(new Set(Array.from({ length: 25 }, (_, i) => i)));
    for (const e of errors1) expect(BigInt(e.firstOffset)).toBe(BigInt(expected.get(`${topic}:${e.partition}`) ?? '0'));

    const t0 = Date.now();
    await c1.stop(); // in a 10 s backoff right now
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(sorted(await c1.committed())).toEqual(sorted(expected)); // nothing committed past a failure

    await bus.publish(topic, Array.from({ length: 10 }, (_, i) => rec(40 + i, keys[i]!)));

    // Member 2 (same group): exactly the uncommitted records, none of the committed ones.
    const seen2: ConsumedRecord[] = [];
    const c2 = await bus.consume({
      groupId,
      topics: [topic],
      handler: async (batch) => {
        seen2.push(...batch.records);
      },
    });
    await waitFor(() => seen2.length >= 25, 'member 2 gets seq 25..49');
    await new Promise((r) => setTimeout(r, 300)); // would catch late redeliveries
    expect(seen2.map((r) => payload(r).seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => 25 + i));
    const end = await endOffsetsByTp(bus, [topic]);
    await waitFor(async () => JSON.stringify(sorted(await c2.committed())) === JSON.stringify(sorted(end)), 'member 2 commits');
    await c2.stop();
  });

  it('a failing handler gets its batch again; nothing after it is committed; the consumer survives', async () => {
    const logs: LogLine[] = [];
    const bus = await openBus(logs);
    const p = prefix();
    const topic = `${p}.events`;
    await bus.ensureTopics([topic], 4);
    const target = 'foobar'; // partition 2 of 4
    const others = Array.from({ length: 40 }, (_, i) => `other-${i}`)
      .filter((k) => murmur2Partitioner(k, 4) !== 2)
      .slice(0, 5);
    // Partition 2 holds only `foobar`: seq 0, 2, 4, … at offsets 0, 1, 2, …; seq 14 is offset 7.
    await bus.publish(topic, Array.from({ length: 40 }, (_, s) => rec(s, s % 2 === 0 ? target : others[s % 5]!)));
    const poisonSeq = 14;

    let failuresLeft = 4;
    const deliveries = new Map<string, number>(); // partition:offset → times handed out
    const errors: Array<{ err: unknown; partition: number; firstOffset: string }> = [];
    const failedChunks: string[][] = [];
    const committedDuringFailures: string[] = [];
    const offeredDuringFailures: bigint[] = [];
    const self: { consumer?: Consumer } = {}; // the handler may run before `consume` resolved
    const consumer = await bus.consume({
      groupId: `${p}-g`,
      topics: [topic],
      maxBatchSize: 3,
      onError: (err, b) => errors.push({ err, ...b }),
      handler: async (batch) => {
        for (const r of batch.records) {
          const k = `${r.partition}:${r.offset}`;
          deliveries.set(k, (deliveries.get(k) ?? 0) + 1);
          if (failuresLeft > 0 && r.partition === 2) offeredDuringFailures.push(BigInt(r.offset));
        }
        if (failuresLeft > 0 && batch.records.some((r) => payload(r).seq === poisonSeq)) {
          failuresLeft--;
          failedChunks.push(batch.records.map((r) => r.offset));
          if (self.consumer) committedDuringFailures.push((await self.consumer.committed()).get(`${topic}:2`) ?? 'none');
          throw new Error('poison');
        }
      },
    });

    self.consumer = consumer;
    await waitFor(() => failuresLeft === 0, 'four failures');
    const end = await endOffsetsByTp(bus, [topic]);
    await waitFor(async () => JSON.stringify(sorted(await consumer.committed())) === JSON.stringify(sorted(end)), 'full commit');

    // The same chunk came back each time; onError named its first offset.
    expect(failedChunks.length).toBe(4);
    const chunk = failedChunks[0]!;
    expect(chunk).toContain('7');
    for (const c of failedChunks) expect(c).toEqual(chunk);
    const first = BigInt(chunk[0]!);
    const last = BigInt(chunk.at(-1)!);
    expect(errors.length).toBe(4);
    for (const e of errors) {
      expect(e.partition).toBe(2);
      expect(e.firstOffset).toBe(chunk[0]);
      expect((e.err as Error).message).toBe('poison');
    }
    // While it failed, partition 2 was committed exactly up to the failed chunk, never past it,
    // and no record after the chunk was handed out.
    expect(committedDuringFailures.length).toBeGreaterThanOrEqual(3);
    for (const c of committedDuringFailures) expect(c === 'none' ? 0n : BigInt(c)).toBe(first);
    expect(offeredDuringFailures.every((o) => o <= last)).toBe(true);
    // Committed records before it were not delivered again; the failed chunk was, each time.
    for (let o = 0n; o < first; o++) expect(deliveries.get(`2:${o}`)).toBe(1);
    for (let o = first; o <= last; o++) expect(deliveries.get(`2:${o}`)).toBe(5);
    expect(deliveries.size).toBe(40); // every record delivered

    // Still alive: new records are consumed, and kafkajs never crashed.
    await bus.publish(topic, [rec(100, target), rec(101, others[0]!)]);
    await waitFor(() => deliveries.size === 42, 'records published after the failures');
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
    await consumer.stop();
  });

  it('two members of one group split the partitions, rebalance on join and leave, and see every record', async () => {
    const bus = await openBus();
    const p = prefix();
    const topic = `${p}.events`;
    const groupId = `${p}-g`;
    await bus.ensureTopics([topic], 4);
    const keys = Array.from({ length: 16 }, (_, i) => `u${i}`);
    const publishPhase = (phase: number): Promise<void> =>
      bus.publish(topic, Array.from({ length: 40 }, (_, i) => rec(phase * 100 + i, keys[i % keys.length]!)));

    const seenBy = { a: [] as ConsumedRecord[], b: [] as ConsumedRecord[] };
    const member = (name: 'a' | 'b') =>
      bus.consume({
        groupId,
        topics: [topic],
        handler: async (batch) => {
          seenBy[name].push(...batch.records);
        },
      });
    const seqs = (rs: ConsumedRecord[], phase: number): Set<number> =>
      new Set(rs.map((r) => payload(r).seq).filter((s) => Math.floor(s / 100) === phase));
    const partitions = (rs: ConsumedRecord[], phase: number): Set<number> =>
      new Set(rs.filter((r) => Math.floor(payload(r).seq / 100) === phase).map((r) => r.partition));
    const union = (phase: number): Set<number> => new Set([...seqs(seenBy.a, phase), ...seqs(seenBy.b, phase)]);

    // Phase 0: A alone gets every partition.
    const a = await member('a');
    await publishPhase(0);
    await waitFor(() => seqs(seenBy.a, 0).size === 40, 'A consumes phase 0');
    expect(partitions(seenBy.a, 0)).toEqual(new Set([0, 1, 2, 3]));

    // Phase 1: B joins → rebalance; `consume` resolves once B's join+sync completed.
    const b = await member('b');
    await publishPhase(1);
    await waitFor(() => union(1).size === 40, 'A+B consume phase 1');
    const pa = partitions(seenBy.a, 1);
    const pb = partitions(seenBy.b, 1);
    expect(pa.size).toBeGreaterThan(0);
    expect(pb.size).toBeGreaterThan(0);
    expect([...pa].filter((x) => pb.has(x))).toEqual([]); // disjoint
    expect(seqs(seenBy.b, 0).size).toBe(0); // B got nothing A had committed

    // Phase 2: A leaves → B owns everything.
    await a.stop();
    await publishPhase(2);
    await waitFor(() => seqs(seenBy.b, 2).size === 40, 'B consumes phase 2 alone', 20_000);
    expect(partitions(seenBy.b, 2)).toEqual(new Set([0, 1, 2, 3]));
    await b.stop();

    for (const phase of [0, 1, 2]) expect(union(phase).size).toBe(40);
  });

  it('announces assignments: all partitions to a lone member, nothing during a rebalance, disjoint halves after, all again when one leaves', async () => {
    const bus = await openBus();
    const p = prefix();
    const topic = `${p}.owned`;
    const groupId = `${p}-owners`;
    await bus.ensureTopics([topic], 4);
    const seen = { a: [] as number[][], b: [] as number[][] };
    const member = (name: 'a' | 'b') =>
      bus.consume({
        groupId,
        topics: [topic],
        commit: false,
        onAssignment: (assignment) => {
          expect(assignment.every((tp) => tp.topic === topic)).toBe(true);
          seen[name].push(assignment.map((tp) => tp.partition));
        },
        handler: async () => undefined,
      });
    const last = (name: 'a' | 'b'): number[] | undefined => seen[name][seen[name].length - 1];

    const a = await member('a');
    expect(last('a')).toEqual([0, 1, 2, 3]);

    const b = await member('b');
    await waitFor(() => (last('a')?.length ?? 0) > 0 && (last('a')?.length ?? 0) < 4 && (last('b')?.length ?? 0) > 0, 'a split between A and B');
    // A gave everything up before the split was handed out: eager rebalancing.
    expect(seen.a.slice(1).some((x) => x.length === 0)).toBe(true);
    expect([...last('a')!, ...last('b')!].sort()).toEqual([0, 1, 2, 3]);

    await a.stop();
    expect(last('a')).toEqual([]);
    await waitFor(() => last('b')?.length === 4, 'B holds every partition after A left', 20_000);
    await b.stop();
    expect(last('b')).toEqual([]);
  });
});
