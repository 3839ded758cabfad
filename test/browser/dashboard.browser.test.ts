import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import { loadConfig, silentLogger } from '@touchline/platform';
import { startTouchline, type Touchline } from '../../packages/cli/src/embedded.js';

/**
 * The dashboard in headless Chromium against a real in-process Touchline: events go in over HTTP,
 * the page shows live ROI per channel, the fraud alert the events cause, the flagged touches and a
 * budget suggestion; a screenshot is saved under the OS temp dir.
 */
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`\n*** dashboard browser test SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_BIN) ***\n`);

const WRITE = 'browser-write-key';
const ADMIN = 'browser-admin-key';
const READ = 'browser-read-key';
const DAY = 86_400_000;

describe.skipIf(!haveChromium)('dashboard in headless Chromium', () => {
  let dir: string;
  let profile: string;
  let touchline: Touchline;
  let browser: BrowserContext;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'touchline-browser-'));
    profile = mkdtempSync(join(tmpdir(), 'touchline-chromium-'));
    const config = loadConfig(
      { TOUCHLINE_DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', TOUCHLINE_WRITE_KEYS: WRITE, TOUCHLINE_ADMIN_KEYS: ADMIN, TOUCHLINE_READ_KEYS: READ, LOG_LEVEL: 'silent', TOUCHLINE_PARTITIONS: '2' },
      dir,
    );
    touchline = await startTouchline(config, silentLogger());
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await touchline?.close();
    for (const d of [dir, profile]) if (d) rmSync(d, { recursive: true, force: true });
  });

  async function send(batch: object[]) {
    for (let i = 0; i < batch.length; i += 500) {
      const res = await fetch(`${touchline.url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${WRITE}`, 'content-type': 'application/json' },
        body: JSON.stringify({ batch: batch.slice(i, i + 500) }),
      });
      expect(res.status).toBe(200);
    }
  }

  /**
   * Four weeks of two paid channels: daily spend varies, revenue follows a curve with strongly
   * diminishing returns on facebook and nearly none on linkedin; plus organic email conversions.
   */
  function history(now: number): object[] {
    const events: object[] = [];
    const today = Math.floor(now / DAY) * DAY;
    let n = 0;
    for (let d = 0; d <= 28; d++) {
      const day = today - d * DAY;
      const date = new Date(day).toISOString().slice(0, 10);
      for (const [channel, b, phase] of [['facebook', 0.3, 1], ['linkedin', 0.9, 2]] as const) {
        const spend = Math.round(400 * (1 + 0.4 * Math.sin(d * 1.7 + phase)));
        events.push({ type: 'cost', messageId: `cost-${channel}-${date}`, date, channel, campaign: `${channel}-prospecting`, amount: spend });
        if (d === 0) continue;
        const revenue = 2 * 400 ** (1 - b) * spend ** b;
        const conversions = 4;
        for (let i = 0; i < conversions; i++) {
          const person = `hist-${channel}-${n++}`;
          const ts = day + (8 + i * 3) * 3_600_000;
          events.push(
            { type: 'touch', messageId: `${person}-t`, anonymousId: person, interaction: 'click', channel, campaign: `${channel}-prospecting`, timestamp: ts - 3_600_000, context: { ip: `10.1.${n % 250}.9` } },
            { type: 'conversion', messageId: `${person}-c`, anonymousId: person, conversionId: `${person}-conv`, name: 'purchase', value: Math.round((revenue / conversions) * 100) / 100, currency: 'EUR', timestamp: ts },
          );
        }
      }
    }
    // Today: live conversions across channels, so the 1-hour and 24-hour windows have data.
    for (let i = 0; i < 24; i++) {
      const channel = ['facebook', 'linkedin', 'email'][i % 3]!;
      const person = `live-${i}`;
      events.push(
        { type: 'touch', messageId: `${person}-t`, anonymousId: person, interaction: channel === 'email' ? 'email_click' : 'click', channel, campaign: `${channel}-prospecting`, timestamp: now - (i + 2) * 120_000, context: { ip: `10.2.${i}.9` } },
        { type: 'conversion', messageId: `${person}-c`, anonymousId: person, conversionId: `${person}-conv`, name: 'demo_request', value: 150 + 40 * (i % 5), currency: 'EUR', timestamp: now - (i + 1) * 120_000 },
      );
    }
    return events;
  }

  it('shows live ROI per channel, the fraud alert the injected clicks cause, flags and suggestions', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${touchline.url}/#key=${READ}`);
    await page.locator('#status.live').waitFor({ timeout: 10_000 });

    const now = Date.now();
    await send(history(now));
    // ROI bars per paid channel, from credit and spend that went through the whole pipeline.
    await page.locator('#roi-chart g[data-channel="linkedin"]').waitFor({ timeout: 30_000 });
    await page.locator('#roi-chart g[data-channel="facebook"]').waitFor({ timeout: 30_000 });
    await page.locator('#channels tr[data-channel="email"]').waitFor({ timeout: 30_000 });

    // A click farm: 30 clicks in 30 seconds from one address on one campaign.
    const burst = Array.from({ length: 30 }, (_, i) => ({
      type: 'touch', messageId: `farm-${i}`, anonymousId: `farm-${i}`, interaction: 'click', timestamp: now + i * 1000,
      url: 'https://shop.example/?utm_source=facebook&utm_medium=paid_social&utm_campaign=facebook-prospecting',
      context: { ip: '203.0.113.45', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/129.0' },
    }));
    const sentAt = Date.now();
    await send(burst);
    const alert = page.locator('#alerts li[data-signal="click_burst"]');
    await alert.waitFor({ timeout: 5000 });
    console.log(`fraud alert on screen ${Date.now() - sentAt} ms after the clicks were accepted`);
    await expect.poll(() => alert.textContent()).toMatch(/clicks in 60 s from address 203\.0\.113\.0/);
    await expect.poll(async () => page.locator('#flag-count').textContent(), { timeout: 5000 }).toBe('30 touches');
    // One burst, one line in the fraud panel, although the flags go out per person.
    await expect.poll(async () => page.locator('#fraud li').allTextContents()).toEqual([expect.stringMatching(/^30touches flagged.*click burst from one address \(203\.0\.113\.0\)$/)]);

    // The model switcher lists the streamed models and switches the chart.
    await expect.poll(async () => page.locator('#model option').allTextContents()).toEqual(expect.arrayContaining(['first_touch', 'last_touch', 'linear', 'time_decay']));
    await page.selectOption('#model', 'first_touch');
    await page.locator('#roi-chart g[data-channel="linkedin"]').waitFor();
    await page.selectOption('#model', 'linear');

    // Budget suggestions are computed on the service's first evaluation after the data arrived.
    await page.locator('#suggestions li[data-tier]').waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('#suggestions li').first().textContent()).toMatch(/move [\d,]+ EUR a week from facebook to linkedin/);
    await expect.poll(async () => ((await page.locator('#k-revenue').textContent()) ?? '').replace(/\D/g, '')).not.toBe('');

    const shot = join(tmpdir(), `touchline-dashboard-${Date.now()}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot: ${shot}`);
    expect(errors).toEqual([]);
    // Self-contained: nothing but the page itself and its stream.
    expect(requests.filter((u) => !u.startsWith(touchline.url))).toEqual([]);
  }, 120_000);
});
