import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfig } from '@touchline/platform';

/**
 * `touchline import costs <file.csv> [--format google-ads|meta|linkedin|generic] [--mapping m.json]
 * [--currency EUR] [--rates EUR=1,USD=0.92] [--url U] [--key K] [--batch 1000] [--dry-run]`:
 * ad-spend exports into cost events of a running Touchline, in one reporting currency.
 *
 * Lines are summed per day, channel and campaign (exports often split a campaign by device or ad
 * group), and each sum gets a messageId derived from its day, channel and campaign: importing the
 * same export twice, or an overlapping one, sends the same cost lines again under the same ids.
 */

const USAGE = `usage: touchline import costs <file.csv> [--format google-ads|meta|linkedin|generic] [--mapping mapping.json]
                              [--currency EUR] [--rates USD=0.92,GBP=1.17] [--url http://localhost:8080]
                              [--key <write key>] [--batch 1000] [--dry-run]
`;

const Columns = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** A column mapping: which columns hold what, and how values are written. */
export const Mapping = z
  .object({
    date: Columns.optional(),
    campaign: Columns.optional(),
    amount: Columns.optional(),
    currency: Columns.optional(),
    channel: Columns.optional(),
    /** A column whose values (e.g. "Search", "Display") name the channel through `channelValues`. */
    channelValues: z.record(z.string(), z.string()).optional(),
    /** The channel of every line when no channel column says otherwise. */
    defaultChannel: z.string().min(1).optional(),
    /** The currency of every line when no currency column says otherwise. */
    defaultCurrency: z.string().regex(/^[A-Za-z]{3}$/, 'must be a three-letter code such as EUR').optional(),
    dateFormat: z.enum(['YYYY-MM-DD', 'MM/DD/YYYY', 'DD/MM/YYYY', 'DD.MM.YYYY']).optional(),
    /** The decimal separator of amounts; the other of `.` and `,` is taken as a thousands separator. */
    decimal: z.enum(['.', ',']).optional(),
  })
  .strict();
export type Mapping = z.infer<typeof Mapping>;

/** What the ad platforms' exports look like (their header names across export versions). */
export const FORMATS: Record<'google-ads' | 'meta' | 'linkedin' | 'generic', Mapping> = {
  'google-ads': {
    date: ['Day', 'Date'],
    campaign: ['Campaign', 'Campaign name'],
    amount: ['Cost', 'Cost (converted currency)', 'Amount'],
    currency: ['Currency code', 'Currency'],
    channel: ['Campaign type', 'Advertising channel', 'Advertising channel type'],
    channelValues: { display: 'display', video: 'video', 'demand gen': 'display', discovery: 'display' },
    defaultChannel: 'paid_search',
  },
  meta: {
    date: ['Day', 'Reporting starts', 'Date'],
    campaign: ['Campaign name', 'Campaign Name', 'Campaign'],
    amount: ['Amount spent', 'Amount Spent', 'Spend'],
    currency: ['Currency'],
    defaultChannel: 'paid_social',
  },
  linkedin: {
    date: ['Start Date (in UTC)', 'Start Date', 'Day', 'Date'],
    campaign: ['Campaign Name', 'Campaign'],
    amount: ['Total Spent', 'Amount Spent', 'Spend'],
    currency: ['Currency'],
    defaultChannel: 'paid_social',
  },
  generic: { date: 'date', campaign: 'campaign', amount: 'amount', currency: 'currency', channel: 'channel' },
};

export interface CostLine {
  date: string;
  channel: string;
  campaign: string;
  amount: number;
  currency: string;
}

export class ImportError extends Error {}

// ---------------------------------------------------------------------------------------------
// CSV

/** Text of an export: UTF-8 or UTF-16 (Google Ads' "Excel" downloads), without a byte-order mark. */
export function decodeText(buf: Buffer): string {
  if (buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf[0] === 0xfe && buf[1] === 0xff) {
    const swapped = Buffer.from(buf.subarray(2));
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  const text = buf.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** RFC 4180 rows (quoted fields, doubled quotes, CRLF or LF) with the line each row starts on. */
export function parseCsv(text: string, delimiter: string): Array<{ line: number; cells: string[] }> {
  const rows: Array<{ line: number; cells: string[] }> = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        cell += c;
      }
      continue;
    }
    if (c === '"' && cell === '') quoted = true;
    else if (c === delimiter) {
      cells.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      cells.push(cell);
      if (cells.length > 1 || cells[0] !== '') rows.push({ line: rowLine, cells });
      cells = [];
      cell = '';
      line++;
      rowLine = line;
    } else cell += c;
  }
  if (quoted) throw new ImportError(`line ${rowLine}: a quoted field is not closed`);
  cells.push(cell);
  if (cells.length > 1 || cells[0] !== '') rows.push({ line: rowLine, cells });
  return rows;
}

