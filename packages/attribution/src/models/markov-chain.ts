import type { PathStats } from '../paths/path-stats.js';

/**
 * How the states of an order-k chain are formed from a path c1 > c2 > … > cL.
 * - `window` (ChannelAttribution's convention, the default): the states are the sliding windows
 *   (c1..ck), (c2..ck+1), …, (cL−k+1..cL); a path shorter than k is one state holding the whole
 *   path. Every state after the first is "the last k channels".
 * - `prefix`: the state after touch i is the last min(i, k) channels, so a path of L touches
 *   visits L states: (c1), (c1,c2), …, then k-windows. This is the textbook k-th order chain
 *   started from an empty history.
 */
export type MarkovStateConvention = 'window' | 'prefix';

export interface MarkovChainOptions {
  /** Markov order k ≥ 1 (default 1). */
  order?: number;
  /** Collapse consecutive repeats of a channel before forming states (default true). */
  collapseRepeats?: boolean;
  /** Default `window` (ChannelAttribution). */
  stateConvention?: MarkovStateConvention;
}

/**
 * An absorbing Markov chain built from aggregated paths. Transient states are channel tuples;
 * absorbing states are (conversion) and (null). Transitions are stored row-wise (CSR) as
 * probabilities, with the self-loop of each state kept apart in `selfLoop`.
 */
export interface MarkovChain {
  order: number;
  collapseRepeats: boolean;
  stateConvention: MarkovStateConvention;
  /** Channel names (sorted); states refer to them by index. */
  channels: string[];
  /** Each transient state as a tuple of channel indices. */
  states: number[][];
  /** Transitions (start) → state. */
  startTo: Int32Array;
  startP: Float64Array;
  /** CSR rows of state → state transitions (self-loops excluded). */
  rowPtr: Int32Array;
  col: Int32Array;
  p: Float64Array;
  /** P(state → state) for the same state (only when repeats are not collapsed). */
  selfLoop: Float64Array;
  /** P(state → (conversion)). */
  pConv: Float64Array;
  /** For each channel, the states that contain it (removing the channel removes them all). */
  statesWithChannel: Int32Array[];
  /** A good Gauss–Seidel sweep order: states far from the start first (successors first). */
  sweepOrder: Int32Array;
  /** Total transition weight out of (start): Σ over paths of conversions + nulls. */
  startWeight: number;
}

/**
 * Builds the absorbing chain of the Markov attribution model of Anderl, Becker, von Wangenheim &
 * Schumann (2016), "Mapping the customer journey: Lessons learned from graph-based online
 * attribution modeling", with ChannelAttribution's weighting conventions (Altomare & Loris):
 * every transition of a path is weighted by its `conversions + nulls`; its last state goes to
 * (conversion) with weight `conversions` and to (null) with weight `nulls`; (start) goes to the
 * first state. Rows are normalised to probabilities.
 *
 * Edge cases: paths with no journeys (conversions = nulls = 0) add no transition; empty stats
 * give a chain with no states (`startWeight` 0).
 */
