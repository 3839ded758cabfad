import { luSolveInPlace } from '../math/linear.js';
import type { PathStats } from '../paths/path-stats.js';
import type { ChannelAttribution, ChannelCredit } from '../types.js';
import { buildMarkovChain, type MarkovChain, type MarkovChainOptions } from './markov-chain.js';

export interface AbsorptionOptions {
  /** `dense`: LU on I − Q (exact to rounding); `iterative`: Gauss–Seidel; `auto`: dense up to `denseLimit` states. */
  solver?: 'auto' | 'dense' | 'iterative';
  /** Largest number of transient states solved densely by `auto` (default 300). */
  denseLimit?: number;
  /** Gauss–Seidel stops when no absorption probability moves by more than this in a sweep (default 1e-15). */
  tolerance?: number;
  /** Gauss–Seidel sweep cap (default 100 000). */
  maxSweeps?: number;
  /** Warm start for Gauss–Seidel (absorption probabilities of a chain with fewer removals). */
  initial?: Float64Array;
}

export interface AbsorptionResult {
  /** P(reach (conversion) | start). */
  probability: number;
  /** P(reach (conversion) | state), per transient state (0 for removed states). */
  x: Float64Array;
  method: 'dense' | 'gauss-seidel';
  /** Gauss–Seidel sweeps (0 for dense). */
  sweeps: number;
  /** max_i |pConv_i + Σ_j Q_ij x_j − x_i| over the kept states: how exactly x solves the system. */
  residual: number;
}

/**
 * Conversion probability of an absorbing chain, solved exactly as a linear system rather than by
 * simulation: with Q the transient-to-transient block and b = P(· → conversion), the absorption
 * probabilities are x = (I − Q)⁻¹ b (Kemeny & Snell, Finite Markov Chains, 1960, Thm 3.3.7), and
 * P(conversion) = Σ_j P(start → j) x_j. States in `removed` become (null): their x is 0, which is
 * how the removal effect redirects every transition into a removed channel.
 *
 * Small chains use dense LU with partial pivoting; large ones Gauss–Seidel, which converges
 * monotonically here because Q is non-negative and substochastic with every state able to
 * reach absorption (each path ends in (conversion) or (null)).
 *
 * Edge cases: no states → probability 0; everything removed → 0.
 */
export function absorptionProbability(chain: MarkovChain, removed: Uint8Array | null = null, options: AbsorptionOptions = {}): AbsorptionResult {
  const n = chain.states.length;
  const useDense = options.solver === 'dense' || (options.solver !== 'iterative' && n <= (options.denseLimit ?? 300));
  const x = useDense ? denseSolve(chain, removed) : gaussSeidel(chain, removed, options);
  let probability = 0;
  for (let k = 0; k < chain.startTo.length; k++) probability += (chain.startP[k] as number) * (x.x[chain.startTo[k] as number] as number);
  return { probability, x: x.x, method: useDense ? 'dense' : 'gauss-seidel', sweeps: x.sweeps, residual: residualOf(chain, removed, x.x) };
}

function denseSolve(chain: MarkovChain, removed: Uint8Array | null): { x: Float64Array; sweeps: number } {
  const n = chain.states.length;
  const keep: number[] = [];
  const pos = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    if (removed && removed[i]) continue;
    pos[i] = keep.length;
    keep.push(i);
  }
  const m = keep.length;
  const a = new Float64Array(m * m);
  const b = new Float64Array(m);
  for (let r = 0; r < m; r++) {
    const i = keep[r] as number;
    a[r * m + r] = 1 - (chain.selfLoop[i] as number);
    b[r] = chain.pConv[i] as number;
    for (let k = chain.rowPtr[i] as number; k < (chain.rowPtr[i + 1] as number); k++) {
      const c = pos[chain.col[k] as number] as number;
      if (c >= 0) a[r * m + c] = (a[r * m + c] as number) - (chain.p[k] as number);
    }
  }
  if (!luSolveInPlace(a, b, m)) throw new Error('Markov chain: I − Q is singular (a state cannot reach absorption)');
  const x = new Float64Array(n);
  for (let r = 0; r < m; r++) x[keep[r] as number] = b[r] as number;
  return { x, sweeps: 0 };
}

