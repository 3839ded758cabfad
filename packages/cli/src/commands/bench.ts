import { cpus, totalmem } from 'node:os';
import type { z } from 'zod';

/**
 * `touchline bench [stage ...] [--quick] [--name=value ...]`: each stage measures one part of
 * Touchline together with a raw baseline in the same run (the machine is shared and noisy, so
 * ratios say more than absolute numbers). Results print as a markdown table for
 * docs/benchmarks.md. `--name=value` flags are handed to the stages (e.g. accuracy's `--scenario`).
 */
export interface BenchRow {
  metric: string;
  value: number;
  unit: string;
  /** The raw baseline measured in the same run, when there is one. */
  baseline?: { what: string; value: number };
}

export interface BenchStage {
  describe: string;
  /**
   * `flags`: the command's `--name=value` arguments, by name. A stage that takes flags refuses the
   * ones it does not know with a `BenchUsageError`; the others ignore them.
   */
  run(opts: { quick: boolean; log: (line: string) => void; flags?: ReadonlyMap<string, string> }): Promise<BenchRow[]>;
}

const STAGES: Record<string, () => Promise<BenchStage>> = {
  pipeline: async () => (await import('./bench/pipeline.js')).default,
  accuracy: async () => (await import('./bench/accuracy.js')).default,
  attributor: async () => (await import('./bench/attributor.js')).default,
  ingest: async () => (await import('./bench/ingest.js')).default,
  stitcher: async () => (await import('./bench/stitcher.js')).default,
  alerts: async () => (await import('@touchline/alerts/bench')).default,
};

export function registerBenchStage(name: string, load: () => Promise<BenchStage>): void {
  STAGES[name] = load;
}

export async function benchCommand(args: string[]): Promise<number> {
  const quick = args.includes('--quick');
  const flags = new Map(
    args
      .filter((a) => a.startsWith('--') && a.includes('='))
      .map((a) => {
        const at = a.indexOf('=');
        return [a.slice(2, at), a.slice(at + 1)] as const;
      }),
  );
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !(n in STAGES));
  if (unknown.length) {
    process.stderr.write(`bench: unknown stage ${unknown.join(', ')}; stages: ${Object.keys(STAGES).join(', ')}\n`);
    return 2;
  }
  const selected = names.length ? names : Object.keys(STAGES);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const out: string[] = [
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    `date: ${new Date().toISOString().slice(0, 10)}`,
    '',
  ];
  for (const name of selected) {
    const stage = await STAGES[name]!();
    log(`bench ${name}: ${stage.describe}`);
    let rows: BenchRow[];
    try {
      rows = await stage.run({ quick, log, flags });
    } catch (e) {
      if (!(e instanceof BenchUsageError)) throw e;
      process.stderr.write(`bench ${name}: ${e.message}\n`);
      return 2;
    }
    const given = [...flags].map(([k, v]) => ` --${k}=${v}`).join('');
    out.push(`### ${name}`, '', `command: \`npm run bench -- ${name}${quick ? ' --quick' : ''}${given}\``, '', '| metric | value | raw baseline (same run) | ratio |', '| --- | --- | --- | --- |');
    for (const r of rows) {
      const ratio = r.baseline && r.baseline.value !== 0 ? `${(r.value / r.baseline.value).toFixed(2)}×` : '';
      out.push(`| ${r.metric} | ${fmt(r.value)} ${r.unit} | ${r.baseline ? `${r.baseline.what}: ${fmt(r.baseline.value)} ${r.unit}` : ''} | ${ratio} |`);
    }
    out.push('');
  }
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

/** A stage was given a flag or value it cannot use: the command answers with the message and exit code 2. */
export class BenchUsageError extends Error {}

/**
 * A stage's `flags` read through `schema` (a strict object of its flags, each optional): what is
 * wrong is thrown as a `BenchUsageError` naming the flag, an unknown flag with the list of the
 * stage's own.
 */
export function parseStageFlags<S extends z.ZodObject>(schema: S, flags: ReadonlyMap<string, string> | undefined): z.infer<S> {
  const r = schema.safeParse(Object.fromEntries(flags ?? []));
  if (r.success) return r.data;
  const known = Object.keys(schema.shape).map((k) => `--${k}`).join(', ');
  throw new BenchUsageError(
    r.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `unknown flag ${i.keys.map((k) => `--${k}`).join(', ')}; flags: ${known}` : `--${String(i.path[0])}: ${i.message}`)).join('; '),
  );
}

function fmt(x: number): string {
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 10) return x.toFixed(1);
  // Shares and distances (accuracy) differ in the third decimal.
  if (Math.abs(x) < 1) return x.toFixed(3);
  return x.toFixed(2);
}

/** Median and percentiles of a sample. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
}