export function buildMarkovChain(stats: PathStats, options: MarkovChainOptions = {}): MarkovChain {
  const order = options.order ?? 1;
  if (!Number.isInteger(order) || order < 1) throw new RangeError(`Markov order must be an integer ≥ 1, got ${order}`);
  const collapseRepeats = options.collapseRepeats ?? true;
  const stateConvention = options.stateConvention ?? 'window';
  const channels = stats.channels();
  const channelIndex = new Map(channels.map((c, i) => [c, i] as const));

  const stateIds = new Map<string, number>();
  const states: number[][] = [];
  const rows: Map<number, number>[] = [];
  const conv: number[] = [];
  const nul: number[] = [];
  const depthSum: number[] = [];
  const depthW: number[] = [];
  const start = new Map<number, number>();
  let startWeight = 0;

  const stateOf = (tuple: number[]): number => {
    const key = tuple.join(',');
    let id = stateIds.get(key);
    if (id === undefined) {
      id = states.length;
      stateIds.set(key, id);
      states.push(tuple);
      rows.push(new Map());
      conv.push(0);
      nul.push(0);
      depthSum.push(0);
      depthW.push(0);
    }
    return id;
  };
  const bump = (m: Map<number, number>, k: number, w: number): void => {
    m.set(k, (m.get(k) ?? 0) + w);
  };

  for (const rec of stats.paths()) {
    const w = rec.conversions + rec.nulls;
    if (!(w > 0)) continue;
    const seq: number[] = [];
    for (const c of rec.channels) {
      const idx = channelIndex.get(c) as number;
      if (collapseRepeats && seq.length > 0 && seq[seq.length - 1] === idx) continue;
      seq.push(idx);
    }
    const ids: number[] = [];
    if (stateConvention === 'prefix') {
      for (let i = 0; i < seq.length; i++) ids.push(stateOf(seq.slice(Math.max(0, i - order + 1), i + 1)));
    } else if (seq.length <= order) {
      ids.push(stateOf(seq));
    } else {
      for (let i = 0; i + order <= seq.length; i++) ids.push(stateOf(seq.slice(i, i + order)));
    }
    startWeight += w;
    bump(start, ids[0] as number, w);
    for (let i = 0; i < ids.length; i++) {
      const s = ids[i] as number;
      depthSum[s] = (depthSum[s] as number) + w * i;
      depthW[s] = (depthW[s] as number) + w;
      if (i + 1 < ids.length) bump(rows[s] as Map<number, number>, ids[i + 1] as number, w);
    }
    const last = ids[ids.length - 1] as number;
    conv[last] = (conv[last] as number) + rec.conversions;
    nul[last] = (nul[last] as number) + rec.nulls;
  }

  const n = states.length;
  const rowPtr = new Int32Array(n + 1);
  let nnz = 0;
  for (let i = 0; i < n; i++) {
    for (const to of (rows[i] as Map<number, number>).keys()) if (to !== i) nnz++;
    rowPtr[i + 1] = nnz;
  }
  const col = new Int32Array(nnz);
  const p = new Float64Array(nnz);
  const selfLoop = new Float64Array(n);
  const pConv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = rows[i] as Map<number, number>;
    let total = (conv[i] as number) + (nul[i] as number);
    for (const w of row.values()) total += w;
    let k = rowPtr[i] as number;
    // Sorted columns make the sums, hence the results, independent of path insertion order.
    for (const to of [...row.keys()].sort((a, b) => a - b)) {
      const pr = (row.get(to) as number) / total;
      if (to === i) selfLoop[i] = pr;
      else {
        col[k] = to;
        p[k] = pr;
        k++;
      }
    }
    pConv[i] = (conv[i] as number) / total;
  }
  const startKeys = [...start.keys()].sort((a, b) => a - b);
  const startTo = Int32Array.from(startKeys);
  const startP = Float64Array.from(startKeys.map((s) => (start.get(s) as number) / startWeight));

  const withChannel: number[][] = channels.map(() => []);
  states.forEach((tuple, s) => {
    for (const c of new Set(tuple)) (withChannel[c] as number[]).push(s);
  });
  const meanDepth = states.map((_, s) => (depthSum[s] as number) / Math.max(1e-300, depthW[s] as number));
  const sweepOrder = Int32Array.from(states.map((_, s) => s).sort((a, b) => (meanDepth[b] as number) - (meanDepth[a] as number) || a - b));

  return {
    order,
    collapseRepeats,
    stateConvention,
    channels,
    states,
    startTo,
    startP,
    rowPtr,
    col,
    p,
    selfLoop,
    pConv,
    statesWithChannel: withChannel.map((a) => Int32Array.from(a)),
    sweepOrder,
    startWeight,
  };
}
