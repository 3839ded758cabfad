/**
 * Reader for aggregated path data in ChannelAttribution's layout
 * (`path;total_conversions;total_conversion_value;total_null`, channels joined by `" > "`;
 * Altomare & Loris, ChannelAttribution R/Python package, `Data` set).
 */

export interface PathRow {
  /** Channels in touch order, as written (repeats kept). */
  channels: string[];
  conversions: number;
  value: number;
  nulls: number;
}

export type ParsePathsResult =
  | {
      ok: true;
      rows: PathRow[];
      /** The separator used (given, or detected from the header). */
      sep: string;
      /** Whether the file had a conversion-value column (otherwise every value is 0). */
      hasValue: boolean;
      /** Whether the file had a `total_null` column (otherwise every null count is 0). */
      hasNulls: boolean;
      /** Data lines skipped because their path had no channel. */
      skippedEmptyPaths: number;
    }
  | { ok: false; line: number; error: string };

/**
 * Splits a path string on `>` and trims each channel, as ChannelAttribution does. Empty pieces
 * (`"a >  > b"`, a trailing `>`) are dropped; an empty or blank string gives `[]`.
 */
export function splitPath(path: string, channelSep = '>'): string[] {
  const out: string[] = [];
  for (const piece of path.split(channelSep)) {
    const c = piece.trim();
    if (c.length > 0) out.push(c);
  }
  return out;
}

/** Splits one CSV line on `sep`, honouring double quotes (`""` inside quotes is a quote). */
export function splitCsvLine(line: string, sep: string): string[] {
  if (!line.includes('"')) return line.split(sep);
  const fields: string[] = [];
  let cur = '';
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (inQuotes) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else inQuotes = false;
      } else cur += ch;
    } else if (ch === '"') inQuotes = true;
    else if (line.startsWith(sep, i)) {
      fields.push(cur);
      cur = '';
      i += sep.length - 1;
    } else cur += ch;
  }
  fields.push(cur);
  return fields;
}

function detectSep(header: string): string {
  const unquoted = header.replace(/"[^"]*"/g, '');
  for (const s of [';', '\t', ',']) if (unquoted.includes(s)) return s;
  return ';';
}

const PATH_COL = ['path'];
const CONV_COL = ['total_conversions', 'conversions', 'total_conv'];
const VALUE_COL = ['total_conversion_value', 'total_value', 'conversion_value', 'value'];
const NULL_COL = ['total_null', 'total_nulls', 'nulls', 'null'];

/**
 * Parses aggregated paths. The header names the columns (quoted or not, any case):
 * `path` and `total_conversions` are required, `total_conversion_value` and `total_null` are
 * optional (missing → 0 for every row). `sep` defaults to the first of `;`, tab, `,` found in
 * the header outside quotes. Blank lines, a UTF-8 BOM and CRLF line ends are accepted.
 *
 * Edge cases: a header-only or empty text → `ok` with no rows; a row whose path has no channel
 * is skipped and counted in `skippedEmptyPaths`; a missing, negative or non-numeric count →
 * `{ ok: false, line, error }` (1-based line number).
 */
export function parsePathsCsv(text: string, sep?: string): ParsePathsResult {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let h = 0;
  while (h < lines.length && (lines[h] as string).trim() === '') h++;
  if (h >= lines.length) return { ok: true, rows: [], sep: sep ?? ';', hasValue: false, hasNulls: false, skippedEmptyPaths: 0 };
  const header = lines[h] as string;
  const s = sep ?? detectSep(header);
  if (s.length === 0) return { ok: false, line: h + 1, error: 'empty separator' };
  const names = splitCsvLine(header, s).map((x) => x.trim().toLowerCase());
  const find = (alts: string[]): number => names.findIndex((n) => alts.includes(n));
  const iPath = find(PATH_COL);
  const iConv = find(CONV_COL);
  const iValue = find(VALUE_COL);
  const iNull = find(NULL_COL);
  if (iPath < 0 || iConv < 0) {
    return {
      ok: false,
      line: h + 1,
      error: `header must name the columns "path" and "total_conversions" (optional: "total_conversion_value", "total_null") separated by ${JSON.stringify(s)}; got ${JSON.stringify(header)}`,
    };
  }
  const rows: PathRow[] = [];
  let skippedEmptyPaths = 0;
  for (let li = h + 1; li < lines.length; li++) {
    const line = lines[li] as string;
    if (line.trim() === '') continue;
    const f = splitCsvLine(line, s);
    const num = (idx: number, name: string, required: boolean): number | string => {
      if (idx < 0) return 0;
      const raw = f[idx];
      if (raw === undefined || raw.trim() === '') return required ? `missing ${name}` : 0;
      const v = Number(raw.trim());
      if (!Number.isFinite(v) || v < 0) return `${name} must be a non-negative number, got ${JSON.stringify(raw)}`;
      return v;
    };
    const conv = num(iConv, 'total_conversions', true);
    const value = num(iValue, 'total_conversion_value', false);
    const nulls = num(iNull, 'total_null', false);
    for (const v of [conv, value, nulls]) if (typeof v === 'string') return { ok: false, line: li + 1, error: v };
    const channels = splitPath(f[iPath] ?? '');
    if (channels.length === 0) {
      skippedEmptyPaths++;
      continue;
    }
    rows.push({ channels, conversions: conv as number, value: value as number, nulls: nulls as number });
  }
  return { ok: true, rows, sep: s, hasValue: iValue >= 0, hasNulls: iNull >= 0, skippedEmptyPaths };
}
