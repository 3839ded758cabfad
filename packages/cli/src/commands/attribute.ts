import { readFile } from 'node:fs/promises';
import {
  attributePaths,
  isPathModelName,
  isModelName,
  markovAttribution,
  parsePathsCsv,
  PathStats,
  PATH_MODEL_NAMES,
  type ChannelAttribution,
  type DataDrivenResult,
  type PathModelName,
} from '@touchline/attribution';

const USAGE = `usage: touchline attribute --paths <file> [--sep ';'] [--models m1,m2] [--order k | --order 1,2,3] [--timings]

  --paths <file>   aggregated paths, ChannelAttribution layout:
                   path;total_conversions[;total_conversion_value][;total_null], channels joined by " > "
  --sep <s>        column separator (default: detected from the header)
  --models <list>  comma-separated, default all that apply to path data:
                   ${PATH_MODEL_NAMES.join(', ')}
  --order <k>      Markov order(s), 1-4, one or comma-separated (default 1,2,3)
  --timings        per-model wall time on stderr

Prints one JSON line per model and channel:
  {"model":"markov","order":1,"channel":"alpha","conversions":1234.5,"value":4567.8}
`;

/** Models that need facts path data does not have (timestamps, direct flags, milestones). */
const NOT_FOR_PATHS: Record<string, string> = {
  time_decay: 'needs touch timestamps',
  w_shaped: 'needs lead/opportunity milestones',
  last_non_direct: 'needs to know which touches are direct',
};

const MAX_ORDER = 4;

interface AttributeArgs {
  paths: string;
  sep: string | undefined;
  models: PathModelName[];
  orders: number[];
  timings: boolean;
}

type ParsedArgs = { ok: true; args: AttributeArgs } | { ok: false; message: string; help?: boolean };

export function parseAttributeArgs(argv: readonly string[]): ParsedArgs {
  let paths: string | undefined;
  let sep: string | undefined;
  let models: string[] | undefined;
  let orders: string | undefined;
  let timings = false;
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] as string;
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    const value = (): string | undefined => (eq > 0 ? raw.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case '--help':
      case '-h':
        return { ok: false, message: '', help: true };
      case '--timings':
        timings = true;
        break;
      case '--paths':
      case '--sep':
      case '--models':
      case '--order': {
        const v = value();
        if (v === undefined || (v.startsWith('--') && flag !== '--sep')) return { ok: false, message: `${flag} needs a value` };
        if (flag === '--paths') paths = v;
        else if (flag === '--sep') sep = v.replace(/^\\t$/, '\t');
        else if (flag === '--models') models = v.split(',').map((m) => m.trim()).filter((m) => m.length > 0);
        else orders = v;
        break;
      }
      default:
        return { ok: false, message: `unknown argument ${JSON.stringify(raw)}` };
    }
  }
  if (!paths) return { ok: false, message: '--paths <file> is required' };
  if (sep !== undefined && sep.length === 0) return { ok: false, message: '--sep must not be empty' };

  let chosen: PathModelName[] = [...PATH_MODEL_NAMES];
  if (models) {
    if (models.length === 0) return { ok: false, message: '--models needs at least one model' };
    chosen = [];
    for (const m of models) {
      if (isPathModelName(m)) {
        if (!chosen.includes(m)) chosen.push(m);
      } else if (isModelName(m)) {
        return { ok: false, message: `model ${m} does not apply to path data (${NOT_FOR_PATHS[m] ?? 'not a path model'}); path models: ${PATH_MODEL_NAMES.join(', ')}` };
      } else {
        return { ok: false, message: `unknown model ${JSON.stringify(m)}; path models: ${PATH_MODEL_NAMES.join(', ')}` };
      }
    }
  }

  let orderList = [1, 2, 3];
  if (orders !== undefined) {
    if (!chosen.includes('markov')) return { ok: false, message: '--order applies to the markov model, which is not among --models' };
    const parts = orders.split(',').map((o) => o.trim());
    orderList = [];
    for (const o of parts) {
      const k = /^\d+$/.test(o) ? Number(o) : NaN;
      if (!Number.isInteger(k) || k < 1 || k > MAX_ORDER) return { ok: false, message: `--order: ${JSON.stringify(o)} is not an integer from 1 to ${MAX_ORDER}` };
      if (!orderList.includes(k)) orderList.push(k);
    }
  }
  return { ok: true, args: { paths, sep, models: chosen, orders: orderList, timings } };
}

function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (out.write(text)) resolve();
    else out.once('drain', () => resolve());
  });
}

function lines(result: ChannelAttribution): string {
  let s = '';
  for (const c of result.credits) {
    const row =
      result.order !== undefined
        ? { model: result.model, order: result.order, channel: c.channel, conversions: c.conversions, value: c.value }
        : { model: result.model, channel: c.channel, conversions: c.conversions, value: c.value };
    s += `${JSON.stringify(row)}\n`;
  }
  return s;
}

/**
 * `touchline attribute --paths <file> …`: credits aggregated paths with each requested model
 * and prints JSON lines (one per model, Markov order and channel) to `out`. Messages go to `err`
 * (stderr by default). Returns 0 on success, 2 on bad arguments, 1 if the file cannot be read
 * or parsed.
 */
export async function attributeCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const parsed = parseAttributeArgs(args);
  if (!parsed.ok) {
    if (parsed.help) {
      await write(out, USAGE);
      return 0;
    }
    err.write(`attribute: ${parsed.message}\n\n${USAGE}`);
    return 2;
  }
  const { paths, sep, models, orders, timings } = parsed.args;
  const timing = (label: string, t0: number): void => {
    if (timings) err.write(`attribute: ${label} ${(performance.now() - t0).toFixed(1)} ms\n`);
  };

  let text: string;
  try {
    text = await readFile(paths, 'utf8');
  } catch (e) {
    err.write(`attribute: cannot read ${paths}: ${(e as Error).message}\n`);
    return 1;
  }
  let t0 = performance.now();
  const table = parsePathsCsv(text, sep);
  if (!table.ok) {
    err.write(`attribute: ${paths}:${table.line}: ${table.error}\n`);
    return 1;
  }
  const stats = PathStats.fromRows(table.rows);
  timing(`parse (${table.rows.length} paths)`, t0);
  if (table.skippedEmptyPaths > 0) err.write(`attribute: skipped ${table.skippedEmptyPaths} row(s) with an empty path\n`);

  for (const model of models) {
    if (model === 'markov') {
      for (const order of orders) {
        t0 = performance.now();
        const result = markovAttribution(stats, { order });
        timing(`markov order ${order} (${result.stateCount} states)`, t0);
        await write(out, lines(result));
      }
      continue;
    }
    t0 = performance.now();
    const result = attributePaths(stats, model);
    timing(model, t0);
    if (model === 'data_driven' && (result as DataDrivenResult).fitted.degenerate) {
      err.write(`attribute: data_driven: every path ${stats.totalNulls > 0 ? 'has the same outcome' : 'converted (no total_null)'}, so there is nothing to learn; it credits linearly\n`);
    }
    await write(out, lines(result));
  }
  return 0;
}
