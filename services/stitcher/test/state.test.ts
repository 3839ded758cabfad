import { describe, expect, it } from 'vitest';
import { IdentityLinkMessage, JourneysTopicMessage, type ConversionMessage, type IdentityMessage, type InputMessage, type TouchpointMessage } from '@touchline/contracts';
import { MAX_PROBABLE_CLUSTER, StitcherState, Windows, nullPathSignature, stitch, userAgentFamily, type StitcherInput, type StitchOutput } from '../src/index.js';

const H = 3_600_000;
const D = 24 * H;
const T0 = Date.parse('2026-10-01T00:00:00Z');

type Ids = { anonymousId?: string; userId?: string };
type TouchOpts = { consent?: boolean; interaction?: TouchpointMessage['interaction']; ip?: string; userAgent?: string; bot?: boolean };
const touch = (id: string, ids: Ids, at: number, channel = 'email', opts: TouchOpts = {}): TouchpointMessage => ({
  v: 1, kind: 'touchpoint', messageId: id, ...ids, timestamp: at, receivedAt: at, interaction: opts.interaction ?? 'click', channel,
  source: '', medium: '', campaign: '', content: '', term: '', clickId: '', clickIdType: '', url: '', referrer: '', cost: 0,
  consent: opts.consent ?? true, ip: opts.ip ?? '', userAgent: opts.userAgent ?? '', bot: opts.bot ?? false,
});
const conversion = (id: string, ids: Ids, at: number, opts: { messageId?: string; name?: string; stage?: ConversionMessage['stage'] } = {}): ConversionMessage => ({
  v: 1, kind: 'conversion', messageId: opts.messageId ?? `${id}-m`, conversionId: id, ...ids, timestamp: at, receivedAt: at,
  name: opts.name ?? 'purchase', value: 100, currency: 'EUR', consent: true, ...(opts.stage ? { stage: opts.stage } : {}),
});
const identify = (id: string, ids: Ids & { emailHash?: string; accountId?: string }, at = T0): IdentityMessage => ({
  v: 1, kind: 'identity', messageId: id, ...ids, timestamp: at, receivedAt: at,
});

const windows = (lookbackDays = 90, viewThroughDays = 1) => new Windows({ lookbackDays, viewThroughDays });

/**
 * Stitches `events` in order. Null paths are those of every closed period here (`every`), so that
 * the tests below can state the periods themselves; `latest`, the default, keeps only each
 * person's most recent one of them (its own tests below).
 */
function run(events: StitcherInput[], w = windows(), probabilistic?: { windowMs: number }, personNullPaths: 'latest' | 'every' = 'every') {
  const s = new StitcherState({ windows: w, personNullPaths, ...(probabilistic ? { probabilistic } : {}) });
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

  it('cuts a person touched without pause into null windows of one lookback each, and leaves the window before a conversion to it', () => {
    // Weekly touches for 200 days: never a silent lookback window, yet every passed period is a null path.
    const events: InputMessage[] = [];
    for (let d = 0; d < 200; d += 7) events.push(touch(`w${d}`, { anonymousId: 'x' }, T0 + d * D, d % 14 === 0 ? 'display' : 'email'));
    events.push(touch('clock', { anonymousId: 'clock' }, T0 + 200 * D));
    const np = finalState(run(events, windows(30)).out).nullPaths;
    const mine = [...np.keys()].filter((id) => id.startsWith('a:x|')).sort();
    // Periods 0..5 have ended by day 200 (the sixth ends at day 210).
    expect(mine).toEqual([0, 1, 2, 3, 4, 5].map((n) => `a:x|period|${T0 + n * 30 * D}`).sort());
    expect(np.get(`a:x|period|${T0 + 30 * D}`)).toEqual(['w35', 'w42', 'w49', 'w56']);
    // A conversion on day 100 (period 3) takes periods 2 and 3: its journey's window overlaps them.
    const converted = finalState(run([...events, conversion('c', { anonymousId: 'x' }, T0 + 100 * D)], windows(30)).out).nullPaths;
    expect([...converted.keys()].filter((id) => id.startsWith('a:x|')).sort()).toEqual([0, 1, 4, 5].map((n) => `a:x|period|${T0 + n * 30 * D}`).sort());
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
    for (const mode of ['every', 'latest'] as const) {
      const reference = finalState(run(events, windows(30), undefined, mode).out);
      expect(reference.journeys.size).toBe(19);
      // With every period, touched and untouched null paths; with the latest only, the clock's jump
      // leaves each person the untouched period after their last touch.
      if (mode === 'every') expect([...reference.nullPaths.values()].filter((t) => t.length > 0).length).toBeGreaterThan(0);
      expect([...reference.nullPaths.values()].filter((t) => t.length === 0).length).toBeGreaterThan(0);
      for (let seed = 1; seed <= 150; seed++) {
        const withDuplicates = [...shuffle(events, seed), ...shuffle(events, seed + 1000).slice(0, 20)];
        expect(finalState(run(withDuplicates, windows(30), undefined, mode).out)).toEqual(reference);
      }
    }
  });
});

