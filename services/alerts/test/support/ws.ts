import WebSocket from 'ws';

export interface Frame {
  channel: string;
  id: string;
  type: string;
  data: any;
}

/** A test client: collects frames, waits for conditions, never sleeps a fixed time. */
export class TestClient {
  readonly frames: Frame[] = [];
  closed?: { code: number; reason: string };
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.frames.push(JSON.parse(d.toString()));
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  static async open(url: string, opts: { token?: string; bearer?: string } = {}): Promise<TestClient> {
    const u = opts.token ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(opts.token)}` : url;
    const ws = new WebSocket(u, opts.bearer ? { headers: { authorization: `Bearer ${opts.bearer}` } } : {});
    const c = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return c;
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  /** Resolves with the first frame matching, waiting up to `ms`. */
  async next(pred: (f: Frame) => boolean, ms = 5000, from = 0): Promise<Frame> {
    return this.until(() => this.frames.slice(from).find(pred), ms, 'a matching frame');
  }

  /** Re-checks `probe` on every frame and every 20 ms. */
  async until<T>(probe: () => T | undefined, ms = 5000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = probe();
      if (v !== undefined && v !== false) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.slice(-5))}; closed: ${JSON.stringify(this.closed)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 20));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.ws.close();
    await this.until(() => this.closed, 5000, 'close');
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
