import { PathStats, type JourneyTouch } from '@touchline/attribution';
import type { Scenario } from './scenario.js';
import { touchId, type SimUnit, type World } from './world.js';

export const DAY_MS = 86_400_000;

/** A conversion with the touches of its lookback window, as the stitcher builds it. */
export interface SimJourney {
  unit: number;
  conversionId: string;
  /** Epoch ms. */
  timestamp: number;
  value: number;
  touches: JourneyTouch[];
}

export function dayZeroMs(world: World): number {
  return Date.parse(`${world.scenario.startDate}T00:00:00Z`);
}

export function conversionIdOf(unit: SimUnit): string {
  return `${unit.id}-conv`;
}

/**
 * What an attribution system observes from a simulated world, unit by unit, built by the
 * stitcher's rules (services/stitcher `StitcherState`): a conversion's journey is its unit's
 * touches at or before the conversion and at most `lookbackDays` before it, in time order at
 * millisecond precision (ties by message id). For accounts the unit is the buying group: its
 * members' touches together.
 *
 * A unit that does not convert contributes a null path: its touches of the last `lookbackDays`
 * of the horizon — a window as long as a converting journey's, so converters and non-converters
 * are observed over windows of the same length (a null path over the unit's whole history would
 * make every touch look like a reason not to convert). Units with no touch in their window go to
 * `stats.untouched`. Every unit is observed: the population is the one Touchline knows — people
 * and accounts it has seen at some time, the simulated period being a window of that longer
 * history — so a known person with no touch in the window is an empty null path. (A tracker that
 * counted only people with an event inside the period would miss the non-converters nothing ever
 * touched, and then no path model could tell what a channel adds to no touch at all.) Bots are
 * included like anyone else: they are what the pipeline sees.
 *
 * This is the `model` observation, which the accuracy bench scores. Its null paths are not the
 * stitcher's (which lays them from a person's first event and knows only people with events):
 * what the pipeline itself computes is `PipelineObserver` (pipeline.ts).
 */
export class Observer {
  readonly stats = new PathStats();
  /** Converting journeys, kept when asked for. */
  readonly journeys: SimJourney[] = [];
  private readonly day0: number;
  private readonly lookbackMs: number;
  private readonly endMs: number;
  private readonly direct: boolean[];

  constructor(
    private readonly world: World,
    private readonly options: { keepJourneys?: boolean; onJourney?: (j: SimJourney) => void } = {},
  ) {
    this.day0 = dayZeroMs(world);
    this.lookbackMs = world.scenario.lookbackDays * DAY_MS;
    this.endMs = this.ms(world.scenario.horizonDays);
    this.direct = world.scenario.channels.map((c) => c.direct === true);
  }

  /** Epoch ms of a simulation time in days. */
  ms(days: number): number {
    return this.day0 + Math.round(days * DAY_MS);
  }

  /** Adds one unit whose factual conversion time is `T` (undefined: no conversion). */
  add(unit: SimUnit, T: number | undefined): void {
    const until = T === undefined ? this.endMs : this.ms(T);
    const window: { ch: number; at: number; id: string }[] = [];
    for (const t of unit.touches) {
      const at = this.ms(t.time);
      if (at <= until && until - at <= this.lookbackMs) window.push({ ch: t.ch, at, id: touchId(unit, t) });
    }
    window.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const names = this.world.channels;
    const channels = window.map((w) => names[w.ch] as string);
    if (T === undefined) {
      this.stats.add(channels, 0, 0, 1);
      return;
    }
    this.stats.add(channels, 1, unit.value, 0);
    if (!this.options.keepJourneys && !this.options.onJourney) return;
    const touches = window.map(({ ch, at, id }) => ({ id, channel: names[ch] as string, timestamp: at, ...(this.direct[ch] ? { direct: true } : {}) }));
    const journey: SimJourney = { unit: unit.index, conversionId: conversionIdOf(unit), timestamp: until, value: unit.value, touches };
    if (this.options.keepJourneys) this.journeys.push(journey);
    this.options.onJourney?.(journey);
  }
}

/**
 * The `TOUCHLINE_CONVERSION_WINDOWS` setting under which Touchline's stitcher builds the journeys
 * `Observer` builds for this scenario: its lookback, and impressions counted over all of it (the
 * stitcher's default view-through window is 1 day), deals credited on the account.
 */
export function conversionWindowsFor(scenario: Scenario): Record<string, { lookbackDays: number; viewThroughDays: number; level: 'person' | 'account' }> {
  return { [scenario.conversion.name]: { lookbackDays: scenario.lookbackDays, viewThroughDays: scenario.lookbackDays, level: scenario.unit } };
}
