import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { CreditMessage, TouchpointMessage, decodeMessage, type CostMessage } from '@touchline/contracts';
import { KeyRing, buildHttp, silentLogger } from '@touchline/platform';
import { BidSignaller } from '../bids.js';
import { RevenueBoard } from '../board.js';
import { detectDirectShare, detectOpportunities, detectRoiDrops } from '../detectors/performance.js';
import { TrafficMonitor } from '../detectors/traffic.js';
import { MetricsStore } from '../metrics.js';
import { DEFAULT_ALERTS_OPTIONS } from '../options.js';
import { DAY } from '../series.js';
import { mulberry32 } from '../stats.js';
import { StreamHub } from '../stream.js';
import { suggestBudgetShifts } from '../suggestions.js';

/** The shape `touchline bench` expects of a stage (packages/cli/src/commands/bench.ts). */
interface BenchRow {
  metric: string;
  value: number;
  unit: string;
  baseline?: { what: string; value: number };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  return s[Math.floor(i)]! + (s[Math.ceil(i)]! - s[Math.floor(i)]!) * (i - Math.floor(i));
};

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/**
 * The alerts service's hot paths, each beside a raw baseline of the same run: credit into the live
 * metrics (baseline: decoding the same messages), clicks through the fraud detectors (same), one
 * evaluation of every windowed detector, suggestion and bid signal over an SME-sized account,
 * frames to WebSocket subscribers (baseline: bare ws sends), and, in a child process, the time from
 * a burst of clicks being durable in the log to its fraud alert on `/v1/stream`.
 */
const stage = {
  describe: 'alerts: live metrics, fraud detectors, evaluation, stream fan-out, burst → alert latency',
  async run({ quick, log }: { quick: boolean; log: (line: string) => void }): Promise<BenchRow[]> {
    const rnd = mulberry32(42);
    const now = Date.now();
    const channels = Array.from({ length: 15 }, (_, i) => `channel_${i}`);
    const campaigns = (ch: string) => Array.from({ length: 10 }, (_, i) => `${ch}-c${i}`);
    const credits: string[] = [];
    const nCredits = quick ? 50_000 : 200_000;
    for (let i = 0; i < nCredits; i++) {
      const shares = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => {
        const ch = channels[Math.floor(rnd() * channels.length)]!;
        return { touchpointId: `t${i}-${rnd()}`, channel: ch, campaign: campaigns(ch)[Math.floor(rnd() * 10)]!, touchTimestamp: now, weight: 0, value: 0 };
      });
      for (const s of shares) {
        s.weight = 1 / shares.length;
        s.value = 200 / shares.length;
      }
      const c: CreditMessage = {
        v: 1, kind: 'credit', conversionId: `c${i}`, conversionName: 'purchase', conversionTimestamp: now - Math.floor(rnd() * 30 * DAY), personId: `p${i}`,
        model: ['linear', 'first_touch', 'last_touch', 'time_decay'][i % 4]!, version: 1, currency: 'EUR', conversionValue: 200, shares,
      };
      credits.push(JSON.stringify(c));
    }
    const decodeCredits = () => credits.map((s) => decodeMessage(CreditMessage, s)).map((d) => (d.ok ? d.value : undefined)!);
    const decodeMs = timed(decodeCredits);
    const decoded = decodeCredits();
    const store = new MetricsStore();
    const board = new RevenueBoard();
    const applyMs = timed(() => {
      for (const c of decoded) {
        store.applyCredit(c);
        board.apply(c);
      }
    });
    log(`credits: ${nCredits} applied in ${applyMs.toFixed(0)} ms (decode ${decodeMs.toFixed(0)} ms)`);

    for (const ch of channels) {
      for (const camp of campaigns(ch)) {
        for (let d = 0; d < 30; d++) {
          const date = new Date(now - d * DAY).toISOString().slice(0, 10);
          const cost: CostMessage = { v: 1, kind: 'cost', messageId: `${camp}-${date}`, date, channel: ch, campaign: camp, amount: 50 + rnd() * 100, currency: 'EUR', receivedAt: now };
          store.applyCost(cost);
        }
      }
    }

    const nTouches = quick ? 100_000 : 400_000;
    const touches: string[] = [];
    for (let i = 0; i < nTouches; i++) {
      const ch = channels[i % channels.length]!;
      const m: TouchpointMessage = {
        v: 1, kind: 'touchpoint', messageId: `tp${i}`, anonymousId: `a${Math.floor(i / 3)}`, timestamp: now - (nTouches - i) * 50, receivedAt: now, interaction: i % 3 === 2 ? 'visit' : 'click',
        channel: ch, source: 'src', medium: 'cpc', campaign: campaigns(ch)[i % 10]!, content: '', term: '', clickId: '', clickIdType: '',
        url: i % 7 === 0 ? `https://x.example/?utm_campaign=${campaigns(ch)[i % 10]}&utm_source=s&utm_medium=m` : '', referrer: '', cost: 0, consent: true,
        ip: `10.${(i >> 8) & 255}.${i & 255}.0`, userAgent: `UA/${i % 50}`, bot: i % 1000 === 0,
      };
      touches.push(JSON.stringify(m));
    }
    const decodeTouches = () => touches.map((s) => decodeMessage(TouchpointMessage, s)).map((d) => (d.ok ? d.value : undefined)!);
    const decodeTouchMs = timed(decodeTouches);
    const decodedTouches = decodeTouches();
    const traffic = new TrafficMonitor();
    const observeMs = timed(() => {
      for (const m of decodedTouches) traffic.observe(m, m.timestamp);
    });
    log(`touchpoints: ${nTouches} observed in ${observeMs.toFixed(0)} ms (decode ${decodeTouchMs.toFixed(0)} ms)`);

    const o = DEFAULT_ALERTS_OPTIONS;
    const evals: number[] = [];
    for (let i = 0; i < (quick ? 3 : 10); i++) {
      evals.push(
        timed(() => {
          traffic.tick(now);
          detectRoiDrops(store, 'linear', now, o.roiDrop);
          detectOpportunities(store, 'linear', now, o.opportunity);
          detectDirectShare(store, 'linear', now, o.directShare);
          suggestBudgetShifts(store, 'linear', now, o.suggestions);
          new BidSignaller().signals(store, 'linear', now);
          for (const ms of [3_600_000, DAY, 7 * DAY]) store.snapshot('linear', ms, now);
        }),
      );
    }
    log(`evaluation over ${channels.length} channels × 10 campaigns: median ${quantile(evals, 0.5).toFixed(1)} ms`);

    const fanout = await streamFanout(quick ? 20 : 50, quick ? 200 : 1000);
    log(`stream: ${fanout.frames} frames to ${fanout.clients} clients in ${fanout.ms.toFixed(0)} ms (bare ws ${fanout.rawMs.toFixed(0)} ms)`);

    const lat = await latencyChild(quick ? 10 : 30);
    log(`burst → fraud alert: median ${quantile(lat.latencies, 0.5).toFixed(1)} ms over ${lat.latencies.length} bursts`);

    return [
      { metric: 'credit messages into live metrics (all windows, per model/channel/campaign)', value: nCredits / (applyMs / 1000), unit: 'msg/s', baseline: { what: 'JSON + zod decode of the same messages', value: nCredits / (decodeMs / 1000) } },
      { metric: 'touchpoints through the fraud detectors', value: nTouches / (observeMs / 1000), unit: 'msg/s', baseline: { what: 'JSON + zod decode of the same messages', value: nTouches / (decodeTouchMs / 1000) } },
      { metric: `one evaluation: all detectors, suggestions, bid signals, 3 snapshots (${channels.length} channels × 10 campaigns, ${nCredits} conversions)`, value: quantile(evals, 0.5), unit: 'ms' },
      { metric: `stream fan-out to ${fanout.clients} clients`, value: fanout.frames / (fanout.ms / 1000), unit: 'frames/s', baseline: { what: 'bare ws.send of the same frames', value: fanout.frames / (fanout.rawMs / 1000) } },
      { metric: 'burst durable in the log → fraud alert frame on /v1/stream, median', value: quantile(lat.latencies, 0.5), unit: 'ms', baseline: { what: 'fsynced publish + consumer wake-up + one-row alerts insert, median', value: quantile(lat.floor, 0.5) } },
      { metric: 'burst → fraud alert frame, p95', value: quantile(lat.latencies, 0.95), unit: 'ms' },
    ];
  },
};
export default stage;

