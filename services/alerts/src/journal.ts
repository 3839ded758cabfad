import { createHash } from 'node:crypto';
import type { AlertMessage, BudgetShiftSuggestion, FraudFlagMessage } from '@touchline/contracts';
import type { Bus, Logger, Warehouse } from '@touchline/platform';
import type { DurableChannel, DurableFrame, Match, ReplaySource } from './stream.js';

/** What the journal stores: alerts, suggestions, and fraud flags with the key of their touches. */
export type JournalItem =
  | { kind: 'alert'; message: AlertMessage }
  | { kind: 'suggestion'; message: BudgetShiftSuggestion }
  | { kind: 'flag'; message: FraudFlagMessage; identity: string };

export interface JournalOptions {
  /** Stored frames kept in memory for resumes; older ones are read from the table. */
  bufferSize: number;
  /** How far back the ids of earlier findings are loaded at start, so none is reported twice. */
  dedupeWindowMs: number;
  now: () => number;
}

interface AlertRow {
  seq: string | number;
  stream: string;
  type: string;
  payload: string;
  channel: string;
  campaign: string;
  model: string;
}

/**
 * The ordered record of everything the durable stream channels carry. `record` stores new items in
 * `touchline.alerts` and publishes them on the alerts topic (fraud flags keyed like the touches
 * they flag, so they reach the stitcher partition that holds them), then hands them to the stream
 * in seq order; it resolves once all of that is durable, so the consumer commits only after.
 *
 * `seq` is max(previous + 1, now in microseconds): strictly increasing, and still increasing after a
 * restart (the table's highest seq is read at start). Calls are serialised so that seqs reach the
 * stream in order.
 */
export class AlertJournal implements ReplaySource {
  private readonly buffer: DurableFrame[] = [];
  private readonly known = new Set<string>();
  private lastSeq = 0;
  /** Every stored frame with a seq above this is in the buffer. */
  private memoryFloor = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly assigned = new Map<string, number>();

  constructor(
    private readonly wh: Warehouse,
    private readonly bus: Bus,
    private readonly alertsTopic: string,
    private readonly logger: Logger,
    private readonly publish: (f: DurableFrame) => void,
    private readonly o: JournalOptions,
  ) {}

  /** Reads the highest stored seq and the ids of recent findings; returns those ids. */
  async init(): Promise<{ lastSeq: number; ids: string[] }> {
    const [m] = await this.wh.query<{ s: string | number }>('SELECT max(seq) AS s FROM touchline.alerts');
    this.lastSeq = Number(m?.s ?? 0);
    this.memoryFloor = this.lastSeq;
    const since = this.o.now() - this.o.dedupeWindowMs;
    const rows = await this.wh.query<{ id: string }>(
      `SELECT DISTINCT id FROM touchline.alerts WHERE ts >= fromUnixTimestamp64Milli({since:Int64})`,
      { since },
    );
    for (const r of rows) this.known.add(r.id);
    return { lastSeq: this.lastSeq, ids: rows.map((r) => r.id) };
  }

  has(id: string): boolean {
    return this.known.has(id);
  }

  /** Stores and publishes the items not stored before; resolves with the frames published. */
  record(items: JournalItem[]): Promise<DurableFrame[]> {
    const run = this.chain.then(() => this.write(items));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async write(items: JournalItem[]): Promise<DurableFrame[]> {
    const fresh: Array<JournalItem & { frame: DurableFrame; id: string }> = [];
    const seen = new Set<string>();
    for (const item of items) {
      const id = itemId(item);
      if (this.known.has(id) || seen.has(id)) continue;
      seen.add(id);
      // A retried write reuses its seq: the stored row and the published frame must agree.
      let seq = this.assigned.get(id);
      if (seq === undefined) {
        seq = this.lastSeq = Math.max(this.lastSeq + 1, this.o.now() * 1000);
        this.assigned.set(id, seq);
      }
      fresh.push({ ...item, id, frame: toFrame(item, seq) });
    }
    if (fresh.length === 0) return [];
    const rows = fresh.map((f) => toRow(f, f.frame));
    const token = `alerts|${createHash('sha256').update(fresh.map((f) => `${f.id}@${f.frame.seq}`).join(',')).digest('hex')}`;
    await this.wh.insertRows('touchline.alerts', rows, token);
    await this.bus.publish(
      this.alertsTopic,
      fresh.map((f) => ({ key: f.kind === 'flag' ? f.identity : f.id, value: JSON.stringify(f.message) })),
    );
    for (const f of fresh) {
      this.known.add(f.id);
      this.assigned.delete(f.id);
      this.buffer.push(f.frame);
      this.publish(f.frame);
    }
    if (this.buffer.length > this.o.bufferSize) {
      const evicted = this.buffer.splice(0, this.buffer.length - this.o.bufferSize);
      this.memoryFloor = Math.max(this.memoryFloor, evicted[evicted.length - 1]!.seq);
    }
    this.logger.info({ count: fresh.length, types: [...new Set(fresh.map((f) => f.frame.type))] }, 'alerts recorded');
    if (this.known.size > 200_000) {
      for (const id of this.known) {
        if (this.known.size <= 100_000) break;
        this.known.delete(id);
      }
    }
    return fresh.map((f) => f.frame);
  }

