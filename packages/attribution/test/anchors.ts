import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePathsCsv, PathStats } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** /work/shared/anchors: public reference data (see its README for provenance). */
export const ANCHORS_DIR = path.resolve(here, '../../../../shared/anchors');

export const BIG_ANCHOR = 'ChannelAttribution_Data.csv';
export const BIG_TOTAL_CONVERSIONS = 19_785;
export const BIG_TOTAL_VALUE = 74_802.97;

export function readAnchor(name: string): string {
  return readFileSync(path.join(ANCHORS_DIR, name), 'utf8');
}

export function anchorStats(name: string): PathStats {
  const parsed = parsePathsCsv(readAnchor(name));
  if (!parsed.ok) throw new Error(`${name}:${parsed.line}: ${parsed.error}`);
  return PathStats.fromRows(parsed.rows);
}

export function creditOf(credits: readonly { channel: string; conversions: number; value: number }[], channel: string) {
  const c = credits.find((x) => x.channel === channel);
  if (!c) throw new Error(`no credit row for ${channel}`);
  return c;
}

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
