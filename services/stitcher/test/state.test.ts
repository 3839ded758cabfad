import { describe, expect, it } from 'vitest';
import type { ConversionMessage, IdentityMessage, InputMessage, TouchpointMessage } from '@touchline/contracts';
import { StitcherState, Windows, stitch, type StitcherInput, type StitchOutput } from '../src/index.js';

const H = 3_600_000;
const D = 24 * H;
const T0 = Date.parse('2026-10-01T00:00:00Z');

type Ids = { anonymousId?: string; userId?: string };
const touch = (id: string, ids: Ids, at: number, channel = 'email', opts: { consent?: boolean; interaction?: TouchpointMessage['interaction'] } = {}): TouchpointMessage => ({
  v: 1, kind: 'touchpoint', messageId: id, ...ids, timestamp: at, receivedAt: at, interaction: opts.interaction ?? 'click', channel,
  source: '', medium: '', campaign: '', content: '', term: '', clickId: '', clickIdType: '', url: '', referrer: '', cost: 0,
  consent: opts.consent ?? true, ip: '', userAgent: '', bot: false,
});
const conversion = (id: string, ids: Ids, at: number, opts: { messageId?: string; name?: string; stage?: ConversionMessage['stage'] } = {}): ConversionMessage => ({
  v: 1, kind: 'conversion', messageId: opts.messageId ?? `${id}-m`, conversionId: id, ...ids, timestamp: at, receivedAt: at,
  name: opts.name ?? 'purchase', value: 100, currency: 'EUR', consent: true, ...(opts.stage ? { stage: opts.stage } : {}),
});
const identify = (id: string, ids: Ids & { emailHash?: string; accountId?: string }, at = T0): IdentityMessage => ({
  v: 1, kind: 'identity', messageId: id, ...ids, timestamp: at, receivedAt: at,
});

const windows = (lookbackDays = 90, viewThroughDays = 1) => new Windows({ lookbackDays, viewThroughDays });

function run(events: StitcherInput[], w = windows()) {
  const s = new StitcherState({ windows: w });
  const out: StitchOutput[] = [];
  for (const e of events) out.push(...stitch(s, e));
  return { s, out };
}

/** What the attributor ends up with: the last journey per conversion, the last version of each null path. */
function finalState(out: StitchOutput[]) {
  const journeys = new Map<string, string[] | 'retracted'>();
  const nullPaths = new Map<string, string[]>();
  for (const o of out) {
    if (o.kind === 'identity_link') continue;
    if (o.kind === 'journey') journeys.set(o.conversion.conversionId, o.retracted ? 'retracted' : o.touches.map((t) => t.messageId));
    else if (o.untouched === true) nullPaths.set(o.pathId, []);
    else if (o.touches.length === 0) nullPaths.delete(o.pathId);
    else nullPaths.set(o.pathId, o.touches.map((t) => t.messageId));
  }
  return { journeys, nullPaths };
}

const journeysOf = (events: StitcherInput[], w = windows()) => finalState(run(events, w).out).journeys;

