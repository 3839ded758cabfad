import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PrivacyDeleteMessage } from '@touchline/contracts';
import { EmbeddedBus, silentLogger, type Bus } from '@touchline/platform';
import { DenyList } from '../src/deny-list.js';
import { tempDir, topics } from './helpers.js';

/**
 * How deny lists learn deletions. On the embedded log (one writing process) they read the
 * identities topic up to its end at start and then hear of new deletions from `forget` in the same
 * process; on a bus that other processes write (Kafka) they keep reading the topic.
 */

const logger = silentLogger();
const ids = (anonymousId: string) => ({ anonymousIds: [anonymousId], userIds: [], emailHashes: [] });

function deletion(anonymousId: string): { key: string; value: string } {
  const m: PrivacyDeleteMessage = { v: 1, kind: 'privacy_delete', requestId: `r-${anonymousId}`, ...ids(anonymousId), requestedAt: 1 };
  return { key: anonymousId, value: JSON.stringify(m) };
}

/** The same log seen as a bus that other processes also write, like Kafka. */
function shared(bus: EmbeddedBus): Bus {
  return {
    kind: 'kafka',
    ensureTopics: (t, p) => bus.ensureTopics(t, p),
    publish: (t, r) => bus.publish(t, r),
    publishMany: (b) => bus.publishMany(b),
    consume: (o) => bus.consume(o),
    committedOffsets: (g, t) => bus.committedOffsets(g, t),
    endOffsets: (t) => bus.endOffsets(t),
    close: () => bus.close(),
  };
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('DenyList', () => {
  let dir: string;
  let bus: EmbeddedBus;
  const lists: DenyList[] = [];
  const started = async (b: Bus, topic = topics.identities) => {
    const list = new DenyList();
    await list.start({ bus: b, topic, logger });
    lists.push(list);
    return list;
  };

  beforeEach(async () => {
    dir = tempDir('deny-list-');
    bus = await EmbeddedBus.open({ dir, partitions: 2 });
    await bus.ensureTopics([topics.identities, 'other.identities'], 2);
  });

  afterEach(async () => {
    for (const l of lists.splice(0)) await l.stop();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('on the embedded log, reads what is on the topic at start, then stops reading it', async () => {
    await bus.publish(topics.identities, [deletion('anon-before')]);
    const list = await started(bus);
    expect(list.denies({ anonymousId: 'anon-before' })).toBe(true);
    expect(list.following).toBe(false);
  });

  it('on the embedded log, hears of a deletion announced in the process, by bus and topic', async () => {
    const list = await started(bus);
    const elsewhere = await started(bus, 'other.identities');
    await bus.publish(topics.identities, [deletion('anon-later')]);
    DenyList.announce(bus, topics.identities, ids('anon-later'));
    expect(list.denies({ anonymousId: 'anon-later' })).toBe(true);
    expect(elsewhere.denies({ anonymousId: 'anon-later' })).toBe(false);
  });

  it('once stopped, hears nothing more', async () => {
    const list = await started(bus);
    await list.stop();
    DenyList.announce(bus, topics.identities, ids('anon-after-stop'));
    expect(list.denies({ anonymousId: 'anon-after-stop' })).toBe(false);
  });

  it('on a bus other processes write, keeps reading the topic', async () => {
    const remote = shared(bus);
    const list = await started(remote);
    expect(list.following).toBe(true);
    // Written by another process: no announcement, only the record.
    await bus.publish(topics.identities, [deletion('anon-remote')]);
    await waitFor(() => list.denies({ anonymousId: 'anon-remote' }), 'the deletion to be read from the topic');
    // Announcements are for lists that do not read the topic.
    DenyList.announce(remote, topics.identities, ids('anon-announced'));
    expect(list.denies({ anonymousId: 'anon-announced' })).toBe(false);
  });
});
