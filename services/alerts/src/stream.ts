import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { formatIssues } from '@touchline/contracts';
import { KeyRing, keyFromAuthorization, type Logger } from '@touchline/platform';

export const STREAM_CHANNELS = ['metrics', 'alerts', 'suggestions', 'fraud', 'credits'] as const;
export type StreamChannel = (typeof STREAM_CHANNELS)[number];
/** Channels whose messages are stored and replayed after a reconnect. */
export const DURABLE_CHANNELS = ['alerts', 'suggestions', 'fraud'] as const;
export type DurableChannel = (typeof DURABLE_CHANNELS)[number];

export const StreamFilter = z
  .object({
    channel: z.string().max(256).optional(),
    campaign: z.string().max(512).optional(),
    model: z.string().max(64).optional(),
  })
  .strict();
export type StreamFilter = z.infer<typeof StreamFilter>;

/** A stream position: the id of any frame ("123" or "123.4"); what matters is the stored part. */
const Position = z.string().regex(/^\d{1,20}(\.\d{1,20})?$/, 'must be the id of a frame received earlier, such as "1767225600000123"');

export const ClientMessage = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('subscribe'),
      channels: z.array(z.enum(STREAM_CHANNELS)).min(1).max(STREAM_CHANNELS.length),
      filter: StreamFilter.optional(),
      /** Resume: every stored message after this id on the subscribed channels is sent first. */
      since: Position.optional(),
      /** Or: the latest this many stored messages first (a dashboard opening). */
      recent: z.number().int().min(1).max(500).optional(),
    })
    .strict(),
  z.object({ type: z.literal('unsubscribe'), channels: z.array(z.enum(STREAM_CHANNELS)).min(1).max(STREAM_CHANNELS.length) }).strict(),
  z.object({ type: z.literal('ping') }).strict(),
]);

/** Values a subscription filter is matched against; a list matches when any element does. */
export interface Match {
  channel?: string | string[];
  campaign?: string | string[];
  model?: string;
}

export interface ServerMessage {
  channel: StreamChannel;
  type: string;
  data: unknown;
  match?: Match;
  /** The data as one subscriber's filter narrows it (rows of other channels or campaigns left out). */
  narrow?: (filter: StreamFilter) => unknown;
}

/** A stored message: its `seq` is its frame id and its place in the replay order. */
export interface DurableFrame {
  seq: number;
  channel: DurableChannel;
  type: string;
  data: unknown;
  match: Match;
}

export interface StreamOptions {
  /** Frames queued for one client before metrics are dropped (oldest first) or the client is cut off. */
  maxQueuedFrames: number;
  /** Bytes the socket may hold unsent before the queue stops feeding it. */
  socketHighWaterBytes: number;
  /** Largest frame a client may send. */
  maxInboundBytes: number;
  pingIntervalMs: number;
  /** Most stored messages one resume sends. */
  replayLimit: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = {
  maxQueuedFrames: 1000,
  socketHighWaterBytes: 256 * 1024,
  maxInboundBytes: 16 * 1024,
  pingIntervalMs: 30_000,
  replayLimit: 5000,
};

export interface ReplaySource {
  /** Stored frames with seq > since, oldest first, at most `limit`. */
  since(since: number, limit: number): Promise<DurableFrame[]>;
  /** The latest `n` stored frames on the given channels, oldest first. */
  recent(n: number, channels: DurableChannel[]): Promise<DurableFrame[]>;
}

interface Outgoing {
  text: string;
  droppable: boolean;
}

interface Client {
  ws: WebSocket;
  subscriptions: Map<StreamChannel, StreamFilter>;
  alive: boolean;
  queue: Outgoing[];
  writing: boolean;
  /** While a resume is read from storage, live frames wait here so that order is kept. */
  held: Array<{ durable?: DurableFrame; live?: { text: string; channel: string } }> | null;
  /** Highest stored seq sent to this client. */
  lastSeq: number;
  closed: boolean;
}

const isDurable = (ch: string): ch is DurableChannel => (DURABLE_CHANNELS as readonly string[]).includes(ch);

/**
 * `/v1/stream`: authenticated before the upgrade (Bearer header or `?token=`, admin or read key),
 * subscriptions per channel with filters, every frame with `channel`, `id` and `type`.
 *
 * Stored messages (alerts, suggestions, fraud) carry their `seq` as id; every other frame carries
 * `<seq of the last stored message published>.<n>`. A client that reconnects subscribes with
 * `since` = the last id it saw and gets every stored message after it, from the replay buffer or
 * the table, before anything live: since frames leave in order on one socket, every stored
 * message up to that seq that matched its subscription had already reached it.
 *
 * Each client has a bounded queue in front of its socket: when it is full, the oldest metrics
 * frame is dropped (a newer snapshot supersedes it); when only frames that must not be lost are
 * queued, the client is disconnected with a reason and resumes from its last id.
 */
export class StreamHub {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  private lastSeq = 0;
  private n = 0;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly o: StreamOptions;

