/**
 * The causal structure of a simulated market: who is reached by which channel, how often, and
 * what each touch does to the hazard of converting. Everything the ground truth depends on is
 * here, so a scenario is a complete, inspectable statement of "what really works".
 */

/** Interactions of the v1 touch event (packages/contracts `INTERACTIONS`). */
export type TouchInteraction =
  | 'impression'
  | 'click'
  | 'visit'
  | 'email_open'
  | 'email_click'
  | 'social'
  | 'webinar'
  | 'event'
  | 'call'
  | 'meeting'
  | 'offline';

export interface ChannelSpec {
  /** Channel name as Touchline normalises it (lower case, `_` for spaces). */
  name: string;
  interaction: TouchInteraction;
  campaigns: readonly string[];
  /** UTM source and medium of the landing URL; no URL for offline and email touches. */
  utm?: { source: string; medium: string; clickId?: string };
  /**
   * Touches recorded against the user id (email service, CRM: fairs, calls, webinars) rather
   * than a browser cookie; they reach the person's journey through identity stitching.
   */
  byUserId?: boolean;
  /** A direct visit (typed URL, bookmark): `last_non_direct` skips it. */
  direct?: boolean;
  /**
   * Probability that a person is targeted by the channel at all. With `eventDays`: the
   * probability that a person attends each of those days.
   */
  reach: number;
  /** Mean touches per week for a targeted person (a Poisson process over the simulated period). */
  touchesPerWeek?: number;
  /** Touches happen only on these days (fairs, webinars): day numbers from the scenario start. */
  eventDays?: readonly number[];
  /**
   * Extra cumulative conversion hazard one touch adds (the first touch of this channel for the
   * unit; later touches are damped by `saturation`). 0 = the channel does nothing.
   */
  effect: number;
  /** The k-th touch (k from 0) adds `effect × saturation^k` (default 1: no wear-out). */
  saturation?: number;
  /** Days between a touch and the start of its effect (default 0). */
  delayDays?: number;
  /** Days over which a touch's effect is spread, evenly, once it starts (default 1). */
  spreadDays?: number;
  /** Spend per day, split evenly over the campaigns (cost events). */
  costPerDay: number;
}

/** Touches of `to` that come after a touch of `from` (within `windowDays`) have their effect × (1 + boost). */
export interface Synergy {
  from: string;
  to: string;
  boost: number;
  /** How long after a `from` touch the boost holds (default: for ever). */
  windowDays?: number;
}

/** Bots clicking one channel's ads: paid for, never converting. */
export interface ClickFraud {
  channel: string;
  /** Number of bot identities (each a cookie that clicks and never buys). */
  bots: number;
  clicksPerBot: number;
}

/**
 * An incrementality experiment: a deterministic share of units (by `holdoutArm`) is not shown the
 * channel (or one campaign of it). The held-out touches still exist in the simulation as "ghost"
 * exposures, which is what lets the lift be measured on exactly the people who would have been
 * reached.
 */
export interface HoldoutExperiment {
  id: string;
  channel: string;
  campaign?: string;
  share: number;
}

export interface Scenario {
  name: string;
  description: string;
  /** `person`: one person converts. `account`: a buying group converts as one (B2B). */
  unit: 'person' | 'account';
  /** Number of units (people, or accounts). */
  units: number;
  /** Buying-group size range for accounts, inclusive. */
  groupSize?: readonly [number, number];
  /** Days in which conversions are observed, from `startDate`. */
  horizonDays: number;
  /**
   * Attribution lookback: a conversion's journey is the touches of the last `lookbackDays`, and a
   * non-converting unit's null path the touches of the last `lookbackDays` of the horizon.
   * Exposure starts `lookbackDays` before `startDate`, so every window is fully observed.
   */
  lookbackDays: number;
  /** ISO date of day 0. */
  startDate: string;
  /** Conversion hazard per day of a unit without any touch (the mean over units). */
  baselineHazard: number;
  /**
   * Spread of units' responsiveness: each unit's whole hazard (baseline and touch effects) is
   * multiplied by a log-normal frailty with mean 1 and this log-standard deviation.
   */
  frailtySigma: number;
  conversion: { name: string; stage?: 'lead' | 'opportunity' | 'closed_won'; medianValue: number; valueSigma: number; currency: string };
  channels: readonly ChannelSpec[];
  synergies: readonly Synergy[];
  fraud?: readonly ClickFraud[];
  holdouts?: readonly HoldoutExperiment[];
}

export function channelNames(s: Scenario): string[] {
  return s.channels.map((c) => c.name);
}

/** Throws a RangeError naming the first field that makes the scenario meaningless. */
export function validateScenario(s: Scenario): void {
  const bad = (what: string): never => {
    throw new RangeError(`scenario ${s.name}: ${what}`);
  };
  if (!(Number.isInteger(s.units) && s.units > 0)) bad(`units must be a positive integer, got ${s.units}`);
  if (!(s.horizonDays > 0)) bad('horizonDays must be positive');
  if (!(s.lookbackDays > 0)) bad('lookbackDays must be positive');
  if (!(s.baselineHazard >= 0)) bad('baselineHazard must be ≥ 0');
  if (!(s.frailtySigma >= 0)) bad('frailtySigma must be ≥ 0');
  if (Number.isNaN(Date.parse(`${s.startDate}T00:00:00Z`))) bad(`startDate ${s.startDate} is not a date`);
  if (s.unit === 'account') {
    const [lo, hi] = s.groupSize ?? [1, 1];
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi >= lo)) bad('groupSize must be [min, max] with 1 ≤ min ≤ max');
  }
  const names = new Set<string>();
  for (const c of s.channels) {
    if (names.has(c.name)) bad(`channel ${c.name} appears twice`);
    names.add(c.name);
    if (!/^[a-z0-9_]+$/.test(c.name)) bad(`channel name ${JSON.stringify(c.name)} must be lower case letters, digits and _`);
    if (!(c.reach >= 0 && c.reach <= 1)) bad(`${c.name}.reach must be in [0, 1]`);
    if (c.eventDays === undefined && !(c.touchesPerWeek !== undefined && c.touchesPerWeek >= 0)) bad(`${c.name} needs touchesPerWeek or eventDays`);
    if (!(c.effect >= 0)) bad(`${c.name}.effect must be ≥ 0`);
    if (c.saturation !== undefined && !(c.saturation >= 0 && c.saturation <= 1)) bad(`${c.name}.saturation must be in [0, 1]`);
    if (!((c.delayDays ?? 0) >= 0)) bad(`${c.name}.delayDays must be ≥ 0`);
    if (!((c.spreadDays ?? 1) > 0)) bad(`${c.name}.spreadDays must be positive`);
    if (c.campaigns.length === 0) bad(`${c.name} needs at least one campaign`);
  }
  for (const y of s.synergies) {
    if (!names.has(y.from) || !names.has(y.to)) bad(`synergy ${y.from} → ${y.to} names an unknown channel`);
    if (!(y.boost >= 0)) bad(`synergy ${y.from} → ${y.to}: boost must be ≥ 0`);
  }
  for (const f of s.fraud ?? []) if (!names.has(f.channel)) bad(`fraud on unknown channel ${f.channel}`);
  for (const h of s.holdouts ?? []) {
    if (!names.has(h.channel)) bad(`holdout ${h.id} on unknown channel ${h.channel}`);
    if (!(h.share > 0 && h.share < 1)) bad(`holdout ${h.id}: share must be in (0, 1)`);
  }
}
