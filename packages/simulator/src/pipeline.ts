import { compareStrings, type ChannelCredit, type ModelName, type PathStats } from '@touchline/attribution';
import { ATTRIBUTOR_DEFAULTS, AttributorState, attributorOptionsFrom, creditJourney, type ModelSnapshot } from '@touchline/attributor';
import { InputMessage, TouchlineConfig, type JourneyMessage, type NullPathMessage } from '@touchline/contracts';
import { Normaliser } from '@touchline/ingest';
import { probabilisticFromConfig, stitch, StitcherState, Windows, type StitchOutput } from '@touchline/stitcher';
import type { ModelCredit, ReportModel } from './attribution.js';
import type { SimEvent } from './events.js';
import { conversionWindowsFor } from './journeys.js';
import type { Scenario } from './scenario.js';

/**
 * The settings under which a Touchline run sees a scenario the way `sendLive` sends it:
 * `conversionWindowsFor` the scenario and its lookback as the default window (null paths are
 * closed after the default lookback). A live run set up with the same values, as environment
 * variables, gives the same journeys, null paths and credit.
 */
export function pipelineSettingsFor(scenario: Scenario): Record<string, string> {
  return {
    TOUCHLINE_LOOKBACK_DAYS: String(scenario.lookbackDays),
    TOUCHLINE_CONVERSION_WINDOWS: JSON.stringify(conversionWindowsFor(scenario)),
  };
}

/** What the pipeline ends up holding for a simulated world, computed in process. */
export interface PipelineObservation {
  /** The journeys topic's final journey per conversion (retracted ones left out), by conversion id. */
  journeys: JourneyMessage[];
  /** The final null paths (withdrawn ones left out), by path id; untouched ones have no touches. */
  nullPaths: NullPathMessage[];
  /** The attributor's path statistics at the end, and its fit on them: what a settled attributor credits with. */
  stats: PathStats;
  snapshot: ModelSnapshot;
  /** Per model, `credits_current` summed per channel: weights and values, synthetic `direct` touches included. */
  credits: ModelCredit[];
  /**
   * Per model, the credit of the touches only (`credits_current WHERE touchpoint_id != ''`): what
   * the models say about the channels. The synthetic touch of a conversion without any touch says
   * nothing about a channel (the conversion happened without one), so channel accuracy is scored
   * on this, as the `model` observation leaves such conversions uncredited too.
   */
  touchedCredits: ModelCredit[];
  /** Conversions with no touch in their window, credited to a synthetic `direct` touch. */
  untouchedConversions: number;
  /** Events ingest refused, with the reason of the first few. */
  rejected: number;
  rejections: string[];
}

/**
 * Runs a simulated world's events through Touchline's own stages in process, without a bus:
 * ingest's `Normaliser` (validation, channel grouping, hashing), the stitcher's `StitcherState`
 * (identity graph, journeys, null paths closed by event time, untouched null paths), and the
 * attributor's `AttributorState` (journeys replace earlier journeys of their conversion, null
 * paths replace or withdraw theirs) with one model fit on the final statistics, each conversion
 * then credited by `creditJourney` under that fit — the batch computation a quiet streaming
 * attributor settles to (services/attributor, "streaming equals batch"). So the credit is the
 * pipeline's by construction: `credits_current` summed per model and channel after a live run
 * has settled.
 *
 * Not reproduced: fraud flags from the alerts service (none of the simulator's bots are flagged
 * here, so a scenario with click fraud can differ live) and the ingest deny list (no deletes).
 * `receivedAt` is the wall clock, as at ingest: an event more than five minutes in the future is
 * clamped to it in both runs.
 */
export class PipelineObserver {
  private readonly normaliser = new Normaliser();
  private readonly stitcher: StitcherState;
  private readonly attributor: AttributorState;
  private readonly config: TouchlineConfig;
  private readonly finalJourneys = new Map<string, JourneyMessage>();
  private readonly finalNullPaths = new Map<string, NullPathMessage>();
  private rejected = 0;
  private readonly rejections: string[] = [];

