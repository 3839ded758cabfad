import type { CreditMessage, JourneysTopicMessage } from '@touchline/contracts';
import type { ConsumedBatch, ConsumedRecord, Decoded, Logger } from '@touchline/platform';
import { targetOf, type CreditTarget } from './credit.js';
import type { ModelSnapshot } from './snapshot.js';
import type { AttributorState, CreditRecord, Restatement, StoredBelief } from './state.js';

/** Fresh credit of one input record. */
export interface SourcedCredit {
  record: CreditRecord;
  source: ConsumedRecord;
}

/** What the warehouse holds for a conversion under a model (its newest version). */
export interface BeliefRow extends StoredBelief {
  conversionId: string;
  model: string;
}

/** A conversion's touches read back for a restatement, with the journey they belong to. */
export interface StoredTarget extends CreditTarget {
  journeyVersion: number;
}

/** Everything the attributor reads and writes outside its memory. */
export interface AttributorPorts {
  /**
   * Writes the fresh credit of one input batch exactly once (rows keyed by their source
   * position); returns how many rows were new, fewer than given when the batch had been written
   * before.
   */
  writeCredits(credits: readonly SourcedCredit[], batch: { topic: string; partition: number; firstOffset: string; lastOffset: string }): Promise<number>;
  /** Writes restated credit; each conversion and model is wholly in one call (one atomic insert). */
  writeRestatements(records: readonly CreditRecord[], token: string): Promise<void>;
  writeSnapshot(snapshot: ModelSnapshot): Promise<void>;
  /**
   * The touches of conversions whose journeys are no longer in memory, at the given journey
   * versions (the conversion value is known to the caller and may be left 0).
   */
  readTargets(expected: ReadonlyMap<string, number>): Promise<Map<string, StoredTarget>>;
  readBeliefs(conversionIds: readonly string[]): Promise<BeliefRow[]>;
  publishCredits(messages: readonly CreditMessage[]): Promise<void>;
}

export interface StreamingOptions {
  /** Recompute the models after this many new journeys (besides the timer). */
  recomputeEveryConversions: number;
  /** Restate a conversion when a new snapshot moves its credit by more than this (total variation). */
  restateThreshold: number;
  /** Rows per restatement insert (a conversion's credit is never split). */
  restatementChunkRows: number;
}

export interface AttributorStatus {
  conversions: number;
  nullPaths: number;
  retainedJourneys: number;
  snapshotSeq: number;
  /** Statistics changed since the current snapshot. */
  dirty: boolean;
  /** Some credit may come from an older snapshot. */
  unsettled: boolean;
  restated: number;
  snapshots: number;
}

/**
 * The attributor's loop body around `AttributorState`: credits each batch of journeys, keeps the
 * model snapshot fresh and restates what it moves. One thing at a time: batches of different
 * partitions and the timer share one queue, so the state is never seen half-updated.
 *
 * Cadence: after a batch once `recomputeEveryConversions` new journeys arrived, and on every
 * `tick()` (the service's timer) when anything changed, the models are refitted, the snapshot is
 * stored, and credit it moves by more than `restateThreshold` is restated. A tick that finds
 * nothing changed since the last snapshot settles instead: credit still from an older snapshot
 * is restated if it differs at all. So a quiet attributor converges to exactly the batch
 * computation on the same journeys, while a busy one stays within the threshold of it.
 */
export class StreamingAttributor {
  private queue: Promise<unknown> = Promise.resolve();
  private pending: CreditMessage[] = [];
  /** Partitions whose last credit write failed: their next write is verified against the warehouse. */
  private readonly uncertain = new Set<string>();
  private restatedTotal = 0;
  private snapshotsTotal = 0;

  constructor(
    readonly state: AttributorState,
    private readonly ports: AttributorPorts,
    private readonly options: StreamingOptions,
    private readonly logger: Logger,
  ) {}

  restore(items: readonly Decoded<JourneysTopicMessage>[]): void {
    for (const { message } of items) this.state.restore(message);
  }

