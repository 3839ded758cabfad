import { inHoldout } from '@touchline/contracts';
import { keyOf, murmur32, streamOf } from './random.js';
import { validateScenario, type ChannelSpec, type Scenario } from './scenario.js';

/** One exposure of a person to a channel. Times are in days from the scenario's day 0. */
export interface SimTouch {
  /** Position among the unit's exposures (ghosts included): the touch's id is `touchId(unit, touch)`. */
  seq: number;
  member: number;
  /** Index of the channel in the scenario (`World.channels`). */
  ch: number;
  campaign: string;
  time: number;
  /** How many touches of this channel the unit had before this one (for saturation). */
  rank: number;
}

/** A touch a holdout experiment suppressed: it would have happened, it did not. */
export interface GhostTouch extends SimTouch {
  experiment: string;
}

export interface SimMember {
  anonymousId: string;
  userId: string;
  email: string;
  userAgent: string;
  ip: string;
}

/** A person (B2C) or a buying group (B2B): the thing that converts. */
export interface SimUnit {
  index: number;
  /** The person's user id, or the account id: what holdouts hash. */
  id: string;
  accountId: string | undefined;
  members: SimMember[];
  /** Multiplies the unit's whole hazard (mean 1). 0 for bots. */
  frailty: number;
  /** Exp(1) threshold: the unit converts when its cumulative hazard reaches it. */
  threshold: number;
  value: number;
  /** The member who signs (B2B) or the person (B2C). */
  closer: number;
  /** Delivered touches, sorted by time. */
  touches: SimTouch[];
  ghosts: GhostTouch[];
  fraud: boolean;
}

/**
 * A scenario with a seed: every unit of it, generated on demand. `unit(i)` always returns the
 * same unit for the same (scenario, seed, i) — nothing is stored, so populations of millions fit
 * in memory one unit at a time.
 */
export interface World {
  scenario: Scenario;
  seed: number;
  channels: string[];
  /** Regular units, then bots. */
  unitCount: number;
  unit(index: number): SimUnit;
}

/** The deterministic message id of a touch. */
export function touchId(unit: SimUnit, t: SimTouch): string {
  return `${unit.id}-t${t.seq}`;
}

const BROWSER_UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36',
];
const BOT_UAS = ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0 Safari/537.36', 'python-requests/2.32'];
/** First octets of big cloud providers' ranges: where click farms and headless browsers live. */
const DATACENTER_OCTETS = [34, 35, 52, 54, 104, 138, 159];

/** Prefix of every id of a run: the same scenario and seed give the same ids, so a resent run is deduplicated. */
export function runPrefix(scenario: Scenario, seed: number): string {
  return `${scenario.name}-${seed}`;
}

const P_TRAITS = murmur32('traits');
const P_THRESHOLD = murmur32('threshold');
const P_VALUE = murmur32('value');
const P_CLOSER = murmur32('closer');
const P_MEMBER = murmur32('member');
const P_FRAUD = murmur32('fraud');

/**
 * The world of a scenario and seed: units, their members, and every exposure over
 * [−lookbackDays, horizonDays). All draws come from per-unit (per-member), per-purpose streams —
 * one per channel for the touches — so the same (scenario, seed) always gives the same world and
 * the draws of one channel never depend on another channel's.
 */
