import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CorruptLogError, EmbeddedBus, type EmbeddedBusOptions } from '../src/bus/embedded/index.js';
import { crc32, crc32Table } from '../src/bus/embedded/crc32.js';
import { murmur2Partitioner } from '../src/bus/partitioner.js';
import type { BusRecord, ConsumedBatch, ConsumedRecord } from '../src/bus/types.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(here, '../../..');

const dirs: string[] = [];
const buses: EmbeddedBus[] = [];

afterEach(async () => {
  for (const b of buses.splice(0)) await b.close().catch(() => undefined);
  for (const d of dirs.splice(0)) await fs.promises.rm(d, { recursive: true, force: true });
});

async function tmpDir(): Promise<string> {
  const d = await fs.promises.mkdtemp(join(os.tmpdir(), 'tl-embedded-bus-'));
  dirs.push(d);
  return d;
}

interface Warn {
  obj: Record<string, unknown>;
  msg?: string;
}

async function open(opts: Partial<EmbeddedBusOptions> & { dir: string }, warns: Warn[] = []): Promise<EmbeddedBus> {
  const bus = await EmbeddedBus.open({
    logger: { warn: (obj, msg) => warns.push({ obj: obj as Record<string, unknown>, msg }) },
    retryBackoff: { initialMs: 10, maxMs: 40 },
    ...opts,
  });
  buses.push(bus);
  return bus;
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolveFn!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolveFn = r));
  return { promise, resolve: resolveFn };
}

/** A key that the partitioner sends to `partition` of `n`. */
function keyFor(partition: number, n: number, salt = ''): string {
  for (let i = 0; ; i++) {
    const k = `key-${salt}${i}`;
    if (murmur2Partitioner(k, n) === partition) return k;
  }
}

async function endOffsets(bus: EmbeddedBus, topic: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const [p, o] of await bus.endOffsets(topic)) out.set(p, Number(o));
  return out;
}

/** Reads every durable record of `topics` through a fresh consumer group. */
async function drain(bus: EmbeddedBus, topics: string[], maxBatchSize?: number): Promise<ConsumedRecord[]> {
  const ends = new Map<string, number>();
  for (const t of topics) for (const [p, o] of await endOffsets(bus, t)) ends.set(`${t}:${p}`, o);
  const got: ConsumedRecord[] = [];
  const progress = new Map<string, number>();
  const consumer = await bus.consume({
    groupId: `drain-${randomUUID()}`,
    topics,
    maxBatchSize,
    handler: async (batch) => {
      got.push(...batch.records);
      progress.set(`${batch.topic}:${batch.partition}`, Number(batch.records.at(-1)!.offset) + 1);
    },
  });
  await vi.waitFor(
    () => {
      for (const [k, e] of ends) if (e > 0) expect(progress.get(k) ?? 0).toBeGreaterThanOrEqual(e);
    },
    { timeout: 20_000, interval: 5 },
  );
  await consumer.stop();
  return got;
}

function byPartition(records: ConsumedRecord[]): Map<string, ConsumedRecord[]> {
  const out = new Map<string, ConsumedRecord[]>();
  for (const r of records) {
    const k = `${r.topic}:${r.partition}`;
    if (!out.has(k)) out.set(k, []);
    out.get(k)!.push(r);
  }
  return out;
}

function expectContiguousFromZero(records: ConsumedRecord[]): void {
  records.forEach((r, i) => expect(Number(r.offset), `${r.topic}:${r.partition}`).toBe(i));
}

async function segmentFiles(dir: string, topic: string, partition: number): Promise<string[]> {
  return (await fs.promises.readdir(join(dir, 'topics', topic, String(partition)))).filter((n) => n.endsWith('.log')).sort();
}

describe('crc32', () => {
  it('agrees with the table implementation and the standard check value', () => {
    expect(crc32Table(Buffer.from('123456789'))).toBe(0xcbf43926);
    const buf = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xff));
    for (const [s, e] of [[0, 5000], [3, 4000], [100, 101], [7, 7]] as const) {
      expect(crc32(buf, s, e)).toBe(crc32Table(buf, s, e));
    }
  });
});