  constructor(
    settings: Record<string, string>,
    private readonly models: readonly ReportModel[],
    private readonly receivedAt: () => number = Date.now,
  ) {
    this.config = TouchlineConfig.parse(settings);
    const c = this.config;
    const probabilistic = probabilisticFromConfig(c);
    this.stitcher = new StitcherState({
      windows: Windows.fromConfig(c),
      maxTouchesPerJourney: c.TOUCHLINE_MAX_TOUCHES_PER_JOURNEY,
      ...(probabilistic ? { probabilistic } : {}),
    });
    const o = { ...ATTRIBUTOR_DEFAULTS, ...attributorOptionsFrom(c) };
    this.attributor = new AttributorState({
      models: models as ModelName[],
      halfLifeDays: o.halfLifeDays,
      markovOrder: o.markovOrder,
      minConversions: o.minConversions,
      minNullPaths: o.minNullPaths,
      maxRetainedJourneys: 0,
    });
  }

  /** One event as `POST /v1/batch` takes it. */
  add(event: SimEvent): void {
    const n = this.normaliser.normalise(event, { receivedAt: this.receivedAt() });
    if (!n.ok) {
      this.rejected++;
      if (this.rejections.length < 5) this.rejections.push(`${event.messageId}: ${n.reason}`);
      return;
    }
    // The stitcher reads what the topic holds: the JSON ingest wrote, decoded by the contract.
    const message = InputMessage.parse(JSON.parse(String(n.record.value)));
    for (const out of stitch(this.stitcher, message)) this.publish(out);
  }

  /** What the journeys topic keeps per key: a later message replaces (or withdraws) an earlier one. */
  private publish(m: StitchOutput): void {
    if (m.kind === 'journey') this.finalJourneys.set(m.conversion.conversionId, m);
    else if (m.kind === 'null_path') this.finalNullPaths.set(m.pathId, m);
  }

  /**
   * The attributor's statistics are the same for any interleaving of the messages
   * (`AttributorState`), so it reads only the last message per key, as a restart replaying a
   * compacted topic would.
   */
  result(): PipelineObservation {
    for (const m of this.finalJourneys.values()) this.attributor.restore(m);
    for (const m of this.finalNullPaths.values()) this.attributor.restore(m);
    const { snapshot } = this.attributor.computeSnapshot();
    const journeys = [...this.finalJourneys.values()].filter((j) => !j.retracted).sort((a, b) => compareStrings(a.conversion.conversionId, b.conversion.conversionId));
    const nullPaths = [...this.finalNullPaths.values()].filter((n) => n.touches.length > 0 || n.untouched === true).sort((a, b) => compareStrings(a.pathId, b.pathId));
    const sums = new Map<ReportModel, Map<string, ChannelCredit>>(this.models.map((m) => [m, new Map()] as const));
    const touched = new Map<ReportModel, Map<string, ChannelCredit>>(this.models.map((m) => [m, new Map()] as const));
    const addTo = (byChannel: Map<string, ChannelCredit>, channel: string, weight: number, value: number) => {
      let row = byChannel.get(channel);
      if (!row) byChannel.set(channel, (row = { channel, conversions: 0, value: 0 }));
      row.conversions += weight;
      row.value += value;
    };
    const halfLifeDays = this.config.TOUCHLINE_TIME_DECAY_HALF_LIFE_DAYS;
    for (const j of journeys) {
      for (const credit of creditJourney(j, { models: this.models as ModelName[], halfLifeDays, snapshot })) {
        const all = sums.get(credit.model as ReportModel)!;
        const mine = touched.get(credit.model as ReportModel)!;
        for (const s of credit.shares) {
          addTo(all, s.channel, s.weight, s.value);
          if (s.touchpointId !== '') addTo(mine, s.channel, s.weight, s.value);
        }
      }
    }
    return {
      journeys,
      nullPaths,
      stats: this.attributor.stats,
      snapshot,
      credits: this.models.map((model) => ({ model, credits: [...sums.get(model)!.values()].sort((a, b) => compareStrings(a.channel, b.channel)) })),
      touchedCredits: this.models.map((model) => ({ model, credits: [...touched.get(model)!.values()].sort((a, b) => compareStrings(a.channel, b.channel)) })),
      untouchedConversions: journeys.filter((j) => j.touches.length === 0).length,
      rejected: this.rejected,
      rejections: [...this.rejections],
    };
  }
}
