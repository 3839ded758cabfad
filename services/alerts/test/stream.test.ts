import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { KeyRing, buildHttp, silentLogger } from '@touchline/platform';
import { StreamHub, type DurableFrame, type ReplaySource } from '../src/stream.js';
import { TestClient } from './support/ws.js';

const keys = new KeyRing({ write: ['w'], admin: ['a'], read: ['r'] });

/** Stored frames in memory, as the journal would serve them. */
class MemoryReplay implements ReplaySource {
  readonly frames: DurableFrame[] = [];
  /** Holds `since` open until released, to publish live frames while a resume is read. */
  gate?: Promise<void>;
  reads = 0;
  async since(since: number, limit: number) {
    this.reads++;
    await this.gate;
    return this.frames.filter((f) => f.seq > since).slice(0, limit);
  }
  async recent(n: number, channels: string[]) {
    return this.frames.filter((f) => channels.includes(f.channel)).slice(-n);
  }
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function hubServer(opts: ConstructorParameters<typeof StreamHub>[4] = {}, onSubscribe?: ConstructorParameters<typeof StreamHub>[2]) {
  const app = buildHttp({ logger: silentLogger() });
  const replay = new MemoryReplay();
  const hub = new StreamHub(keys, silentLogger(), onSubscribe, replay, opts);
  hub.attach(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  cleanup.push(async () => {
    hub.close();
    await app.close();
  });
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/stream`;
  let seq = 1_000_000;
  /** Stores and publishes an alert, like the journal does. */
  const alert = (campaign: string, channel: 'alerts' | 'fraud' = 'alerts') => {
    const f: DurableFrame = { seq: ++seq, channel, type: channel === 'fraud' ? 'fraud_spike' : 'roi_drop', data: { campaign, n: seq }, match: { campaign, channel: 'paid_search', model: 'linear' } };
    replay.frames.push(f);
    hub.publishDurable(f);
    return f;
  };
  const open = async (o: Parameters<typeof TestClient.open>[1] = { token: 'r' }) => {
    const c = await TestClient.open(url, o);
    cleanup.push(() => c.close());
    return c;
  };
  return { hub, url, replay, alert, open };
}

describe('/v1/stream', () => {
  it('authenticates before the upgrade: admin by Bearer, read key by ?token=, never a write key', async () => {
    const { url, open } = await hubServer();
    await expect(TestClient.open(url)).rejects.toThrow('HTTP 401');
    await expect(TestClient.open(url, { token: 'w' })).rejects.toThrow('HTTP 401');
    await expect(TestClient.open(url, { bearer: 'nope' })).rejects.toThrow('HTTP 401');
    await open({ bearer: 'a' });
    await open({ token: 'r' });
  });

  it('delivers only subscribed channels that match the filter; every frame has channel, id and type', async () => {
    const { hub, alert, open } = await hubServer();
    const c = await open();
    c.send({ type: 'subscribe', channels: ['alerts', 'metrics'], filter: { campaign: 'brand' } });
    await c.next((f) => f.type === 'subscribed');
    alert('other');
    alert('brand');
    const lastStored = alert('brand', 'fraud');
    hub.publish({ channel: 'metrics', type: 'window_metrics', data: { rows: ['brand', 'other'] }, match: { model: 'linear' }, narrow: (f) => ({ rows: [f.campaign] }) });
    hub.publish({ channel: 'credits', type: 'credit', data: {} });
    const m = await c.next((f) => f.channel === 'metrics');
    expect(m.data).toEqual({ rows: ['brand'] });
    const alerts = c.frames.filter((f) => f.channel === 'alerts');
    expect(alerts.map((f) => f.data.campaign)).toEqual(['brand']);
    expect(c.frames.some((f) => f.channel === 'fraud' || f.channel === 'credits')).toBe(false);
    for (const f of c.frames) expect(Object.keys(f).sort()).toEqual(['channel', 'data', 'id', 'type']);
    // Stored frames carry their seq; others the last stored seq published (to anyone) and a counter.
    expect(alerts[0]!.id).toMatch(/^\d+$/);
    expect(m.id).toMatch(new RegExp(`^${lastStored.seq}\\.\\d+$`));

    c.send({ type: 'unsubscribe', channels: ['alerts'] });
    await c.next((f) => f.type === 'unsubscribed');
    alert('brand');
    c.send({ type: 'ping' });
    await c.next((f) => f.type === 'pong');
    expect(c.frames.filter((f) => f.channel === 'alerts')).toHaveLength(1);
  });

  it('answers bad messages with a precise error and closes on a frame over the size limit', async () => {
    const { open } = await hubServer({ maxInboundBytes: 1024 });
    const c = await open();
    c.send('not json');
    expect((await c.next((f) => f.type === 'error')).data.message).toBe('messages must be JSON');
    c.send({ type: 'subscribe', channels: ['alarms'] });
    expect((await c.next((f) => f.type === 'error' && /channels/.test(f.data.message))).data.message).toMatch(/^channels\.0: /);
    c.send({ type: 'subscribe', channels: ['alerts'], since: 'yesterday' });
    expect((await c.next((f) => /since/.test(f.data?.message ?? ''))).data.message).toMatch(/since: must be the id of a frame/);
    c.send({ type: 'subscribe', channels: ['alerts'], filter: { channel: 'x'.repeat(2000) } });
    await c.until(() => c.closed);
    expect(c.closed!.code).toBe(1009);
  });

  it('resumes after a reconnect from the last id seen, missing no alert and repeating none', async () => {
    const { alert, open } = await hubServer();
    const a = await open();
    a.send({ type: 'subscribe', channels: ['alerts', 'fraud'] });
    await a.next((f) => f.type === 'subscribed');
    alert('one');
    alert('two', 'fraud');
    const last = await a.next((f) => f.data?.campaign === 'two');
    await a.close();
    alert('three');
    alert('four', 'fraud');
    const b = await open();
    b.send({ type: 'subscribe', channels: ['alerts', 'fraud'], since: last.id });
    await b.next((f) => f.data?.campaign === 'four');
    alert('five');
    await b.next((f) => f.data?.campaign === 'five');
    expect(b.frames.filter((f) => f.channel !== 'control').map((f) => f.data.campaign)).toEqual(['three', 'four', 'five']);
  });

  it('keeps order when alerts arrive while a resume is being read', async () => {
    const { hub, alert, open, replay } = await hubServer();
    alert('old');
    const first = alert('missed');
    let release!: () => void;
    replay.gate = new Promise((r) => (release = r));
    const c = await open();
    c.send({ type: 'subscribe', channels: ['alerts', 'metrics'], since: String(first.seq - 1) });
    await c.until(() => replay.reads > 0 || undefined, 5000, 'the resume read');
    alert('live');
    hub.publish({ channel: 'metrics', type: 'window_metrics', data: {} });
    release();
    await c.next((f) => f.data?.campaign === 'live');
    // Nothing, not even the subscription's answer, overtakes the stored frames being replayed.
    expect(c.frames.map((f) => f.type === 'roi_drop' ? f.data.campaign : f.type)).toEqual(['subscribed', 'missed', 'live', 'window_metrics']);
    // The answer names the position asked for, so resuming from it again loses nothing.
    expect(c.frames[0]!.id).toMatch(new RegExp(`^${first.seq - 1}\\.\\d+$`));
  });

  it('a dashboard opening gets the latest stored messages first', async () => {
    const { alert, open } = await hubServer();
    for (const x of ['a', 'b', 'c', 'd']) alert(x);
    const c = await open();
    c.send({ type: 'subscribe', channels: ['alerts'], recent: 2 });
    await c.next((f) => f.data?.campaign === 'd');
    expect(c.frames.filter((f) => f.channel === 'alerts').map((f) => f.data.campaign)).toEqual(['c', 'd']);
  });

  async function stalledClient(url: string) {
    const ws = new WebSocket(`${url}?token=r`);
    await new Promise((r) => ws.once('open', r));
    const state: { closed?: { code: number; reason: string }; metrics: number[]; alerts: number } = { metrics: [], alerts: 0 };
    ws.on('close', (code, reason) => (state.closed = { code, reason: reason.toString() }));
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString());
      if (f.channel === 'metrics') state.metrics.push(f.data.i);
      if (f.channel === 'alerts') state.alerts++;
    });
    ws.send(JSON.stringify({ type: 'subscribe', channels: ['metrics', 'alerts'] }));
    await new Promise((r) => ws.once('message', r));
    const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    cleanup.push(() => ws.terminate());
    const waitFor = async (cond: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!cond() && Date.now() < deadline) await new Promise((r) => ws.once('message', r).once('close', r));
      return cond();
    };
    return { ws, socket, state, waitFor };
  }

  it('drops metrics oldest-first for a slow client and keeps it connected', async () => {
    const { hub, url } = await hubServer({ maxQueuedFrames: 20, socketHighWaterBytes: 16 * 1024 });
    const c = await stalledClient(url);
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 400; i++) hub.publish({ channel: 'metrics', type: 'window_metrics', data: { i, big } });
    c.socket.resume();
    expect(await c.waitFor(() => c.state.metrics.includes(399))).toBe(true);
    expect(c.state.closed).toBeUndefined();
    const got = c.state.metrics;
    expect(got).toEqual([...got].sort((x, y) => x - y));
    expect(got.length).toBeLessThan(400);
    // The newest 20 (the queue) all arrive; what was dropped lies between the socket's share and them.
    expect(got.slice(-20)).toEqual(Array.from({ length: 20 }, (_, i) => 380 + i));
  });

  it('disconnects a slow client with a reason rather than lose an alert', async () => {
    const { hub, alert, url } = await hubServer({ maxQueuedFrames: 20, socketHighWaterBytes: 16 * 1024 });
    const c = await stalledClient(url);
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 100; i++) hub.publish({ channel: 'metrics', type: 'window_metrics', data: { i, big } });
    for (let i = 0; i < 25; i++) alert(`a${i}`);
    c.socket.resume();
    expect(await c.waitFor(() => c.state.closed !== undefined)).toBe(true);
    expect(c.state.closed?.code).toBe(4008);
    expect(c.state.closed?.reason).toMatch(/client too slow: 20 frames queued; resume with since=<last id>/);
    expect(c.state.alerts).toBe(0);
  });
});
