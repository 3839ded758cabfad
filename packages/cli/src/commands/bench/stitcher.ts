import type { ConversionMessage, TouchpointMessage } from '@touchline/contracts';
import { StitcherState, Windows, stitch } from '@touchline/stitcher';
import { quantile, type BenchRow, type BenchStage } from '../bench.js';

const H = 3_600_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const CHANNELS = ['google_ads', 'linkedin', 'email', 'organic_search', 'direct', 'webinar', 'events', 'display'];

function touch(i: number, person: number, at: number): TouchpointMessage {
  return {
    v: 1, kind: 'touchpoint', messageId: `t-${i.toString(36)}-${person.toString(36)}`, anonymousId: `anon-${person}`, timestamp: at, receivedAt: at,
    interaction: 'click', channel: CHANNELS[(i * 7 + person) % CHANNELS.length]!, source: '', medium: '', campaign: `cmp-${person % 40}`, content: '', term: '',
    clickId: '', clickIdType: '', url: '', referrer: '', cost: 0, consent: true, ip: '', userAgent: '', bot: false,
  };
}

const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';

/** A touch as a household's device sends it: three people per truncated network, one browser. */
function householdTouch(i: number, person: number, at: number): TouchpointMessage {
  const net = Math.floor(person / 3);
  return { ...touch(i, person, at), ip: `10.${(net >> 16) & 255}.${(net >> 8) & 255}.${net & 255}`, userAgent: UA };
}

function conversion(person: number, at: number): ConversionMessage {
  return { v: 1, kind: 'conversion', messageId: `c-${person}`, conversionId: `conv-${person}`, anonymousId: `anon-${person}`, timestamp: at, receivedAt: at, name: 'purchase', value: 100, currency: 'EUR', consent: true };
}

async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
  return process.memoryUsage().heapUsed;
}

/**
 * The stitcher's state in memory: stored touches (1 million, 10 per person), heap bytes per stored
 * touch, and journeys built per second when conversions arrive. The raw baseline stores the same
 * touches as plain message objects in one Map: what a naive stitcher would hold.
 */
const stage: BenchStage = {
  describe: 'identity graph and journeys in memory (run with --expose-gc for exact memory)',
  async run({ quick, log }) {
    const touches = quick ? 200_000 : 1_000_000;
    const perPerson = 10;
    const people = touches / perPerson;
    if (!(globalThis as { gc?: () => void }).gc) log('note: no --expose-gc; memory figures include garbage not yet collected');

    const before = await settledHeap();
    const state = new StitcherState({ windows: new Windows({ lookbackDays: 90, viewThroughDays: 1 }) });
    const t0 = performance.now();
    for (let p = 0; p < people; p++) for (let i = 0; i < perPerson; i++) stitch(state, touch(i, p, T0 + (p % 1000) * H + i * H));
    const loadMs = performance.now() - t0;
    const after = await settledHeap();
    const bytesPerTouch = (after - before) / touches;
    log(`stored ${state.stats.touches} touches in ${loadMs.toFixed(0)} ms; ${bytesPerTouch.toFixed(0)} heap bytes per touch`);

    const rounds: number[] = [];
    const conversions = quick ? 20_000 : 100_000;
    const t1 = performance.now();
    let emitted = 0;
    for (let p = 0; p < conversions; p++) {
      const s0 = performance.now();
      emitted += stitch(state, conversion(p, T0 + (p % 1000) * H + perPerson * H)).length;
      rounds.push(performance.now() - s0);
    }
    const convMs = performance.now() - t1;

    // Raw baseline: the same touches kept as whole messages in a Map.
    const naive = new Map<string, TouchpointMessage>();
    const b0 = await settledHeap();
    for (let p = 0; p < people; p++) for (let i = 0; i < perPerson; i++) {
      const t = touch(i, p, T0 + i * H);
      naive.set(t.messageId, t);
    }
    const b1 = await settledHeap();
    const naiveBytes = (b1 - b0) / touches;
    naive.clear();

    // The same load with probabilistic linking on: every touch is also a sighting.
    const l0 = await settledHeap();
    const linked = new StitcherState({ windows: new Windows({ lookbackDays: 90, viewThroughDays: 1 }), probabilistic: { windowMs: 10 * 60_000 } });
    let links = 0;
    for (let p = 0; p < people; p++) for (let i = 0; i < perPerson; i++) {
      for (const o of stitch(linked, householdTouch(i, p, T0 + (p % 1000) * H + i * H))) if (o.kind === 'identity_link') links++;
    }
    const l1 = await settledHeap();
    const linkedBytes = (l1 - l0) / touches;
    // Both states stay alive up to here, so the difference is the linked state alone.
    log(`with probabilistic linking: ${linkedBytes.toFixed(0)} heap bytes per touch, ${links} links (${linked.stats.touches} and ${state.stats.touches} touches held)`);
    const rows: BenchRow[] = [
      { metric: `heap bytes per stored touch (${touches.toLocaleString('en-US')} touches)`, value: bytesPerTouch, unit: 'B', baseline: { what: 'messages kept whole in one Map', value: naiveBytes } },
      { metric: 'heap bytes per stored touch, probabilistic linking on (three devices per network)', value: linkedBytes, unit: 'B' },
      { metric: 'touches applied per second', value: touches / (loadMs / 1000), unit: '/s' },
      { metric: 'journeys built per second (10 touches each)', value: emitted / (convMs / 1000), unit: '/s' },
      { metric: 'per-conversion stitch time, p99', value: quantile(rounds, 0.99) * 1000, unit: 'µs' },
    ];
    return rows;
  },
};
export default stage;