describe('EmbeddedBus', () => {
  it('round-trips records over several topics and partitions, keyed partitioning, per-partition order', async () => {
    const dir = await tmpDir();
    const bus = await open({ dir, partitions: 3 });
    await bus.ensureTopics(['alpha'], 4);
    await bus.ensureTopics(['beta'], 2);
    // 'gamma' is auto-created by the first publish, with the default count (3).
    const sent: Array<{ topic: string; rec: BusRecord }> = [];
    const keys = Array.from({ length: 17 }, (_, i) => `user-${i}-é`);
    const publishes: Promise<void>[] = [];
    let seq = 0;
    for (let round = 0; round < 30; round++) {
      const batchFor = (topic: string): { topic: string; records: BusRecord[] } => {
        const records: BusRecord[] = [];
        for (let i = 0; i < 7; i++) {
          const key = keys[(round * 7 + i) % keys.length]!;
          const rec: BusRecord = {
            key,
            value: round % 2 ? JSON.stringify({ seq, topic }) : Buffer.from(JSON.stringify({ seq, topic })),
            headers: { seq: String(seq), 'x-ü': '漢字' },
            timestamp: 1_700_000_000_000 + seq,
          };
          seq++;
          records.push(rec);
          sent.push({ topic, rec });
        }
        return { topic, records };
      };
      // Mix publish and publishMany, several in flight at once.
      publishes.push(bus.publish('alpha', batchFor('alpha').records));
      publishes.push(bus.publishMany([batchFor('beta'), batchFor('gamma')]));
    }
    await Promise.all(publishes);

    const counts = { alpha: 4, beta: 2, gamma: 3 } as const;
    for (const [topic, n] of Object.entries(counts)) {
      const ends = await endOffsets(bus, topic);
      expect([...ends.keys()].sort()).toEqual(Array.from({ length: n }, (_, i) => i));
      expect([...ends.values()].reduce((a, b) => a + b, 0)).toBe(sent.filter((s) => s.topic === topic).length);
    }

    const batches: ConsumedBatch[] = [];
    const got: ConsumedRecord[] = [];
    const consumer = await bus.consume({
      groupId: 'g',
      topics: ['alpha', 'beta', 'gamma'],
      maxBatchSize: 5,
      handler: async (batch) => {
        batches.push(batch);
        got.push(...batch.records);
      },
    });
    await vi.waitFor(() => expect(got.length).toBe(sent.length), { timeout: 10_000, interval: 5 });
    await consumer.stop();

    for (const b of batches) {
      expect(b.records.length).toBeGreaterThan(0);
      expect(b.records.length).toBeLessThanOrEqual(5);
      for (const r of b.records) expect([r.topic, r.partition]).toEqual([b.topic, b.partition]);
    }
    // Every record exactly once, in the partition its key hashes to, with its content intact.
    const bySeq = new Map(got.map((r) => [r.headers.seq!, r]));
    expect(bySeq.size).toBe(sent.length);
    for (const { topic, rec } of sent) {
      const r = bySeq.get(rec.headers!.seq!)!;
      expect(r.topic).toBe(topic);
      expect(r.key).toBe(rec.key);
      expect(r.partition).toBe(murmur2Partitioner(rec.key, counts[topic as keyof typeof counts]));
      expect(r.value.toString()).toBe(rec.value.toString());
      expect(r.headers).toEqual(rec.headers);
      expect(r.timestamp).toBe(rec.timestamp);
    }
    // Within a partition: contiguous offsets, and publish order (seq increases).
    for (const recs of byPartition(got).values()) {
      expectContiguousFromZero(recs);
      const seqs = recs.map((r) => Number(r.headers.seq));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    const committed = await consumer.committed();
    for (const [topic, n] of Object.entries(counts)) {
      for (const [p, end] of await endOffsets(bus, topic)) {
        if (end > 0) expect(committed.get(`${topic}:${p}`)).toBe(String(end));
      }
      expect((await endOffsets(bus, topic)).size).toBe(n);
    }

    // Partition counts are fixed at creation: reopening with another default changes nothing,
    // and a key keeps landing in the same partition.
    await bus.close();
    const bus2 = await open({ dir, partitions: 8 });
    expect((await bus2.endOffsets('alpha')).size).toBe(4);
    expect((await bus2.endOffsets('gamma')).size).toBe(3);
    await bus2.publish('alpha', [{ key: keys[0]!, value: 'again' }]);
    const p = murmur2Partitioner(keys[0]!, 4);
    const ends = await endOffsets(bus2, 'alpha');
    const before = got.filter((r) => r.topic === 'alpha' && r.partition === p).length;
    expect(ends.get(p)).toBe(before + 1);
    const meta = JSON.parse(await fs.promises.readFile(join(dir, 'topics', 'alpha', 'meta.json'), 'utf8'));
    expect(meta.partitions).toBe(4);
  });

  it('resumes a group exactly after its committed offset across a restart; another group starts at the beginning', async () => {
    const dir = await tmpDir();
    let bus = await open({ dir });
    await bus.ensureTopics(['one'], 1);
    await bus.ensureTopics(['multi'], 3);
    await bus.publish('one', Array.from({ length: 100 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}` })));
    await bus.publish('multi', Array.from({ length: 90 }, (_, i) => ({ key: `k${i}`, value: `m${i}` })));

    // Consume part: stop from inside the handler of the third batch of 'one' (10 records each).
    const first: ConsumedRecord[] = [];
    let stopping: Promise<void> | undefined;
    const c1 = await bus.consume({
      groupId: 'g1',
      topics: ['one'],
      maxBatchSize: 10,
      handler: async (batch) => {
        first.push(...batch.records);
        if (first.length === 30) stopping = c1.stop();
      },
    });
    await vi.waitFor(() => expect(stopping).toBeDefined(), { timeout: 10_000, interval: 5 });
    await stopping;
    expect(first.length).toBe(30);
    expect((await c1.committed()).get('one:0')).toBe('30');

    // multi: consume everything of partition-agnostic 'multi' in group g1m, pausing after ~half.
    const multiFirst: ConsumedRecord[] = [];
    const c1m = await bus.consume({
      groupId: 'g1m',
      topics: ['multi'],
      maxBatchSize: 4,
      handler: async (batch) => {
        multiFirst.push(...batch.records);
        if (multiFirst.length >= 40) c1m.pause();
      },
    });
    await vi.waitFor(() => expect(multiFirst.length).toBeGreaterThanOrEqual(40), { timeout: 10_000, interval: 5 });
    await c1m.stop();
    const committedMulti = await c1m.committed();

    // A group created with fromBeginning: false starts at the end and survives a restart there.
    const late: ConsumedRecord[] = [];
    const c3 = await bus.consume({ groupId: 'late', topics: ['one'], fromBeginning: false, handler: async (b) => void late.push(...b.records) });
    await c3.stop();
    expect(late).toEqual([]);
    await bus.publish('one', [{ key: 'k', value: 'published-while-late-was-down' }]);
    await bus.close();

    bus = await open({ dir });
    const resumed: ConsumedRecord[] = [];
    const c2 = await bus.consume({ groupId: 'g1', topics: ['one'], maxBatchSize: 10, handler: async (b) => void resumed.push(...b.records) });
    await vi.waitFor(() => expect(resumed.length).toBe(71), { timeout: 10_000, interval: 5 });
    await c2.stop();
    expect(resumed[0]!.offset).toBe('30');
    expect([...first, ...resumed].map((r) => Number(r.offset))).toEqual(Array.from({ length: 101 }, (_, i) => i));
    expect(resumed.slice(0, 70).map((r) => r.value.toString())).toEqual(Array.from({ length: 70 }, (_, i) => `v${i + 30}`));

    const resumedMulti: ConsumedRecord[] = [];
    const c2m = await bus.consume({ groupId: 'g1m', topics: ['multi'], handler: async (b) => void resumedMulti.push(...b.records) });
    await vi.waitFor(() => expect(multiFirst.length + resumedMulti.length).toBeGreaterThanOrEqual(90), { timeout: 10_000, interval: 5 });
    await c2m.stop();
    for (const [key, recs] of byPartition(resumedMulti)) {
      expect(recs[0]!.offset).toBe(committedMulti.get(key) ?? '0');
    }
    const allMulti = [...multiFirst, ...resumedMulti].map((r) => r.value.toString()).sort();
    expect(allMulti).toEqual(Array.from({ length: 90 }, (_, i) => `m${i}`).sort());

    const lateAfter: ConsumedRecord[] = [];
    const c4 = await bus.consume({ groupId: 'late', topics: ['one'], fromBeginning: false, handler: async (b) => void lateAfter.push(...b.records) });
    await vi.waitFor(() => expect(lateAfter.length).toBe(1), { timeout: 10_000, interval: 5 });
    expect(lateAfter[0]!.value.toString()).toBe('published-while-late-was-down');
    await c4.stop();

    const other: ConsumedRecord[] = [];
    const c5 = await bus.consume({ groupId: 'g2', topics: ['one'], maxBatchSize: 1000, handler: async (b) => void other.push(...b.records) });
    await vi.waitFor(() => expect(other.length).toBe(101), { timeout: 10_000, interval: 5 });
    await c5.stop();
    expect(other[0]!.offset).toBe('0');

    const groupFile = JSON.parse(await fs.promises.readFile(join(dir, 'groups', 'g1.json'), 'utf8'));
    expect(groupFile.offsets['one:0']).toBe('101');
  });

  it('redelivers a failed batch with backoff, holds back only its own partition', async () => {
    const dir = await tmpDir();
    const bus = await open({ dir, retryBackoff: { initialMs: 5, maxMs: 20 } });
    await bus.ensureTopics(['t'], 2);
    const k0 = keyFor(0, 2);
    const k1 = keyFor(1, 2);
    await bus.publish('t', Array.from({ length: 10 }, (_, i) => ({ key: k0, value: `a${i}` })));
    await bus.publish('t', Array.from({ length: 10 }, (_, i) => ({ key: k1, value: `b${i}` })));

    const deliveries: Array<{ partition: number; offsets: string[] }> = [];
    const errors: Array<{ err: unknown; firstOffset: string; partition: number }> = [];
    let p1Done = false;
    let failures = 0;
    let p1DoneBeforeRecovery: boolean | undefined;
    const consumer = await bus.consume({
      groupId: 'g',
      topics: ['t'],
      maxBatchSize: 2,
      handler: async (batch) => {
        deliveries.push({ partition: batch.partition, offsets: batch.records.map((r) => r.offset) });
        if (batch.partition === 1 && batch.records.at(-1)!.offset === '9') p1Done = true;
        // Partition 0's batch [2,3] fails until partition 1 is completely consumed (at least twice).
        if (batch.partition === 0 && batch.records[0]!.offset === '2') {
          if (!p1Done || failures < 2) {
            failures++;
            throw new Error(`boom ${failures}`);
          }
          p1DoneBeforeRecovery = p1Done;
        }
      },
      onError: (err, info) => errors.push({ err, ...info }),
    });
    await vi.waitFor(
      async () => {
        const c = await consumer.committed();
        expect(c.get('t:0')).toBe('10');
        expect(c.get('t:1')).toBe('10');
      },
      { timeout: 10_000, interval: 5 },
    );
    await consumer.stop();

    expect(failures).toBeGreaterThanOrEqual(2);
    expect(p1DoneBeforeRecovery).toBe(true);
    expect(errors.length).toBe(failures);
    for (const e of errors) {
      expect(e).toMatchObject({ partition: 0, firstOffset: '2' });
      expect((e.err as Error).message).toMatch(/^boom/);
    }
    const p0 = deliveries.filter((d) => d.partition === 0).map((d) => d.offsets.join(','));
    expect(p0).toEqual(['0,1', ...Array.from({ length: failures + 1 }, () => '2,3'), '4,5', '6,7', '8,9']);
    const p1 = deliveries.filter((d) => d.partition === 1).map((d) => d.offsets.join(','));
    expect(p1).toEqual(['0,1', '2,3', '4,5', '6,7', '8,9']);
  });

  describe('recovery of a torn tail', () => {
    const cases: Array<{ name: string; damage: (file: string) => Promise<void>; survivors: number }> = [
      {
        name: 'garbage appended',
        damage: (f) => fs.promises.appendFile(f, Buffer.from('this is not a record, just garbage bytes!')),
        survivors: 20,
      },
      {
        name: 'zeros appended (extended file size, data blocks never written)',
        damage: (f) => fs.promises.appendFile(f, Buffer.alloc(4096)),
        survivors: 20,
      },
      {
        name: 'last record cut in the middle',
        damage: async (f) => fs.promises.truncate(f, (await fs.promises.stat(f)).size - 5),
        survivors: 19,
      },
      {
        name: 'last record with a flipped byte (CRC mismatch)',
        damage: async (f) => {
          const buf = await fs.promises.readFile(f);
          buf[buf.length - 2] = buf[buf.length - 2]! ^ 0xff;
          await fs.promises.writeFile(f, buf);
        },
        survivors: 19,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const dir = await tmpDir();
        let bus = await open({ dir });
        await bus.ensureTopics(['t'], 1);
        for (let i = 0; i < 20; i++) await bus.publish('t', [{ key: 'k', value: `value-${i}` }]);
        await bus.close();
        const [file] = await segmentFiles(dir, 't', 0);
        const path = join(dir, 'topics', 't', '0', file!);
        const goodSize = (await fs.promises.stat(path)).size;
        await c.damage(path);
        const damagedSize = (await fs.promises.stat(path)).size;

        const warns: Warn[] = [];
        bus = await open({ dir }, warns);
        expect(warns.length).toBe(1);
        const validSize = (await fs.promises.stat(path)).size;
        expect(warns[0]!.obj.droppedBytes).toBe(damagedSize - validSize);
        expect(validSize).toBeLessThanOrEqual(goodSize);
        expect((await endOffsets(bus, 't')).get(0)).toBe(c.survivors);

        await bus.publish('t', [{ key: 'k', value: 'after-recovery' }]);
        const recs = await drain(bus, ['t']);
        expectContiguousFromZero(recs);
        expect(recs.map((r) => r.value.toString())).toEqual([
          ...Array.from({ length: c.survivors }, (_, i) => `value-${i}`),
          'after-recovery',
        ]);
        // And the repaired log reopens cleanly.
        await bus.close();
        const warns2: Warn[] = [];
        bus = await open({ dir }, warns2);
        expect(warns2).toEqual([]);
        expect((await endOffsets(bus, 't')).get(0)).toBe(c.survivors + 1);
      });
    }

    it('refuses to open when a sealed (non-last) segment is damaged', async () => {
      const dir = await tmpDir();
      let bus = await open({ dir, segmentBytes: 300 });
      await bus.ensureTopics(['t'], 1);
      for (let i = 0; i < 30; i++) await bus.publish('t', [{ key: 'k', value: `value-${i}-${'x'.repeat(40)}` }]);
      await bus.close();
      const files = await segmentFiles(dir, 't', 0);
      expect(files.length).toBeGreaterThan(2);
      const path = join(dir, 'topics', 't', '0', files[0]!);
      const buf = await fs.promises.readFile(path);
      buf[buf.length - 3] = buf[buf.length - 3]! ^ 0x55;
      await fs.promises.writeFile(path, buf);
      await expect(EmbeddedBus.open({ dir, logger: { warn: () => undefined } })).rejects.toBeInstanceOf(CorruptLogError);
      // The failed open released the lock: after repairing, the log opens.
      buf[buf.length - 3] = buf[buf.length - 3]! ^ 0x55;
      await fs.promises.writeFile(path, buf);
      bus = await open({ dir });
      expect((await endOffsets(bus, 't')).get(0)).toBe(30);
    });
  });

  it('refuses to open a topic whose partition directory disappeared, instead of recreating it empty', async () => {
    const dir = await tmpDir();
    const bus = await open({ dir });
    await bus.publish('gone', [{ key: 'k', value: 'v' }]);
    await bus.close();
    const p = murmur2Partitioner('k', 4);
    await fs.promises.rm(join(dir, 'topics', 'gone', String(p)), { recursive: true });
    await expect(EmbeddedBus.open({ dir, logger: { warn: () => undefined } })).rejects.toThrow(/no segment files/);
  });

  it('survives kill -9 of a publishing process: every acknowledged record exactly once, contiguous offsets', async () => {
    const dir = await tmpDir();
    const script = join(here, 'fixtures', 'embedded-crash-publisher.ts');
    const acked = new Set<string>();
    let tornTails = 0;
    for (let run = 0; run < 4; run++) {
      const shortWrites = run % 2 === 1;
      const args = ['--import', 'tsx', script, dir, `r${run}`, ...(shortWrites ? ['short-writes'] : [])];
      const child = spawn(process.execPath, args, {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      let ackLines = 0;
      let killScheduled = false;
      const killAfter = 5 + Math.floor(Math.random() * 150);
      const exited = new Promise<void>((res) => child.on('close', () => res()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      // Never leave a publisher running behind a failed or timed-out test.
      const safety = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.stdout.on('data', (d: Buffer) => {
        const chunk = d.toString();
        out += chunk;
        for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) ackLines++;
        if (ackLines >= killAfter && !killScheduled) {
          // A random point in time after that, usually in the middle of a flush cycle.
          killScheduled = true;
          setTimeout(() => child.kill('SIGKILL'), Math.random() * 25);
        }
      });
      await exited;
      clearTimeout(safety);
      expect(child.signalCode, `child stderr: ${err}`).toBe('SIGKILL');
      // Only complete lines count; a line cut by the kill acknowledged nothing we can rely on.
      const lines = out.split('\n').slice(0, -1);
      expect(lines[0]).toBe('ready');
      let runAcked = 0;
      for (const l of lines.slice(1)) {
        for (const id of l.slice(4).split(',')) {
          acked.add(id);
          runAcked++;
        }
      }
      expect(runAcked).toBeGreaterThan(0);

      const warns: Warn[] = [];
      const bus = await open({ dir }, warns);
      if (warns.length > 0) tornTails++;
      const recs = await drain(bus, ['crash-a', 'crash-b'], 777);
      const seen = new Map<string, number>();
      for (const r of recs) {
        const id = (JSON.parse(r.value.toString()) as { id: string }).id;
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      for (const [id, n] of seen) expect(n, id).toBe(1);
      for (const id of acked) expect(seen.has(id), `acknowledged ${id} missing after run ${run}`).toBe(true);
      for (const [, list] of byPartition(recs)) expectContiguousFromZero(list);
      for (const t of ['crash-a', 'crash-b']) {
        const ends = await endOffsets(bus, t);
        expect(ends.size).toBe(3);
        expect([...ends.values()].reduce((a, b) => a + b, 0)).toBe(recs.filter((r) => r.topic === t).length);
      }
      await bus.close();
    }
    // The short-write runs are killed mid-record in practice: recovery really had torn tails to cut.
    expect(tornTails).toBeGreaterThan(0);
  }, 120_000);

  it('rolls segments at segmentBytes and reads across them after a restart', async () => {
    const dir = await tmpDir();
    let bus = await open({ dir, segmentBytes: 512 });
    await bus.ensureTopics(['roll'], 1);
    const values = Array.from({ length: 300 }, (_, i) => `record-${i}-${'y'.repeat(i % 50)}`);
    // Mixed batch sizes, so some cycles roll in the middle of a batch.
    for (let i = 0; i < values.length; ) {
      const n = 1 + (i % 13);
      await bus.publish('roll', values.slice(i, i + n).map((value) => ({ key: 'k', value })));
      i += n;
    }
    const files = await segmentFiles(dir, 'roll', 0);
    expect(files.length).toBeGreaterThan(20);
    expect(files[0]).toBe('00000000000000000000.log');

    // Every sealed segment reached segmentBytes, and base offsets chain (= offset of first record).
    const firstOffsets: number[] = [];
    const all = await drain(bus, ['roll'], 50);
    for (const f of files) firstOffsets.push(Number(f.slice(0, 20)));
    for (let i = 0; i < files.length - 1; i++) {
      expect((await fs.promises.stat(join(dir, 'topics', 'roll', '0', files[i]!))).size).toBeGreaterThanOrEqual(512);
      expect(firstOffsets[i + 1]!).toBeGreaterThan(firstOffsets[i]!);
    }
    expect(all.map((r) => r.value.toString())).toEqual(values);
    await bus.close();

    bus = await open({ dir, segmentBytes: 512 });
    const after = await drain(bus, ['roll'], 7);
    expectContiguousFromZero(after);
    expect(after.map((r) => r.value.toString())).toEqual(values);

    // Resume from a committed offset in the middle of some segment (not at a boundary).
    const mid = firstOffsets[5]! + 1;
    const partial: ConsumedRecord[] = [];
    let stopAt: Promise<void> | undefined;
    const c = await bus.consume({
      groupId: 'mid',
      topics: ['roll'],
      maxBatchSize: mid,
      handler: async (b) => {
        partial.push(...b.records);
        if (partial.length >= mid && !stopAt) stopAt = c.stop();
      },
    });
    await vi.waitFor(() => expect(stopAt).toBeDefined(), { timeout: 10_000, interval: 5 });
    await stopAt;
    expect((await c.committed()).get('roll:0')).toBe(String(partial.length));
    await bus.close();
    bus = await open({ dir, segmentBytes: 512 });
    const rest: ConsumedRecord[] = [];
    const c2 = await bus.consume({ groupId: 'mid', topics: ['roll'], handler: async (b) => void rest.push(...b.records) });
    await vi.waitFor(() => expect(partial.length + rest.length).toBe(300), { timeout: 10_000, interval: 5 });
    await c2.stop();
    expect([...partial, ...rest].map((r) => r.value.toString())).toEqual(values);

    // New appends continue in the last segment / new segments with the right offsets.
    await bus.publish('roll', [{ key: 'k', value: 'tail' }]);
    expect((await endOffsets(bus, 'roll')).get(0)).toBe(301);
  });

  it('finds arbitrary offsets through the sparse index in large segments', async () => {
    const dir = await tmpDir();
    let bus = await open({ dir, segmentBytes: 256 * 1024 });
    await bus.ensureTopics(['big'], 1);
    const N = 20_000;
    for (let i = 0; i < N; i += 500) {
      await bus.publish('big', Array.from({ length: 500 }, (_, j) => ({ key: 'k', value: `v${i + j}:${'z'.repeat((i + j) % 90)}` })));
    }
    await bus.close();
    bus = await open({ dir, segmentBytes: 256 * 1024 });
    expect((await segmentFiles(dir, 'big', 0)).length).toBeGreaterThan(3);
    const groups = await fs.promises.mkdir(join(dir, 'groups'), { recursive: true }).then(() => join(dir, 'groups'));
    for (const start of [1, 37, 4095, 9_999, 12_345, N - 1]) {
      await bus.close();
      // Plant a committed offset and check the group starts exactly there.
      await fs.promises.writeFile(join(groups, `at-${start}.json`), JSON.stringify({ version: 1, groupId: `at-${start}`, offsets: { 'big:0': String(start) } }));
      bus = await open({ dir, segmentBytes: 256 * 1024 });
      const got: ConsumedRecord[] = [];
      const c = await bus.consume({ groupId: `at-${start}`, topics: ['big'], maxBatchSize: 3, handler: async (b) => void got.push(...b.records) });
      await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(1), { timeout: 10_000, interval: 5 });
      await c.stop();
      expect(got[0]!.offset).toBe(String(start));
      expect(got[0]!.value.toString()).toBe(`v${start}:${'z'.repeat(start % 90)}`);
    }
  });

  it('group commit: concurrent publishes share fdatasyncs and resolve only after them', async () => {
    const dir = await tmpDir();
    let syncs = 0;
    const gate = deferred();
    let gated = true;
    const bus = await open({
      dir,
      fsOps: {
        fdatasync: async (fd) => {
          syncs++;
          if (gated) await gate.promise;
          await new Promise<void>((res, rej) => fs.fdatasync(fd, (e) => (e ? rej(e) : res())));
        },
      },
    });
    await bus.ensureTopics(['g'], 1);
    const resolved: number[] = [];
    const ps = Array.from({ length: 50 }, (_, i) => bus.publish('g', [{ key: 'k', value: `v${i}` }]).then(() => void resolved.push(i)));
    // The first cycle is stuck in its fdatasync: nothing may be acknowledged yet.
    await vi.waitFor(() => expect(syncs).toBe(1), { timeout: 5_000, interval: 1 });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(resolved).toEqual([]);
    expect((await endOffsets(bus, 'g')).get(0)).toBe(0);
    // 50 more arrive while the first cycle is in its fsync: they wait for the next cycle.
    const ps2 = Array.from({ length: 50 }, (_, i) => bus.publish('g', [{ key: 'k', value: `w${i}` }]).then(() => void resolved.push(100 + i)));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(syncs).toBe(1);
    gated = false;
    gate.resolve();
    await Promise.all(ps);
    await Promise.all(ps2);
    expect(resolved.length).toBe(100);
    // 100 publishes, two flush cycles, two fdatasyncs (one file touched per cycle).
    expect(syncs).toBe(2);
    expect((await endOffsets(bus, 'g')).get(0)).toBe(100);
    const recs = await drain(bus, ['g']);
    expect(recs.map((r) => r.value.toString())).toEqual([
      ...Array.from({ length: 50 }, (_, i) => `v${i}`),
      ...Array.from({ length: 50 }, (_, i) => `w${i}`),
    ]);
  });

  it('a failed fsync rejects every waiter of the cycle and stops writes; reopen recovers', async () => {
    const dir = await tmpDir();
    let fail = false;
    const bus = await open({
      dir,
      fsOps: {
        fdatasync: async (fd) => {
          if (fail) throw Object.assign(new Error('EIO: simulated'), { code: 'EIO' });
          await new Promise<void>((res, rej) => fs.fdatasync(fd, (e) => (e ? rej(e) : res())));
        },
      },
    });
    await bus.ensureTopics(['f'], 2);
    await bus.publish('f', Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `ok${i}` })));
    const seen: ConsumedRecord[] = [];
    const consumer = await bus.consume({ groupId: 'g', topics: ['f'], handler: async (b) => void seen.push(...b.records) });
    await vi.waitFor(() => expect(seen.length).toBe(10), { timeout: 5_000, interval: 5 });

    fail = true;
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => bus.publish('f', [{ key: `x${i}`, value: `bad${i}` }])),
    );
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
    for (const r of results) expect(((r as PromiseRejectedResult).reason as Error).cause).toMatchObject({ code: 'EIO' });
    // Writes are refused from now on, even though fsync would work again.
    fail = false;
    await expect(bus.publish('f', [{ key: 'k', value: 'later' }])).rejects.toThrow(/reopen/);
    // Readers never saw the unacknowledged records.
    expect([...(await endOffsets(bus, 'f')).values()].reduce((a, b) => a + b, 0)).toBe(10);
    expect(seen.map((r) => r.value.toString()).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `ok${i}`).sort());
    await consumer.stop();
    await bus.close();

    const bus2 = await open({ dir });
    await bus2.publish('f', [{ key: 'k', value: 'after-reopen' }]);
    const recs = await drain(bus2, ['f']);
    for (const list of byPartition(recs).values()) expectContiguousFromZero(list);
    const values = recs.map((r) => r.value.toString());
    for (let i = 0; i < 10; i++) expect(values).toContain(`ok${i}`);
    expect(values).toContain('after-reopen');
  });

  it('wakes consumers on append (no polling), supports pause/resume, stop waits for the in-flight batch', async () => {
    const dir = await tmpDir();
    const bus = await open({ dir });
    await bus.ensureTopics(['w'], 1);
    const arrivals: number[] = [];
    let gate: { promise: Promise<void>; resolve: () => void } | null = null;
    const got: ConsumedRecord[] = [];
    const consumer = await bus.consume({
      groupId: 'g',
      topics: ['w'],
      handler: async (b) => {
        arrivals.push(performance.now());
        got.push(...b.records);
        if (gate) await gate.promise;
      },
    });
    // Latency: publish resolves → handler called.
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      await bus.publish('w', [{ key: 'k', value: `l${i}` }]);
      const t = performance.now();
      await vi.waitFor(() => expect(got.length).toBe(i + 1), { timeout: 5_000, interval: 1 });
      latencies.push(arrivals[i]! - t);
    }
    latencies.sort((a, b) => a - b);
    expect(latencies[10]!).toBeLessThan(50);

    consumer.pause();
    await bus.publish('w', [{ key: 'k', value: 'while-paused' }]);
    await new Promise((r) => setTimeout(r, 50)); // a negative check has no condition to wait for
    expect(got.length).toBe(20);
    consumer.resume();
    await vi.waitFor(() => expect(got.length).toBe(21), { timeout: 5_000, interval: 1 });

    // A second consumer in the same group is refused while the first runs.
    await expect(bus.consume({ groupId: 'g', topics: ['w'], handler: async () => undefined })).rejects.toThrow(/already has a running consumer/);

    gate = deferred();
    await bus.publish('w', [{ key: 'k', value: 'in-flight' }]);
    await vi.waitFor(() => expect(got.length).toBe(22), { timeout: 5_000, interval: 1 });
    let stopped = false;
    const stopping = consumer.stop().then(() => (stopped = true));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect((await consumer.committed()).get('w:0')).toBe('22');

    // After stop, the group can consume again and continues after the committed batch.
    const again: ConsumedRecord[] = [];
    await bus.publish('w', [{ key: 'k', value: 'next' }]);
    const c2 = await bus.consume({ groupId: 'g', topics: ['w'], handler: async (b) => void again.push(...b.records) });
    await vi.waitFor(() => expect(again.map((r) => r.value.toString())).toEqual(['next']), { timeout: 5_000, interval: 1 });
    await c2.stop();
  });

  it('announces the assignment: every partition of the topics before the first batch, nothing once stopping', async () => {
    const dir = await tmpDir();
    const bus = await open({ dir });
    await bus.ensureTopics(['a1', 'a2'], 3);
    await bus.publish('a1', [{ key: 'k', value: 'x' }]);
    const events: string[] = [];
    const consumer = await bus.consume({
      groupId: 'g-assign',
      topics: ['a1', 'a2'],
      onAssignment: (assignment) => events.push(`assigned ${assignment.map((tp) => `${tp.topic}:${tp.partition}`).sort().join(',')}`),
      handler: async () => void events.push('batch'),
    });
    await vi.waitFor(() => expect(events).toContain('batch'), { timeout: 5_000, interval: 1 });
    await consumer.stop();
    expect(events).toEqual(['assigned a1:0,a1:1,a1:2,a2:0,a2:1,a2:2', 'batch', 'assigned ']);
  });

  it('close() flushes publishes already accepted; the directory lock stops a second opener', async () => {
    const dir = await tmpDir();
    const bus = await open({ dir });
    await expect(EmbeddedBus.open({ dir })).rejects.toThrow(/already open in this process/);
    const pubs = Array.from({ length: 20 }, (_, i) => bus.publish('auto', [{ key: `k${i}`, value: `v${i}` }]));
    await bus.close();
    await Promise.all(pubs);
    await expect(bus.publish('auto', [{ key: 'k', value: 'x' }])).rejects.toThrow(/closed/);
    const bus2 = await open({ dir });
    const ends = await endOffsets(bus2, 'auto');
    expect(ends.size).toBe(4);
    expect([...ends.values()].reduce((a, b) => a + b, 0)).toBe(20);
  });

  it('rejects invalid input without writing anything', async () => {
    const dir = await tmpDir();
    const bus = await open({ dir });
    await bus.ensureTopics(['v'], 1);
    await expect(bus.publish('v', [{ key: 'ok', value: 'ok' }, { key: 1 as unknown as string, value: 'x' }])).rejects.toThrow(/key/);
    await expect(bus.publish('bad/topic', [{ key: 'k', value: 'x' }])).rejects.toThrow(/invalid topic/);
    await expect(bus.publish('v', [{ key: 'k', value: 'x', timestamp: 1.5 }])).rejects.toThrow(/timestamp/);
    expect((await endOffsets(bus, 'v')).get(0)).toBe(0);
  });
});
