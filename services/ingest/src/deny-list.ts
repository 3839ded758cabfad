import { randomUUID } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { PrivacyDeleteMessage, decodeMessage } from '@touchline/contracts';
import type { Bus, Consumer, Logger } from '@touchline/platform';
import type { Subject } from './normalise.js';
import { IdSets } from './work.js';

export interface DeniedIds {
  anonymousIds: readonly string[];
  userIds: readonly string[];
  emailHashes: readonly string[];
}

/**
 * The people who asked to be deleted: their future events are dropped at ingest.
 *
 * The source of truth is the privacy_delete messages on the identities topic. Every ingest
 * instance reads that topic from the beginning at start, before it answers requests, and keeps
 * tailing it, so in cluster mode every instance learns a deletion made through any of them,
 * within the consumer's poll interval. A snapshot in the data directory (written atomically)
 * keeps the list when the topic's retention has removed old records; it is unioned with the topic
 * at start. Ids are kept as stored (emails only as hashes).
 *
 * On the embedded log the list stops reading the topic once it has caught up: that log is written
 * by one process only (it holds its directory's lock), and in that process privacy_delete records
 * come from `forget` alone, which announces each one, once durable, to every deny list started on
 * the same bus and topic (`DenyList.announce`). Tailing there would only read back, check and
 * decode every identify ingest writes, to skip it: measured at a tenth identifies, 0.6 µs of the
 * main thread and 1.3 µs of CPU in all per accepted event (docs/benchmarks.md, ingest).
 */
export class DenyList {
  /** Deny lists started on one single-process bus, by topic: where `announce` reaches them. */
  private static readonly local = new WeakMap<Bus, Map<string, Set<DenyList>>>();
  private readonly ids = new IdSets();
  private readonly listeners: Array<(added: DeniedIds) => void> = [];
  private consumer: Consumer | undefined;
  private persisting: Promise<void> = Promise.resolve();
  private dirty = false;
  private siblings: Set<DenyList> | undefined;
  private logger: Logger | undefined;

  constructor(private readonly file?: string) {}

  get size(): number {
    return this.ids.size;
  }

  /** Whether an event about `s` must be dropped. */
  denies(s: Subject | undefined): boolean {
    return this.ids.denies(s);
  }

  /** Called with the ids of every addition that changed the list (the ingest pool forwards them to its threads). */
  onChange(listener: (added: DeniedIds) => void): void {
    this.listeners.push(listener);
  }

  /** Adds ids; true when any was new. */
  add(ids: DeniedIds): boolean {
    const changed = this.ids.add(ids) > 0;
    if (changed) {
      this.dirty = true;
      for (const l of this.listeners) l(ids);
    }
    return changed;
  }

  snapshot(): DeniedIds {
    return this.ids.lists();
  }

  /** Loads the snapshot, reads the topic up to its current end, then keeps tailing it (not on the embedded log: see above). */
  async start(opts: { bus: Bus; topic: string; logger: Logger }): Promise<void> {
    await this.load();
    this.logger = opts.logger;
    // Joined before the end offsets are read: a deletion announced from now on reaches this list,
    // and one announced earlier was durable before, so it lies below those offsets.
    const single = opts.bus.kind === 'embedded';
    if (single) {
      let byTopic = DenyList.local.get(opts.bus);
      if (!byTopic) DenyList.local.set(opts.bus, (byTopic = new Map()));
      let set = byTopic.get(opts.topic);
      if (!set) byTopic.set(opts.topic, (set = new Set()));
      set.add(this);
      this.siblings = set;
    }
    const ends = await opts.bus.endOffsets(opts.topic);
    const remaining = new Map<number, bigint>();
    for (const [p, end] of ends) if (BigInt(end) > 0n) remaining.set(p, BigInt(end) - 1n);
    let caughtUp!: () => void;
    const ready = new Promise<void>((resolve) => (caughtUp = resolve));
    if (remaining.size === 0) caughtUp();
    this.consumer = await opts.bus.consume({
      groupId: `${opts.topic}.ingest-deny-list.${randomUUID()}`,
      topics: [opts.topic],
      fromBeginning: true,
      commit: false,
      maxBatchSize: 5000,
      handler: async (batch) => {
        let changed = false;
        for (const r of batch.records) {
          // Nearly every record is an identify: skip them without decoding.
          if (r.value.indexOf('"privacy_delete"') < 0) continue;
          const d = decodeMessage(PrivacyDeleteMessage, r.value);
          if (d.ok) changed = this.add(d.value) || changed;
          else opts.logger.warn({ topic: r.topic, partition: r.partition, offset: r.offset, reason: d.reason }, 'undecodable privacy_delete record skipped');
        }
        if (changed) await this.persist();
        const last = batch.records[batch.records.length - 1];
        const target = remaining.get(batch.partition);
        if (last && target !== undefined && BigInt(last.offset) >= target) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) caughtUp();
        }
      },
      onError: (err) => opts.logger.error({ err }, 'deny list: reading the identities topic failed; retrying'),
    });
    await ready;
    if (single) {
      await this.consumer?.stop();
      this.consumer = undefined;
    }
    if (this.dirty) await this.persist();
    opts.logger.info({ ids: this.size, following: !single }, 'privacy deny list ready');
  }

  /** Whether the list keeps reading the identities topic (it does unless the bus is the embedded log). */
  get following(): boolean {
    return this.consumer !== undefined;
  }

  /**
   * A deletion this process has just made durable on `topic`: every deny list started on the same
   * single-process bus and topic adds it (they do not read the topic). A no-op on other buses,
   * whose lists read the topic.
   */
  static announce(bus: Bus, topic: string, ids: DeniedIds): void {
    for (const list of DenyList.local.get(bus)?.get(topic) ?? []) {
      if (!list.add(ids)) continue;
      list.persist().catch((err: unknown) => list.logger?.error({ err }, 'deny list: writing the snapshot failed; the next deletion writes it again'));
    }
  }

  async stop(): Promise<void> {
    this.siblings?.delete(this);
    this.siblings = undefined;
    await this.consumer?.stop();
    this.consumer = undefined;
    await this.persisting;
  }

  /** Writes the snapshot: temp file, fsync, rename, fsync the directory. Serialised. */
  persist(): Promise<void> {
    if (!this.file) return Promise.resolve();
    const file = this.file;
    const run = async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const body = `${JSON.stringify({ v: 1, ...this.snapshot() })}\n`;
      await fs.mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      const fh = await fs.open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, file);
      const dir = await fs.open(dirname(file), constants.O_RDONLY | constants.O_DIRECTORY);
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    };
    this.persisting = this.persisting.then(run, run);
    return this.persisting;
  }

  private async load(): Promise<void> {
    if (!this.file) return;
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const json = JSON.parse(text) as Partial<DeniedIds>;
    this.add({ anonymousIds: json.anonymousIds ?? [], userIds: json.userIds ?? [], emailHashes: json.emailHashes ?? [] });
    this.dirty = false;
  }
}

/** Where an ingest instance keeps its deny list snapshot under the data directory. */
export function denyListFile(dataDir: string): string {
  return join(dataDir, 'privacy', 'deny-list.json');
}
