import { conversionIdOf, DAY_MS, dayZeroMs } from './journeys.js';
import { fmix32, murmur32 } from './random.js';
import type { ChannelSpec, Scenario, TouchInteraction } from './scenario.js';
import { runPrefix, touchId, type SimMember, type SimUnit, type World } from './world.js';

/**
 * Events of the v1 HTTP contract (packages/contracts `Event`), as the simulator sends them: plain
 * shapes, which the cli's tests validate against the contract's schema (and the pipeline
 * observation passes through ingest's normaliser).
 */
export interface SimContext {
  ip?: string;
  userAgent?: string;
}

export interface SimTouchEvent {
  type: 'touch';
  messageId: string;
  timestamp: string;
  anonymousId?: string;
  userId?: string;
  interaction: TouchInteraction;
  channel: string;
  campaign?: string;
  source?: string;
  medium?: string;
  url?: string;
  context?: SimContext;
}

export interface SimIdentifyEvent {
  type: 'identify';
  messageId: string;
  timestamp: string;
  anonymousId?: string;
  userId: string;
  traits: { email: string; accountId?: string };
}

export interface SimConversionEvent {
  type: 'conversion';
  messageId: string;
  timestamp: string;
  anonymousId?: string;
  userId: string;
  conversionId: string;
  name: string;
  value: number;
  currency: string;
  stage?: 'lead' | 'opportunity' | 'closed_won';
}

export interface SimCostEvent {
  type: 'cost';
  messageId: string;
  date: string;
  channel: string;
  campaign?: string;
  amount: number;
  currency: string;
}

export type SimEvent = SimTouchEvent | SimIdentifyEvent | SimConversionEvent | SimCostEvent;

/** The time of an event in epoch ms (cost events: noon of their day). */
export function eventTime(e: SimEvent): number {
  return e.type === 'cost' ? Date.parse(`${e.date}T12:00:00Z`) : Date.parse(e.timestamp);
}

function clickIdValue(id: string): string {
  const h1 = murmur32(id, 0x5bd1e995);
  const h2 = fmix32(h1 ^ 0x27d4eb2f);
  return `${h1.toString(36)}${h2.toString(36)}`;
}

/**
 * The v1 events of one unit, in time order: its touches (web touches by cookie with URL, UTM tags,
 * click id, IP and user agent; `byUserId` channels — email, fairs, calls, webinars — by user id),
 * one identify per known person linking cookie, user id, email and account, and its conversion.
 * A B2C person is known (has a user id on events) once they convert or are reached by a
 * `byUserId` channel; B2B buying-group members are CRM contacts from the start. Held-out touches
 * are not sent: the person was not shown the ad. Bots only click.
 *
 * `shiftMs` moves every timestamp (the live feed replays a unit ending now); ids stay the same.
 */
export function unitEvents(world: World, unit: SimUnit, conversionTime: number | undefined, shiftMs = 0): SimEvent[] {
  const day0 = dayZeroMs(world) + shiftMs;
  const at = (days: number): number => day0 + Math.round(days * DAY_MS);
  const iso = (ms: number): string => new Date(ms).toISOString();
  const scenario = world.scenario;
  const site = `https://${scenario.name}.touchline-sim.example`;
  const timed: { ms: number; event: SimEvent }[] = [];
  const converts = conversionTime !== undefined;
  const known = (m: number): boolean =>
    !unit.fraud && (scenario.unit === 'account' || converts || unit.touches.some((t) => t.member === m && scenario.channels[t.ch]?.byUserId === true));

  for (const t of unit.touches) {
    const spec = scenario.channels[t.ch] as ChannelSpec;
    const member = unit.members[t.member] as SimMember;
    const ms = at(t.time);
    const campaign = t.campaign === '(none)' ? undefined : t.campaign;
    const id = touchId(unit, t);
    const event: SimTouchEvent = {
      type: 'touch',
      messageId: id,
      timestamp: iso(ms),
      interaction: spec.interaction,
      channel: spec.name,
      ...(campaign ? { campaign } : {}),
    };
    if (spec.byUserId && member.userId) event.userId = member.userId;
    else {
      event.anonymousId = member.anonymousId;
      event.context = { ip: member.ip, userAgent: member.userAgent };
      if (spec.utm) {
        const q = new URLSearchParams({ utm_source: spec.utm.source, utm_medium: spec.utm.medium, ...(campaign ? { utm_campaign: campaign } : {}) });
        if (spec.utm.clickId) q.set(spec.utm.clickId, clickIdValue(id));
        event.source = spec.utm.source;
        event.medium = spec.utm.medium;
        event.url = `${site}/landing?${q.toString()}`;
      } else if (!spec.byUserId) {
        event.url = `${site}/`;
      }
    }
    timed.push({ ms, event });
  }

  const firstMs = timed.length ? Math.min(...timed.map((x) => x.ms)) : conversionTime !== undefined ? at(conversionTime) : day0;
  unit.members.forEach((member, m) => {
    if (!known(m)) return;
    const identify: SimIdentifyEvent = {
      type: 'identify',
      messageId: `${member.userId}-identify`,
      timestamp: iso(firstMs - 60_000),
      anonymousId: member.anonymousId,
      userId: member.userId,
      traits: { email: member.email, ...(unit.accountId ? { accountId: unit.accountId } : {}) },
    };
    timed.push({ ms: firstMs - 60_000, event: identify });
  });

  if (conversionTime !== undefined) {
    const closer = unit.members[unit.closer] as SimMember;
    const ms = at(conversionTime);
    const c = scenario.conversion;
    timed.push({
      ms,
      event: {
        type: 'conversion',
        messageId: conversionIdOf(unit),
        timestamp: iso(ms),
        anonymousId: closer.anonymousId,
        userId: closer.userId,
        conversionId: conversionIdOf(unit),
        name: c.name,
        value: unit.value,
        currency: c.currency,
        ...(c.stage ? { stage: c.stage } : {}),
      },
    });
  }
  timed.sort((a, b) => a.ms - b.ms);
  return timed.map((x) => x.event);
}

/**
 * One day's spend of every paid channel, split evenly over its campaigns, times `scale`, with
 * ids `${idPrefix}-cost-<channel>-<campaign>-<date>` (the same day sent twice is one cost).
 */
export function dailySpend(scenario: Scenario, date: string, idPrefix: string, scale = 1): SimCostEvent[] {
  const out: SimCostEvent[] = [];
  for (const spec of scenario.channels) {
    if (!(spec.costPerDay > 0)) continue;
    const amount = Math.round(((spec.costPerDay * scale) / spec.campaigns.length) * 100) / 100;
    for (const campaign of spec.campaigns) {
      out.push({
        type: 'cost',
        messageId: `${idPrefix}-cost-${spec.name}-${campaign}-${date}`,
        date,
        channel: spec.name,
        ...(campaign === '(none)' ? {} : { campaign }),
        amount,
        currency: scenario.conversion.currency,
      });
    }
  }
  return out;
}

/** Daily spend over the simulated period ([−lookbackDays, horizonDays)), as ad-spend imports send it. */
export function costEvents(world: World, shiftMs = 0): SimCostEvent[] {
  const s = world.scenario;
  const day0 = dayZeroMs(world) + shiftMs;
  const out: SimCostEvent[] = [];
  for (let d = -s.lookbackDays; d < s.horizonDays; d++) out.push(...dailySpend(s, new Date(day0 + d * DAY_MS).toISOString().slice(0, 10), runPrefix(s, world.seed)));
  return out;
}
