import { mulberry32, naiveSum, PathStats, type ModelName } from '@touchline/attribution';
import type { CreditMessage, JourneyMessage, JourneysTopicMessage, NullPathMessage } from '@touchline/contracts';
import { silentLogger, type ConsumedRecord, type Decoded } from '@touchline/platform';
import { StreamingAttributor } from '../../src/attributor.js';
import { ALL_MODELS, creditJourney } from '../../src/credit.js';
import { computeSnapshot, type ModelFit, type ModelSnapshot } from '../../src/snapshot.js';
import { AttributorState, type AttributorStateOptions } from '../../src/state.js';
import { MemoryPorts } from './memory-ports.js';

export const OPTIONS: AttributorStateOptions = {
  models: ALL_MODELS,
  halfLifeDays: 7,
  markovOrder: 1,
  minConversions: 50,
  minNullPaths: 50,
  maxRetainedJourneys: 1_000_000,
};

export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const rng = mulberry32(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export interface Streamed {
  attributor: StreamingAttributor;
  ports: MemoryPorts;
}

/**
 * Feeds messages through the attributor's handler in batches of random sizes over four
 * partitions, as the consumer loop would (each message a record with its own offset).
 */
export async function stream(
  messages: readonly JourneysTopicMessage[],
  opts: { seed: number; state?: Partial<AttributorStateOptions>; everyConversions?: number; threshold?: number; ports?: MemoryPorts; attributor?: StreamingAttributor },
): Promise<Streamed> {
  const ports = opts.ports ?? new MemoryPorts('linear');
  const attributor =
    opts.attributor ??
    new StreamingAttributor(
      new AttributorState({ ...OPTIONS, ...opts.state }),
      ports,
      { recomputeEveryConversions: opts.everyConversions ?? 150, restateThreshold: opts.threshold ?? 0.02, restatementChunkRows: 2_000 },
      silentLogger(),
    );
  const rng = mulberry32(opts.seed);
  const offsets = [0, 0, 0, 0];
  for (let i = 0; i < messages.length; ) {
    const partition = Math.floor(rng() * 4);
    const size = 1 + Math.floor(rng() * 120);
    const items: Decoded<JourneysTopicMessage>[] = messages.slice(i, i + size).map((message) => ({ message, record: recordOf(message, partition, offsets[partition]!++) }));
    i += size;
    await attributor.handle(items, { topic: 'journeys', partition, records: items.map((x) => x.record) });
  }
  return { attributor, ports };
}

export function recordOf(message: JourneysTopicMessage, partition: number, offset: number): ConsumedRecord {
  const value = JSON.stringify(message);
  return { topic: 'journeys', partition, offset: String(offset), key: '', value: Buffer.from(value), headers: {}, timestamp: 0 };
}

/** The newest journey per conversion and null path per id: what a batch computation starts from. */
export function finalState(messages: readonly JourneysTopicMessage[]): { journeys: JourneyMessage[]; nullPaths: NullPathMessage[] } {
  const journeys = new Map<string, JourneyMessage>();
  const nulls = new Map<string, NullPathMessage>();
  for (const m of messages) {
    if (m.kind === 'journey') {
      const prev = journeys.get(m.conversion.conversionId);
      if (!prev || prev.emittedAt < m.emittedAt) journeys.set(m.conversion.conversionId, m);
    } else {
      const prev = nulls.get(m.pathId);
      if (!prev || prev.emittedAt < m.emittedAt) nulls.set(m.pathId, m);
    }
  }
  return { journeys: [...journeys.values()], nullPaths: [...nulls.values()] };
}

/** From scratch: path statistics of the final journeys and null paths, one snapshot, credit of each journey. */
export function batch(messages: readonly JourneysTopicMessage[], seq: number, models: readonly ModelName[] = ALL_MODELS) {
  const { journeys, nullPaths } = finalState(messages);
  const stats = new PathStats();
  const levelStats = { person: new PathStats(), account: new PathStats() };
  for (const j of journeys) {
    if (j.retracted) continue;
    stats.add(j.touches.map((t) => t.channel), 1, Math.max(0, j.conversion.value), 0);
    levelStats[j.level].add(j.touches.map((t) => t.channel), 1, Math.max(0, j.conversion.value), 0);
  }
  for (const n of nullPaths) {
    if (n.touches.length === 0) continue;
    stats.add(n.touches.map((t) => t.channel), 0, 0, 1);
    levelStats[n.level ?? 'person'].add(n.touches.map((t) => t.channel), 0, 0, 1);
  }
  const snapshot = computeSnapshot(stats, seq, 0, OPTIONS, levelStats);
  const credit = new Map<string, CreditMessage>();
  for (const j of journeys) {
    if (j.retracted) continue;
    for (const c of creditJourney(j, { models, halfLifeDays: OPTIONS.halfLifeDays, snapshot })) credit.set(`${c.conversionId}\u0000${c.model}`, c);
  }
  return { snapshot, credit, stats };
}

/** Per-touch weights and shares of a credit, without its version. */
export const sharesOf = (c: CreditMessage) => c.shares.map((s) => [s.touchpointId, s.channel, s.campaign, s.weight, s.value]);

export function sumsToOne(c: CreditMessage): boolean {
  return naiveSum(c.shares.map((s) => s.weight)) === 1;
}

export function sameFits(a: ModelSnapshot, b: ModelSnapshot): boolean {
  for (const [model, fa] of a.fits) {
    const fb = b.fits.get(model);
    if (!fb || !sameFit(fa, fb)) return false;
    if ((fa.byLevel === undefined) !== (fb.byLevel === undefined)) return false;
    for (const level of ['person', 'account'] as const) {
      const [la, lb] = [fa.byLevel?.[level], fb.byLevel?.[level]];
      if (la && lb && !sameFit(la, lb)) return false;
    }
  }
  return a.channels.join() === b.channels.join();
}

function sameFit(fa: ModelFit, fb: ModelFit): boolean {
  if (fa.status !== fb.status) return false;
  if (JSON.stringify([...fa.channelScores]) !== JSON.stringify([...fb.channelScores])) return false;
  if (JSON.stringify([...(fa.positionScores ?? [])]) !== JSON.stringify([...(fb.positionScores ?? [])])) return false;
  if (fa.dataDriven?.channels.join() !== fb.dataDriven?.channels.join()) return false;
  if ((fa.dataDriven?.uncredited ?? []).join() !== (fb.dataDriven?.uncredited ?? []).join()) return false;
  return JSON.stringify([...(fa.dataDriven?.coefficients ?? [])]) === JSON.stringify([...(fb.dataDriven?.coefficients ?? [])]);
}
