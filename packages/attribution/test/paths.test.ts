import { describe, expect, it } from 'vitest';
import { parsePathsCsv, PathStats, splitPath } from '../src/index.js';
import { anchorStats, BIG_ANCHOR, BIG_TOTAL_CONVERSIONS, BIG_TOTAL_VALUE, readAnchor } from './anchors.js';

describe('splitPath', () => {
  it('splits on > and trims, dropping empty pieces', () => {
    expect(splitPath('a > b >c>  d ')).toEqual(['a', 'b', 'c', 'd']);
    expect(splitPath('google ads > mailing')).toEqual(['google ads', 'mailing']);
    expect(splitPath(' a >  > b >')).toEqual(['a', 'b']);
    expect(splitPath('   ')).toEqual([]);
  });
});

describe('parsePathsCsv', () => {
  it('reads the big anchor: 10,000 paths, 12 channels, its published totals', () => {
    const r = parsePathsCsv(readAnchor(BIG_ANCHOR));
    if (!r.ok) throw new Error(r.error);
    expect(r.sep).toBe(';');
    expect(r.rows).toHaveLength(10_000);
    expect(r.hasValue && r.hasNulls).toBe(true);
    const stats = PathStats.fromRows(r.rows);
    expect(stats.channels()).toHaveLength(12);
    expect(stats.totalConversions).toBe(BIG_TOTAL_CONVERSIONS);
    expect(stats.totalValue).toBeCloseTo(BIG_TOTAL_VALUE, 2);
    expect(stats.totalNulls).toBe(68_602);
    expect(Math.max(...r.rows.map((x) => x.channels.length))).toBe(89);
  });

  it('reads the quoted, comma-separated toy files with no value column', () => {
    const r = parsePathsCsv(readAnchor('toy_puzyrov_input.csv'));
    if (!r.ok) throw new Error(r.error);
    expect(r.sep).toBe(',');
    expect(r.hasValue).toBe(false);
    expect(r.rows).toEqual([
      { channels: ['google ads'], conversions: 2, value: 0, nulls: 1 },
      { channels: ['mailing'], conversions: 1, value: 0, nulls: 0 },
      { channels: ['google ads', 'mailing'], conversions: 1, value: 0, nulls: 0 },
    ]);
  });

  it('handles a BOM, CRLF, blank lines, reordered columns and a separator inside quotes', () => {
    const text = '\uFEFF"total_null";"path";"total_conversions"\r\n\r\n3;"a;x > b";2\r\n';
    const r = parsePathsCsv(text);
    if (!r.ok) throw new Error(r.error);
    expect(r.rows).toEqual([{ channels: ['a;x', 'b'], conversions: 2, value: 0, nulls: 3 }]);
    expect(r.hasNulls).toBe(true);
  });

  it('uses an explicit separator', () => {
    const r = parsePathsCsv('path|total_conversions\na > b|4\n', '|');
    expect(r.ok && r.rows[0]).toEqual({ channels: ['a', 'b'], conversions: 4, value: 0, nulls: 0 });
  });

  it('skips rows with an empty path and counts them', () => {
    const r = parsePathsCsv('path;total_conversions\n;4\na;1\n');
    expect(r.ok && r.skippedEmptyPaths).toBe(1);
    expect(r.ok && r.rows).toHaveLength(1);
  });

  it('reports bad numbers with their line', () => {
    expect(parsePathsCsv('path;total_conversions\na;1\nb;x\n')).toMatchObject({ ok: false, line: 3 });
    expect(parsePathsCsv('path;total_conversions\na;-1\n')).toMatchObject({ ok: false, line: 2 });
    expect(parsePathsCsv('path;total_conversions\na;\n')).toMatchObject({ ok: false, line: 2, error: 'missing total_conversions' });
  });

  it('rejects a header without path or conversions', () => {
    const r = parsePathsCsv('route;count\na;1\n');
    expect(r).toMatchObject({ ok: false, line: 1 });
  });

  it('gives no rows for an empty text', () => {
    expect(parsePathsCsv('')).toMatchObject({ ok: true, rows: [] });
  });
});