  constructor(
    private readonly keys: KeyRing,
    private readonly logger: Logger,
    private readonly onSubscribe?: (send: (m: ServerMessage) => void, channels: StreamChannel[], filter: StreamFilter) => void,
    private readonly replay?: ReplaySource,
    options: Partial<StreamOptions> = {},
  ) {
    this.o = { ...DEFAULT_STREAM_OPTIONS, ...options };
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.o.maxInboundBytes });
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) {
        if (!c.alive) c.ws.terminate();
        else {
          c.alive = false;
          c.ws.ping();
        }
      }
    }, this.o.pingIntervalMs);
    this.heartbeat.unref();
  }

  attach(app: FastifyInstance): void {
    // Upgraded sockets keep the HTTP server open: they are closed before it is.
    app.addHook('preClose', (done) => {
      this.closeClients();
      done();
    });
    app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/v1/stream') {
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
        return;
      }
      const key = keyFromAuthorization(req.headers.authorization) ?? url.searchParams.get('token') ?? undefined;
      const role = this.keys.roleOf(key);
      if (!KeyRing.allows(role, 'read')) {
        socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":"unauthorized","message":"an admin or read key is needed"}');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
  }

  get size(): number {
    return this.clients.size;
  }

  /** Tells the hub where stored seqs stand (at start, before anything is published). */
  setLastSeq(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
  }

  /** A live frame (metrics, credits): not stored, not replayed. */
  publish(message: ServerMessage): void {
    if (this.clients.size === 0) return;
    const id = this.nextId();
    const plain = message.narrow ? undefined : frame(message.channel, id, message.type, message.data);
    for (const c of this.clients) {
      const filter = c.subscriptions.get(message.channel);
      if (!filter || !matches(filter, message.match)) continue;
      this.live(c, plain ?? frame(message.channel, id, message.type, message.narrow!(filter)), message.channel);
    }
  }

  /** A stored frame, published in seq order once it is durable. */
  publishDurable(f: DurableFrame): void {
    this.lastSeq = Math.max(this.lastSeq, f.seq);
    for (const c of this.clients) {
      if (c.held) c.held.push({ durable: f });
      else this.sendDurable(c, f);
    }
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.closeClients();
    this.wss.close();
  }

  private closeClients(): void {
    for (const c of this.clients) {
      c.closed = true;
      c.ws.close(1001, 'server shutting down');
      // A peer that never answers the close handshake must not hold the server open.
      setTimeout(() => c.ws.terminate(), 1000).unref();
    }
  }

  private nextId(): string {
    return `${this.lastSeq}.${++this.n}`;
  }

  private accept(ws: WebSocket): void {
    const client: Client = { ws, subscriptions: new Map(), alive: true, queue: [], writing: false, held: null, lastSeq: 0, closed: false };
    this.clients.add(client);
    ws.on('pong', () => (client.alive = true));
    ws.on('close', () => {
      client.closed = true;
      this.clients.delete(client);
    });
    ws.on('error', (err) => this.logger.debug({ err }, 'stream client error'));
    ws.on('message', (data, isBinary) => {
      client.alive = true;
      if (isBinary) return this.error(client, 'messages must be JSON text');
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        return this.error(client, 'messages must be JSON');
      }
      const msg = ClientMessage.safeParse(parsed);
      if (!msg.success) return this.error(client, formatIssues(msg.error));
      const m = msg.data;
      if (m.type === 'ping') return this.control(client, 'pong', { at: Date.now() });
      if (m.type === 'unsubscribe') {
        for (const ch of m.channels) client.subscriptions.delete(ch);
        return this.control(client, 'unsubscribed', { channels: m.channels });
      }
      const filter = m.filter ?? {};
      for (const ch of m.channels) client.subscriptions.set(ch, filter);
      const durable = m.channels.filter(isDurable);
      const resuming = this.replay !== undefined && durable.length > 0 && (m.since !== undefined || m.recent !== undefined);
      if (resuming && m.since !== undefined && !client.held) {
        // The answer goes first and names the position the client resumes from, not a newer one.
        this.enqueue(client, frame('control', `${m.since.split('.')[0]}.${++this.n}`, 'subscribed', { channels: m.channels, filter }), 'control');
        client.held = [];
      } else {
        // Held from here on: no frame may carry a newer position than the stored frames replayed before it.
        if (resuming) client.held ??= [];
        this.control(client, 'subscribed', { channels: m.channels, filter });
      }
      this.onSubscribe?.((sm) => this.live(client, frame(sm.channel, this.nextId(), sm.type, sm.narrow ? sm.narrow(filter) : sm.data), sm.channel), m.channels, filter);
      if (resuming) void this.resume(client, this.replay!, durable, m.since, m.recent);
    });
  }

  private async resume(client: Client, replay: ReplaySource, channels: DurableChannel[], since: string | undefined, recent: number | undefined): Promise<void> {
    let frames: DurableFrame[] = [];
    let truncated = false;
    try {
      if (since !== undefined) {
        const from = Number(since.split('.')[0]);
        frames = await replay.since(from, this.o.replayLimit + 1);
        truncated = frames.length > this.o.replayLimit;
        frames = frames.slice(0, this.o.replayLimit);
      } else {
        frames = await replay.recent(recent ?? 0, channels);
      }
    } catch (err) {
      this.logger.warn({ err }, 'stream resume failed');
      this.flushHeld(client);
      client.ws.close(1011, 'resume failed: reconnect and try again');
      return;
    }
    if (client.closed) return;
    for (const f of frames) if (channels.includes(f.channel)) this.sendDurable(client, f);
    if (truncated) this.control(client, 'replay_truncated', { limit: this.o.replayLimit, resumeFrom: String(client.lastSeq) });
    this.flushHeld(client);
  }

  private flushHeld(client: Client): void {
    const held = client.held ?? [];
    client.held = null;
    for (const h of held) {
      if (h.durable) this.sendDurable(client, h.durable);
      else if (h.live) this.enqueue(client, h.live.text, h.live.channel);
    }
  }

  private sendDurable(c: Client, f: DurableFrame): void {
    if (f.seq <= c.lastSeq) return;
    const filter = c.subscriptions.get(f.channel);
    if (!filter || !matches(filter, f.match)) return;
    c.lastSeq = f.seq;
    this.enqueue(c, frame(f.channel, String(f.seq), f.type, f.data), f.channel);
  }

  private control(client: Client, type: string, data: unknown): void {
    this.live(client, frame('control', this.nextId(), type, data), 'control');
  }

  /** A frame that is not stored: queued now, or after the resume in progress. */
  private live(c: Client, text: string, channel: string): void {
    if (c.held) c.held.push({ live: { text, channel } });
    else this.enqueue(c, text, channel);
  }

  private error(client: Client, message: string): void {
    this.control(client, 'error', { message });
  }

  private enqueue(c: Client, text: string, channel: string): void {
    if (c.closed || c.ws.readyState !== c.ws.OPEN) return;
    if (c.queue.length >= this.o.maxQueuedFrames) {
      const i = c.queue.findIndex((q) => q.droppable);
      if (i < 0) {
        c.closed = true;
        c.queue.length = 0;
        // 4000–4999: application codes; the reason tells the client what to do.
        c.ws.close(4008, `client too slow: ${this.o.maxQueuedFrames} frames queued; resume with since=<last id>`);
        return;
      }
      c.queue.splice(i, 1);
    }
    c.queue.push({ text, droppable: channel === 'metrics' });
    this.pump(c);
  }

  private pump(c: Client): void {
    if (c.writing) return;
    while (c.queue.length > 0 && !c.closed && c.ws.readyState === c.ws.OPEN) {
      if (c.ws.bufferedAmount >= this.o.socketHighWaterBytes) {
        c.writing = true;
        whenDrained(c, this.o.socketHighWaterBytes / 2, () => {
          c.writing = false;
          this.pump(c);
        });
        return;
      }
      c.ws.send(c.queue.shift()!.text);
    }
  }
}

/** Waits until the socket's unsent bytes fall under `mark` (ws has no drain event of its own). */
function whenDrained(c: Client, mark: number, then: () => void): void {
  const check = () => {
    if (c.closed || c.ws.readyState !== c.ws.OPEN) return;
    if (c.ws.bufferedAmount < mark) then();
    else setTimeout(check, 10);
  };
  setTimeout(check, 10);
}

function frame(channel: string, id: string, type: string, data: unknown): string {
  return JSON.stringify({ channel, id, type, data });
}

export function matches(filter: StreamFilter, m: Match | undefined): boolean {
  if (!m) return true;
  if (filter.model && m.model && filter.model !== m.model) return false;
  if (filter.channel && m.channel !== undefined) {
    const chs = Array.isArray(m.channel) ? m.channel : [m.channel];
    if (chs.length > 0 && !chs.includes(filter.channel)) return false;
  }
  if (filter.campaign && m.campaign !== undefined) {
    const cs = Array.isArray(m.campaign) ? m.campaign : [m.campaign];
    if (!cs.includes(filter.campaign)) return false;
  }
  return true;
}
