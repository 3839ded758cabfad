import type { CreditMessage } from '@touchline/contracts';
import type { Bus, Warehouse, WarehouseSink } from '@touchline/platform';
import type { AttributorPorts, BeliefRow, SourcedCredit, StoredTarget } from './attributor.js';
import { RESTATEMENT_SOURCE, creditRows, sourceOf, timeTexts } from './rows.js';
import { snapshotFromRows, snapshotRows, type ModelSnapshot, type SnapshotRow } from './snapshot.js';
import type { AttributorState, CreditRecord } from './state.js';

const CREDITS = 'touchline.credits';
const SNAPSHOTS = 'touchline.model_snapshots';
/** Rows per belief query: the read at start is paged so that memory stays flat at any size. */
const BELIEF_PAGE_ROWS = 2_000_000;

interface BeliefJson {
  conversion_id: string;
  model: string;
  newest: string | number;
  seq: string | number;
  journey: string | number;
  gone: string | number;
}

/**
 * The attributor's warehouse side. Credit of journeys goes through `WarehouseSink` (exactly once
 * per source offset); restated credit is inserted directly, each insert under a token of its own
 * (its versions are fresh, so it can never repeat earlier rows). Snapshots are stored before they
 * are used, and read back with the credit beliefs when the attributor starts.
 */
export class WarehouseAttributorStore implements AttributorPorts {
  constructor(
    private readonly wh: Warehouse,
    private readonly sink: WarehouseSink,
    private readonly bus: Bus,
    private readonly creditsTopic: string,
    /** Models whose newest version per conversion tells what was written (algorithmic ones and one rule-based). */
    private readonly beliefModels: readonly string[],
    /** A model with a row for every touch of every credited journey, to read touches back from. */
    private readonly targetModel: string,
  ) {}

  async writeCredits(credits: readonly SourcedCredit[], batch: { topic: string; partition: number; firstOffset: string; lastOffset: string }): Promise<number> {
    if (credits.length === 0) {
      this.sink.advance(CREDITS, batch.topic, batch.partition, batch.lastOffset);
      return 0;
    }
    const computedAt = Date.now();
    const text = timeTexts();
    const rows = credits.flatMap((c) => creditRows(c.record, sourceOf(c.source), computedAt, text));
    return this.sink.write(CREDITS, batch.topic, batch.partition, batch.firstOffset, rows);
  }

  async writeRestatements(records: readonly CreditRecord[], token: string): Promise<void> {
    const computedAt = Date.now();
    const text = timeTexts();
    await this.wh.insertRows(CREDITS, records.flatMap((r) => creditRows(r, RESTATEMENT_SOURCE, computedAt, text)), token);
  }

  async writeSnapshot(snapshot: ModelSnapshot): Promise<void> {
    await this.wh.insertRows(SNAPSHOTS, snapshotRows(snapshot), `snapshot|${snapshot.seq}`);
  }

  async publishCredits(messages: readonly CreditMessage[]): Promise<void> {
    await this.bus.publish(this.creditsTopic, messages.map((m) => ({ key: m.conversionId, value: JSON.stringify(m) })));
  }

  async readBeliefs(conversionIds: readonly string[]): Promise<BeliefRow[]> {
    if (conversionIds.length === 0) return [];
    const rows = await this.wh.query<BeliefJson>(`${BELIEF_SELECT} WHERE model IN {models:Array(String)} AND conversion_id IN {ids:Array(String)} GROUP BY conversion_id, model`, {
      models: this.beliefModels,
      ids: conversionIds,
    });
    return rows.map(beliefOf);
  }