  /** Frames after `since`: from memory when the buffer reaches back that far, else from the table. */
  async since(since: number, limit: number): Promise<DurableFrame[]> {
    if (since >= this.memoryFloor) return this.buffer.filter((f) => f.seq > since).slice(0, limit);
    const rows = await this.wh.query<AlertRow>(
      `SELECT seq, stream, type, payload, channel, campaign, model FROM touchline.alerts
       WHERE seq > {since:UInt64} ORDER BY seq LIMIT {limit:UInt32}`,
      { since, limit: limit * 2 },
    );
    const out = dedupe(rows.map(fromRow));
    // Frames published while the query ran are in the buffer.
    for (const f of this.buffer) if (f.seq > (out[out.length - 1]?.seq ?? since)) out.push(f);
    return out.slice(0, limit);
  }

  async recent(n: number, channels: DurableChannel[]): Promise<DurableFrame[]> {
    const inMemory = this.buffer.filter((f) => channels.includes(f.channel));
    if (inMemory.length >= n) return inMemory.slice(-n);
    const rows = await this.wh.query<AlertRow>(
      `SELECT seq, stream, type, payload, channel, campaign, model FROM touchline.alerts
       WHERE stream IN {channels:Array(String)} AND seq > 0 ORDER BY seq DESC LIMIT {n:UInt32}`,
      { channels, n: n * 2 },
    );
    const stored = dedupe(rows.map(fromRow).reverse());
    const last = stored[stored.length - 1]?.seq ?? 0;
    return [...stored, ...inMemory.filter((f) => f.seq > last)].slice(-n);
  }

  /** Most recent frames in memory. */
  get buffered(): readonly DurableFrame[] {
    return this.buffer;
  }
}

function itemId(item: JournalItem): string {
  return item.kind === 'flag' ? item.message.flagId : item.message.id;
}

function toFrame(item: JournalItem, seq: number): DurableFrame {
  switch (item.kind) {
    case 'alert': {
      const a = item.message;
      return { seq, channel: a.type === 'fraud_spike' ? 'fraud' : 'alerts', type: a.type, data: a, match: matchOf(a.channel, a.campaign, a.model) };
    }
    case 'suggestion': {
      const s = item.message;
      return { seq, channel: 'suggestions', type: 'budget_shift', data: s, match: { channel: [s.from.channel, s.to.channel], model: s.model } };
    }
    case 'flag':
      return { seq, channel: 'fraud', type: 'fraud_flag', data: item.message, match: {} };
  }
}

function matchOf(channel: string, campaign: string, model: string): Match {
  return { ...(channel ? { channel } : {}), ...(campaign ? { campaign } : {}), ...(model ? { model } : {}) };
}

const ts = (ms: number) => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');

function toRow(item: JournalItem, f: DurableFrame) {
  const base = { seq: f.seq, stream: f.channel, payload: JSON.stringify(item.message) };
  switch (item.kind) {
    case 'alert': {
      const a = item.message;
      return { ...base, id: a.id, ts: ts(a.at), type: a.type, signal: a.signal, severity: a.severity, channel: a.channel, campaign: a.campaign, model: a.model, summary: a.summary, risk: '' };
    }
    case 'suggestion': {
      const s = item.message;
      return { ...base, id: s.id, ts: ts(s.at), type: 'budget_shift', signal: 'budget_shift', severity: 'info', channel: s.from.channel, campaign: '', model: s.model, summary: s.summary, risk: s.risk.tier };
    }
    case 'flag': {
      const m = item.message;
      return { ...base, id: m.flagId, ts: ts(m.flaggedAt), type: 'fraud_flag', signal: 'fraud_flag', severity: 'warning', channel: '', campaign: '', model: '', summary: `${m.touchpointIds.length} touches flagged: ${m.reason}`, risk: '' };
    }
  }
}

function fromRow(r: AlertRow): DurableFrame {
  const data = JSON.parse(r.payload) as { kind?: string; from?: { channel: string }; to?: { channel: string } };
  const channel = (r.stream || 'alerts') as DurableChannel;
  const match: Match =
    data.kind === 'budget_shift' && data.from && data.to
      ? { channel: [data.from.channel, data.to.channel], model: r.model }
      : data.kind === 'fraud_flag'
        ? {}
        : matchOf(r.channel, r.campaign, r.model);
  return { seq: Number(r.seq), channel, type: r.type, data, match };
}

function dedupe(frames: DurableFrame[]): DurableFrame[] {
  const out: DurableFrame[] = [];
  for (const f of frames) if (out[out.length - 1]?.seq !== f.seq) out.push(f);
  return out;
}
