import { dailySpend, eventTime, unitEvents, type SimEvent } from './events.js';
import { conversionModel, conversionTime } from './outcome.js';
import type { Scenario } from './scenario.js';
import { getScenario, DEFAULT_SCENARIO } from './scenarios.js';
import { createWorld, runPrefix } from './world.js';

export interface LiveFeedOptions {
  /** Default: the b2c scenario. Its population size is ignored: the feed never runs out. */
  scenario?: Scenario;
  seed?: number;
  /** Clock (epoch ms), read once per batch. */
  now?: () => number;
  /** Units (people or buying groups) per batch (default 1). */
  unitsPerBatch?: number;
  /**
   * How many units the caller will feed per day, to scale spend to the scenario's spend per unit;
   * without it no cost events are sent.
   */
  unitsPerDay?: number;
}

/**
 * An endless feed of v1 events for a live demo: the scenario's units one after another, each
 * replayed so that its last event happens now — the touches of its window (its journey if it
 * converts, else its null path: at most `lookbackDays` old), then its conversion, if any. Ids carry the seed and the unit's index,
 * so the feed restarted with the same seed resends the same events (deduplicated downstream),
 * and a new seed starts new people. With `unitsPerDay`, each new UTC date first brings that
 * day's spend per channel and campaign. Pure: no timers, no I/O — the caller paces it.
 */
export function* liveFeed(options: LiveFeedOptions = {}): Generator<SimEvent[], never> {
  const base = options.scenario ?? (getScenario(DEFAULT_SCENARIO) as Scenario);
  const scenario: Scenario = { ...base, units: Number.MAX_SAFE_INTEGER, holdouts: base.holdouts ?? [] };
  const world = createWorld(scenario, options.seed ?? 1);
  const model = conversionModel(scenario);
  const now = options.now ?? Date.now;
  const perBatch = Math.max(1, Math.floor(options.unitsPerBatch ?? 1));
  const scale = options.unitsPerDay !== undefined ? (options.unitsPerDay * (base.horizonDays + base.lookbackDays)) / base.units : 0;
  let lastDate = '';
  let u = 0;
  for (;;) {
    const batch: SimEvent[] = [];
    const at = now();
    const date = new Date(at).toISOString().slice(0, 10);
    if (scale > 0 && date !== lastDate) {
      lastDate = date;
      batch.push(...dailySpend(base, date, `${runPrefix(base, options.seed ?? 1)}-live`, scale));
    }
    for (let k = 0; k < perBatch; k++, u++) {
      const full = world.unit(u);
      const T = conversionTime(model, full);
      // Only the touches of the unit's window: its journey if it converts, else its null path.
      const end = T ?? scenario.horizonDays;
      const unit = { ...full, touches: full.touches.filter((t) => t.time <= end && end - t.time <= scenario.lookbackDays) };
      const events = unitEvents(world, unit, T);
      if (events.length === 0) continue;
      const shift = at - Math.max(...events.map(eventTime));
      batch.push(...unitEvents(world, unit, T, shift));
    }
    yield batch;
  }
}