export function createWorld(scenario: Scenario, seed: number): World {
  validateScenario(scenario);
  const prefix = runPrefix(scenario, seed);
  const channels = scenario.channels.map((c) => c.name);
  const touchKeys = scenario.channels.map((c) => murmur32(`touch:${c.name}`));
  const start = -scenario.lookbackDays;
  const end = scenario.horizonDays;
  const weeks = (end - start) / 7;
  const sigma = scenario.frailtySigma;
  const [gLo, gHi] = scenario.unit === 'account' ? (scenario.groupSize ?? [1, 1]) : [1, 1];
  const holdouts = scenario.holdouts ?? [];
  const bots: { channel: number; spec: ChannelSpec; index: number; clicks: number }[] = [];
  for (const f of scenario.fraud ?? []) {
    const ch = channels.indexOf(f.channel);
    for (let b = 0; b < f.bots; b++) bots.push({ channel: ch, spec: scenario.channels[ch] as ChannelSpec, index: b, clicks: f.clicksPerBot });
  }

  const heldOutBy = (t: SimTouch, id: string) =>
    holdouts.find((h) => h.channel === channels[t.ch] && (h.campaign === undefined || h.campaign === t.campaign) && inHoldout(h.id, id, h.share));

  const regular = (u: number): SimUnit => {
    const id = scenario.unit === 'account' ? `${prefix}-acc${u}` : `${prefix}-p${u}`;
    const key = keyOf(seed, id);
    const traits = streamOf(key, P_TRAITS);
    const size = scenario.unit === 'account' ? traits.int(gLo, gHi) : 1;
    const frailty = sigma > 0 ? Math.exp(sigma * traits.normal() - (sigma * sigma) / 2) : 1;
    const threshold = streamOf(key, P_THRESHOLD).exponential();
    const cv = scenario.conversion;
    const value = Math.round(cv.medianValue * Math.exp(cv.valueSigma * streamOf(key, P_VALUE).normal()) * 100) / 100;
    const members: SimMember[] = [];
    const memberKeys: number[] = [];
    for (let m = 0; m < size; m++) {
      const userId = scenario.unit === 'account' ? `${id}-m${m}` : id;
      const mk = scenario.unit === 'account' ? keyOf(seed, userId) : key;
      memberKeys.push(mk);
      const ms = streamOf(mk, P_MEMBER);
      members.push({
        anonymousId: `a-${userId}`,
        userId,
        email: `${userId}@example.test`,
        userAgent: ms.pick(BROWSER_UAS),
        ip: `${ms.int(11, 223)}.${ms.int(0, 255)}.${ms.int(0, 255)}.${ms.int(1, 254)}`,
      });
    }
    const closer = size > 1 ? streamOf(key, P_CLOSER).int(0, size - 1) : 0;

    const raw: SimTouch[] = [];
    for (let ch = 0; ch < scenario.channels.length; ch++) {
      const spec = scenario.channels[ch] as ChannelSpec;
      for (let m = 0; m < size; m++) {
        const s = streamOf(memberKeys[m] as number, touchKeys[ch] as number);
        if (spec.eventDays) {
          for (const d of spec.eventDays) {
            if (s.next() < spec.reach && d >= start && d < end) raw.push({ seq: 0, member: m, ch, campaign: s.pick(spec.campaigns), time: d + s.uniform(0.375, 0.75), rank: 0 });
          }
        } else if (s.next() < spec.reach) {
          const n = s.poisson((spec.touchesPerWeek ?? 0) * weeks);
          for (let i = 0; i < n; i++) raw.push({ seq: 0, member: m, ch, campaign: s.pick(spec.campaigns), time: s.uniform(start, end), rank: 0 });
        }
      }
    }
    raw.sort((a, b) => a.time - b.time || a.ch - b.ch || a.member - b.member);
    const touches: SimTouch[] = [];
    const ghosts: GhostTouch[] = [];
    const ranks = new Array<number>(channels.length).fill(0);
    for (let i = 0; i < raw.length; i++) {
      const t = raw[i] as SimTouch;
      t.seq = i;
      const exp = holdouts.length ? heldOutBy(t, id) : undefined;
      if (exp) {
        ghosts.push({ ...t, experiment: exp.id });
        continue;
      }
      t.rank = ranks[t.ch] as number;
      ranks[t.ch] = t.rank + 1;
      touches.push(t);
    }
    return { index: u, id, accountId: scenario.unit === 'account' ? id : undefined, members, frailty, threshold, value, closer, touches, ghosts, fraud: false };
  };

  const bot = (u: number): SimUnit => {
    const b = bots[u - scenario.units] as (typeof bots)[number];
    const id = `${prefix}-bot-${b.spec.name}-${b.index}`;
    const s = streamOf(keyOf(seed, id), P_FRAUD);
    const member: SimMember = {
      anonymousId: `a-${id}`,
      userId: '',
      email: '',
      userAgent: s.next() < 0.5 ? s.pick(BOT_UAS) : s.pick(BROWSER_UAS),
      ip: `${s.pick(DATACENTER_OCTETS)}.${s.int(0, 255)}.${s.int(0, 255)}.${s.int(1, 254)}`,
    };
    const times = Array.from({ length: b.clicks }, () => s.uniform(start, end)).sort((x, y) => x - y);
    const touches = times.map((time, i) => ({ seq: i, member: 0, ch: b.channel, campaign: s.pick(b.spec.campaigns), time, rank: i }));
    return { index: u, id, accountId: undefined, members: [member], frailty: 0, threshold: Infinity, value: 0, closer: 0, touches, ghosts: [], fraud: true };
  };

  return {
    scenario,
    seed,
    channels,
    unitCount: scenario.units + bots.length,
    unit: (u) => {
      if (!(Number.isInteger(u) && u >= 0 && u < scenario.units + bots.length)) throw new RangeError(`unit ${u} out of range`);
      return u < scenario.units ? regular(u) : bot(u);
    },
  };
}

/** Every unit of the world, in index order. */
export function* unitsOf(world: World): Generator<SimUnit> {
  for (let u = 0; u < world.unitCount; u++) yield world.unit(u);
}
