import { describe, expect, it } from 'vitest';
import type { JourneysTopicMessage } from '@touchline/contracts';
import { WarehouseSink, silentLogger } from '@touchline/platform';
import { StreamingAttributor } from '../src/attributor.js';
import { ALL_MODELS } from '../src/credit.js';
import { ALGORITHMIC_MODELS, pathWeights, snapshotFromRows, type SnapshotRow } from '../src/snapshot.js';
import { AttributorState } from '../src/state.js';
import { WarehouseAttributorStore } from '../src/store.js';
import { syntheticJourneyFeed } from '../src/synthetic.js';
import { currentCredits, embeddedForFile } from './support/embedded.js';
import { batch, OPTIONS, recordOf, sameFits, sharesOf, shuffled } from './support/drive.js';

const env = embeddedForFile('attributor-wh-levels-');

describe('fits per level on the warehouse', () => {
  // A third of the journeys and null paths are accounts': every snapshot is fitted per level.
  const feed = syntheticJourneyFeed({ conversions: 600, nullPaths: 800, seed: 23, accountShare: 0.3 });
  const beliefModels = [...ALGORITHMIC_MODELS, 'first_touch'];
  const store = () => new WarehouseAttributorStore(env.wh, new WarehouseSink(env.wh), env.bus, 'credits', beliefModels, 'first_touch');
  const run = (state: AttributorState) => new StreamingAttributor(state, store(), { recomputeEveryConversions: 100, restateThreshold: 0.02, restatementChunkRows: 3_000 }, silentLogger());
  const opts = { ...OPTIONS, models: ALL_MODELS, maxRetainedJourneys: 50 };

  async function feedInto(a: StreamingAttributor, messages: readonly JourneysTopicMessage[], from: number) {
    for (let i = 0; i < messages.length; i += 97) {
      const items = messages.slice(i, i + 97).map((message, k) => ({ message, record: recordOf(message, 0, from + i + k) }));
      await a.handle(items, { topic: 'journeys', partition: 0, records: items.map((x) => x.record) });
    }
  }

  it('stores each level\'s fit in model_snapshots and, after a restart, credits as a batch computation does', async () => {
    const messages = shuffled(feed.messages, 5);
    const half = Math.floor(messages.length / 2);
    const first = run(new AttributorState(opts));
    await feedInto(first, messages.slice(0, half), 0);
    await first.tick();
    const live = first.state.snapshot;
    expect(live.fits.get('data_driven')!.byLevel!.account.status).toBe('fitted');

    // The rows as the warehouse holds them give the same fits, level by level.
    const rows = await env.wh.query<SnapshotRow>(`SELECT * FROM touchline.model_snapshots WHERE seq = ${live.seq}`);
    const stored = snapshotFromRows(rows);
    expect(sameFits(live, stored)).toBe(true);
    const levels = JSON.parse(rows.find((r) => r.model === 'data_driven' && r.channel === 'email')!.params) as { levels: Record<string, { status: string }> };
    expect(Object.keys(levels.levels).sort()).toEqual(['account', 'person']);
    for (const j of feed.journeys.values()) {
      const channels = j.touches.map((t) => t.channel);
      for (const m of ALGORITHMIC_MODELS) expect(pathWeights(stored, m, channels, j.level)).toEqual(pathWeights(live, m, channels, j.level));
    }

    // Restart: snapshots and what was written come from the warehouse, the journeys are replayed.
    const state = new AttributorState(opts);
    const loaded = await store().loadInto(state);
    expect(loaded.snapshots).toBeGreaterThan(0);
    for (const m of messages.slice(0, half)) state.restore(m);
    const second = run(state);
    await feedInto(second, messages.slice(half), half);
    await second.tick();
    await second.tick();
    expect(second.status()).toMatchObject({ dirty: false, unsettled: false });

    const b = batch(messages, second.state.snapshot.seq, ALL_MODELS);
    expect(sameFits(second.state.snapshot, b.snapshot)).toBe(true);
    const current = await currentCredits(env.wh, 'conv-23-');
    expect([...current.keys()].sort()).toEqual([...b.credit.keys()].sort());
    for (const [key, c] of b.credit) expect(current.get(key), key).toEqual(sharesOf(c));
  });
});
