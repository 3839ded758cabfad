import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttributor } from '@touchline/attributor';
import { groupNames, topicNames, type ConversionMessage, type IdentityMessage, type TouchpointMessage } from '@touchline/contracts';
import { EmbeddedBus, MIGRATIONS, Warehouse, migrate, silentLogger, type Consumer } from '@touchline/platform';
import { Windows, startStitcher } from '../src/index.js';

const topics = topicNames('links.');
const groups = groupNames('links.');
const T0 = Date.parse('2026-10-01T09:00:00Z');
const M = 60_000;
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';

const touch = (id: string, ids: { anonymousId?: string; userId?: string }, at: number, ip = ''): TouchpointMessage => ({
  v: 1, kind: 'touchpoint', messageId: id, ...ids, timestamp: at, receivedAt: at, interaction: 'click', channel: 'email',
  source: '', medium: '', campaign: '', content: '', term: '', clickId: '', clickIdType: '', url: '', referrer: '', cost: 0,
  consent: true, ip, userAgent: UA, bot: false,
});

type LinkRow = { message_id: string; anonymous_id: string; linked_anonymous_id: string; user_id: string; email_hash: string; link_type: string; confidence: number; evidence: string[]; ts: string };

describe('touchline.identity_links', () => {
  let dir: string;
  let bus: EmbeddedBus;
  let wh: Warehouse;
  let consumers: Consumer[];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'identity-links-'));
    bus = await EmbeddedBus.open({ dir: join(dir, 'log'), partitions: 2 });
    await bus.ensureTopics(Object.values(topics), 2);
    wh = await Warehouse.open({ path: join(dir, 'warehouse') });
    // A warehouse from before migration 6, holding an identify row as it was written then.
    await migrate(wh, undefined, MIGRATIONS.filter((m) => m.version < 6));
    await wh.insertRows(
      'touchline.identity_links',
      [{ message_id: 'old-identify', anonymous_id: 'old-device', user_id: 'old-user', email_hash: '', phone_hash: '', account_id: '', link_type: 'deterministic', confidence: 1, ts: '2026-01-01 00:00:00.000', received_at: '2026-01-01 00:00:00.000', src_topic: 'old', src_partition: 0, src_offset: 0 }],
      'old-identify',
    );
    expect(await migrate(wh)).toContain(6);
    const logger = silentLogger();
    const stitcher = await startStitcher({ bus, logger, topics, groups, windows: new Windows({ lookbackDays: 90, viewThroughDays: 1 }), probabilistic: { windowMs: 10 * M } });
    const attributors = await startAttributor({ bus, warehouse: wh, logger, topics, groups, halfLifeDays: 7, models: ['linear'] });
    consumers = [stitcher.consumer, ...attributors];
  });
  afterAll(async () => {
    for (const c of consumers) await c.stop();
    await bus.close();
    await wh.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the kind of links written before kinds were told apart', async () => {
    expect(await wh.query(`SELECT link_type, evidence, linked_anonymous_id FROM touchline.identity_links WHERE message_id = 'old-identify'`)).toEqual([
      { link_type: 'identify', evidence: ['old-identify'], linked_anonymous_id: '' },
    ]);
  });

  it('holds identify, event and probabilistic links, each with its evidence, once', async () => {
    const identify: IdentityMessage = { v: 1, kind: 'identity', messageId: 'idf-1', anonymousId: 'laptop', emailHash: 'a'.repeat(64), timestamp: T0, receivedAt: T0 };
    const conversion: ConversionMessage = {
      v: 1, kind: 'conversion', messageId: 'conv-1-m', conversionId: 'conv-1', anonymousId: 'phone', userId: 'jane', timestamp: T0 + 30 * M, receivedAt: T0 + 30 * M,
      name: 'purchase', value: 10, currency: 'EUR', consent: true,
    };
    await bus.publish(topics.identities, [{ key: 'laptop', value: JSON.stringify(identify) }]);
    await bus.publish(topics.touchpoints, [
      { key: 'laptop', value: JSON.stringify(touch('tp-laptop', { anonymousId: 'laptop', userId: 'jane' }, T0 + M)) },
      { key: 'tablet', value: JSON.stringify(touch('tp-tablet-1', { anonymousId: 'tablet' }, T0 + 2 * M, '192.168.7.0')) },
      { key: 'tv', value: JSON.stringify(touch('tp-tv-1', { anonymousId: 'tv' }, T0 + 7 * M, '192.168.7.0')) },
      // The same pair seen again: still one link.
      { key: 'tv', value: JSON.stringify(touch('tp-tv-2', { anonymousId: 'tv' }, T0 + 8 * M, '192.168.7.0')) },
      { key: 'solo', value: JSON.stringify(touch('tp-solo', { anonymousId: 'solo' }, T0 + 9 * M)) },
    ]);
    await bus.publish(topics.conversions, [{ key: 'phone', value: JSON.stringify(conversion) }]);

    const rows = await waitFor(async () => {
      const r = await wh.query<LinkRow>(
        `SELECT message_id, anonymous_id, linked_anonymous_id, user_id, email_hash, link_type, confidence, evidence, toString(ts) AS ts
           FROM touchline.identity_links WHERE src_topic != 'old' ORDER BY link_type, message_id`,
      );
      return r.length >= 4 ? r : undefined;
    });
    expect(rows).toEqual([
      { message_id: 'conv-1-m', anonymous_id: 'phone', linked_anonymous_id: '', user_id: 'jane', email_hash: '', link_type: 'event', confidence: 1, evidence: ['conv-1-m'], ts: '2026-10-01 09:30:00.000' },
      { message_id: 'tp-laptop', anonymous_id: 'laptop', linked_anonymous_id: '', user_id: 'jane', email_hash: '', link_type: 'event', confidence: 1, evidence: ['tp-laptop'], ts: '2026-10-01 09:01:00.000' },
      { message_id: 'idf-1', anonymous_id: 'laptop', linked_anonymous_id: '', user_id: '', email_hash: 'a'.repeat(64), link_type: 'identify', confidence: 1, evidence: ['idf-1'], ts: '2026-10-01 09:00:00.000' },
      {
        message_id: 'probable:a:tablet|a:tv', anonymous_id: 'tablet', linked_anonymous_id: 'tv', user_id: '', email_hash: '', link_type: 'probabilistic',
        confidence: expect.closeTo(0.9 - 0.4 * 0.5, 10) as unknown as number, evidence: ['tp-tablet-1', 'tp-tv-1'], ts: '2026-10-01 09:07:00.000',
      },
    ]);
    // Nothing else trickles in: a touch with one id links nothing, the repeated pair is not a second link.
    await new Promise((r) => setTimeout(r, 300));
    expect(await wh.query(`SELECT count() AS n FROM touchline.identity_links WHERE src_topic != 'old'`)).toEqual([{ n: 4 }]);
  });
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting for identity_links rows');
    await new Promise((r) => setTimeout(r, 50));
  }
}