describe('null paths by default: each person\'s latest closed period', () => {
  const weekly = (until: number): InputMessage[] => {
    const events: InputMessage[] = [];
    for (let d = 0; d < until; d += 7) events.push(touch(`w${d}`, { anonymousId: 'x' }, T0 + d * D, d % 14 === 0 ? 'display' : 'email'));
    return events;
  };
  const mine = (out: StitchOutput[]) => new Map([...finalState(out).nullPaths].filter(([id]) => id.startsWith('a:x|')));

  it('keeps only the most recent closed period of a person touched without pause, and withdraws the one before', () => {
    const s = new StitcherState({ windows: windows(30) });
    const out: StitchOutput[] = [];
    const all = weekly(200);
    const byDay61 = all.filter((e) => e.kind === 'touchpoint' && e.timestamp <= T0 + 61 * D);
    for (const e of [...byDay61, touch('clock', { anonymousId: 'clock' }, T0 + 61 * D)]) out.push(...stitch(s, e));
    // Periods 0 and 1 have ended by day 61: period 1 is the person's null path.
    expect(mine(out)).toEqual(new Map([[`a:x|period|${T0 + 30 * D}`, ['w35', 'w42', 'w49', 'w56']]]));
    const more = [...all.filter((e) => !byDay61.includes(e)), touch('clock2', { anonymousId: 'clock' }, T0 + 200 * D)].flatMap((e) => stitch(s, e));
    // Period 5 (days 150–180) replaces it; what was published for period 1 is withdrawn.
    expect(more.find((o) => o.kind === 'null_path' && o.pathId === `a:x|period|${T0 + 30 * D}`)).toMatchObject({ touches: [] });
    expect(mine([...out, ...more])).toEqual(new Map([[`a:x|period|${T0 + 150 * D}`, ['w154', 'w161', 'w168', 'w175']]]));
    // The same as `every` gives for that period.
    expect(finalState(run([...weekly(200), touch('clock', { anonymousId: 'clock' }, T0 + 200 * D)], windows(30)).out).nullPaths.get(`a:x|period|${T0 + 150 * D}`)).toEqual(['w154', 'w161', 'w168', 'w175']);
  });

  it('skips the periods a conversion claims, and lets a silent period after the last touch replace a touched one', () => {
    // A conversion on day 170 (period 5) claims periods 4 and 5: the latest unclaimed one is period 3.
    const converted = run([...weekly(200), conversion('c', { anonymousId: 'x' }, T0 + 170 * D), touch('clock', { anonymousId: 'clock' }, T0 + 200 * D)], windows(30), undefined, 'latest').out;
    expect([...mine(converted).keys()]).toEqual([`a:x|period|${T0 + 90 * D}`]);
    // Silent after one touch: the period after it is the person's null path, untouched.
    const silent = run([touch('t', { anonymousId: 'x' }, T0), touch('clock', { anonymousId: 'clock' }, T0 + 400 * D)], windows(30), undefined, 'latest').out;
    expect(mine(silent)).toEqual(new Map([[`a:x|untouched|${T0 + 30 * D}`, []]]));
  });
});

