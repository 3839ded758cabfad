import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExperimentsConfig, holdoutArm, murmur3x86_32, IdentityMessage, TouchpointMessage, ConversionMessage, type Experiment } from '@touchline/contracts';
import { EmbeddedBus, loadConfig } from '@touchline/platform';
import { HoldoutTagger } from '../src/holdouts.js';
import { Normaliser } from '../src/normalise.js';
import { touchpointJson } from '../src/serialise.js';
import { ingestOptionsFromConfig } from '../src/settings.js';
import { ingestApp, readAll, tempDir, topics } from './helpers.js';

const START = Date.parse('2026-11-01T00:00:00Z');
const experiments: Experiment[] = ExperimentsConfig.parse({
  TOUCHLINE_EXPERIMENTS: JSON.stringify([
    { id: 'li-holdout', channel: 'LinkedIn', share: 0.3, start: '2026-11-01T00:00:00Z' },
    { id: 'abm-holdout', campaign: 'abm', share: 0.5, start: START, unit: 'accountId' },
  ]),
}).TOUCHLINE_EXPERIMENTS;
const ctx = { receivedAt: Date.parse('2026-11-22T12:00:00Z') };
const at = '2026-11-10T09:00:00Z';

describe('experiments setting', () => {
  it('parses JSON, normalises the channel and reads the start as an ISO time or epoch ms', () => {
    expect(experiments).toEqual([
      { id: 'li-holdout', channel: 'linkedin', share: 0.3, start: START, unit: 'userId' },
      { id: 'abm-holdout', campaign: 'abm', share: 0.5, start: START, unit: 'accountId' },
    ]);
    expect(ExperimentsConfig.parse({}).TOUCHLINE_EXPERIMENTS).toEqual([]);
  });

  it('answers a bad setting with an error naming the setting and the field', () => {
    const bad = (value: unknown) => () => loadConfig({ TOUCHLINE_EXPERIMENTS: typeof value === 'string' ? value : JSON.stringify(value) }, '/nonexistent');
    expect(bad('not json')).toThrow(/TOUCHLINE_EXPERIMENTS.*must be JSON/);
    expect(bad([{ id: 'x', channel: 'linkedin', share: 1, start: 0 }])).toThrow(/TOUCHLINE_EXPERIMENTS\.0\.share.*below 1/);
    expect(bad([{ id: 'x', share: 0.1, start: 0 }])).toThrow(/TOUCHLINE_EXPERIMENTS\.0\.channel.*needs a channel, a campaign or both/);
    expect(bad([{ id: 'x', channel: 'a', share: 0.1, start: 0, unit: 'anonymousId' }])).toThrow(/TOUCHLINE_EXPERIMENTS\.0\.unit/);
    expect(bad([{ id: 'x', channel: 'a', share: 0.1, start: 'yesterday' }])).toThrow(/TOUCHLINE_EXPERIMENTS\.0\.start/);
    expect(bad([{ id: 'x', channel: 'a', share: 0.1, start: 0 }, { id: 'x', channel: 'b', share: 0.1, start: 0 }])).toThrow(/TOUCHLINE_EXPERIMENTS\.1\.id.*duplicate experiment id "x"/);
    expect(bad([{ id: 'x', channel: 'a', share: 0.1, start: 0, typo: 1 }])).toThrow(/TOUCHLINE_EXPERIMENTS\.0.*typo/);
  });

  it('reads a list of experiments from touchline.config.json as it is written there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'touchline-exp-config-'));
    try {
      writeFileSync(join(dir, 'touchline.config.json'), JSON.stringify({ TOUCHLINE_EXPERIMENTS: [{ id: 'e', campaign: 'abm', share: 0.2, start: 5 }], TOUCHLINE_MODELS: ['linear', 'markov'] }));
      const config = loadConfig({}, dir);
      expect(config.TOUCHLINE_EXPERIMENTS).toEqual([{ id: 'e', campaign: 'abm', share: 0.2, start: 5, unit: 'userId' }]);
      expect(config.TOUCHLINE_MODELS).toEqual(['linear', 'markov']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reaches ingest options', () => {
    expect(ingestOptionsFromConfig({ TOUCHLINE_EXPERIMENTS: JSON.stringify([{ id: 'e', channel: 'email', share: 0.1, start: 0 }]) }).experiments).toEqual([
      { id: 'e', channel: 'email', share: 0.1, start: 0, unit: 'userId' },
    ]);
    expect(ingestOptionsFromConfig({}).experiments).toBeUndefined();
  });
});

describe('the holdout hash', () => {
  it('hashes the UTF-8 bytes: non-ASCII ids give the reference MurmurHash3_x86_32 too', () => {
    // Reference values from an independent implementation over the UTF-8 bytes.
    expect(murmur3x86_32('abc')).toBe(0xb3dd93fa);
    expect(murmur3x86_32('müller@exämple.de')).toBe(0x81f5e57a);
    expect(murmur3x86_32('exp:用户-1')).toBe(0x2535408d);
  });
});

describe('tagging events with arms', () => {
  const tagger = HoldoutTagger.of(experiments);
  const n = new Normaliser({ holdouts: tagger });
  const plain = new Normaliser();
  const decode = <T>(schema: { parse(v: unknown): T }, r: ReturnType<Normaliser['normalise']>): T => {
    if (!r.ok) throw new Error(r.reason);
    return schema.parse(JSON.parse(r.record.value as string));
  };

  it('holds no tagger without experiments, so events are left as they were', () => {
    expect(HoldoutTagger.of([])).toBeUndefined();
    expect(HoldoutTagger.of(undefined)).toBeUndefined();
  });

  it('tags touches, conversions and identifies that carry a user id with the arm of that id', () => {
    let held = 0;
    for (let i = 0; i < 200; i++) {
      const userId = `u${i}`;
      const want = holdoutArm('li-holdout', userId, 0.3);
      if (want === 'holdout') held++;
      const touch = decode(TouchpointMessage, n.normalise({ type: 'touch', messageId: `t${i}`, userId, interaction: 'click', channel: 'email', timestamp: at }, ctx));
      expect(touch.arms).toEqual({ 'li-holdout': want });
      const conv = decode(ConversionMessage, n.normalise({ type: 'conversion', messageId: `c${i}`, userId, conversionId: `c${i}`, name: 'deal', value: 1, currency: 'EUR', timestamp: at }, ctx));
      expect(conv.arms).toEqual({ 'li-holdout': want });
    }
    // 30% held out, give or take sampling noise.
    expect(held).toBeGreaterThan(35);
    expect(held).toBeLessThan(85);
  });

  it('tags an account experiment only on the identify that names the account', () => {
    const id = decode(IdentityMessage, n.normalise({ type: 'identify', messageId: 'i1', userId: 'u1', traits: { accountId: 'acme' }, timestamp: at }, ctx));
    expect(id.arms).toEqual({ 'li-holdout': holdoutArm('li-holdout', 'u1', 0.3), 'abm-holdout': holdoutArm('abm-holdout', 'acme', 0.5) });
  });

  it('leaves anonymous events and events before the start untagged', () => {
    const anon = decode(TouchpointMessage, n.normalise({ type: 'touch', messageId: 'a1', anonymousId: 'cookie', interaction: 'click', channel: 'linkedin', timestamp: at }, ctx));
    expect(anon.arms).toBeUndefined();
    const early = decode(TouchpointMessage, n.normalise({ type: 'touch', messageId: 'e1', userId: 'u1', interaction: 'click', channel: 'linkedin', timestamp: '2026-10-31T23:59:59Z' }, ctx));
    expect(early.arms).toBeUndefined();
  });

  it('changes nothing else about a touchpoint: the tagged record is the untagged one plus arms', () => {
    const raw = { type: 'touch', messageId: 'x', userId: 'u7', interaction: 'click', url: 'https://s.example/?utm_source=linkedin&utm_medium=paid_social&utm_campaign=abm', timestamp: at };
    const tagged = n.normalise(raw, ctx);
    const untagged = plain.normalise(raw, ctx);
    if (!tagged.ok || !untagged.ok) throw new Error('refused');
    const { arms, ...rest } = JSON.parse(tagged.record.value as string) as { arms: unknown };
    expect(arms).toEqual({ 'li-holdout': holdoutArm('li-holdout', 'u7', 0.3) });
    expect(rest).toEqual(JSON.parse(untagged.record.value as string));
    // The fast serialiser writes the arms exactly as JSON.stringify does.
    const msg = TouchpointMessage.parse(JSON.parse(tagged.record.value as string));
    expect(touchpointJson(msg)).toBe(JSON.stringify(msg));
    expect(tagged.record.value).toBe(JSON.stringify(msg));
  });
});

describe('ingest with experiments configured', () => {
  const dir = tempDir('ingest-holdouts-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tags what it publishes, parsed in a worker thread as in production', async () => {
    const bus = await EmbeddedBus.open({ dir, partitions: 2 });
    const { app } = await ingestApp(bus, { options: { threads: 1, experiments } });
    try {
      const batch = [
        { type: 'touch', messageId: 't1', userId: 'u1', interaction: 'email_click', channel: 'email', timestamp: at },
        { type: 'touch', messageId: 't2', anonymousId: 'cookie', interaction: 'click', channel: 'linkedin', timestamp: at },
        { type: 'identify', messageId: 'i1', userId: 'u1', traits: { accountId: 'acme' }, timestamp: at },
        { type: 'conversion', messageId: 'c1', userId: 'u1', conversionId: 'c1', name: 'deal', value: 1, currency: 'EUR', timestamp: at },
      ];
      const res = await app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: 'Bearer w1' }, payload: { batch } });
      expect(res.statusCode).toBe(200);
      const arm = holdoutArm('li-holdout', 'u1', 0.3);
      const touches = (await readAll(bus, topics.touchpoints)).map((r) => TouchpointMessage.parse(JSON.parse(r.value.toString())));
      expect(Object.fromEntries(touches.map((t) => [t.messageId, t.arms]))).toEqual({ t1: { 'li-holdout': arm }, t2: undefined });
      const [identity] = (await readAll(bus, topics.identities)).map((r) => IdentityMessage.parse(JSON.parse(r.value.toString())));
      expect(identity!.arms).toEqual({ 'li-holdout': arm, 'abm-holdout': holdoutArm('abm-holdout', 'acme', 0.5) });
      const [conv] = (await readAll(bus, topics.conversions)).map((r) => ConversionMessage.parse(JSON.parse(r.value.toString())));
      expect(conv!.arms).toEqual({ 'li-holdout': arm });
    } finally {
      await app.close();
      await bus.close();
    }
  });
});
