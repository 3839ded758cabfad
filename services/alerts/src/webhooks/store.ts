import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { Webhook, formatIssues, type WebhookRequest } from '@touchline/contracts';

const StoredWebhooks = z.object({ v: z.literal(1), webhooks: z.array(Webhook) });

/**
 * Webhook registrations in `<data dir>/webhooks.json` (mode 0600, replaced atomically: write a
 * temporary file, fsync, rename, fsync the directory). Not a warehouse table: the signing secrets
 * must stay out of anything analysts can read with SQL. Read once, then served from memory; every
 * change is durable before it is acknowledged.
 */
export class WebhookStore {
  private cache: Webhook[] | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  static inDir(dir: string): WebhookStore {
    return new WebhookStore(join(dir, 'webhooks.json'));
  }

  async list(): Promise<Webhook[]> {
    return [...(await this.load())];
  }

  async get(id: string): Promise<Webhook | undefined> {
    return (await this.load()).find((w) => w.id === id);
  }

  add(req: WebhookRequest, now = Date.now()): Promise<Webhook> {
    return this.mutate(async (list) => {
      const hook: Webhook = {
        id: `wh_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
        url: req.url,
        events: [...new Set(req.events)],
        description: req.description,
        createdAt: now,
        secret: req.secret ?? `whsec_${randomBytes(32).toString('base64url')}`,
      };
      return { list: [...list, hook], result: hook };
    });
  }

  remove(id: string): Promise<boolean> {
    return this.mutate(async (list) => {
      const next = list.filter((w) => w.id !== id);
      return { list: next, result: next.length !== list.length };
    });
  }

  private mutate<T>(change: (list: Webhook[]) => Promise<{ list: Webhook[]; result: T }>): Promise<T> {
    const run = this.chain.then(async () => {
      const { list, result } = await change(await this.load());
      await this.save(list);
      this.cache = list;
      return result;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<Webhook[]> {
    if (this.cache) return this.cache;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return (this.cache = []);
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`${this.file}: not JSON (${(err as Error).message})`, { cause: err });
    }
    const parsed = StoredWebhooks.safeParse(json);
    if (!parsed.success) throw new Error(`${this.file}: ${formatIssues(parsed.error)}`);
    return (this.cache = parsed.data.webhooks);
  }

  private async save(list: Webhook[]): Promise<void> {
    const dir = dirname(this.file);
    await mkdir(dir, { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify({ v: 1, webhooks: list }, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file);
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}
