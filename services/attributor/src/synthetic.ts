import { mulberry32 } from '@touchline/attribution';
import type { CostMessage, JourneyMessage, JourneysTopicMessage, JourneyTouch, NullPathMessage } from '@touchline/contracts';

const DAY = 86_400_000;

const CHANNELS = ['google_ads', 'linkedin', 'email', 'direct', 'organic', 'facebook', 'webinar', 'events', 'partner', 'display', 'referral', 'call'];
const INTERACTIONS = ['click', 'visit', 'email_click', 'impression', 'webinar', 'event', 'call'] as const;

export interface SyntheticFeedOptions {
  conversions: number;
  nullPaths: number;
  /** Share of conversions whose journey is emitted again later with other touches (default 0.2). */
  restatedShare?: number;
  /** Share of conversions retracted later (a privacy delete or a withdrawn conversion; default 0.01). */
  retractedShare?: number;
  /** Share of null paths withdrawn later (their person converted after all, or was deleted; default 0.02). */
  withdrawnShare?: number;
  /** Share of messages delivered twice (default 0.05). */
  repeatedShare?: number;
  /** Channels used, at most 12 (default 8). */
  channels?: number;
  seed?: number;
  /** First conversion day, ms (default 2026-03-02). */
  start?: number;
  /** Days the conversions spread over (default 14). */
  days?: number;
  /**
   * Share of conversions and null paths at the account level (default 0): a buying group's
   * journeys, longer, over channels whose effect differs from the person level's.
   */
  accountShare?: number;
}

export interface SyntheticFeed {
  /** Journeys, restated journeys, null paths and repeats, in the order a stitcher would emit them. */
  messages: JourneysTopicMessage[];
  /** Spend per day, channel and campaign; a few lines twice (a replayed import). */
  costs: CostMessage[];
  /** The newest journey of every conversion (retracted ones included, with `retracted: true`). */
  journeys: Map<string, JourneyMessage>;
  /** The newest version of every null path (withdrawn ones have no touches). */
  nullPaths: Map<string, NullPathMessage>;
  /** Touch and conversion events the journeys and null paths stand for. */
  events: number;
}

/**
 * A reproducible feed for the journeys topic, as the stitcher would emit it: converting journeys
 * over channels of unequal effect (so that the algorithmic models have something to find), null
 * paths, journeys restated with more or fewer touches, milestones for W-shaped credit on some,
 * retracted conversions, withdrawn null paths, and messages delivered twice. Used by the tests and the benchmark of the attributor.
 */