/** Frames sent to every client, through the hub (queue, filters) and through bare ws sends. */
async function streamFanout(clients: number, frames: number) {
  const app = buildHttp({ logger: silentLogger() });
  const hub = new StreamHub(new KeyRing({ read: ['r'] }), silentLogger());
  hub.attach(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/stream?token=r`;
  const sockets: WebSocket[] = [];
  let received = 0;
  let done!: () => void;
  let finished: Promise<void>;
  const target = () => clients * frames;
  for (let i = 0; i < clients; i++) {
    const ws = new WebSocket(url);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'subscribe', channels: ['credits'] }));
    await new Promise((r) => ws.once('message', r));
    ws.on('message', () => {
      if (++received === target()) done();
    });
    sockets.push(ws);
  }
  const payload = { conversionId: 'c', shares: Array.from({ length: 4 }, (_, i) => ({ channel: `ch${i}`, campaign: `camp${i}`, weight: 0.25, value: 50 })) };
  const server = [...(hub as unknown as { clients: Set<{ ws: WebSocket }> }).clients].map((c) => c.ws);
  const text = JSON.stringify({ channel: 'credits', id: '0.0', type: 'credit', data: payload });
  const round = async (how: 'hub' | 'raw') => {
    received = 0;
    finished = new Promise<void>((r) => (done = r));
    const t0 = performance.now();
    for (let i = 0; i < frames; i++) {
      // Baseline: the same frame written straight to each server-side socket.
      if (how === 'raw') for (const s of server) s.send(text);
      else hub.publish({ channel: 'credits', type: 'credit', data: payload, match: { model: 'linear' } });
    }
    await finished;
    return performance.now() - t0;
  };
  // A first round of each warms the JIT and the sockets; the second is measured.
  await round('hub');
  await round('raw');
  const ms = await round('hub');
  const rawMs = await round('raw');
  for (const s of sockets) s.close();
  hub.close();
  await app.close();
  return { clients, frames: clients * frames, ms, rawMs };
}

async function latencyChild(trials: number): Promise<{ latencies: number[]; floor: number[] }> {
  const script = fileURLToPath(new URL('./latency.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, String(trials)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`alerts latency bench exited with ${code}: ${err.slice(-2000)}`);
  return JSON.parse(out.trim().split('\n').pop()!) as { latencies: number[]; floor: number[] };
}