function gaussSeidel(chain: MarkovChain, removed: Uint8Array | null, options: AbsorptionOptions): { x: Float64Array; sweeps: number } {
  const n = chain.states.length;
  const tol = options.tolerance ?? 1e-15;
  const maxSweeps = options.maxSweeps ?? 100_000;
  const x = options.initial ? Float64Array.from(options.initial) : new Float64Array(n);
  const order = chain.sweepOrder;
  const { rowPtr, col, p, pConv, selfLoop } = chain;
  if (removed) for (let i = 0; i < n; i++) if (removed[i]) x[i] = 0;
  let sweeps = 0;
  for (; sweeps < maxSweeps; ) {
    sweeps++;
    let maxDelta = 0;
    for (let o = 0; o < n; o++) {
      const i = order[o] as number;
      if (removed && removed[i]) continue;
      let s = pConv[i] as number;
      for (let k = rowPtr[i] as number; k < (rowPtr[i + 1] as number); k++) s += (p[k] as number) * (x[col[k] as number] as number);
      s /= 1 - (selfLoop[i] as number);
      const d = Math.abs(s - (x[i] as number));
      if (d > maxDelta) maxDelta = d;
      x[i] = s;
    }
    if (maxDelta <= tol) break;
  }
  return { x, sweeps };
}

function residualOf(chain: MarkovChain, removed: Uint8Array | null, x: Float64Array): number {
  let r = 0;
  for (let i = 0; i < chain.states.length; i++) {
    if (removed && removed[i]) continue;
    let s = (chain.pConv[i] as number) + (chain.selfLoop[i] as number) * (x[i] as number);
    for (let k = chain.rowPtr[i] as number; k < (chain.rowPtr[i + 1] as number); k++) s += (chain.p[k] as number) * (x[chain.col[k] as number] as number);
    r = Math.max(r, Math.abs(s - (x[i] as number)));
  }
  return r;
}

export interface MarkovOptions extends MarkovChainOptions, Omit<AbsorptionOptions, 'initial'> {}

export interface MarkovResult extends ChannelAttribution {
  model: 'markov';
  order: number;
  /** Removal effect per channel, aligned with `credits`: RE_c = 1 − P(conv without c) / P(conv). */
  removalEffects: number[];
  /** P(conversion) of the full chain. */
  conversionProbability: number;
  /** P(conversion) with each channel removed, aligned with `credits`. */
  removedConversionProbability: number[];
  stateCount: number;
  transitionCount: number;
  method: 'dense' | 'gauss-seidel';
  /** Largest Gauss–Seidel sweep count over the full and removal solves (0 for dense). */
  sweeps: number;
  /** Largest residual over the full and removal solves. */
  residual: number;
}

/**
 * Markov-chain attribution by removal effect (Anderl et al. 2016; conventions of the
 * ChannelAttribution package, Altomare & Loris): RE_c = 1 − P(conversion | c removed) /
 * P(conversion), where removing c sends every transition into a state containing c to (null).
 * For order k > 1 a state is a tuple of channels (see `MarkovStateConvention`) and removing c
 * removes every state that contains c anywhere in its tuple — the channel is gone from the
 * journey, whatever came before it. Attributed conversions are `total × RE_c / Σ RE`, value
 * likewise with the total value. Probabilities are solved exactly (`absorptionProbability`), not
 * simulated as ChannelAttribution does (its Monte Carlo with a step cap biases REs by a few %).
 *
 * Edge cases: no paths or no conversions (P = 0, or Σ RE = 0) → every RE and credit 0; a channel
 * that only occurs on paths with zero journeys gets RE 0.
 */
export function markovAttribution(stats: PathStats, options: MarkovOptions = {}): MarkovResult {
  const chain = buildMarkovChain(stats, options);
  const full = absorptionProbability(chain, null, options);
  const nStates = chain.states.length;
  let sweeps = full.sweeps;
  let residual = full.residual;
  const removedP: number[] = [];
  const re: number[] = [];
  for (let c = 0; c < chain.channels.length; c++) {
    const mask = new Uint8Array(nStates);
    for (const s of chain.statesWithChannel[c] as Int32Array) mask[s] = 1;
    const r = absorptionProbability(chain, mask, { ...options, initial: full.x });
    sweeps = Math.max(sweeps, r.sweeps);
    residual = Math.max(residual, r.residual);
    removedP.push(r.probability);
    re.push(full.probability > 0 ? Math.max(0, 1 - r.probability / full.probability) : 0);
  }
  const credits = creditsFromScores(chain.channels, re, stats.totalConversions, stats.totalValue);
  return {
    model: 'markov',
    order: chain.order,
    credits,
    removalEffects: re,
    conversionProbability: full.probability,
    removedConversionProbability: removedP,
    stateCount: nStates,
    transitionCount: chain.col.length + chain.startTo.length,
    method: full.method,
    sweeps,
    residual,
  };
}

/**
 * Splits totals over channels in proportion to non-negative scores: credit_c = total × s_c / Σ s.
 * All scores 0 → every credit 0.
 */
export function creditsFromScores(channels: readonly string[], scores: readonly number[], totalConversions: number, totalValue: number): ChannelCredit[] {
  let sum = 0;
  for (const s of scores) sum += s;
  return channels.map((channel, i) => {
    const share = sum > 0 ? (scores[i] as number) / sum : 0;
    return { channel, conversions: totalConversions * share, value: totalValue * share };
  });
}
