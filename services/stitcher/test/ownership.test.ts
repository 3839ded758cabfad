import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { groupNames, topicNames, type IdentityLinkMessage, type PrivacyDeleteMessage, type InputMessage, type JourneyMessage } from '@touchline/contracts';
import { EmbeddedBus, murmur2Partitioner, silentLogger } from '@touchline/platform';
import { Ownership, PublishedOutputs, StitcherState, WRITER_HEADER, Windows, outputKey, startStitcher, stitch, type StitchOutput } from '../src/index.js';
import { LINKING, WINDOWS, feed, linkIds, rng, publishFeed, readJourneys, reference, referenceOutputs, summarise } from './fixtures/feed.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A key whose partition (of 4) is `partition`. */
function keyIn(partition: number): string {
  for (let i = 0; ; i++) if (murmur2Partitioner(`conv-${i}`, 4) === partition) return `conv-${i}`;
}

describe('Ownership', () => {
  it('publishes only held keys, only once reconciled, only for outputs of the current assignment', () => {
    const o = new Ownership('t.touchpoints', 4);
    expect(o.mayPublish(keyIn(0), o.generation)).toBe(false);
    o.assign([
      { topic: 't.touchpoints', partition: 0 },
      { topic: 't.touchpoints', partition: 2 },
      { topic: 't.conversions', partition: 1 },
    ]);
    expect(o.partitions).toEqual([0, 2]);
    expect(o.pending).toBe(true);
    const gen = o.generation;
    expect(o.mayPublish(keyIn(0), gen)).toBe(false); // not reconciled yet
    o.activate();
    expect(o.mayPublish(keyIn(0), gen)).toBe(true);
    expect(o.mayPublish(keyIn(2), gen)).toBe(true);
    expect(o.mayPublish(keyIn(1), gen)).toBe(false); // another topic's partition does not count
    expect(o.mayPublish(keyIn(3), gen)).toBe(false);
    o.assign([]);
    expect(o.pending).toBe(false);
    expect(o.mayPublish(keyIn(0), gen)).toBe(false);
    o.assign([{ topic: 't.touchpoints', partition: 0 }]);
    o.activate();
    // Computed before the rebalance: dropped even though the key is held again.
    expect(o.mayPublish(keyIn(0), gen)).toBe(false);
    expect(o.mayPublish(keyIn(0), o.generation)).toBe(true);
  });
});

describe('StitcherState.reconcileOwned', () => {
  it('two states that split the keys publish what one state does; a new owner emits exactly what the topic lacks', () => {
    const events = feed(300, 17);
    const owner = (key: string) => murmur2Partitioner(key, 4);
    const a = new StitcherState({ windows: new Windows(WINDOWS) });
    const b = new StitcherState({ windows: new Windows(WINDOWS) });
    const topic: StitchOutput[] = [];
    for (const e of events) {
      topic.push(...stitch(a, e).filter((o) => owner(outputKey(o)) < 2));
      topic.push(...stitch(b, e).filter((o) => owner(outputKey(o)) >= 2));
    }
    expect(summarise(topic)).toEqual(reference(events));
    // Account null paths are among the keys split and reconciled.
    expect([...reference(events).nullPaths.keys()].filter((k) => k.startsWith('account:')).length).toBeGreaterThan(3);

    // B takes every key over with the whole topic read: nothing differs.
    const view = new PublishedOutputs();
    for (const o of topic) view.add(o);
    expect(b.reconcileOwned(view, () => true)).toEqual([]);

    // A's last outputs of partition 1 never reached the topic: B publishes exactly those keys.
    const lost = new Set<string>();
    const kept: StitchOutput[] = [];
    for (const o of [...topic].reverse()) {
      const k = outputKey(o);
      if (owner(k) === 1 && lost.size < 25 && !kept.some((x) => outputKey(x) === k)) lost.add(k);
      if (!lost.has(k)) kept.push(o);
    }
    kept.reverse();
    const partial = new PublishedOutputs();
    for (const o of kept) partial.add(o);
    const again = b.reconcileOwned(partial, () => true);
    expect(new Set(again.map(outputKey))).toEqual(new Set([...lost].filter((k) => reference(events).journeys.has(k) || reference(events).nullPaths.has(k))));
    expect(summarise([...kept, ...again])).toEqual(reference(events));
  });
});