function shuffle<T>(xs: T[], seed: number): T[] {
  const a = [...xs];
  let s = seed;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe('StitcherState', () => {
  it('credits the touches of both devices of a person who identified with one email on both', () => {
    const events: InputMessage[] = [
      touch('phone-1', { anonymousId: 'phone' }, T0, 'paid_social'),
      touch('laptop-1', { anonymousId: 'laptop' }, T0 + H, 'paid_search'),
      identify('i1', { anonymousId: 'phone', emailHash: 'h1' }),
      identify('i2', { anonymousId: 'laptop', emailHash: 'h1' }),
      conversion('c1', { anonymousId: 'laptop' }, T0 + 2 * H),
    ];
    expect(journeysOf(events).get('c1')).toEqual(['phone-1', 'laptop-1']);
  });

  it('restates a conversion when a touch arrives late, with a higher revision and version', () => {
    const s = new StitcherState({ windows: windows() });
    const [j0] = stitch(s, conversion('c1', { userId: 'u' }, T0 + 10 * H));
    const [j1] = stitch(s, touch('t1', { userId: 'u' }, T0));
    if (j0?.kind !== 'journey' || j1?.kind !== 'journey') throw new Error('expected journeys');
    expect(j0.touches).toEqual([]);
    expect(j1.touches.map((t) => t.messageId)).toEqual(['t1']);
    expect(j1.revision).toBe(1);
    expect(j1.emittedAt).toBeGreaterThan(j0.emittedAt);
    expect(stitch(s, touch('t2', { userId: 'u' }, T0 + 11 * H)).filter((o) => o.kind === 'journey')).toEqual([]);
  });

  it('keeps touches inside the lookback window and with consent only', () => {
    const events: InputMessage[] = [
      touch('old', { userId: 'u' }, T0 - 31 * D),
      touch('no-consent', { userId: 'u' }, T0 - H, 'email', { consent: false }),
      touch('in', { userId: 'u' }, T0 - 2 * H),
      conversion('c1', { userId: 'u' }, T0),
    ];
    expect(journeysOf(events, windows(30)).get('c1')).toEqual(['in']);
  });

  it('counts impressions only inside the view-through window', () => {
    const events: InputMessage[] = [
      touch('imp-old', { userId: 'u' }, T0 - 3 * D, 'display', { interaction: 'impression' }),
      touch('imp-new', { userId: 'u' }, T0 - 12 * H, 'display', { interaction: 'impression' }),
      touch('click-old', { userId: 'u' }, T0 - 3 * D, 'paid_search'),
      conversion('c1', { userId: 'u' }, T0),
    ];
    expect(journeysOf(events, windows(90, 1)).get('c1')).toEqual(['click-old', 'imp-new']);
  });

  it('uses the window of the conversion name over the preset', () => {
    const w = new Windows({ lookbackDays: 60, viewThroughDays: 14 }, { deal: { lookbackDays: 365 } });
    expect(w.of('deal')).toEqual({ lookbackDays: 365, viewThroughDays: 14 });
    expect(w.of('signup')).toEqual({ lookbackDays: 60, viewThroughDays: 14 });
    const events: InputMessage[] = [touch('t', { userId: 'u' }, T0 - 200 * D), conversion('c1', { userId: 'u' }, T0, { name: 'deal' }), conversion('c2', { userId: 'u' }, T0, { name: 'signup' })];
    const j = journeysOf(events, w);
    expect(j.get('c1')).toEqual(['t']);
    expect(j.get('c2')).toEqual([]);
  });

  it('credits a resent conversion once', () => {
    const s = new StitcherState({ windows: windows() });
    expect(stitch(s, conversion('c1', { userId: 'u' }, T0))).toHaveLength(1);
    expect(stitch(s, conversion('c1', { userId: 'u' }, T0, { messageId: 'other' }))).toHaveLength(0);
  });

  it('credits an opportunity on the whole buying group of its account, with milestones', () => {
    const events: InputMessage[] = [
      identify('ia', { userId: 'alice', accountId: 'acme' }),
      identify('ib', { userId: 'bob', accountId: 'acme' }),
      identify('ic', { userId: 'carol', accountId: 'other' }),
      touch('a1', { userId: 'alice' }, T0 + H, 'events'),
      touch('b1', { userId: 'bob' }, T0 + 2 * H, 'linkedin'),
      touch('c1', { userId: 'carol' }, T0 + 2 * H, 'email'),
      conversion('lead', { userId: 'alice' }, T0 + 3 * H, { stage: 'lead', name: 'demo_request' }),
      touch('b2', { userId: 'bob' }, T0 + 4 * H, 'webinar'),
      conversion('opp', { userId: 'bob' }, T0 + 5 * H, { stage: 'opportunity', name: 'opportunity' }),
    ];
    const { out } = run(events);
    const j = finalState(out).journeys;
    expect(j.get('lead')).toEqual(['a1']);
    expect(j.get('opp')).toEqual(['a1', 'b1', 'b2']);
    const opp = out.filter((o) => o.kind === 'journey' && o.conversion.conversionId === 'opp').at(-1);
    expect(opp).toMatchObject({ level: 'account', milestones: { leadTime: T0 + 3 * H, opportunityTime: T0 + 5 * H } });
  });

  it('emits a null path once the window passes without a conversion, and withdraws it when a late conversion claims it', () => {
    const events: InputMessage[] = [
      touch('n1', { anonymousId: 'x' }, T0, 'display'),
      touch('n2', { anonymousId: 'x' }, T0 + D, 'email'),
      touch('other', { anonymousId: 'y' }, T0 + 40 * D, 'email'),
    ];
    const { s, out } = run(events, windows(30));
    const np = finalState(out).nullPaths;
    expect([...np.values()]).toEqual([['n1', 'n2']]);
    const late = stitch(s, conversion('c', { anonymousId: 'x' }, T0 + 2 * D));
    expect(late.find((o) => o.kind === 'null_path')).toMatchObject({ pathId: [...np.keys()][0], touches: [] });
    expect(late.find((o) => o.kind === 'journey')?.touches.map((t) => t.messageId)).toEqual(['n1', 'n2']);
  });

  it('drops fraud-flagged touches and restates the conversions they were in', () => {
    const s = new StitcherState({ windows: windows() });
    stitch(s, touch('good', { userId: 'u' }, T0));
    stitch(s, touch('farm', { userId: 'u' }, T0 + H, 'paid_social'));
    stitch(s, conversion('c1', { userId: 'u' }, T0 + 2 * H));
    const [j] = stitch(s, { v: 1, kind: 'fraud_flag', flagId: 'f1', touchpointIds: ['farm', 'unknown'], reason: 'burst', flaggedAt: T0 });
    expect(j?.kind === 'journey' && j.touches.map((t) => t.messageId)).toEqual(['good']);
    // The same touch delivered again stays out.
    expect(stitch(s, touch('farm', { userId: 'u' }, T0 + H))).toEqual([]);
  });

  it('forgets a deleted person: credit retracted, later events dropped', () => {
    const s = new StitcherState({ windows: windows() });
    stitch(s, identify('i', { anonymousId: 'dev', emailHash: 'eh' }));
    stitch(s, touch('t', { anonymousId: 'dev' }, T0));
    stitch(s, conversion('c1', { anonymousId: 'dev' }, T0 + H));
    const out = stitch(s, { v: 1, kind: 'privacy_delete', requestId: 'r', anonymousIds: [], userIds: [], emailHashes: ['eh'], requestedAt: T0 });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: 'journey', retracted: true, touches: [] });
    expect(stitch(s, touch('t2', { anonymousId: 'dev' }, T0 + 2 * H))).toEqual([]);
    expect(stitch(s, conversion('c2', { anonymousId: 'dev' }, T0 + 3 * H))).toEqual([]);
    expect(s.stats.touches).toBe(0);
  });

  it('caps the touches of a journey, dropping the oldest first', () => {
    const s = new StitcherState({ windows: windows(), maxTouchesPerJourney: 3 });
    for (let i = 0; i < 6; i++) stitch(s, touch(`t${i}`, { userId: 'u' }, T0 + i * H));
    const [j] = stitch(s, conversion('c', { userId: 'u' }, T0 + 10 * H));
    expect(j?.kind === 'journey' && j.touches.map((t) => t.messageId)).toEqual(['t3', 't4', 't5']);
  });

  it('ends in the same journeys and null paths for any arrival order and with duplicates', () => {
    const events: InputMessage[] = [];
    for (let p = 0; p < 14; p++) {
      const devices = [`p${p}-d0`, `p${p}-d1`, `p${p}-d2`].slice(0, 1 + (p % 3));
      devices.forEach((d, k) => {
        for (let i = 0; i < 3; i++) {
          events.push(touch(`${d}-t${i}`, { anonymousId: d }, T0 + (p * 7 + k * 3 + i) * H, ['email', 'paid_search', 'linkedin'][i]!, { interaction: i === 2 && p % 5 === 0 ? 'impression' : 'click' }));
        }
        if (p % 4 !== 3) events.push(identify(`${d}-id`, { anonymousId: d, userId: `user-${p}`, ...(p % 3 === 0 ? { accountId: `acct-${p % 2}` } : {}) }));
      });
      if (p % 6 !== 5) events.push(conversion(`p${p}-c`, { userId: `user-${p}` }, T0 + (p * 7 + 5) * H, { stage: p % 3 === 0 ? 'opportunity' : 'lead' }));
      if (p % 2 === 0) events.push(conversion(`p${p}-c2`, { anonymousId: devices[0]! }, T0 + (p * 7 + 9) * H));
    }
    // A late event far ahead closes every null path window.
    events.push(touch('clock', { anonymousId: 'clock' }, T0 + 400 * D));
    const reference = finalState(run(events, windows(30)).out);
    expect(reference.journeys.size).toBe(19);
    expect(reference.nullPaths.size).toBeGreaterThan(0);
    for (let seed = 1; seed <= 300; seed++) {
      const withDuplicates = [...shuffle(events, seed), ...shuffle(events, seed + 1000).slice(0, 20)];
      expect(finalState(run(withDuplicates, windows(30)).out)).toEqual(reference);
    }
  });
});