describe('untouched null paths', () => {
  const untouchedOf = (out: StitchOutput[]) =>
    [...finalState(out).nullPaths.entries()].filter(([, t]) => t.length === 0).map(([id]) => id).sort();

  it('emits one for an identified person whose window passes without a touch, and withdraws it when a touch lands in it', () => {
    const s = new StitcherState({ windows: windows(30) });
    const out = [...stitch(s, identify('i', { userId: 'u' }, T0)), ...stitch(s, touch('clock', { anonymousId: 'clock' }, T0 + 31 * D))];
    const emitted = out.filter((o) => o.kind === 'null_path' && o.personId === 'u:u');
    expect(emitted).toEqual([expect.objectContaining({ pathId: `u:u|untouched|${T0}`, touches: [], untouched: true, closedAt: T0 + 30 * D })]);
    // The next period is still open: nothing more until it closes too.
    const late = stitch(s, touch('late', { userId: 'u' }, T0 + 5 * D));
    expect(late.find((o) => o.kind === 'null_path' && o.pathId === `u:u|untouched|${T0}`)).toMatchObject({ touches: [] });
    expect(late.find((o) => o.kind === 'null_path' && o.pathId === `u:u|untouched|${T0}`)).not.toHaveProperty('untouched');
  });

  it('emits one for the window after a touched person fell silent, and none for the windows after that', () => {
    const events: InputMessage[] = [touch('t', { anonymousId: 'x' }, T0), touch('clock', { anonymousId: 'clock' }, T0 + 400 * D)];
    const { out } = run(events, windows(30));
    expect(untouchedOf(out).filter((id) => id.startsWith('a:x|'))).toEqual([`a:x|untouched|${T0 + 30 * D}`]);
    // The touch itself is the touched null path of its period.
    expect(finalState(out).nullPaths.get(`a:x|period|${T0}`)).toEqual(['t']);
  });

  it('emits none for a window with a conversion, and none for a person who withheld consent', () => {
    const events: InputMessage[] = [
      identify('i', { userId: 'buyer' }, T0),
      conversion('c', { userId: 'buyer' }, T0 + D),
      touch('nc', { userId: 'private' }, T0, 'email', { consent: false }),
      touch('clock', { anonymousId: 'clock' }, T0 + 400 * D),
    ];
    const ids = untouchedOf(run(events, windows(30)).out);
    expect(ids.filter((id) => id.startsWith('u:buyer|'))).toEqual([`u:buyer|untouched|${T0 + 30 * D}`]);
    expect(ids.filter((id) => id.startsWith('u:private|'))).toEqual([]);
  });

  it('moves them to the merged person when two known people turn out to be one', () => {
    const events: InputMessage[] = [
      identify('i1', { anonymousId: 'd1', emailHash: 'h' }, T0),
      identify('i2', { anonymousId: 'd2' }, T0 + 10 * D),
      touch('clock', { anonymousId: 'clock' }, T0 + 100 * D),
    ];
    const { s, out } = run(events, windows(30));
    expect(untouchedOf(out).filter((id) => !id.startsWith('a:clock'))).toEqual([`a:d1|untouched|${T0}`, `a:d1|untouched|${T0 + 30 * D}`, `a:d2|untouched|${T0 + 10 * D}`, `a:d2|untouched|${T0 + 40 * D}`]);
    const merged = [...out, ...stitch(s, identify('i3', { anonymousId: 'd2', emailHash: 'h' }, T0 + 10 * D))];
    // One person, known from T0, seen again at T0 + 10 days: periods from T0.
    expect(untouchedOf(merged).filter((id) => !id.startsWith('a:clock'))).toEqual([`a:d1|untouched|${T0}`, `a:d1|untouched|${T0 + 30 * D}`]);
  });
});

