import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@touchline/platform';

/**
 * `touchline sql "<query>" [--format F] [--url U]`: runs a read-only query on a running Touchline
 * through `POST /v1/sql`, with TOUCHLINE_ADMIN_KEYS or the data directory's generated admin key.
 */
export async function sqlCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let format = 'PrettyCompactMonoBlock';
  let url: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--format') format = args[++i] ?? format;
    else if (a === '--url') url = args[++i];
    else rest.push(a);
  }
  const query = rest.join(' ').trim();
  if (!query) {
    err.write('usage: touchline sql "<query>" [--format JSONEachRow] [--url http://localhost:8080]\n');
    return 2;
  }
  const config = loadConfig();
  const base = url ?? `http://127.0.0.1:${config.PORT}`;
  let key = config.TOUCHLINE_ADMIN_KEYS?.[0];
  const keyFile = join(config.TOUCHLINE_DATA_DIR, 'keys.json');
  if (!key && existsSync(keyFile)) key = (JSON.parse(readFileSync(keyFile, 'utf8')) as { admin: string[] }).admin[0];
  if (!key) {
    err.write(`sql: no admin key: set TOUCHLINE_ADMIN_KEYS or run from the directory holding ${keyFile}\n`);
    return 2;
  }
  let res: Response;
  try {
    res = await fetch(`${base}/v1/sql?format=${encodeURIComponent(format)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' },
      body: query,
    });
  } catch (e) {
    err.write(`sql: cannot reach Touchline at ${base} (${(e as Error).message}); is it running?\n`);
    return 1;
  }
  const text = await res.text();
  if (!res.ok) {
    err.write(`sql: ${res.status} ${text}\n`);
    return 1;
  }
  out.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  return 0;
}
