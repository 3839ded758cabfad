import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { formatIssues } from '@touchline/contracts';
import { KeyRing, keyFromAuthorization, type Logger } from '@touchline/platform';

export const STREAM_CHANNELS = ['metrics', 'alerts', 'suggestions', 'fraud', 'credits'] as const;
export type StreamChannel = (typeof STREAM_CHANNELS)[number];

const Filter = z.object({ channel: z.string().optional(), campaign: z.string().optional(), model: z.string().optional() }).strict();
const ClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), channels: z.array(z.enum(STREAM_CHANNELS)).min(1), filter: Filter.optional() }),
  z.object({ type: z.literal('unsubscribe'), channels: z.array(z.enum(STREAM_CHANNELS)).min(1) }),
  z.object({ type: z.literal('ping') }),
]);

export interface ServerMessage {
  channel: StreamChannel;
  type: string;
  data: unknown;
  /** Values the subscription filter is matched against. */
  match?: { channel?: string; campaign?: string; model?: string };
}

interface Client {
  ws: WebSocket;
  subscriptions: Map<StreamChannel, z.infer<typeof Filter>>;
  alive: boolean;
}

const MAX_BUFFERED_BYTES = 1 << 20;

/**
 * `/v1/stream`: authenticated before the upgrade (Bearer header or `?token=`, admin or read key),
 * subscriptions per channel with filters, every message with `channel`, `id` and `type`.
 */
export class StreamHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly clients = new Set<Client>();
  private seq = 0;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly keys: KeyRing,
    private readonly logger: Logger,
    private readonly onSubscribe?: (send: (m: ServerMessage) => void, channels: StreamChannel[], filter: z.infer<typeof Filter>) => void,
  ) {
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) {
        if (!c.alive) c.ws.terminate();
        else {
          c.alive = false;
          c.ws.ping();
        }
      }
    }, 30_000);
    this.heartbeat.unref();
  }

  attach(app: FastifyInstance): void {
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

  publish(message: ServerMessage): void {
    if (this.clients.size === 0) return;
    const id = String(++this.seq);
    const frame = JSON.stringify({ channel: message.channel, id, type: message.type, data: message.data });
    for (const c of this.clients) {
      const filter = c.subscriptions.get(message.channel);
      if (!filter || !matches(filter, message.match)) continue;
      this.sendFrame(c, frame, message.channel);
    }
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.ws.close(1001, 'server shutting down');
    this.wss.close();
  }

  private accept(ws: WebSocket): void {
    const client: Client = { ws, subscriptions: new Map(), alive: true };
    this.clients.add(client);
    ws.on('pong', () => (client.alive = true));
    ws.on('close', () => this.clients.delete(client));
    ws.on('error', (err) => this.logger.debug({ err }, 'stream client error'));
    ws.on('message', (data) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        return this.error(client, 'messages must be JSON');
      }
      const msg = ClientMessage.safeParse(parsed);
      if (!msg.success) return this.error(client, formatIssues(msg.error));
      const m = msg.data;
      if (m.type === 'ping') return this.sendFrame(client, JSON.stringify({ channel: 'control', id: String(++this.seq), type: 'pong', data: {} }), 'control');
      if (m.type === 'unsubscribe') {
        for (const ch of m.channels) client.subscriptions.delete(ch);
        return;
      }
      for (const ch of m.channels) client.subscriptions.set(ch, m.filter ?? {});
      this.sendFrame(client, JSON.stringify({ channel: 'control', id: String(++this.seq), type: 'subscribed', data: { channels: m.channels } }), 'control');
      this.onSubscribe?.(
        (sm) => this.sendFrame(client, JSON.stringify({ channel: sm.channel, id: String(++this.seq), type: sm.type, data: sm.data }), sm.channel),
        m.channels,
        m.filter ?? {},
      );
    });
  }

  private error(client: Client, message: string): void {
    this.sendFrame(client, JSON.stringify({ channel: 'control', id: String(++this.seq), type: 'error', data: { message } }), 'control');
  }

  private sendFrame(c: Client, frame: string, channel: string): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (c.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      // Metrics are superseded by the next update; anything else must not be silently lost.
      if (channel === 'metrics') return;
      c.ws.close(1013, 'client too slow: buffer full');
      return;
    }
    c.ws.send(frame);
  }
}

function matches(filter: z.infer<typeof Filter>, m: ServerMessage['match']): boolean {
  if (!m) return true;
  if (filter.model && m.model && filter.model !== m.model) return false;
  if (filter.channel && m.channel && filter.channel !== m.channel) return false;
  if (filter.campaign && m.campaign && filter.campaign !== m.campaign) return false;
  return true;
}