  async readTargets(expected: ReadonlyMap<string, number>): Promise<Map<string, StoredTarget>> {
    const out = new Map<string, StoredTarget>();
    const ids = [...expected.keys()];
    for (let i = 0; i < ids.length; i += 10_000) {
      const part = ids.slice(i, i + 10_000);
      const rows = await this.wh.query<{
        conversion_id: string;
        journey: string | number;
        touchpoint_id: string;
        channel: string;
        campaign: string;
        touch_ms: string | number;
        conversion_ms: string | number;
        name: string;
        person: string;
        currency: string;
      }>(
        `SELECT conversion_id, journey_version AS journey, touchpoint_id, any(channel) AS channel, any(campaign) AS campaign,
                toUnixTimestamp64Milli(any(touch_ts)) AS touch_ms, toUnixTimestamp64Milli(any(conversion_ts)) AS conversion_ms,
                any(conversion_name) AS name, any(person_id) AS person, any(currency) AS currency
         FROM ${CREDITS}
         WHERE conversion_id IN {ids:Array(String)} AND model = {model:String}
         GROUP BY conversion_id, journey_version, touchpoint_id`,
        { ids: part, model: this.targetModel },
      );
      const byConversion = new Map<string, typeof rows>();
      for (const r of rows) {
        if (Number(r.journey) !== expected.get(r.conversion_id)) continue;
        let list = byConversion.get(r.conversion_id);
        if (!list) byConversion.set(r.conversion_id, (list = []));
        list.push(r);
      }
      for (const [id, list] of byConversion) {
        const touches = list
          .filter((r) => r.touchpoint_id !== '')
          .map((r) => ({ messageId: r.touchpoint_id, channel: r.channel, campaign: r.campaign, timestamp: Number(r.touch_ms) }))
          .sort((a, b) => a.timestamp - b.timestamp || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0));
        const head = list[0]!;
        out.set(id, {
          conversionId: id,
          conversionName: head.name,
          conversionTimestamp: Number(head.conversion_ms),
          personId: head.person,
          currency: head.currency,
          value: 0,
          touches,
          journeyVersion: Number(head.journey),
        });
      }
    }
    return out;
  }

  /**
   * Brings a starting attributor up to what the warehouse holds: the clock above every version
   * written, per conversion what was last written under each algorithmic model (and from which
   * snapshot), and the snapshots that credit refers to, the newest one in force.
   */
  async loadInto(state: AttributorState): Promise<{ beliefs: number; snapshots: number }> {
    const [top] = await this.wh.query<{ v: string | number; n: string | number }>(`SELECT max(version) AS v, count() AS n FROM ${CREDITS}`);
    state.observeVersion(Number(top?.v ?? 0));
    const pages = Math.max(1, Math.ceil(Number(top?.n ?? 0) / BELIEF_PAGE_ROWS));
    let beliefs = 0;
    for (let page = 0; page < pages; page++) {
      const rows = await this.wh.query<BeliefJson>(
        `${BELIEF_SELECT} WHERE model IN {models:Array(String)} AND cityHash64(conversion_id) % {pages:UInt32} = {page:UInt32} GROUP BY conversion_id, model`,
        { models: this.beliefModels, pages, page },
      );
      for (const r of rows) {
        const b = beliefOf(r);
        state.loadBelief(b.conversionId, b.model, b);
      }
      beliefs += rows.length;
    }
    const [latest] = await this.wh.query<{ s: string | number }>(`SELECT max(seq) AS s FROM ${SNAPSHOTS}`);
    const latestSeq = Number(latest?.s ?? 0);
    const wanted = [...new Set([...state.missingSnapshots(), latestSeq])].filter((s) => s > 0);
    let snapshots = 0;
    if (wanted.length > 0) {
      const rows = await this.wh.query<SnapshotRow>(
        `SELECT seq, model, computed_at, markov_order, status, reason, conversions, null_journeys, journeys, channel, score, attributed_conversions, attributed_value, params
         FROM ${SNAPSHOTS} WHERE seq IN {seqs:Array(UInt64)}`,
        { seqs: wanted },
      );
      const bySeq = new Map<number, SnapshotRow[]>();
      for (const r of rows) {
        const s = Number(r.seq);
        let list = bySeq.get(s);
        if (!list) bySeq.set(s, (list = []));
        list.push(r);
      }
      for (const [seq, list] of [...bySeq].sort((a, b) => a[0] - b[0])) {
        state.addSnapshot(snapshotFromRows(dedupeRows(list)), seq === latestSeq);
        snapshots++;
      }
    }
    return { beliefs, snapshots };
  }
}

// Aliases differ from the column names: ClickHouse would otherwise read `version` inside argMax as
// the aggregate aliased `version`.
const BELIEF_SELECT = `SELECT conversion_id, model, max(version) AS newest, argMax(snapshot_seq, version) AS seq,
  max(journey_version) AS journey, argMax(retracted, version) AS gone FROM ${CREDITS}`;

function beliefOf(r: BeliefJson): BeliefRow {
  return {
    conversionId: r.conversion_id,
    model: r.model,
    version: Number(r.newest),
    seq: Number(r.seq),
    journeyVersion: Number(r.journey),
    retracted: Number(r.gone) === 1,
  };
}

/** A snapshot's rows once each (an insert retried under another token could repeat them). */
function dedupeRows(rows: SnapshotRow[]): SnapshotRow[] {
  const seen = new Map<string, SnapshotRow>();
  for (const r of rows) seen.set(`${r.model}\u0000${r.channel}`, r);
  return [...seen.values()];
}
