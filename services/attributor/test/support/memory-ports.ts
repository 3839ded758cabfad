import type { CreditMessage } from '@touchline/contracts';
import type { AttributorPorts, BeliefRow, SourcedCredit, StoredTarget } from '../../src/attributor.js';
import { snapshotFromRows, snapshotRows, type ModelSnapshot, type SnapshotRow } from '../../src/snapshot.js';
import type { CreditRecord } from '../../src/state.js';

interface Written {
  record: CreditRecord;
}

/**
 * The attributor's ports kept in memory, for tests of its logic: every credit ever written (the
 * `touchline.credits` history), snapshots as their table rows, and what was published. It checks
 * on every write what the warehouse relies on: a version never reused for a conversion and model.
 */
export class MemoryPorts implements AttributorPorts {
  readonly history: Written[] = [];
  readonly snapshotRows = new Map<number, SnapshotRow[]>();
  readonly published: CreditMessage[] = [];
  private readonly versions = new Set<string>();
  private readonly tokens = new Set<string>();
  /** Fails the next n writes of credit (after writing them, like an insert whose answer is lost). */
  failAfterWrite = 0;

  constructor(private readonly targetModel: string) {}

  async writeCredits(credits: readonly SourcedCredit[], batch: { topic: string; partition: number; firstOffset: string; lastOffset: string }): Promise<number> {
    const rows = credits.reduce((n, c) => n + Math.max(1, c.record.message.shares.length), 0);
    // Like an insert under the same deduplication token: the retry of a batch is dropped.
    const token = `${batch.topic}|${batch.partition}|${batch.firstOffset}|${batch.lastOffset}|${rows}`;
    if (this.tokens.has(token)) return rows;
    this.tokens.add(token);
    for (const c of credits) this.add(c.record);
    if (this.failAfterWrite > 0) {
      this.failAfterWrite--;
      throw new Error('connection reset after the insert');
    }
    return rows;
  }

  async writeRestatements(records: readonly CreditRecord[]): Promise<void> {
    for (const r of records) this.add(r);
  }

  async writeSnapshot(s: ModelSnapshot): Promise<void> {
    if (this.snapshotRows.has(s.seq)) throw new Error(`snapshot ${s.seq} written twice`);
    this.snapshotRows.set(s.seq, snapshotRows(s));
  }

  async publishCredits(messages: readonly CreditMessage[]): Promise<void> {
    this.published.push(...messages);
  }

  async readBeliefs(ids: readonly string[]): Promise<BeliefRow[]> {
    const want = new Set(ids);
    const out = new Map<string, BeliefRow>();
    for (const { record: r } of this.history) {
      const m = r.message;
      if (!want.has(m.conversionId)) continue;
      const key = `${m.conversionId}\u0000${m.model}`;
      const prev = out.get(key);
      const journeyVersion = Math.max(prev?.journeyVersion ?? 0, r.journeyVersion);
      if (!prev || prev.version < m.version) {
        out.set(key, { conversionId: m.conversionId, model: m.model, version: m.version, seq: r.snapshotSeq, journeyVersion, retracted: m.shares.length === 0 });
      } else prev.journeyVersion = journeyVersion;
    }
    return [...out.values()];
  }

  async readTargets(expected: ReadonlyMap<string, number>): Promise<Map<string, StoredTarget>> {
    const out = new Map<string, StoredTarget>();
    for (const { record: r } of this.history) {
      const m = r.message;
      if (m.model !== this.targetModel || expected.get(m.conversionId) !== r.journeyVersion) continue;
      out.set(m.conversionId, {
        conversionId: m.conversionId,
        conversionName: m.conversionName,
        conversionTimestamp: m.conversionTimestamp,
        personId: m.personId,
        currency: m.currency,
        value: 0,
        touches: m.shares
          .filter((s) => s.touchpointId !== '')
          .map((s) => ({ messageId: s.touchpointId, channel: s.channel, campaign: s.campaign, timestamp: s.touchTimestamp })),
        journeyVersion: r.journeyVersion,
      });
    }
    return out;
  }

  /** The newest credit per conversion and model, retractions left out: what `credits_current` shows. */
  current(): Map<string, CreditMessage> {
    const best = new Map<string, CreditMessage>();
    for (const { record } of this.history) {
      const m = record.message;
      const key = `${m.conversionId}\u0000${m.model}`;
      const prev = best.get(key);
      if (!prev || prev.version < m.version) best.set(key, m);
    }
    for (const [k, m] of best) if (m.shares.length === 0) best.delete(k);
    return best;
  }

  storedSnapshot(seq: number): ModelSnapshot {
    const rows = this.snapshotRows.get(seq);
    if (!rows) throw new Error(`no snapshot ${seq}`);
    return snapshotFromRows(rows.map((r) => JSON.parse(JSON.stringify(r)) as SnapshotRow));
  }

  private add(r: CreditRecord): void {
    const key = `${r.message.conversionId}\u0000${r.message.model}\u0000${r.message.version}`;
    if (this.versions.has(key)) throw new Error(`version ${r.message.version} of ${r.message.conversionId}/${r.message.model} written twice`);
    this.versions.add(key);
    this.history.push({ record: r });
  }
}