describe('StitcherState.ownedLinks', () => {
  const owner = (key: string) => murmur2Partitioner(key, 4);
  const withoutTime = ({ linkedAt: _, ...rest }: IdentityLinkMessage) => rest;
  const eventTime = (e: InputMessage) => ('timestamp' in e ? e.timestamp : 0);

  it('split between owners gives every link once, each as a feed in time order first found it', () => {
    const events = feed(400, 19, { linkable: true }).sort((a, b) => eventTime(a) - eventTime(b) || (a.messageId < b.messageId ? -1 : 1));
    const state = new StitcherState({ windows: new Windows(WINDOWS), probabilistic: LINKING });
    const emitted = events.flatMap((e) => stitch(state, e)).filter((o): o is IdentityLinkMessage => o.kind === 'identity_link');
    expect(emitted.length).toBeGreaterThan(30);
    const parts = [0, 1, 2, 3].map((p) => state.ownedLinks((key) => owner(key) === p));
    parts.forEach((links, p) => expect(links.every((l) => owner(l.linkId) === p)).toBe(true));
    const byId = (a: { linkId: string }, b: { linkId: string }) => (a.linkId < b.linkId ? -1 : 1);
    expect(parts.flat().sort(byId).map(withoutTime)).toEqual([...emitted].sort(byId).map(withoutTime));
  });

  it('leaves out the links a fraud flag took back, as a state that never saw the flagged touches', () => {
    const events = feed(400, 19, { linkable: true });
    const state = new StitcherState({ windows: new Windows(WINDOWS), probabilistic: LINKING });
    for (const e of events) stitch(state, e);
    const flagged = events.filter((e) => e.kind === 'touchpoint' && e.messageId.endsWith('-near')).map((e) => e.messageId);
    expect(flagged.length).toBeGreaterThan(30);
    stitch(state, { v: 1, kind: 'fraud_flag', flagId: 'f-1', touchpointIds: flagged, reason: 'test', flaggedAt: 0 });
    const after = linkIds(state.ownedLinks(() => true));
    expect(after.length).toBeLessThan(linkIds(referenceOutputs(events, LINKING)).length);
    expect(after).toEqual(linkIds(referenceOutputs(events.filter((e) => !flagged.includes(e.messageId)), LINKING)));
  });
});

describe('the owner of a key', () => {
  it('corrects what another instance publishes for it after the handover', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stitcher-owner-'));
    dirs.push(dir);
    const prefix = 'own.';
    const topics = topicNames(prefix);
    const bus = await EmbeddedBus.open({ dir, partitions: 4 });
    const events = feed(400, 3);
    await publishFeed(bus, topics, events);
    const s = await startStitcher({ bus, logger: silentLogger(), topics, groups: groupNames(prefix), windows: new Windows(WINDOWS) });
    const settle = async () => {
      while (!(await s.caughtUp())) await new Promise((r) => setTimeout(r, 20));
    };
    await settle();
    const before = await readJourneys(bus, topics.journeys);
    const journey = before.find((m): m is JourneyMessage => m.kind === 'journey' && m.touches.length > 1)!;
    const nullPath = before.find((m) => m.kind === 'null_path' && m.touches.length > 0)!;

    // A late write of an earlier owner: a stale journey (a touch missing) and a withdrawn null path.
    const stale: JourneyMessage = { ...journey, touches: journey.touches.slice(1), revision: journey.revision + 1, emittedAt: journey.emittedAt + 1 };
    const withdrawn = { ...nullPath, touches: [], emittedAt: nullPath.emittedAt + 1 };
    await bus.publish(topics.journeys, [
      { key: journey.conversion.conversionId, value: JSON.stringify(stale), headers: { [WRITER_HEADER]: 'an-earlier-owner' } },
      { key: nullPath.kind === 'null_path' ? nullPath.pathId : '', value: JSON.stringify(withdrawn), headers: { [WRITER_HEADER]: 'an-earlier-owner' } },
    ]);
    await settle();
    const after = await readJourneys(bus, topics.journeys);
    expect(after.length).toBe(before.length + 4); // the two foreign records and the two corrections
    const expected = reference(events);
    expect(summarise(after)).toEqual(expected);
    expect(summarise([...after].sort((a, b) => a.emittedAt - b.emittedAt))).toEqual(expected);
    await s.consumer.stop();
    await bus.close();
  });
});

