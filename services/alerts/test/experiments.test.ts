import { describe, expect, it } from 'vitest';
import { estimateLift, mulberry32 } from '@touchline/attribution';
import { holdoutArm, type ConversionMessage, type Experiment, type IdentityMessage, type TouchpointMessage } from '@touchline/contracts';
import { calibratedCredit, LiftTracker } from '../src/experiments.js';

const START = Date.parse('2026-11-01T00:00:00Z');
const DAY = 86_400_000;
const person: Experiment = { id: 'li', channel: 'linkedin', share: 0.3, start: START, unit: 'userId' };
const account: Experiment = { id: 'abm', channel: 'linkedin', share: 0.5, start: START, unit: 'accountId' };

const identify = (userId: string, extra: Partial<IdentityMessage> = {}): IdentityMessage => ({
  v: 1,
  kind: 'identity',
  messageId: `${userId}-id`,
  userId,
  timestamp: START - DAY,
  receivedAt: START,
  ...extra,
});
const touch = (id: string, ids: { userId?: string; anonymousId?: string }, channel = 'linkedin'): TouchpointMessage => ({
  v: 1,
  kind: 'touchpoint',
  messageId: id,
  ...ids,
  timestamp: START + DAY,
  receivedAt: START + DAY,
  interaction: 'click',
  channel,
  source: '',
  medium: '',
  campaign: '',
  content: '',
  term: '',
  clickId: '',
  clickIdType: '',
  url: '',
  referrer: '',
  cost: 0,
  consent: true,
  ip: '',
  userAgent: '',
  bot: false,
});
const conversion = (conversionId: string, ids: { userId?: string; anonymousId?: string }, timestamp = START + 2 * DAY): ConversionMessage => ({
  v: 1,
  kind: 'conversion',
  messageId: conversionId,
  conversionId,
  ...ids,
  timestamp,
  receivedAt: timestamp,
  name: 'purchase',
  value: 100,
  currency: 'EUR',
  consent: true,
});

/** Users u0…u(n−1) and which of them are held out of `person`. */
function population(n: number) {
  const users = Array.from({ length: n }, (_, i) => `u${i}`);
  const held = users.filter((u) => holdoutArm(person.id, u, person.share) === 'holdout');
  return { users, held: new Set(held) };
}