/** The delimiter the most lines of the head agree on. */
export function sniffDelimiter(text: string): string {
  const head = text.split(/\r?\n/).slice(0, 20);
  let best = ',';
  let bestScore = -1;
  for (const d of [',', ';', '\t']) {
    const counts = head.map((l) => l.split(d).length - 1).filter((n) => n > 0);
    const score = counts.length * Math.max(0, ...counts);
    if (score > bestScore) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Values

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, sept: 9, oct: 10, nov: 11, dec: 12 };

function isoDate(y: number, m: number, d: number): string | undefined {
  const t = Date.UTC(y, m - 1, d);
  const date = new Date(t);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return undefined;
  return date.toISOString().slice(0, 10);
}

/** A day as YYYY-MM-DD; undefined when it is not a date; throws when it is ambiguous. */
export function parseDate(value: string, format?: Mapping['dateFormat']): string | undefined {
  const v = value.trim();
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$/.exec(v);
  if (m) return isoDate(+m[1]!, +m[2]!, +m[3]!);
  m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(v);
  if (m) return isoDate(+m[3]!, +m[2]!, +m[1]!);
  m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(v);
  if (m) {
    const [a, b, y] = [+m[1]!, +m[2]!, +m[3]!];
    if (format === 'MM/DD/YYYY') return isoDate(y, a, b);
    if (format === 'DD/MM/YYYY') return isoDate(y, b, a);
    if (a > 12) return isoDate(y, b, a);
    if (b > 12) return isoDate(y, a, b);
    throw new ImportError(`${JSON.stringify(v)} could be either day-month or month-day: set "dateFormat" in --mapping (MM/DD/YYYY or DD/MM/YYYY)`);
  }
  // "Nov 20, 2026", "November 20, 2026", "20 Nov 2026"
  m = /^([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})$/.exec(v);
  if (m && MONTHS[m[1]!.slice(0, 3).toLowerCase()] !== undefined) return isoDate(+m[3]!, MONTHS[m[1]!.slice(0, 3).toLowerCase()]!, +m[2]!);
  m = /^(\d{1,2}) ([A-Za-z]{3,9})\.? (\d{4})$/.exec(v);
  if (m && MONTHS[m[2]!.slice(0, 3).toLowerCase()] !== undefined) return isoDate(+m[3]!, MONTHS[m[2]!.slice(0, 3).toLowerCase()]!, +m[1]!);
  return undefined;
}

/** An amount such as "1,234.50", "1.234,50 €", "$ 12", "--" (none: 0); undefined when it is not one. */
export function parseAmount(value: string, decimal: '.' | ',' = '.'): number | undefined {
  let v = value.trim().replace(/[\s\u00a0'€$£¥]|[A-Z]{3}$/g, '');
  if (v === '' || v === '--' || v === '-') return 0;
  const thousands = decimal === '.' ? ',' : '.';
  if (!new RegExp(`^-?\\d{1,3}(\\${thousands}\\d{3})*(\\${decimal}\\d+)?$|^-?\\d+(\\${decimal}\\d+)?$`).test(v)) return undefined;
  v = v.split(thousands).join('');
  if (decimal === ',') v = v.replace(',', '.');
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

const label = (s: string) => s.trim().toLowerCase().replace(/[\s-]+/g, '_');

// ---------------------------------------------------------------------------------------------
// Rows to cost lines

export interface Parsed {
  lines: CostLine[];
  rows: number;
  skipped: number;
  notes: string[];
}

function findColumn(header: string[], wanted: string | string[] | undefined): number {
  if (wanted === undefined) return -1;
  const names = (Array.isArray(wanted) ? wanted : [wanted]).map((w) => w.trim().toLowerCase());
  const cells = header.map((h) => h.trim().toLowerCase());
  for (const n of names) {
    const exact = cells.indexOf(n);
    if (exact >= 0) return exact;
  }
  // Meta and others append the currency: "Amount spent (EUR)".
  for (const n of names) {
    const i = cells.findIndex((c) => c.startsWith(`${n} (`));
    if (i >= 0) return i;
  }
  return -1;
}

export function costLines(text: string, mapping: Mapping): Parsed {
  const delimiter = sniffDelimiter(text);
  const rows = parseCsv(text, delimiter);
  // Exports put titles and date ranges above the table: the header is the first row naming both
  // the date and the amount column.
  const headerAt = rows.findIndex((r) => findColumn(r.cells, mapping.date) >= 0 && findColumn(r.cells, mapping.amount) >= 0);
  if (headerAt < 0) {
    const want = (w: Mapping['date']) => (Array.isArray(w) ? w.join('" or "') : String(w));
    throw new ImportError(`no header row with a date column ("${want(mapping.date)}") and an amount column ("${want(mapping.amount)}"): pick the right --format or give a --mapping`);
  }
  const header = rows[headerAt]!.cells;
  const col = {
    date: findColumn(header, mapping.date),
    amount: findColumn(header, mapping.amount),
    campaign: findColumn(header, mapping.campaign),
    currency: findColumn(header, mapping.currency),
    channel: findColumn(header, mapping.channel),
  };
  const headerCurrency = /\(([A-Za-z]{3})\)\s*$/.exec(header[col.amount] ?? '')?.[1]?.toUpperCase();
  const notes: string[] = [];
  const lines: CostLine[] = [];
  const errors: string[] = [];
  let skipped = 0;
  for (const { line, cells } of rows.slice(headerAt + 1)) {
    const cell = (i: number) => (i >= 0 ? (cells[i] ?? '').trim() : '');
    const rawDate = cell(col.date);
    if (/^total/i.test(cells[0]?.trim() ?? '') || /^total/i.test(rawDate) || (rawDate === '' && cells.every((c) => c.trim() === '' || /^total/i.test(c.trim()) || parseAmount(c) !== undefined))) {
      // Total and summary rows of the export.
      skipped++;
      continue;
    }
    let date: string | undefined;
    try {
      date = parseDate(rawDate, mapping.dateFormat);
    } catch (err) {
      errors.push(`line ${line}: ${(err as Error).message}`);
      continue;
    }
    if (!date) {
      errors.push(`line ${line}: ${JSON.stringify(rawDate)} is not a date`);
      continue;
    }
    const amount = parseAmount(cell(col.amount), mapping.decimal);
    if (amount === undefined || amount < 0) {
      errors.push(`line ${line}: ${JSON.stringify(cell(col.amount))} is not an amount${mapping.decimal === undefined ? ' (for 1.234,50 set "decimal": "," in --mapping)' : ''}`);
      continue;
    }
    const rawChannel = cell(col.channel);
    const channel = rawChannel ? (mapping.channelValues?.[rawChannel.toLowerCase()] ?? (mapping.channelValues ? mapping.defaultChannel : undefined) ?? label(rawChannel)) : mapping.defaultChannel;
    if (!channel) {
      errors.push(`line ${line}: no channel; add a channel column or "defaultChannel" in --mapping`);
      continue;
    }
    const currency = (cell(col.currency) || headerCurrency || mapping.defaultCurrency || '').toUpperCase();
    lines.push({ date, channel, campaign: cell(col.campaign), amount, currency });
  }
  if (errors.length > 0) {
    const shown = errors.slice(0, 20);
    throw new ImportError(`${errors.length} row${errors.length === 1 ? '' : 's'} could not be read; nothing was sent:\n  ${shown.join('\n  ')}${errors.length > shown.length ? `\n  … and ${errors.length - shown.length} more` : ''}`);
  }
  if (col.currency < 0 && !headerCurrency && !mapping.defaultCurrency) notes.push('no currency column: amounts are taken as being in the reporting currency');
  return { lines, rows: rows.length - headerAt - 1, skipped, notes };
}

/** `EUR=1,USD=0.92`: what one unit of each currency is worth in the reporting currency. */
export function parseRates(spec: string | undefined, reporting: string): Map<string, number> {
  const rates = new Map<string, number>([[reporting, 1]]);
  if (!spec) return rates;
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]{3})\s*=\s*([0-9]*\.?[0-9]+)$/.exec(part);
    if (!m || !(Number(m[2]) > 0)) throw new ImportError(`--rates: ${JSON.stringify(part)} is not CODE=rate (e.g. USD=0.92)`);
    rates.set(m[1]!.toUpperCase(), Number(m[2]));
  }
  return rates;
}

/** Converted into the reporting currency and summed per day, channel and campaign. */
export function convert(lines: CostLine[], reporting: string, rates: Map<string, number>): CostLine[] {
  const missing = [...new Set(lines.map((l) => l.currency || reporting).filter((c) => !rates.has(c)))];
  if (missing.length > 0) {
    throw new ImportError(`no exchange rate for ${missing.join(', ')}: add ${missing.map((c) => `${c}=<value of 1 ${c} in ${reporting}>`).join(',')} to --rates`);
  }
  const sums = new Map<string, CostLine>();
  for (const l of lines) {
    const amount = l.amount * rates.get(l.currency || reporting)!;
    const key = `${l.date}\u0000${l.channel}\u0000${l.campaign}`;
    const s = sums.get(key);
    if (s) s.amount += amount;
    else sums.set(key, { ...l, amount, currency: reporting });
  }
  return [...sums.values()].map((l) => ({ ...l, amount: Math.round(l.amount * 1e6) / 1e6 }));
}

export function costEvent(l: CostLine): object {
  const id = createHash('sha256').update(`${l.date}\u0000${l.channel}\u0000${l.campaign}\u0000${l.currency}`).digest('hex').slice(0, 32);
  return { type: 'cost', messageId: `cost-${id}`, date: l.date, channel: l.channel, ...(l.campaign ? { campaign: l.campaign } : {}), amount: l.amount, currency: l.currency };
}

// ---------------------------------------------------------------------------------------------
// Sending

function progress(err: NodeJS.WritableStream & { isTTY?: boolean }, done: number, total: number, last: { shown: number }): void {
  const share = total === 0 ? 1 : done / total;
  if (err.isTTY) {
    const width = 30;
    const filled = Math.round(share * width);
    err.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${String(Math.round(share * 100)).padStart(3)}%  ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} cost lines${done === total ? '\n' : ''}`);
    return;
  }
  // Not a terminal: a line per tenth, so logs stay readable.
  const tenth = Math.floor(share * 10);
  if (tenth > last.shown || done === total) {
    last.shown = tenth;
    err.write(`${Math.round(share * 100)}% ${done}/${total} cost lines\n`);
  }
}

interface Answer {
  accepted: number;
  rejected: Array<{ index: number; path: string; reason: string }>;
}

async function post(url: string, key: string, batch: object[], err: NodeJS.WritableStream): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
    } catch (e) {
      throw new ImportError(`cannot reach Touchline at ${url} (${(e as Error).message}); is it running?`);
    }
    const text = await res.text();
    if (res.status === 429 || res.status === 503) {
      if (attempt >= 8) throw new ImportError(`Touchline kept answering ${res.status}: ${text.slice(0, 300)}`);
      const wait = Math.min(30, Math.max(1, Number(res.headers.get('retry-after')) || 2 ** attempt)) * 1000;
      err.write(`${res.status === 429 ? 'rate limited' : 'Touchline busy'}; resending in ${wait / 1000} s\n`);
      await new Promise((r) => setTimeout(r, wait));
      continue;
    }
    if (res.status === 401) throw new ImportError('Touchline refused the key (401): pass a write key with --key or TOUCHLINE_WRITE_KEYS');
    if (res.status !== 200 && res.status !== 400) throw new ImportError(`Touchline answered ${res.status}: ${text.slice(0, 500)}`);
    try {
      const answer = JSON.parse(text) as Partial<Answer>;
      if (Array.isArray(answer.rejected)) return { accepted: answer.accepted ?? 0, rejected: answer.rejected };
    } catch {
      // Not a batch answer: reported below.
    }
    throw new ImportError(`Touchline answered ${res.status}: ${text.slice(0, 500)}`);
  }
}

const VALUE_OPTIONS = ['--format', '--mapping', '--currency', '--rates', '--url', '--key', '--batch'] as const;
type ValueOption = (typeof VALUE_OPTIONS)[number];

function parseArgs(args: string[]): { options: Partial<Record<ValueOption, string>>; dryRun: boolean } {
  const options: Partial<Record<ValueOption, string>> = {};
  let dryRun = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--dry-run') dryRun = true;
    else if ((VALUE_OPTIONS as readonly string[]).includes(a)) {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new ImportError(`${a} needs a value\n${USAGE}`);
      options[a as ValueOption] = v;
    } else throw new ImportError(`unexpected ${JSON.stringify(a)}\n${USAGE}`);
  }
  return { options, dryRun };
}

function writeKey(explicit: string | undefined): string | undefined {
  if (explicit) return explicit;
  const config = loadConfig();
  const fromEnv = config.TOUCHLINE_WRITE_KEYS?.[0] ?? config.TOUCHLINE_ADMIN_KEYS?.[0];
  if (fromEnv) return fromEnv;
  const file = join(config.TOUCHLINE_DATA_DIR, 'keys.json');
  if (!existsSync(file)) return undefined;
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { write?: string[]; admin?: string[] };
  return stored.write?.[0] ?? stored.admin?.[0];
}

export async function importCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  try {
    const [what, file, ...rest] = args;
    if (what !== 'costs' || !file || file.startsWith('--')) {
      err.write(USAGE);
      return 2;
    }
    const { options, dryRun } = parseArgs(rest);
    const format = options['--format'] ?? 'generic';
    if (!(format in FORMATS)) throw new ImportError(`--format: ${JSON.stringify(format)} is not one of ${Object.keys(FORMATS).join(', ')}`);
    let mapping: Mapping = FORMATS[format as keyof typeof FORMATS];
    const mappingFile = options['--mapping'];
    if (mappingFile) {
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(mappingFile, 'utf8'));
      } catch (e) {
        throw new ImportError(`--mapping ${mappingFile}: ${(e as Error).message}`);
      }
      const parsed = Mapping.safeParse(json);
      if (!parsed.success) throw new ImportError(`--mapping ${mappingFile}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
      mapping = { ...mapping, ...parsed.data };
    }
    const reporting = (options['--currency'] ?? 'EUR').toUpperCase();
    if (!/^[A-Z]{3}$/.test(reporting)) throw new ImportError(`--currency: ${JSON.stringify(reporting)} is not a three-letter code such as EUR`);
    const rates = parseRates(options['--rates'], reporting);
    const batchSize = Number(options['--batch'] ?? 1000);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000) throw new ImportError('--batch: a whole number from 1 to 1000');

    if (!existsSync(file)) throw new ImportError(`${file}: no such file`);
    const parsed = costLines(decodeText(readFileSync(file)), mapping);
    for (const n of parsed.notes) err.write(`note: ${n}\n`);
    const lines = convert(parsed.lines, reporting, rates);
    const total = lines.reduce((s, l) => s + l.amount, 0);
    const events = lines.map(costEvent);

    if (dryRun) {
      for (const e of events) out.write(`${JSON.stringify(e)}\n`);
      err.write(`dry run: ${parsed.rows} rows → ${events.length} cost lines, ${total.toFixed(2)} ${reporting}; nothing sent\n`);
      return 0;
    }
    const url = (options['--url'] ?? `http://127.0.0.1:${loadConfig().PORT}`).replace(/\/+$/, '');
    const key = writeKey(options['--key']);
    if (!key) throw new ImportError('no write key: pass --key, set TOUCHLINE_WRITE_KEYS, or run where the data directory holds keys.json');

    let sent = 0;
    let accepted = 0;
    const rejected: string[] = [];
    const shown = { shown: -1 };
    const showProgress = events.length > batchSize;
    for (let i = 0; i < events.length; i += batchSize) {
      const batch = events.slice(i, i + batchSize);
      const answer = await post(url, key, batch, err);
      accepted += answer.accepted;
      for (const r of answer.rejected) {
        const l = lines[i + r.index]!;
        rejected.push(`${l.date} ${l.channel} ${JSON.stringify(l.campaign)}: ${r.reason}`);
      }
      sent += batch.length;
      if (showProgress) progress(err, sent, events.length, shown);
    }
    out.write(
      `imported ${accepted} cost line${accepted === 1 ? '' : 's'} (${parsed.rows} rows${parsed.skipped ? `, ${parsed.skipped} total rows skipped` : ''}) from ${file}: ${total.toFixed(2)} ${reporting}\n`,
    );
    if (rejected.length > 0) {
      err.write(`${rejected.length} cost line${rejected.length === 1 ? '' : 's'} refused:\n  ${rejected.slice(0, 20).join('\n  ')}\n`);
      return 1;
    }
    return 0;
  } catch (e) {
    if (e instanceof ImportError) {
      err.write(`import: ${e.message}\n`);
      return e.message.includes('usage:') ? 2 : 1;
    }
    throw e;
  }
}
