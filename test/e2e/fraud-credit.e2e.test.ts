import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, silentLogger } from '@touchline/platform';
import { startTouchline, type Touchline } from '../../packages/cli/src/embedded.js';
import { waitFor } from '../support/process.js';

/**
 * Click fraud across services: the alerts service flags a click burst, the stitcher drops the
 * flagged touches and restates the journey, the attributor replaces the credit. A converting
 * visitor whose clicks came from the farm's address keeps credit only on their genuine touch.
 */
const WRITE = 'fraud-write';
let dir: string;
let t: Touchline;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'touchline-fraud-'));
  const config = loadConfig({ TOUCHLINE_DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', TOUCHLINE_WRITE_KEYS: WRITE, TOUCHLINE_ADMIN_KEYS: 'fraud-admin', LOG_LEVEL: 'silent' }, dir);
  t = await startTouchline(config, silentLogger());
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/129.0 Safari/537.36';

async function post(batch: object[]) {
  const res = await fetch(`${t.url}/v1/batch`, { method: 'POST', headers: { authorization: `Bearer ${WRITE}`, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
  expect(res.status).toBe(200);
}

const creditedTouches = async (conversionId: string) =>
  (await t.warehouse.query<{ touchpoint_id: string }>(
    `SELECT DISTINCT touchpoint_id FROM touchline.credits_current WHERE conversion_id = {c:String} AND model = 'linear' ORDER BY touchpoint_id`,
    { c: conversionId },
  )).map((r) => r.touchpoint_id);

describe('fraud-flagged clicks', () => {
  it('stop earning credit: the journey is restated without them', async () => {
    const now = Date.now();
    const farmClick = (i: number, anonymousId: string) => ({
      type: 'touch', messageId: `farm-${i}`, anonymousId, interaction: 'click', timestamp: now - 60_000 + i * 1000,
      url: `https://shop.example/?utm_source=facebook&utm_medium=paid_social&utm_campaign=prospecting&fbclid=f${i}`,
      context: { ip: '203.0.113.77', userAgent: UA },
    });
    // The buyer: a genuine email click days ago, then three clicks from the farm's address.
    await post([
      { type: 'touch', messageId: 'buyer-email', anonymousId: 'buyer', interaction: 'email_click', channel: 'email', timestamp: now - 3 * 86_400_000, context: { ip: '198.51.100.9', userAgent: UA } },
      farmClick(0, 'buyer'),
      farmClick(1, 'buyer'),
      farmClick(2, 'buyer'),
      { type: 'conversion', messageId: 'buyer-conv', anonymousId: 'buyer', conversionId: 'order-1', name: 'purchase', value: 500, timestamp: now - 10_000 },
    ]);
    await waitFor(async () => ((await creditedTouches('order-1')).length === 4 ? true : undefined), 15_000, 'credit on all four touches first');

    // The rest of the burst: 27 more clicks from the same address on other devices.
    await post(Array.from({ length: 27 }, (_, k) => farmClick(k + 3, `farm-device-${k}`)));

    const after = await waitFor(async () => {
      const ids = await creditedTouches('order-1');
      return ids.length === 1 ? ids : undefined;
    }, 15_000, 'credit restated without the flagged clicks');
    expect(after).toEqual(['buyer-email']);
    const [sum] = await t.warehouse.query<{ w: number; v: number }>(
      "SELECT sum(weight) AS w, sum(value) AS v FROM touchline.credits_current WHERE conversion_id = 'order-1' AND model = 'linear'",
    );
    expect(sum!.w).toBeCloseTo(1, 12);
    expect(sum!.v).toBeCloseTo(500, 9);
  }, 60_000);
});