describe('account null paths', () => {
  /** The final null paths whose id starts with `prefix`, by id. */
  const pathsOf = (out: StitchOutput[], prefix: string) => new Map([...finalState(out).nullPaths].filter(([id]) => id.startsWith(prefix)));
  const acme = (start: number) => `account:acme|period|${start}`;
  const clock = (at: number) => touch(`clock-${at}`, { anonymousId: 'clock' }, at);
  const buyingGroup: InputMessage[] = [
    identify('ia', { userId: 'alice', accountId: 'acme' }, T0),
    identify('ib', { userId: 'bob', accountId: 'acme' }, T0 + D),
    touch('a1', { userId: 'alice' }, T0 + 2 * D, 'events'),
    touch('b1', { userId: 'bob' }, T0 + 3 * D, 'linkedin'),
    touch('a2', { userId: 'alice' }, T0 + 40 * D, 'email'),
  ];

  it('holds the touches of all the account\'s people per period, once the period has passed; each person keeps their own', () => {
    const { out } = run([...buyingGroup, touch('x1', { anonymousId: 'x' }, T0, 'display'), clock(T0 + 31 * D)], windows(30));
    expect(pathsOf(out, 'account:')).toEqual(new Map([[acme(T0), ['a1', 'b1']]]));
    const msg = out.find((o) => o.kind === 'null_path' && o.pathId === acme(T0));
    expect(msg).toMatchObject({ kind: 'null_path', level: 'account', accountId: 'acme', personId: '', closedAt: T0 + 30 * D });
    // Each member's own windows stay person null paths (the person level's), as for anyone outside an account.
    expect(pathsOf(out, 'u:')).toEqual(new Map([[`u:alice|period|${T0}`, ['a1']], [`u:bob|period|${T0 + D}`, ['b1']]]));
    expect(out.find((o) => o.kind === 'null_path' && o.pathId === `u:alice|period|${T0}`)).not.toHaveProperty('level');
    expect(pathsOf(out, 'a:x|')).toEqual(new Map([[`a:x|period|${T0}`, ['x1']]]));
    // The second period closes when event time passes its end.
    const later = run([...buyingGroup, clock(T0 + 61 * D)], windows(30)).out;
    expect(pathsOf(later, 'account:acme|period|')).toEqual(new Map([[acme(T0), ['a1', 'b1']], [acme(T0 + 30 * D), ['a2']]]));
  });

  it('lays an account\'s null windows as long as its deals\' lookback when that is longer than the default', () => {
    const w = new Windows({ lookbackDays: 30, viewThroughDays: 1 }, { deal: { lookbackDays: 60, level: 'account' }, demo_request: { lookbackDays: 90, level: 'person' } });
    expect(w.accountLookbackDays).toBe(60);
    const { out } = run([...buyingGroup, clock(T0 + 61 * D)], w);
    // One 60-day period holds the group's touches of days 2, 3 and 40; people keep 30-day windows.
    expect(pathsOf(out, 'account:')).toEqual(new Map([[acme(T0), ['a1', 'b1', 'a2']]]));
    expect(out.find((o) => o.kind === 'null_path' && o.pathId === acme(T0))).toMatchObject({ closedAt: T0 + 60 * D });
    expect(pathsOf(out, 'u:alice|')).toEqual(new Map([[`u:alice|period|${T0}`, ['a1']], [`u:alice|period|${T0 + 30 * D}`, ['a2']]]));
    // Without account-level windows the default lookback stays.
    expect(new Windows({ lookbackDays: 30, viewThroughDays: 1 }, { demo_request: { lookbackDays: 90, level: 'person' } }).accountLookbackDays).toBe(30);
    expect(new Windows({ lookbackDays: 30, viewThroughDays: 1 }, { deal: { lookbackDays: 365 } }).accountLookbackDays).toBe(365);
  });

  it('leaves the periods an account-level conversion\'s window overlaps to the deal, and none to a member\'s lead', () => {
    const deal = conversion('opp', { userId: 'bob' }, T0 + 45 * D, { stage: 'opportunity', name: 'opportunity' });
    const lead = conversion('lead', { userId: 'alice' }, T0 + 45 * D, { stage: 'lead', name: 'demo_request' });
    const withLead = run([...buyingGroup, lead, clock(T0 + 61 * D)], windows(30)).out;
    expect(pathsOf(withLead, 'account:acme|period|')).toEqual(new Map([[acme(T0), ['a1', 'b1']], [acme(T0 + 30 * D), ['a2']]]));
    const withDeal = run([...buyingGroup, deal, clock(T0 + 100 * D)], windows(30));
    // Its window (30 days back from day 45) holds a2 only, yet it overlaps both periods.
    expect(finalState(withDeal.out).journeys.get('opp')).toEqual(['a2']);
    expect(pathsOf(withDeal.out, 'account:acme|period|')).toEqual(new Map());
    // A deal arriving late withdraws the null paths its window claims.
    const { s, out } = run([...buyingGroup, clock(T0 + 61 * D)], windows(30));
    const late = stitch(s, deal);
    const withdrawn = late.flatMap((o) => (o.kind === 'null_path' && o.level === 'account' ? [o.pathId] : []));
    expect(withdrawn.sort()).toEqual([acme(T0), acme(T0 + 30 * D)]);
    expect(pathsOf([...out, ...late], 'account:')).toEqual(new Map());
  });

  it('moves a person\'s touches from the account they leave to the one they join, restating the old account\'s deal', () => {
    const deal = conversion('opp', { userId: 'alice' }, T0 + 10 * D, { stage: 'opportunity', name: 'opportunity' });
    const { s, out } = run([...buyingGroup, deal, clock(T0 + 61 * D)], windows(30));
    expect(finalState(out).journeys.get('opp')).toEqual(['a1', 'b1']);
    expect(pathsOf(out, 'account:')).toEqual(new Map([[acme(T0 + 30 * D), ['a2']]]));
    const moved = stitch(s, identify('ib2', { userId: 'bob', accountId: 'globex' }, T0 + 50 * D));
    const all = [...out, ...moved];
    // Bob's touch leaves acme's deal and lands in globex's null path (its periods laid from bob's first event).
    expect(finalState(all).journeys.get('opp')).toEqual(['a1']);
    // Bob's second identify makes globex known in its second period, which passed untouched.
    expect(pathsOf(all, 'account:')).toEqual(
      new Map([
        [acme(T0 + 30 * D), ['a2']],
        [`account:globex|period|${T0 + D}`, ['b1']],
        [`account:globex|untouched|${T0 + 31 * D}`, []],
      ]),
    );
    // The same as a state that saw bob in globex from the start.
    const fresh = run([identify('ib2', { userId: 'bob', accountId: 'globex' }, T0 + 50 * D), ...buyingGroup, deal, clock(T0 + 61 * D)], windows(30)).out;
    expect(finalState(all)).toEqual(finalState(fresh));
  });

  it('adds the touches of a device that turns out to be a member\'s to the account, its person paths moving to the merged person', () => {
    const anon: InputMessage[] = [touch('d1', { anonymousId: 'dev' }, T0 + 5 * D, 'paid_search'), clock(T0 + 31 * D)];
    const { s, out } = run([...buyingGroup, ...anon], windows(30));
    expect(pathsOf(out, 'a:dev|')).toEqual(new Map([[`a:dev|period|${T0 + 5 * D}`, ['d1']]]));
    expect(pathsOf(out, 'account:')).toEqual(new Map([[acme(T0), ['a1', 'b1']]]));
    const merged = [...out, ...stitch(s, identify('ic', { anonymousId: 'dev', userId: 'carol', accountId: 'acme' }, T0 + 32 * D))];
    expect(pathsOf(merged, 'a:dev|')).toEqual(new Map());
    expect(pathsOf(merged, 'u:carol|')).toEqual(new Map([[`u:carol|period|${T0 + 5 * D}`, ['d1']]]));
    expect(pathsOf(merged, 'account:')).toEqual(new Map([[acme(T0), ['a1', 'b1', 'd1']]]));
  });

  it('drops a deleted person\'s touches from the account\'s null paths, and withdraws them with the last member', () => {
    const { s, out } = run([...buyingGroup, clock(T0 + 31 * D)], windows(30));
    const forget = (userId: string) => stitch(s, { v: 1, kind: 'privacy_delete', requestId: `r-${userId}`, anonymousIds: [], userIds: [userId], emailHashes: [], requestedAt: T0 });
    const withoutBob = [...out, ...forget('bob')];
    // Alice's first event (her identify) still starts the periods.
    expect(pathsOf(withoutBob, 'account:')).toEqual(new Map([[acme(T0), ['a1']]]));
    const nobody = [...withoutBob, ...forget('alice')];
    expect(pathsOf(nobody, 'account:')).toEqual(new Map());
    expect(nobody.filter((o) => o.kind === 'null_path' && o.pathId.startsWith('account:')).at(-1)).toMatchObject({ level: 'account', accountId: 'acme', touches: [] });
  });

  it('ends in the same account null paths for any arrival order, with members moving and merging', () => {
    const events: InputMessage[] = [...buyingGroup];
    for (let p = 0; p < 8; p++) {
      for (let i = 0; i < 4; i++) events.push(touch(`m${p}-${i}`, { anonymousId: `m${p}` }, T0 + (p * 9 + i * 11) * D, ['email', 'events', 'linkedin', 'display'][i]!));
      events.push(identify(`m${p}-id`, { anonymousId: `m${p}`, userId: `m${p}`, accountId: `acct-${p % 3}` }, T0 + p * 9 * D));
      if (p % 3 === 1) events.push(identify(`m${p}-move`, { userId: `m${p}`, accountId: 'acme' }, T0 + (p * 9 + 20) * D));
      if (p % 4 === 2) events.push(conversion(`m${p}-opp`, { userId: `m${p}` }, T0 + (p * 9 + 30) * D, { stage: 'opportunity', name: 'opportunity' }));
    }
    events.push(identify('merge', { anonymousId: 'm0', userId: 'alice' }, T0 + 12 * D), clock(T0 + 400 * D));
    const reference = finalState(run(events, windows(30)).out);
    expect([...reference.nullPaths.keys()].filter((id) => id.startsWith('account:')).length).toBeGreaterThan(5);
    for (let seed = 1; seed <= 100; seed++) expect(finalState(run(shuffle(events, seed), windows(30)).out)).toEqual(reference);
  });

  it('remembers a null path by a signature that changes with any touch id, their order or their split', () => {
    const sig = (...ids: string[]) => nullPathSignature(ids.map((messageId) => ({ messageId })));
    expect(sig()).toBe('');
    expect(sig('t1', 't2')).toBe(sig('t1', 't2'));
    const variants = [sig('t1', 't2'), sig('t2', 't1'), sig('t1'), sig('t1', 't3'), sig('ab', 'c'), sig('a', 'bc'), sig('t1', 't2', 't2')];
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('is rejected at the boundary when its level and its account disagree', () => {
    const base = { v: 1, kind: 'null_path', personId: '', pathId: 'account:acme|period|0', touches: [], closedAt: 0, emittedAt: 1 };
    expect(JourneysTopicMessage.safeParse({ ...base, level: 'account', accountId: 'acme' }).success).toBe(true);
    const missing = JourneysTopicMessage.safeParse({ ...base, level: 'account' });
    expect(missing.success).toBe(false);
    expect(missing.error?.issues[0]).toMatchObject({ path: ['accountId'], message: expect.stringContaining('names its account') });
    expect(JourneysTopicMessage.safeParse({ ...base, accountId: 'acme' }).success).toBe(false);
  });
});

describe('probabilistic links', () => {
  const M = 60_000;
  const CHROME_WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';
  const CHROME_WIN_OLDER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36';
  const FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:131.0) Gecko/20100101 Firefox/131.0';
  const linking = { windowMs: 10 * M };
  const net = (ip: string, userAgent = CHROME_WIN): TouchOpts => ({ ip, userAgent });
  const linksOf = (out: StitchOutput[]) => out.filter((o) => o.kind === 'identity_link');

  it('reads the user-agent family as browser and system', () => {
    expect(userAgentFamily(CHROME_WIN)).toBe('chrome/windows');
    expect(userAgentFamily(CHROME_WIN_OLDER)).toBe('chrome/windows');
    expect(userAgentFamily(FIREFOX_MAC)).toBe('firefox/macos');
    expect(userAgentFamily('Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/130.0 Safari/537.36 Edg/130.0')).toBe('edge/windows');
    expect(userAgentFamily('curl/8.0')).toBe('');
  });

  it('is off by default', () => {
    const events: InputMessage[] = [
      touch('cookie-1', { anonymousId: 'c1' }, T0, 'paid_search', net('10.1.2.0')),
      touch('cookie-2', { anonymousId: 'c2' }, T0 + 2 * M, 'email', net('10.1.2.0')),
      conversion('buy', { anonymousId: 'c2' }, T0 + 3 * M),
    ];
    const { out } = run(events);
    expect(linksOf(out)).toEqual([]);
    expect(finalState(out).journeys.get('buy')).toEqual(['cookie-2']);
  });

  it('credits a device seen on the same network with the same browser within the window, and says why', () => {
    const events: InputMessage[] = [
      touch('cookie-1', { anonymousId: 'c1' }, T0, 'paid_search', net('10.1.2.0')),
      touch('cookie-2', { anonymousId: 'c2' }, T0 + 4 * M, 'email', net('10.1.2.0', CHROME_WIN_OLDER)),
      conversion('buy', { anonymousId: 'c2' }, T0 + 5 * M),
    ];
    const { out } = run(events, windows(), linking);
    expect(finalState(out).journeys.get('buy')).toEqual(['cookie-1', 'cookie-2']);
    const [link] = linksOf(out);
    expect(linksOf(out)).toHaveLength(1);
    expect(link).toMatchObject({ linkId: 'probable:a:c1|a:c2', method: 'probabilistic', anonymousId: 'c1', linkedAnonymousId: 'c2', evidence: ['cookie-1', 'cookie-2'], timestamp: T0 + 4 * M });
    expect(link!.kind === 'identity_link' && link!.confidence).toBeCloseTo(0.9 - 0.4 * 0.4, 10);
    expect(IdentityLinkMessage.safeParse(link).success).toBe(true);
  });

  it('links nothing across networks, browsers, beyond the window, for bots or without consent', () => {
    const events: InputMessage[] = [
      touch('a', { anonymousId: 'c1' }, T0, 'paid_search', net('10.1.2.0')),
      touch('b', { anonymousId: 'c2' }, T0 + M, 'email', net('10.1.3.0')),
      touch('c', { anonymousId: 'c3' }, T0 + M, 'email', net('10.1.2.0', FIREFOX_MAC)),
      touch('d', { anonymousId: 'c4' }, T0 + 11 * M, 'email', net('10.1.2.0')),
      touch('e', { anonymousId: 'c5' }, T0 + M, 'email', { ...net('10.1.2.0'), bot: true }),
      touch('f', { anonymousId: 'c6' }, T0 + M, 'email', { ...net('10.1.2.0'), consent: false }),
      touch('g', { anonymousId: 'c7' }, T0 + M, 'email', net('')),
    ];
    expect(linksOf(run(events, windows(), linking).out)).toEqual([]);
  });

  it('never joins two identified people through a chain of devices, and undoes a link a later identify contradicts', () => {
    const events: InputMessage[] = [
      identify('i-anna', { anonymousId: 'anna-laptop', userId: 'anna' }),
      touch('anna-1', { anonymousId: 'anna-laptop' }, T0, 'paid_search', net('10.9.9.0')),
      touch('shared-1', { anonymousId: 'kiosk' }, T0 + 5 * M, 'events', net('10.9.9.0')),
      touch('ben-1', { anonymousId: 'ben-laptop' }, T0 + 10 * M, 'linkedin', net('10.9.9.0')),
      conversion('anna-buys', { userId: 'anna' }, T0 + H),
      conversion('ben-buys', { anonymousId: 'ben-laptop' }, T0 + H),
    ];
    const before = run(events, windows(), linking);
    // One identified person in the cluster: everyone shares journeys.
    expect(finalState(before.out).journeys.get('anna-buys')).toEqual(['anna-1', 'shared-1', 'ben-1']);
    // Ben identifies: two people with different userIds in one cluster, so no probable link joins anything.
    const after = [...before.out, ...stitch(before.s, identify('i-ben', { anonymousId: 'ben-laptop', userId: 'ben' }))];
    const j = finalState(after).journeys;
    expect(j.get('anna-buys')).toEqual(['anna-1']);
    expect(j.get('ben-buys')).toEqual(['ben-1']);
    // A deterministic link still merges whatever the probable ones say.
    const merged = [...after, ...stitch(before.s, identify('i-same', { userId: 'ben', emailHash: 'anna-and-ben' })), ...stitch(before.s, identify('i-same-2', { userId: 'anna', emailHash: 'anna-and-ben' }))];
    expect(finalState(merged).journeys.get('ben-buys')).toEqual(['anna-1', 'shared-1', 'ben-1']);
  });

  it('treats a network with more devices than a household as shared: no journeys joined', () => {
    const events: InputMessage[] = [];
    for (let i = 0; i <= MAX_PROBABLE_CLUSTER; i++) events.push(touch(`cafe-${i}`, { anonymousId: `guest-${i}` }, T0 + i * M, 'display', net('10.7.7.0')));
    events.push(conversion('guest-buys', { anonymousId: 'guest-0' }, T0 + H));
    const { out } = run(events, windows(), linking);
    expect(linksOf(out).length).toBeGreaterThan(0);
    expect(finalState(out).journeys.get('guest-buys')).toEqual(['cafe-0']);
  });

  it('drops a link with the fraud-flagged touch that alone supported it, whichever came first', () => {
    const events: StitcherInput[] = [
      touch('bot-ish', { anonymousId: 'c1' }, T0, 'display', net('10.4.4.0')),
      touch('real', { anonymousId: 'c2' }, T0 + M, 'email', net('10.4.4.0')),
      conversion('buy', { anonymousId: 'c2' }, T0 + H),
      touch('elsewhere', { anonymousId: 'c1' }, T0 - H, 'paid_search', net('172.16.0.0')),
      { v: 1, kind: 'fraud_flag', flagId: 'f', touchpointIds: ['bot-ish'], reason: 'burst', flaggedAt: T0 },
    ];
    // Without the flag the two devices share the journey.
    expect(finalState(run(events.slice(0, 4), windows(), linking).out).journeys.get('buy')).toEqual(['elsewhere', 'bot-ish', 'real']);
    for (const seed of [1, 2, 3, 4, 5, 6]) expect(finalState(run(shuffle(events, seed), windows(), linking).out).journeys.get('buy'), `seed ${seed}`).toEqual(['real']);
  });

  it('forgets probable links of a deleted person, and restates the journeys that shared their touches', () => {
    const s = new StitcherState({ windows: windows(), probabilistic: linking });
    const out = [
      ...stitch(s, touch('gone-1', { anonymousId: 'gone' }, T0, 'email', net('10.3.3.0'))),
      ...stitch(s, touch('stays-1', { anonymousId: 'stays' }, T0 + M, 'paid_search', net('10.3.3.0'))),
      ...stitch(s, conversion('buy', { anonymousId: 'stays' }, T0 + H)),
    ];
    expect(finalState(out).journeys.get('buy')).toEqual(['gone-1', 'stays-1']);
    out.push(...stitch(s, { v: 1, kind: 'privacy_delete', requestId: 'r', anonymousIds: ['gone'], userIds: [], emailHashes: [], requestedAt: T0 }));
    expect(finalState(out).journeys.get('buy')).toEqual(['stays-1']);
    const later = stitch(s, touch('next-1', { anonymousId: 'next' }, T0 + 2 * M, 'email', net('10.3.3.0')));
    expect(linksOf(later).map((l) => l.kind === 'identity_link' && l.linkedAnonymousId)).toEqual(['stays']);
  });

  it('ends in the same journeys and null paths for any arrival order and with duplicates, with linking on', () => {
    const events: InputMessage[] = [];
    const uas = [CHROME_WIN, FIREFOX_MAC];
    for (let h = 0; h < 10; h++) {
      // A household: one network, two to four devices, some identified, some converting.
      const ip = `10.0.${h % 6}.0`;
      const start = T0 + Math.floor(h / 6) * 20 * M + (h % 3) * D;
      for (let d = 0; d < 2 + (h % 3); d++) {
        const id = `h${h}-d${d}`;
        const ua = uas[(h + d) % 2 === 0 || d === 1 ? 0 : 1]!;
        for (let i = 0; i < 3; i++) events.push(touch(`${id}-t${i}`, { anonymousId: id }, start + (d * 3 + i) * 2 * M + i * 7 * D, ['email', 'paid_search', 'linkedin'][i]!, net(ip, ua)));
        if ((h + d) % 3 === 0) events.push(identify(`${id}-id`, { anonymousId: id, userId: `user-${h}-${d % 2}` }, start));
        if ((h * 2 + d) % 4 === 1) events.push(conversion(`${id}-c`, { anonymousId: id }, start + 20 * D));
      }
    }
    // Fraud flags take back touches: every touch of the converting h4-d1 (so its links go) and one
    // of h1-d1 (whose links other pairs still support).
    const flagged: StitcherInput = { v: 1, kind: 'fraud_flag', flagId: 'f1', touchpointIds: ['h4-d1-t0', 'h4-d1-t1', 'h4-d1-t2', 'h1-d1-t0'], reason: 'burst', flaggedAt: T0 };
    const all: StitcherInput[] = [...events, flagged, touch('clock', { anonymousId: 'clock' }, T0 + 400 * D)];
    const reference = finalState(run(all, windows(30), linking).out);
    const unlinked = finalState(run(all, windows(30)).out);
    // Linking changes some journeys (so the property below is about linking, not about nothing).
    expect(reference.journeys).not.toEqual(unlinked.journeys);
    for (let seed = 1; seed <= 1000; seed++) {
      const withDuplicates = [...shuffle(all, seed), ...shuffle(all, seed + 5000).slice(0, 20)];
      expect(finalState(run(withDuplicates, windows(30), linking).out)).toEqual(reference);
    }
  });
});