describe('live lift of an experiment', () => {
  it('counts every identified unit in its arm, touched by the tested channel or not', () => {
    const { users, held } = population(400);
    const t = new LiftTracker([person]);
    for (const u of users) t.observe(identify(u));
    // Only exposed people get the channel's touches; held-out ones never do.
    for (const u of users) if (!held.has(u)) t.observe(touch(`${u}-t`, { userId: u }));
    const [lift] = t.estimates(START + 10 * DAY);
    expect(lift!.holdout.units).toBe(held.size);
    expect(lift!.exposed.units).toBe(users.length - held.size);
    expect(held.size).toBeGreaterThan(80);
  });

  it('ignores touches as a way into the audience: an unidentified person is in no arm', () => {
    const t = new LiftTracker([person]);
    t.observe(touch('t1', { userId: 'stranger' }));
    t.observe(conversion('c1', { userId: 'stranger' }));
    const [lift] = t.estimates(START);
    expect(lift!.exposed.units + lift!.holdout.units).toBe(0);
  });

  it('equals estimateLift on the counts, whatever the order and however often records arrive', () => {
    const { users, held } = population(600);
    const messages: Array<TouchpointMessage | ConversionMessage | IdentityMessage> = [];
    const rnd = mulberry32(7);
    const conv = { exposed: 0, holdout: 0 };
    for (const u of users) {
      // Half identify with a cookie, and convert on the cookie alone: the link resolves it.
      const anon = rnd() < 0.5 ? `a-${u}` : undefined;
      messages.push(identify(u, anon ? { anonymousId: anon } : {}));
      const p = held.has(u) ? 0.1 : 0.25;
      if (rnd() < p) {
        messages.push(conversion(`c-${u}`, anon ? { anonymousId: anon } : { userId: u }));
        if (held.has(u)) conv.holdout++;
        else conv.exposed++;
      }
      // A conversion before the start does not count.
      if (rnd() < 0.2) messages.push(conversion(`early-${u}`, { userId: u }, START - DAY));
    }
    const want = estimateLift({ units: users.length - held.size, conversions: conv.exposed }, { units: held.size, conversions: conv.holdout });
    for (let round = 0; round < 5; round++) {
      const shuffled = [...messages, ...messages.slice(0, 200)];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      const t = new LiftTracker([person]);
      for (const m of shuffled) t.observe(m);
      const [lift] = t.estimates(START + 30 * DAY);
      expect(lift!.exposed).toEqual(want.exposed);
      expect(lift!.holdout).toEqual(want.holdout);
      expect(lift!.absolute).toEqual({ estimate: want.absoluteLift, low: want.absoluteInterval.low, high: want.absoluteInterval.high });
      expect(lift!.relative.estimate).toBeCloseTo(want.relativeLift, 12);
      expect(lift!.incremental.estimate).toBeCloseTo(want.incrementalConversions, 9);
    }
  });

  it('measures account experiments on accounts: a member converting converts the account once', () => {
    const t = new LiftTracker([account]);
    const accounts = Array.from({ length: 50 }, (_, i) => `acc${i}`);
    for (const a of accounts) for (let m = 0; m < 3; m++) t.observe(identify(`${a}-m${m}`, { accountId: a, anonymousId: `a-${a}-m${m}` }));
    t.observe(conversion('deal-1', { anonymousId: 'a-acc3-m1' }));
    t.observe(conversion('deal-2', { userId: 'acc3-m2' }));
    t.observe(conversion('deal-3', { userId: 'acc4-m0' }));
    const [lift] = t.estimates(START);
    const arm = (a: string) => holdoutArm(account.id, a, account.share);
    const held = accounts.filter((a) => arm(a) === 'holdout').length;
    expect(lift!.holdout.units).toBe(held);
    expect(lift!.exposed.units).toBe(50 - held);
    const converted = { exposed: 0, holdout: 0 };
    for (const a of ['acc3', 'acc4']) converted[arm(a)]++;
    expect(lift!.exposed.conversions).toBe(converted.exposed);
    expect(lift!.holdout.conversions).toBe(converted.holdout);
  });

  it('resolves a cookie linked to two people to the same one whatever the order, even after counting it', () => {
    // Two users whose arms differ, sharing one cookie that converted.
    const users = population(200).users;
    const a = users.find((u) => holdoutArm(person.id, u, person.share) === 'holdout')!;
    const b = users.find((u) => holdoutArm(person.id, u, person.share) === 'exposed')!;
    const [low, high] = a < b ? [a, b] : [b, a];
    const results = [];
    for (const order of [[high, low], [low, high]]) {
      const t = new LiftTracker([person]);
      t.observe(identify(low));
      t.observe(identify(high));
      t.observe(conversion('c', { anonymousId: 'shared' }));
      t.observe(identify(order[0]!, { anonymousId: 'shared', messageId: 'l1' }));
      t.estimates(START); // counted through the first link…
      t.observe(identify(order[1]!, { anonymousId: 'shared', messageId: 'l2' }));
      const [lift] = t.estimates(START); // …and moved if the second one wins
      results.push({ exposed: lift!.exposed.conversions, holdout: lift!.holdout.conversions });
    }
    const arm = holdoutArm(person.id, low, person.share);
    expect(results[0]).toEqual({ exposed: arm === 'exposed' ? 1 : 0, holdout: arm === 'holdout' ? 1 : 0 });
    expect(results[1]).toEqual(results[0]);
  });

  it('takes the arm ingest tagged on the identify event', () => {
    const t = new LiftTracker([person]);
    const u = 'tagged-user';
    const other = holdoutArm(person.id, u, person.share) === 'holdout' ? 'exposed' : 'holdout';
    t.observe(identify(u, { arms: { li: other } }));
    const [lift] = t.estimates(START);
    expect(lift![other].units).toBe(1);
  });

  it('forgets a deleted person and their conversions', () => {
    const t = new LiftTracker([person]);
    t.observe(identify('gone', { anonymousId: 'a-gone', emailHash: 'h-gone' }));
    t.observe(identify('stays'));
    t.observe(conversion('c-gone', { anonymousId: 'a-gone' }));
    t.observe(conversion('c-stays', { userId: 'stays' }));
    t.forget({ v: 1, kind: 'privacy_delete', requestId: 'r', anonymousIds: [], userIds: [], emailHashes: ['h-gone'], requestedAt: START });
    const [lift] = t.estimates(START);
    expect(lift!.exposed.units + lift!.holdout.units).toBe(1);
    expect(lift!.exposed.conversions + lift!.holdout.conversions).toBe(1);
  });

  it('reports an unbounded relative lift as null, not as a number JSON cannot hold', () => {
    const t = new LiftTracker([person]);
    const { users, held } = population(50);
    for (const u of users) t.observe(identify(u));
    for (const u of users) if (!held.has(u)) t.observe(conversion(`c-${u}`, { userId: u }));
    const [lift] = t.estimates(START);
    expect(lift!.relative.estimate).toBeNull();
    expect(JSON.parse(JSON.stringify(lift))).toEqual(lift);
  });
});

describe('incrementality-calibrated credit', () => {
  const base = [
    { channel: 'linkedin', conversions: 40, value: 4000 },
    { channel: 'email', conversions: 60, value: 6000 },
  ];
  const lift = (channel: string, campaign: string, incremental: number) => {
    const t = new LiftTracker([{ ...person, channel }]);
    const [m] = t.estimates(START);
    return { ...m!, channel, campaign, incremental: { estimate: incremental, low: 0, high: 0 } };
  };

  it('rescales the measured channel, keeps the totals, and names the experiment behind each channel', () => {
    const c = calibratedCredit('data_driven', base, [lift('linkedin', '', 10)], START);
    expect(c.model).toBe('incrementality_calibrated');
    const li = c.channels.find((x) => x.channel === 'linkedin')!;
    const em = c.channels.find((x) => x.channel === 'email')!;
    expect(li.experimentId).toBe('li');
    expect(em.experimentId).toBe('');
    expect(li.conversions + em.conversions).toBeCloseTo(100, 9);
    expect(li.value + em.value).toBeCloseTo(10_000, 6);
    // Measured 10 of the 40 credited: the pooled multiplier (0.25) applies to email too, so the
    // shares stay; a second experiment that finds email fully incremental moves credit to email.
    const both = calibratedCredit('data_driven', base, [lift('linkedin', '', 10), lift('email', '', 60)], START);
    expect(both.channels.find((x) => x.channel === 'email')!.conversions).toBeCloseTo((60 / 70) * 100, 9);
  });

  it('leaves campaign experiments out: they measure only part of a channel', () => {
    const c = calibratedCredit('data_driven', base, [lift('linkedin', 'abm', 1)], START);
    expect(c.channels.map((x) => x.conversions)).toEqual([40, 60]);
  });
});
