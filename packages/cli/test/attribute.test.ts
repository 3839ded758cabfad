import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { attributeCommand } from '../src/commands/attribute.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIG = path.join(path.resolve(here, '../../../../shared/anchors'), 'ChannelAttribution_Data.csv');

interface Row {
  model: string;
  order?: number;
  channel: string;
  conversions: number;
  value: number;
}

async function run(args: string[]): Promise<{ code: number; rows: Row[]; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  const errChunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  err.on('data', (c: Buffer) => errChunks.push(c));
  const code = await attributeCommand(args, out, err);
  const stdout = Buffer.concat(chunks).toString('utf8');
  const stderr = Buffer.concat(errChunks).toString('utf8');
  const rows = code === 0 && !args.includes('--help') ? stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row) : [];
  return { code, rows, stdout, stderr };
}

function groups(rows: Row[]): Map<string, Row[]> {
  const g = new Map<string, Row[]>();
  for (const r of rows) {
    const key = r.order === undefined ? r.model : `${r.model}/${r.order}`;
    g.set(key, [...(g.get(key) ?? []), r]);
  }
  return g;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('touchline attribute on ChannelAttribution_Data.csv', () => {
  it('by default runs every path model (Markov orders 1–3): 12 channels each, conversions sum to 19,785', async () => {
    const { code, rows, stderr } = await run(['--paths', BIG]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const g = groups(rows);
    expect([...g.keys()]).toEqual([
      'first_touch',
      'last_touch',
      'linear',
      'position_based',
      'markov/1',
      'markov/2',
      'markov/3',
      'shapley',
      'shapley_ordered',
      'data_driven',
    ]);
    for (const [key, rs] of g) {
      expect(rs, key).toHaveLength(12);
      expect(new Set(rs.map((r) => r.channel)).size, key).toBe(12);
      expect(sum(rs.map((r) => r.conversions)), key).toBeCloseTo(19_785, 6);
      expect(sum(rs.map((r) => r.value)), key).toBeCloseTo(74_802.97, 2);
    }
  });

  it('prints the JSON line shape, with order only for markov', async () => {
    const { rows } = await run(['--paths', BIG, '--models', 'markov,linear', '--order', '2']);
    expect(Object.keys(rows[0]!)).toEqual(['model', 'order', 'channel', 'conversions', 'value']);
    expect(rows[0]!.order).toBe(2);
    const linear = rows.find((r) => r.model === 'linear')!;
    expect(Object.keys(linear)).toEqual(['model', 'channel', 'conversions', 'value']);
    expect(rows.filter((r) => r.model === 'markov')).toHaveLength(12);
  });

  it('accepts a list of Markov orders', async () => {
    const { code, rows } = await run(['--paths', BIG, '--models', 'markov', '--order', '1,4']);
    expect(code).toBe(0);
    expect([...groups(rows).keys()]).toEqual(['markov/1', 'markov/4']);
  });

  it('--timings reports each model on stderr (never stdout), each well under a second', async () => {
    const { code, stdout, stderr } = await run(['--paths', BIG, '--timings']);
    expect(code).toBe(0);
    expect(stdout).not.toMatch(/ ms/);
    const timings = [...stderr.matchAll(/^attribute: (.+) ([\d.]+) ms$/gm)].map((m) => ({ what: m[1]!, ms: Number(m[2]) }));
    const models = timings.filter((t) => !t.what.startsWith('parse'));
    expect(models).toHaveLength(10);
    for (const t of models) expect(t.ms, t.what).toBeLessThan(1000);
  });
});

describe('touchline attribute on the published toys', () => {
  const toy = (name: string) => path.join(path.dirname(BIG), name);

  it('prints the published Markov credit of the vignette A/B example', async () => {
    const { code, rows } = await run(['--paths', toy('toy_vignette_AB_input.csv'), '--models', 'markov', '--order', '1']);
    expect(code).toBe(0);
    expect(rows.map((r) => [r.channel, r.conversions])).toEqual([
      ['A', expect.closeTo(2, 12)],
      ['B', expect.closeTo(1, 12)],
    ]);
  });

  it('says on stderr that data-driven credit is linear when no path failed to convert', async () => {
    const { code, rows, stderr } = await run(['--paths', toy('toy_vignette_AB_input.csv'), '--models', 'data_driven,linear']);
    expect(code).toBe(0);
    expect(stderr).toMatch(/data_driven: every path converted \(no total_null\), so there is nothing to learn; it credits linearly/);
    const dd = rows.filter((r) => r.model === 'data_driven').map((r) => r.conversions);
    expect(dd).toEqual(rows.filter((r) => r.model === 'linear').map((r) => r.conversions));
  });
});

describe('touchline attribute: bad arguments', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'touchline-attribute-'));
  const bad = path.join(dir, 'bad.csv');
  writeFileSync(bad, 'path;total_conversions\na > b;1\nb;lots\n');

  const cases: [string, string[], number, RegExp][] = [
    ['missing --paths', [], 2, /--paths <file> is required/],
    ['--paths without a value', ['--paths'], 2, /--paths needs a value/],
    ['unknown option', ['--paths', BIG, '--fast'], 2, /unknown argument "--fast"/],
    ['unknown model', ['--paths', BIG, '--models', 'linear,magic'], 2, /unknown model "magic"/],
    ['a model that needs timestamps', ['--paths', BIG, '--models', 'time_decay'], 2, /time_decay does not apply to path data/],
    ['order out of range', ['--paths', BIG, '--order', '5'], 2, /--order: "5" is not an integer from 1 to 4/],
    ['order that is not a number', ['--paths', BIG, '--order', '1,x'], 2, /--order: "x"/],
    ['order without markov', ['--paths', BIG, '--models', 'linear', '--order', '2'], 2, /--order applies to the markov model/],
    ['missing file', ['--paths', path.join(dir, 'nope.csv')], 1, /cannot read/],
    ['malformed file', ['--paths', bad], 1, /bad\.csv:3: total_conversions must be a non-negative number/],
  ];
  for (const [name, args, code, message] of cases) {
    it(`${name} → exit ${code} and a message on stderr`, async () => {
      const r = await run(args);
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    });
  }

  it('--help prints usage on stdout and succeeds', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage: touchline attribute --paths <file>/);
  });
});