export function syntheticJourneyFeed(opts: SyntheticFeedOptions): SyntheticFeed {
  const rng = mulberry32(opts.seed ?? 1);
  const channels = CHANNELS.slice(0, Math.max(2, Math.min(CHANNELS.length, opts.channels ?? 8)));
  const start = opts.start ?? Date.UTC(2026, 2, 2);
  const days = Math.max(1, opts.days ?? 14);
  // Popularity and effect per channel: converting journeys lean towards effective channels.
  const reach = channels.map((_, i) => 1 / (1 + i * 0.35));
  const effect = channels.map((_, i) => ((i * 7) % 5) / 4 + 0.2);
  const pick = (weights: number[]): number => {
    let total = 0;
    for (const w of weights) total += w;
    let r = rng() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r <= 0) return i;
    }
    return weights.length - 1;
  };
  const converting = reach.map((r, i) => r * (effect[i] as number));
  const convertingAccounts = reach.map((r, i) => r * (effect[channels.length - 1 - i] as number));
  const accountShare = opts.accountShare ?? 0;
  // No draw at all without accounts, so that feeds without them keep their bits.
  const atAccountLevel = () => accountShare > 0 && rng() < accountShare;
  const touchesFor = (prefix: string, end: number, weights: number[], count: number): JourneyTouch[] => {
    const out: JourneyTouch[] = [];
    for (let k = 0; k < count; k++) {
      const c = channels[pick(weights)] as string;
      out.push({
        messageId: `${prefix}-t${k}`,
        timestamp: end - Math.floor(rng() * 30 * DAY),
        interaction: INTERACTIONS[Math.floor(rng() * INTERACTIONS.length)] as (typeof INTERACTIONS)[number],
        channel: c,
        campaign: `${c}-${rng() < 0.5 ? 'a' : 'b'}`,
        source: c,
        medium: '',
      });
    }
    return out.sort((a, b) => a.timestamp - b.timestamp || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0));
  };
  const length = () => {
    let n = 1;
    while (n < 12 && rng() < 0.62) n++;
    return n;
  };

  let clock = start * 1000;
  const emitted = () => (clock += 1 + Math.floor(rng() * 1000));
  const messages: JourneysTopicMessage[] = [];
  const journeys = new Map<string, JourneyMessage>();
  const nullPaths = new Map<string, NullPathMessage>();
  const later: Array<() => void> = [];
  let events = 0;

  for (let i = 0; i < opts.conversions; i++) {
    const id = `conv-${opts.seed ?? 1}-${i}`;
    const at = start + Math.floor((i / Math.max(1, opts.conversions)) * days * DAY) + Math.floor(rng() * 3_600_000);
    const account = atAccountLevel();
    const all = rng() < 0.04 ? [] : account ? touchesFor(id, at, convertingAccounts, length() + length()) : touchesFor(id, at, converting, length());
    const withMilestones = all.length >= 3 && rng() < 0.3;
    const base = (touches: JourneyTouch[], revision: number): JourneyMessage => ({
      v: 1,
      kind: 'journey',
      personId: `person-${i}`,
      conversion: { conversionId: id, messageId: `${id}-m`, name: rng() < 0.7 ? 'purchase' : 'demo_request', timestamp: at, value: Math.round(rng() * 50_000) / 100, currency: 'EUR' },
      touches,
      ...(withMilestones ? { milestones: { leadTime: (all[1] as JourneyTouch).timestamp, opportunityTime: (all[all.length - 2] as JourneyTouch).timestamp } } : {}),
      level: account ? 'account' : 'person',
      retracted: false,
      revision,
      emittedAt: emitted(),
      lookbackDays: 90,
    });
    events += all.length + 1;
    if (all.length >= 2 && rng() < (opts.restatedShare ?? 0.2)) {
      // A late touch or identity merge: first emitted without one of its touches, then complete.
      const drop = Math.floor(rng() * all.length);
      const first = base(all.filter((_, k) => k !== drop), 0);
      messages.push(first);
      journeys.set(id, first);
      later.push(() => {
        const full = { ...base(all, 1), conversion: first.conversion };
        messages.push(full);
        journeys.set(id, full);
      });
    } else {
      const j = base(all, 0);
      messages.push(j);
      journeys.set(id, j);
    }
    if (rng() < (opts.retractedShare ?? 0.01)) {
      later.push(() => {
        const last = journeys.get(id) as JourneyMessage;
        const gone: JourneyMessage = { ...last, touches: [], retracted: true, revision: last.revision + 1, emittedAt: emitted() };
        messages.push(gone);
        journeys.set(id, gone);
      });
    }
    if (rng() < 0.02 && later.length > 0) later.splice(Math.floor(rng() * later.length), 1)[0]!();
    if (i < opts.nullPaths) pushNull(i);
  }
  for (let i = opts.conversions; i < opts.nullPaths; i++) pushNull(i);
  for (const f of later) f();

  function pushNull(i: number): void {
    const pathId = `null-${opts.seed ?? 1}-${i}`;
    const closedAt = start + Math.floor((i / Math.max(1, opts.nullPaths)) * days * DAY);
    const account = atAccountLevel();
    const touches = touchesFor(pathId, closedAt, reach, account ? length() + length() : length());
    const owner = account ? { personId: '', level: 'account' as const, accountId: `account-${i}` } : { personId: `anon-${i}` };
    const m: NullPathMessage = { v: 1, kind: 'null_path', ...owner, pathId, touches, closedAt, emittedAt: emitted() };
    messages.push(m);
    nullPaths.set(pathId, m);
    events += touches.length;
    if (rng() < (opts.withdrawnShare ?? 0.02)) {
      later.push(() => {
        const gone: NullPathMessage = { ...m, touches: [], emittedAt: emitted() };
        messages.push(gone);
        nullPaths.set(pathId, gone);
      });
    }
  }

  const repeated = opts.repeatedShare ?? 0.05;
  const withRepeats: JourneysTopicMessage[] = [];
  for (const m of messages) {
    withRepeats.push(m);
    if (rng() < repeated) withRepeats.push(m);
  }

  const costs: CostMessage[] = [];
  for (let d = -30; d < days; d++) {
    const date = new Date(start + d * DAY).toISOString().slice(0, 10);
    for (const c of channels) {
      if (c === 'direct' || c === 'organic') continue;
      for (const k of ['a', 'b']) {
        const line: CostMessage = {
          v: 1,
          kind: 'cost',
          messageId: `cost-${date}-${c}-${k}`,
          date,
          channel: c,
          campaign: `${c}-${k}`,
          amount: Math.round(rng() * 40_000) / 100,
          currency: 'EUR',
          receivedAt: start,
        };
        costs.push(line);
        if (rng() < 0.05) costs.push(line);
      }
    }
  }
  return { messages: withRepeats, costs, journeys, nullPaths, events };
}