describe('a privacy delete applied while catching up', () => {
  // Catching up reads the input topics in an order the state cannot choose: the delete may come
  // before some of the person's touches and conversions, which it then drops; the journeys the
  // topic holds for those conversions from an earlier run must still be retracted, and the null
  // periods closed by then must not depend on the order (the dropped events still move event time).
  it('retracts every journey the topic holds for the person, whatever came after the delete', () => {
    const events = feed(200, 9);
    const first = new StitcherState({ windows: new Windows(WINDOWS) });
    const topic = events.flatMap((e) => stitch(first, e));
    const before = summarise(topic).journeys;
    const ofUser = new Map<string, string[]>();
    for (const e of events) if (e.kind === 'conversion' && before.has(e.conversionId)) ofUser.set(e.userId!, [...(ofUser.get(e.userId!) ?? []), e.conversionId]);
    const levels = new Set([...ofUser.values()].flat().map((id) => before.get(id)!.split('|')[0]));
    expect(levels).toEqual(new Set(['person', 'account']));
    let checked = 0;
    for (const [userId, conversions] of ofUser) {
      const view = new PublishedOutputs();
      for (const o of topic) view.add(o);
      const mine = (e: InputMessage) => ('userId' in e && e.userId === userId) || ('anonymousId' in e && e.anonymousId?.startsWith(`p${userId.slice(1)}-d`));
      const forget: PrivacyDeleteMessage = { v: 1, kind: 'privacy_delete', requestId: `r-${userId}`, anonymousIds: [], userIds: [userId], emailHashes: [], requestedAt: 0 };
      // The delete after the person's identifies, before their conversions and touches.
      const order = [...events.filter((e) => !mine(e) || e.kind === 'identity'), forget, ...events.filter((e) => mine(e) && e.kind !== 'identity')];
      const second = new StitcherState({ windows: new Windows(WINDOWS) });
      for (const e of order) stitch(second, e);
      const published = [...topic, ...second.reconcileOwned(view, () => true)];
      const after = summarise(published);
      for (const id of conversions) expect(after.journeys.get(id), `${userId} ${id}`).toBe('person|true|');
      // And the topic ends as if the delete had come last to a stitcher that never stopped.
      const inOrder = new StitcherState({ windows: new Windows(WINDOWS) });
      const expected = summarise([...events.flatMap((e) => stitch(inOrder, e)), ...stitch(inOrder, forget)]);
      expect(after.nullPaths).toEqual(expected.nullPaths);
      expect(after.journeys).toEqual(expected.journeys);
      checked += conversions.length;
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('ends as if the delete came last, wherever it falls after the person\'s identifies', () => {
    const events = feed(200, 9);
    const first = new StitcherState({ windows: new Windows(WINDOWS) });
    const topic = events.flatMap((e) => stitch(first, e));
    const random = rng(5);
    const users = [...new Set(events.flatMap((e) => (e.kind === 'conversion' ? [e.userId!] : [])))].slice(0, 30);
    let between = 0;
    for (const userId of users) {
      const forget: PrivacyDeleteMessage = { v: 1, kind: 'privacy_delete', requestId: `r-${userId}`, anonymousIds: [], userIds: [userId], emailHashes: [], requestedAt: 0 };
      // Identifies are keyed by the userId, as the delete is: they precede it on their partition.
      let lastIdentify = -1;
      events.forEach((e, i) => {
        if (e.kind === 'identity' && e.userId === userId) lastIdentify = i;
      });
      const at = lastIdentify + 1 + Math.floor(random() * (events.length - lastIdentify));
      const order = [...events.slice(0, at), forget, ...events.slice(at)];
      const mine = events.filter((e) => ('userId' in e && e.userId === userId) || ('anonymousId' in e && e.anonymousId?.startsWith(`p${userId.slice(1)}-d`)));
      if (mine.some((e) => events.indexOf(e) < at) && mine.some((e) => events.indexOf(e) >= at)) between++;
      const second = new StitcherState({ windows: new Windows(WINDOWS) });
      for (const e of order) stitch(second, e);
      const view = new PublishedOutputs();
      for (const o of topic) view.add(o);
      const after = summarise([...topic, ...second.reconcileOwned(view, () => true)]);
      const inOrder = new StitcherState({ windows: new Windows(WINDOWS) });
      const expected = summarise([...events.flatMap((e) => stitch(inOrder, e)), ...stitch(inOrder, forget)]);
      expect(after.journeys, userId).toEqual(expected.journeys);
      expect(after.nullPaths, userId).toEqual(expected.nullPaths);
    }
    // Most deletes fall among the person's events: some applied before it, some dropped after it.
    expect(between).toBeGreaterThan(15);
  });

  it('still retracts the journeys the topic holds for the deleted person', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stitcher-forget-'));
    dirs.push(dir);
    const prefix = 'forget.';
    const topics = topicNames(prefix);
    const groups = groupNames(prefix);
    const bus = await EmbeddedBus.open({ dir, partitions: 4 });
    const events = feed(200, 9);
    await publishFeed(bus, topics, events);
    const start = async () => {
      const s = await startStitcher({ bus, logger: silentLogger(), topics, groups, windows: new Windows(WINDOWS) });
      while (!(await s.caughtUp())) await new Promise((r) => setTimeout(r, 20));
      return s;
    };
    const first = await start();
    const converted = (await readJourneys(bus, topics.journeys)).find((m): m is JourneyMessage => m.kind === 'journey' && m.personId.startsWith('u:'))!;
    await first.consumer.stop();

    // Published while no stitcher runs: the next one applies it before it owns anything.
    const userId = converted.personId.slice(2);
    await bus.publish(topics.identities, [
      { key: userId, value: JSON.stringify({ v: 1, kind: 'privacy_delete', requestId: 'r1', anonymousIds: [], userIds: [userId], emailHashes: [], requestedAt: Date.now() }) },
    ]);
    const second = await start();
    const last = summarise(await readJourneys(bus, topics.journeys));
    expect(last.journeys.get(converted.conversion.conversionId)).toBe('person|true|');
    await second.consumer.stop();
    await bus.close();
  });
});
