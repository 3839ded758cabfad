import { Readable } from 'node:stream';
import { mkdirSync } from 'node:fs';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../logger.js';

export interface WarehouseOptions {
  /** ClickHouse server URL; when unset the embedded engine (chdb) is used. */
  url?: string | undefined;
  username?: string;
  password?: string;
  /** Data directory of the embedded engine. */
  path?: string;
  logger?: Logger;
}

export interface AnalystResult {
  body: Readable;
  contentType: string;
}

/**
 * The warehouse: one ClickHouse, embedded (chdb in this process) or a server over HTTP, with the
 * same SQL either way. Services write through `insertRows` (idempotent per token); analysts read
 * through `analystQuery`, which can never write.
 */
export class Warehouse {
  private constructor(
    readonly mode: 'embedded' | 'server',
    readonly client: ClickHouseClient,
    private readonly readonlyClient: ClickHouseClient,
    private readonly ownsReadonly: boolean,
  ) {}

  static async open(opts: WarehouseOptions): Promise<Warehouse> {
    if (opts.url) {
      const client = createClient({
        url: opts.url,
        username: opts.username ?? 'default',
        password: opts.password ?? '',
        compression: { request: true, response: true },
        keep_alive: { enabled: true, idle_socket_ttl: 2500 },
        request_timeout: 60_000,
      });
      await pingOrThrow(client, opts.url);
      return new Warehouse('server', client, client, false);
    }
    const path = opts.path ?? './.touchline/warehouse';
    mkdirSync(path, { recursive: true });
    // chdb binds one data directory per process; several sessions on the same path coexist and keep
    // their own settings. The analysts' session is made read-only once, for its whole life: a
    // read-only session cannot change settings, so a query cannot lift the restriction.
    const { createChdbConnection } = await import('chdb/connection');
    const client = createClient({ connection: createChdbConnection({ path }) } as never) as ClickHouseClient;
    const readonlyClient = createClient({ connection: createChdbConnection({ path }) } as never) as ClickHouseClient;
    await readonlyClient.command({ query: 'SET max_execution_time = 60' });
    await readonlyClient.command({ query: 'SET max_result_bytes = 268435456' });
    await readonlyClient.command({ query: 'SET readonly = 1' });
    return new Warehouse('embedded', client, readonlyClient, true);
  }

  async command(query: string): Promise<void> {
    await this.client.command({ query });
  }

  async query<T>(query: string, params?: Record<string, unknown>): Promise<T[]> {
    const rs = await this.client.query({ query, format: 'JSONEachRow', ...(params ? { query_params: params } : {}) });
    return rs.json<T>();
  }

  /**
   * Inserts rows as JSONEachRow with an `insert_deduplication_token`: the same token twice within
   * the table's deduplication window writes once. The setting rides on the INSERT itself, never on
   * the session (the embedded connection turns client settings into session-wide SETs).
   */
  async insertRows(table: string, rows: readonly object[], token: string): Promise<void> {
    if (rows.length === 0) return;
    if (!/^[A-Za-z0-9_.]+$/.test(table)) throw new Error(`invalid table name ${table}`);
    let body = '';
    for (const row of rows) body += JSON.stringify(row) + '\n';
    const escaped = token.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
    const res = await this.client.exec({
      query: `INSERT INTO ${table} SETTINGS insert_deduplication_token = '${escaped}' FORMAT JSONEachRow`,
      values: Readable.from([body]),
    });
    res.stream.resume();
    await new Promise<void>((resolve, reject) => {
      res.stream.once('end', resolve);
      res.stream.once('error', reject);
    });
  }

  /** Runs an analyst's query read-only and streams the answer in the requested output format. */
  async analystQuery(sql: string, format: string): Promise<AnalystResult> {
    const query = `${sql.trim().replace(/;+\s*$/, '')}\nFORMAT ${format}`;
    const res = await this.readonlyClient.exec({
      query,
      ...(this.mode === 'server' ? { clickhouse_settings: { readonly: '1', max_execution_time: 60 } } : {}),
    });
    return { body: res.stream, contentType: contentTypeOf(format) };
  }

  async close(): Promise<void> {
    await this.client.close();
    if (this.ownsReadonly) await this.readonlyClient.close();
  }
}

async function pingOrThrow(client: ClickHouseClient, url: string): Promise<void> {
  const r = await client.ping();
  if (!r.success) throw new Error(`CLICKHOUSE_URL: cannot reach ${redactUrl(url)}: ${String(r.error?.message ?? r.error)}`);
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}

function contentTypeOf(format: string): string {
  const f = format.toLowerCase();
  if (f === 'json' || f === 'jsoncompact' || f === 'jsonstrings') return 'application/json';
  if (f.startsWith('json')) return 'application/x-ndjson';
  if (f.startsWith('csv')) return 'text/csv';
  if (f === 'parquet' || f === 'arrow' || f.startsWith('rowbinary') || f === 'native') return 'application/octet-stream';
  return 'text/plain; charset=utf-8';
}