describe('PathStats', () => {
  it('aggregates the same path and keeps totals', () => {
    const s = new PathStats();
    s.add(['a', 'b'], 1, 10, 2);
    s.add(['a', 'b'], 2, 5, 0);
    s.add(['b'], 0, 0, 4);
    expect(s.size).toBe(2);
    expect(s.get(['a', 'b'])).toEqual({ channels: ['a', 'b'], conversions: 3, value: 15, nulls: 2 });
    expect([s.totalConversions, s.totalValue, s.totalNulls]).toEqual([3, 15, 6]);
    expect(s.channels()).toEqual(['a', 'b']);
  });

  it('keeps journeys without touches apart from the path totals', () => {
    const s = new PathStats();
    s.add([], 2, 7, 1);
    expect(s.size).toBe(0);
    expect(s.totalConversions).toBe(0);
    expect(s.untouched).toEqual({ conversions: 2, value: 7, nulls: 1 });
  });

  it('removes restated journeys and forgets emptied paths', () => {
    const s = new PathStats();
    s.add(['a', 'b'], 2, 10, 1);
    const v0 = s.version;
    expect(s.remove(['a', 'b'], 1, 4, 0)).toBe(true);
    expect(s.version).toBeGreaterThan(v0);
    expect(s.get(['a', 'b'])).toMatchObject({ conversions: 1, value: 6, nulls: 1 });
    expect(s.remove(['a', 'b'], 1, 6, 1)).toBe(true);
    expect(s.size).toBe(0);
    expect(s.channels()).toEqual([]);
  });

  it('refuses to remove more than it holds, changing nothing', () => {
    const s = new PathStats();
    s.add(['a'], 1, 1, 0);
    const v = s.version;
    expect(s.remove(['a'], 2)).toBe(false);
    expect(s.remove(['a'], 0, 0, 1)).toBe(false);
    expect(s.remove(['zz'], 1)).toBe(false);
    expect(s.version).toBe(v);
    expect(s.get(['a'])).toMatchObject({ conversions: 1 });
  });

  it('rejects negative or non-finite counts', () => {
    const s = new PathStats();
    expect(() => s.add(['a'], -1)).toThrow(RangeError);
    expect(() => s.add(['a'], 1, Number.NaN)).toThrow(RangeError);
  });

  it('merges partition-local stats into the same aggregate as one pass', () => {
    const all = anchorStats(BIG_ANCHOR);
    const parts = [new PathStats(), new PathStats(), new PathStats()];
    let i = 0;
    for (const r of all.paths()) parts[i++ % 3]!.add(r.channels, r.conversions, r.value, r.nulls);
    const merged = parts[0]!.clone().merge(parts[1]!).merge(parts[2]!);
    expect(merged.size).toBe(all.size);
    expect(merged.totalConversions).toBe(all.totalConversions);
    expect(merged.totalNulls).toBe(all.totalNulls);
    expect(merged.totalValue).toBeCloseTo(all.totalValue, 8);
    expect(parts[0]!.size).toBeLessThan(all.size); // clone() did not alias
  });
});

describe('PathStats.canonical', () => {
  it('holds the same paths in key order, whatever order they were added and removed in', () => {
    const a = new PathStats();
    a.add(['b', 'a'], 1, 2, 0);
    a.add(['a'], 0, 0, 3);
    a.add(['c'], 1, 1, 0);
    a.remove(['c'], 1, 1, 0);
    a.add([], 2, 5, 1);
    const b = new PathStats();
    b.add(['a'], 0, 0, 3);
    b.add(['b', 'a'], 1, 2, 0);
    b.add([], 2, 5, 1);
    const keys = (s: PathStats) => [...s.paths()].map((r) => [r.channels.join('>'), r.conversions, r.value, r.nulls]);
    expect(keys(a)).not.toEqual(keys(b));
    expect(keys(a.canonical())).toEqual([
      ['a', 0, 0, 3],
      ['b>a', 1, 2, 0],
    ]);
    expect(keys(a.canonical())).toEqual(keys(b.canonical()));
    expect(a.canonical().untouched).toEqual({ conversions: 2, value: 5, nulls: 1 });
  });
});