  handle(items: readonly Decoded<JourneysTopicMessage>[], batch: Pick<ConsumedBatch, 'topic' | 'partition' | 'records'>): Promise<void> {
    return this.exclusive(async () => {
      await this.flush();
      const fresh: SourcedCredit[] = [];
      for (const { message, record } of items) for (const r of this.state.apply(message)) fresh.push({ record: r, source: record });
      const firstOffset = batch.records[0]?.offset ?? '0';
      const lastOffset = batch.records[batch.records.length - 1]?.offset ?? firstOffset;
      const rows = fresh.reduce((n, c) => n + Math.max(1, c.record.message.shares.length), 0);
      const where = `${batch.topic}:${batch.partition}`;
      let written: number;
      try {
        written = await this.ports.writeCredits(fresh, { topic: batch.topic, partition: batch.partition, firstOffset, lastOffset });
      } catch (err) {
        // The insert may have landed all the same; the retry's rows would then be dropped by
        // their deduplication token, so what is written must be read back after it.
        this.uncertain.add(where);
        throw err;
      }
      if (written === rows && !this.uncertain.has(where)) {
        this.state.markWritten(fresh.map((c) => c.record));
        for (const c of fresh) this.pending.push(c.record.message);
      } else {
        // Part of this batch had been written by an earlier run that stopped before committing:
        // what it wrote stands, so learn it from the warehouse rather than assume our own.
        const ids = [...new Set(fresh.map((c) => c.record.message.conversionId))];
        this.logger.info({ topic: batch.topic, partition: batch.partition, firstOffset, rows, written }, 'redelivered journeys: reading back what was written');
        this.state.forgetWritten(ids);
        for (const b of await this.ports.readBeliefs(ids)) this.state.loadBelief(b.conversionId, b.model, b);
        this.uncertain.delete(where);
      }
      await this.flush();
      if (this.state.dueForSnapshot(this.options.recomputeEveryConversions)) await this.refresh();
    });
  }

  /** The timer: refit if anything changed, else settle. */
  tick(): Promise<void> {
    return this.exclusive(async () => {
      await this.flush();
      if (this.state.dirty) await this.refresh();
      else if (this.state.unsettled) {
        await this.restate(0);
        this.state.markSettled();
      }
    });
  }

  /** Resolves once everything queued so far is done. */
  idle(): Promise<void> {
    return this.exclusive(async () => undefined);
  }

  status(): AttributorStatus {
    const s = this.state;
    return {
      conversions: s.conversionCount,
      nullPaths: s.nullPathCount,
      retainedJourneys: s.retainedJourneys,
      snapshotSeq: s.snapshot.seq,
      dirty: s.dirty,
      unsettled: s.unsettled,
      restated: this.restatedTotal,
      snapshots: this.snapshotsTotal,
    };
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async refresh(): Promise<void> {
    const started = performance.now();
    const { snapshot, statsVersion } = this.state.computeSnapshot();
    const fitted = performance.now();
    await this.ports.writeSnapshot(snapshot);
    this.state.adopt(snapshot, statsVersion);
    this.snapshotsTotal++;
    const restated = await this.restate(this.options.restateThreshold);
    this.logger.info(
      {
        seq: snapshot.seq,
        conversions: snapshot.conversions,
        nulls: snapshot.nulls,
        fallbacks: [...snapshot.fits.values()].filter((f) => f.status !== 'fitted').map((f) => f.model),
        fitMs: Math.round(fitted - started),
        restated,
        ms: Math.round(performance.now() - started),
      },
      'model snapshot',
    );
  }

  /** Restates what the current snapshot moves by more than `threshold`; returns how many credits. */
  private async restate(threshold: number): Promise<number> {
    const plans = this.state.planRestatements(threshold);
    if (plans.length === 0) return 0;
    const targets = new Map<string, CreditTarget>();
    const expected = new Map<string, number>();
    for (const p of plans) {
      if (p.journey) targets.set(p.conversionId, targetOf(p.journey));
      else expected.set(p.conversionId, p.journeyVersion);
    }
    if (expected.size > 0) {
      const stored = await this.ports.readTargets(expected);
      const values = new Map(plans.map((p) => [p.conversionId, p.value] as const));
      for (const [id, t] of stored) targets.set(id, { ...t, value: values.get(id) ?? t.value });
    }
    let chunk: CreditRecord[] = [];
    let rows = 0;
    let done = 0;
    const write = async () => {
      if (chunk.length === 0) return;
      const first = chunk[0]!.message.version;
      const last = chunk[chunk.length - 1]!.message.version;
      await this.ports.writeRestatements(chunk, `restate|${chunk[0]!.snapshotSeq}|${first}-${last}|${chunk.length}`);
      this.state.markWritten(chunk);
      for (const r of chunk) this.pending.push(r.message);
      done += chunk.length;
      chunk = [];
      rows = 0;
    };
    let skipped = 0;
    for (const p of plans) {
      const target = targets.get(p.conversionId);
      if (!target || !sameChannels(target, p)) {
        skipped++;
        continue;
      }
      const record = this.state.restatementRecord(p, target);
      if (rows + record.message.shares.length > this.options.restatementChunkRows) await write();
      chunk.push(record);
      rows += record.message.shares.length;
    }
    await write();
    if (skipped > 0) this.logger.warn({ skipped }, 'restatements skipped: touches not found as credited');
    this.restatedTotal += done;
    await this.flush();
    return done;
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const part = this.pending.slice(0, 5000);
      await this.ports.publishCredits(part);
      this.pending.splice(0, part.length);
    }
  }
}

/** A read-back target has the channel sequence the weights were computed for. */
function sameChannels(target: CreditTarget, p: Restatement): boolean {
  return target.touches.length === p.channels.length && target.touches.every((t, i) => t.channel === p.channels[i]);
}
