import { conversionTime, cumulativeHazard, type ConversionModel } from './outcome.js';
import type { SimUnit } from './world.js';

export interface ChannelTruth {
  channel: string;
  /** Conversions that happen with the channel and do not without it. */
  incrementalConversions: number;
  /** Their value. */
  incrementalRevenue: number;
  /** incrementalConversions / Σ over channels (0 when no channel has any effect). */
  share: number;
  revenueShare: number;
  /**
   * The same removal averaged over each unit's conversion draw instead of taken at the drawn
   * threshold: Σ_units exp(−Λ without c) − exp(−Λ) (see `cumulativeHazard`). The realised count
   * scatters around it by the luck of the draw.
   */
  expectedIncrementalConversions: number;
  expectedShare: number;
}

export interface GroundTruth {
  /** Conversions of the factual world (bots never convert). */
  conversions: number;
  revenue: number;
  /** Conversions with every channel removed: what happens without any marketing. */
  baselineConversions: number;
  /** One row per scenario channel, in scenario order. */
  channels: ChannelTruth[];
}

/**
 * Ground truth by removal with common random numbers, accumulated unit by unit: for each channel
 * c, the same unit with the same draws (threshold, frailty, every other channel's touches) is run
 * again without c's touches; c's incremental conversions are the units that convert in the
 * factual world and not in that one. The coupling in `conversionTime` makes this difference exact
 * per unit — removing a channel can only delay a conversion — rather than a difference of two
 * noisy totals, and only units touched by c can change.
 *
 * With synergies the channels' incremental conversions sum to more than the conversions marketing
 * causes in total (an interaction is lost whichever partner is removed); the true share is
 * normalised over channels: share_c = incremental_c / Σ_d incremental_d.
 */
export class TruthAccumulator {
  private readonly inc: Float64Array;
  private readonly rev: Float64Array;
  private readonly expected: Float64Array;
  private conversions = 0;
  private revenue = 0;
  private baseline = 0;
  private readonly all: Uint8Array;

  constructor(
    private readonly model: ConversionModel,
    private readonly channels: readonly string[],
  ) {
    this.inc = new Float64Array(channels.length);
    this.rev = new Float64Array(channels.length);
    this.expected = new Float64Array(channels.length);
    this.all = new Uint8Array(channels.length).fill(1);
  }

  /** Adds one unit whose factual conversion time is `T` (undefined: no conversion). */
  add(unit: SimUnit, T: number | undefined): void {
    if (unit.touches.length === 0 || !(unit.frailty > 0)) {
      if (T !== undefined) {
        this.conversions++;
        this.revenue += unit.value;
        this.baseline++;
      }
      return;
    }
    const n = this.channels.length;
    const present = new Uint8Array(n);
    for (const t of unit.touches) present[t.ch] = 1;
    const removed = new Uint8Array(n);
    const full = Math.exp(-cumulativeHazard(this.model, unit));
    for (let c = 0; c < n; c++) {
      if (!present[c]) continue;
      removed.fill(0);
      removed[c] = 1;
      this.expected[c] = (this.expected[c] as number) + Math.exp(-cumulativeHazard(this.model, unit, removed)) - full;
      if (T !== undefined && conversionTime(this.model, unit, removed) === undefined) {
        this.inc[c] = (this.inc[c] as number) + 1;
        this.rev[c] = (this.rev[c] as number) + unit.value;
      }
    }
    if (T === undefined) return;
    this.conversions++;
    this.revenue += unit.value;
    if (conversionTime(this.model, unit, this.all) !== undefined) this.baseline++;
  }

  result(): GroundTruth {
    const total = (xs: Float64Array) => xs.reduce((a, x) => a + x, 0);
    const sumInc = total(this.inc);
    const sumRev = total(this.rev);
    const sumExp = total(this.expected);
    return {
      conversions: this.conversions,
      revenue: Math.round(this.revenue * 100) / 100,
      baselineConversions: this.baseline,
      channels: this.channels.map((channel, c) => ({
        channel,
        incrementalConversions: this.inc[c] as number,
        incrementalRevenue: Math.round((this.rev[c] as number) * 100) / 100,
        share: sumInc > 0 ? (this.inc[c] as number) / sumInc : 0,
        revenueShare: sumRev > 0 ? (this.rev[c] as number) / sumRev : 0,
        expectedIncrementalConversions: this.expected[c] as number,
        expectedShare: sumExp > 0 ? (this.expected[c] as number) / sumExp : 0,
      })),
    };
  }
}
