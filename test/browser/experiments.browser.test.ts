import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import { holdoutArm } from '@touchline/contracts';
import { loadConfig, silentLogger } from '@touchline/platform';
import { startTouchline, type Touchline } from '../../packages/cli/src/embedded.js';

/** The dashboard's holdout panel in headless Chromium: an experiment's arms and lift as they arrive. */
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const WRITE = 'browser-write-key';
const READ = 'browser-read-key';

describe.skipIf(!haveChromium)('holdout experiments on the dashboard', () => {
  let dir: string;
  let profile: string;
  let touchline: Touchline;
  let browser: BrowserContext;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'touchline-browser-exp-'));
    profile = mkdtempSync(join(tmpdir(), 'touchline-chromium-exp-'));
    const config = loadConfig(
      {
        TOUCHLINE_DATA_DIR: dir,
        PORT: '0',
        HOST: '127.0.0.1',
        TOUCHLINE_WRITE_KEYS: WRITE,
        TOUCHLINE_ADMIN_KEYS: 'browser-admin-key',
        TOUCHLINE_READ_KEYS: READ,
        LOG_LEVEL: 'silent',
        TOUCHLINE_PARTITIONS: '2',
        TOUCHLINE_MODELS: 'linear',
        TOUCHLINE_EXPERIMENTS: JSON.stringify([{ id: 'li-holdout', channel: 'linkedin', share: 0.5, start: '2026-01-01T00:00:00Z' }]),
      },
      dir,
    );
    touchline = await startTouchline(config, silentLogger());
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await touchline?.close();
    for (const d of [dir, profile]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('shows each arm and the lift with its interval', async () => {
    const users = Array.from({ length: 60 }, (_, i) => `u${i}`);
    const held = users.filter((u) => holdoutArm('li-holdout', u, 0.5) === 'holdout');
    const at = '2026-11-10T09:00:00Z';
    const batch = [
      ...users.map((u) => ({ type: 'identify', messageId: `${u}-id`, userId: u, timestamp: at })),
      ...users.filter((u) => !held.includes(u)).slice(0, 10).map((u) => ({ type: 'conversion', messageId: `${u}-c`, userId: u, conversionId: `${u}-c`, name: 'purchase', value: 10, currency: 'EUR', timestamp: at })),
    ];
    const res = await fetch(`${touchline.url}/v1/batch`, { method: 'POST', headers: { authorization: `Bearer ${WRITE}`, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
    expect(res.status).toBe(200);

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${touchline.url}/#key=${READ}`);
    const row = page.locator('#experiments tr[data-experiment="li-holdout"]');
    await expect.poll(async () => (await row.count()) > 0 && (await row.textContent())!.includes(`of ${held.length}`), { timeout: 20_000 }).toBe(true);
    const text = (await row.textContent())!;
    expect(text).toContain('li-holdout · linkedin');
    expect(text).toContain(`of ${users.length - held.length}`);
    expect(text).toMatch(/\+\d+(\.\d+)?% \[/);
    expect(errors).toEqual([]);
  }, 60_000);
});
