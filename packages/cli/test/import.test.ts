import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicNames } from '@touchline/contracts';
import { ingestRoutes, type IngestOptions } from '@touchline/ingest';
import { EmbeddedBus, KeyRing, buildHttp, silentLogger } from '@touchline/platform';
import { costLines, decodeText, importCommand, parseAmount, parseCsv, parseDate, FORMATS } from '../src/commands/import.js';

class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

const topics = topicNames('imp.');

describe('touchline import costs', () => {
  let dir: string;
  let bus: EmbeddedBus;
  let url: string;
  let close: () => Promise<void>;

  const start = async (options: Partial<IngestOptions> = {}) => {
    const app = buildHttp({ logger: silentLogger() });
    await app.register(async (s) => {
      await ingestRoutes(s, { bus, keys: new KeyRing({ write: ['wk'] }), topics, options: { threads: 0, denyList: false, ...options } });
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: address, close: () => app.close() };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cli-import-'));
    bus = await EmbeddedBus.open({ dir: join(dir, 'log'), partitions: 2 });
    ({ url, close } = await start());
  });
  afterAll(async () => {
    await close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (name: string, content: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const run = async (args: string[]) => {
    const out = new Capture();
    const err = new Capture();
    const code = await importCommand(args, out, err);
    return { code, out: out.text, err: err.text };
  };
  const costs = async () => {
    const end = await bus.endOffsets(topics.costs);
    const total = [...end.values()].reduce((s, o) => s + Number(o), 0);
    const seen: Array<Record<string, any>> = [];
    if (total === 0) return seen;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const c = await bus.consume({
      groupId: `r-${Math.random()}`,
      topics: [topics.costs],
      commit: false,
      handler: async (b) => {
        for (const r of b.records) seen.push(JSON.parse(r.value.toString()));
        if (seen.length >= total) done();
      },
    });
    await all;
    await c.stop();
    return seen;
  };

  it('imports a Google Ads export: title rows and totals skipped, campaigns summed, USD converted', async () => {
    const csv = [
      'Campaign report',
      '"November 1, 2026 - November 2, 2026"',
      'Day,Campaign,Campaign type,Currency code,Cost',
      '2026-11-01,Brand DE,Search,EUR,"1,200.50"',
      '2026-11-01,Brand DE,Search,EUR,99.50',
      '2026-11-01,YouTube Launch,Video,USD,100.00',
      '"Nov 2, 2026",Brand DE,Search,EUR,--',
      'Total: Account,,,,"1,400.00"',
    ].join('\r\n');
    const r = await run(['costs', file('google.csv', csv), '--format', 'google-ads', '--rates', 'USD=0.92', '--url', url, '--key', 'wk']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`imported 3 cost lines (5 rows, 1 total rows skipped) from ${join(dir, 'google.csv')}: 1392.00 EUR\n`);
    const got = (await costs()).map(({ date, channel, campaign, amount, currency }) => ({ date, channel, campaign, amount, currency }));
    expect(got).toEqual(
      expect.arrayContaining([
        { date: '2026-11-01', channel: 'paid_search', campaign: 'Brand DE', amount: 1300, currency: 'EUR' },
        { date: '2026-11-01', channel: 'video', campaign: 'YouTube Launch', amount: 92, currency: 'EUR' },
        { date: '2026-11-02', channel: 'paid_search', campaign: 'Brand DE', amount: 0, currency: 'EUR' },
      ]),
    );
  });

  it('sends a re-import under the same messageIds, so it changes nothing downstream', async () => {
    const csv = 'date,channel,campaign,amount,currency\n2026-11-05,Webinar,launch,300,EUR\n';
    const first = await run(['costs', file('again.csv', csv), '--url', url, '--key', 'wk']);
    const before = (await costs()).filter((c) => c.date === '2026-11-05');
    const second = await run(['costs', file('again.csv', csv), '--url', url, '--key', 'wk']);
    const after = (await costs()).filter((c) => c.date === '2026-11-05');
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(before).toHaveLength(1);
    expect(after).toHaveLength(2);
    expect(after[1]!.messageId).toBe(after[0]!.messageId);
    expect(after[0]).toMatchObject({ channel: 'webinar', amount: 300 });
  });

  it('reads Meta (currency in the header) and LinkedIn (UTF-16, tab-separated) exports', async () => {
    const meta = ['Reporting starts,Reporting ends,Campaign name,Amount spent (USD)', '2026-11-03,2026-11-03,Retargeting,50'].join('\n');
    const m = await run(['costs', file('meta.csv', meta), '--format', 'meta', '--rates', 'USD=0.9', '--dry-run']);
    expect(m.code).toBe(0);
    expect(JSON.parse(m.out)).toMatchObject({ type: 'cost', date: '2026-11-03', channel: 'paid_social', campaign: 'Retargeting', amount: 45, currency: 'EUR' });

    const li = ['Campaign Performance Report', 'Report Start: 11/1/2026', '', 'Start Date (in UTC)\tCampaign Name\tTotal Spent\tCurrency', '11/04/2026\tABM Q4\t1.234,50\tGBP'].join('\n');
    const liFile = file('linkedin.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(li, 'utf16le')]));
    const mappingFile = file('li-mapping.json', JSON.stringify({ dateFormat: 'MM/DD/YYYY', decimal: ',' }));
    const l = await run(['costs', liFile, '--format', 'linkedin', '--mapping', mappingFile, '--currency', 'EUR', '--rates', 'GBP=1.2', '--dry-run']);
    expect(l.err).toContain('dry run: 1 rows → 1 cost lines, 1481.40 EUR; nothing sent');
    expect(JSON.parse(l.out)).toMatchObject({ date: '2026-11-04', channel: 'paid_social', campaign: 'ABM Q4', amount: 1481.4 });
  });

  it('maps any export with a mapping file', async () => {
    const csv = ['Datum;Kanal;Kampagne;Kosten', '22.11.2026;Messe;DMEXCO;"2.500,00"'].join('\n');
    const mapping = file('mapping.json', JSON.stringify({ date: 'Datum', channel: 'Kanal', campaign: 'Kampagne', amount: 'Kosten', decimal: ',', defaultCurrency: 'EUR' }));
    const r = await run(['costs', file('de.csv', csv), '--mapping', mapping, '--dry-run']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ date: '2026-11-22', channel: 'messe', campaign: 'DMEXCO', amount: 2500, currency: 'EUR' });
  });

  it('says what is wrong and sends nothing', async () => {
    const before = (await costs()).length;
    const missingRate = await run(['costs', file('usd.csv', 'date,channel,campaign,amount,currency\n2026-11-01,x,y,5,USD\n2026-11-01,x,z,5,CHF\n'), '--url', url, '--key', 'wk']);
    expect(missingRate.code).toBe(1);
    expect(missingRate.err).toBe('import: no exchange rate for USD, CHF: add USD=<value of 1 USD in EUR>,CHF=<value of 1 CHF in EUR> to --rates\n');
    const badRows = await run(['costs', file('bad.csv', 'date,channel,amount\n2026-13-01,x,5\n2026-11-01,x,five\n03/04/2026,x,1\n'), '--url', url, '--key', 'wk']);
    expect(badRows.code).toBe(1);
    expect(badRows.err).toContain('3 rows could not be read; nothing was sent');
    expect(badRows.err).toContain('line 2: "2026-13-01" is not a date');
    expect(badRows.err).toContain('line 3: "five" is not an amount');
    expect(badRows.err).toContain('line 4: "03/04/2026" could be either day-month or month-day');
    const noHeader = await run(['costs', file('nohead.csv', 'a,b\n1,2\n'), '--format', 'google-ads', '--dry-run']);
    expect(noHeader.err).toMatch(/no header row with a date column \("Day" or "Date"\)/);
    expect((await run(['costs', file('x.csv', 'date,amount\n'), '--format', 'tiktok'])).err).toMatch(/--format: "tiktok" is not one of google-ads, meta, linkedin, generic/);
    expect((await run(['costs', join(dir, 'missing.csv'), '--dry-run'])).err).toMatch(/no such file/);
    expect((await run(['costs', file('k.csv', 'date,channel,amount\n2026-11-01,x,1\n'), '--url', url, '--key', 'nope'])).err).toMatch(/refused the key \(401\)/);
    expect((await run(['costs', file('k.csv', 'date,channel,amount\n2026-11-01,x,1\n'), '--bogus'])).code).toBe(2);
    expect((await costs()).length).toBe(before);
  });

  it('sends large files in batches with progress, and waits out a rate limit', async () => {
    const limited = await start({ maxEvents: 100, rateLimit: { eventsPerSecond: 400, burst: 200 } });
    try {
      const rows = Array.from({ length: 500 }, (_, i) => `2026-10-${String((i % 28) + 1).padStart(2, '0')},search,c${Math.floor(i / 28)},${i}.25,EUR`);
      const before = (await costs()).length;
      const r = await run(['costs', file('big.csv', `date,channel,campaign,amount,currency\n${rows.join('\n')}\n`), '--url', limited.url, '--key', 'wk', '--batch', '100']);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^imported 500 cost lines \(500 rows\)/);
      expect(r.err).toContain('100% 500/500 cost lines');
      expect(r.err).toMatch(/rate limited; resending in \d+ s/);
      expect((await costs()).length - before).toBe(500);
    } finally {
      await limited.close();
    }
  }, 30_000);
});

describe('CSV and value readers', () => {
  it('parse quoted fields, doubled quotes, CRLF and embedded newlines', () => {
    expect(parseCsv('a,"b ""c""",d\r\n"multi\nline",2,\n', ',')).toEqual([
      { line: 1, cells: ['a', 'b "c"', 'd'] },
      { line: 2, cells: ['multi\nline', '2', ''] },
    ]);
    expect(() => parseCsv('a,"open\n', ',')).toThrow(/line 1: a quoted field is not closed/);
    expect(decodeText(Buffer.from('\ufeffx,y', 'utf8'))).toBe('x,y');
  });

  it('read dates and amounts the way exports write them', () => {
    expect(parseDate('Nov 20, 2026')).toBe('2026-11-20');
    expect(parseDate('20 November 2026')).toBe('2026-11-20');
    expect(parseDate('20.11.2026')).toBe('2026-11-20');
    expect(parseDate('11/20/2026')).toBe('2026-11-20');
    expect(parseDate('2026-11-20T00:00:00Z')).toBe('2026-11-20');
    expect(parseDate('2026-02-30')).toBeUndefined();
    expect(parseDate('01/02/2026', 'DD/MM/YYYY')).toBe('2026-02-01');
    expect(parseAmount('1,234.56')).toBe(1234.56);
    expect(parseAmount('€ 1.234,56', ',')).toBe(1234.56);
    expect(parseAmount('12 EUR')).toBe(12);
    expect(parseAmount('1.234,56')).toBeUndefined();
    expect(parseAmount('--')).toBe(0);
  });

  it('find the header below an export title', () => {
    const parsed = costLines('Report\nDate range\n\nDay,Campaign,Cost\n2026-11-01,A,5\n', FORMATS['google-ads']);
    expect(parsed.lines).toEqual([{ date: '2026-11-01', channel: 'paid_search', campaign: 'A', amount: 5, currency: '' }]);
    expect(parsed.notes).toEqual(['no currency column: amounts are taken as being in the reporting currency']);
  });
});
