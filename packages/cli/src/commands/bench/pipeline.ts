import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { EmbeddedBus, loadConfig, silentLogger, type Warehouse } from '@touchline/platform';
import { startTouchline } from '../../embedded.js';
import { quantile, type BenchStage } from '../bench.js';

const H = 3_600_000;

function journey(person: string, base: number): object[] {
  return [
    { type: 'touch', anonymousId: person, interaction: 'click', channel: 'linkedin', campaign: 'abm', timestamp: base },
    { type: 'touch', anonymousId: person, interaction: 'email_click', channel: 'email', timestamp: base + 24 * H },
    { type: 'touch', anonymousId: person, interaction: 'click', channel: 'google_ads', timestamp: base + 48 * H },
    { type: 'conversion', anonymousId: person, conversionId: `${person}-c`, name: 'purchase', value: 300, timestamp: base + 49 * H },
  ];
}

async function creditCount(wh: Warehouse, where: string): Promise<number> {
  const [r] = await wh.query<{ c: string }>(`SELECT count() AS c FROM touchline.credits_current WHERE ${where}`);
  return Number(r!.c);
}

/**
 * The embedded deployment end to end, in one process: time from a 2xx on `POST /v1/batch` to the
 * credit being readable in `touchline.credits_current`, and sustained events per second through
 * ingest, stitcher, attributor and the warehouse. Raw baselines of the same run: one fsynced publish
 * on a bare embedded log plus one warehouse query (the floor under the latency), and the bare log's
 * publish rate.
 */
const stage: BenchStage = {
  describe: 'HTTP → log → stitcher → attributor → ClickHouse, embedded mode',
  async run({ quick, log }) {
    const dir = mkdtempSync(join(tmpdir(), 'touchline-bench-'));
    try {
      const config = loadConfig({ TOUCHLINE_DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', TOUCHLINE_WRITE_KEYS: 'w', TOUCHLINE_ADMIN_KEYS: 'a', LOG_LEVEL: 'silent' }, dir);
      const t = await startTouchline(config, silentLogger());
      const post = (batch: object[]) =>
        fetch(`${t.url}/v1/batch`, { method: 'POST', headers: { authorization: 'Bearer w', 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });

      // Raw floor: an fsynced publish of 4 records on a bare log, then one warehouse count query.
      const raw = await EmbeddedBus.open({ dir: join(dir, 'raw-log') });
      const floor: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t0 = performance.now();
        await raw.publish('raw', Array.from({ length: 4 }, (_, k) => ({ key: `k${i}`, value: JSON.stringify({ i, k, pad: 'x'.repeat(200) }) })));
        await creditCount(t.warehouse, `conversion_id = 'none-${i}'`);
        floor.push(performance.now() - t0);
      }

      const trials = quick ? 10 : 40;
      const latencies: number[] = [];
      for (let i = 0; i < trials; i++) {
        const person = `lat-${randomUUID()}`;
        const res = await post(journey(person, Date.parse('2026-11-01T00:00:00Z')));
        if (res.status !== 200) throw new Error(`ingest answered ${res.status}`);
        const t0 = performance.now();
        while ((await creditCount(t.warehouse, `conversion_id = '${person}-c'`)) < 12) await new Promise((r) => setTimeout(r, 5));
        latencies.push(performance.now() - t0);
      }
      log(`latency: median ${quantile(latencies, 0.5).toFixed(1)} ms over ${trials} journeys`);

      // Throughput: batches of 500 events (125 journeys) from 4 concurrent senders.
      const people = quick ? 2_000 : 10_000;
      const tag = randomUUID().slice(0, 8);
      const events = Array.from({ length: people }, (_, p) => journey(`tp-${tag}-${p}`, Date.parse('2026-10-01T00:00:00Z') + p * 1000)).flat();
      const t0 = performance.now();
      let next = 0;
      const sender = async () => {
        while (next < events.length) {
          const batch = events.slice(next, next + 500);
          next += 500;
          const res = await post(batch);
          if (res.status !== 200) throw new Error(`ingest answered ${res.status}`);
        }
      };
      await Promise.all([sender(), sender(), sender(), sender()]);
      const accepted = performance.now() - t0;
      while ((await creditCount(t.warehouse, `conversion_id LIKE 'tp-${tag}-%'`)) < people * 12) await new Promise((r) => setTimeout(r, 50));
      const done = performance.now() - t0;
      log(`throughput: ${events.length} events accepted in ${accepted.toFixed(0)} ms, credited in ${done.toFixed(0)} ms`);

      const rawRate = await (async () => {
        const records = events.slice(0, 20_000).map((e, i) => ({ key: `k${i % 997}`, value: JSON.stringify(e) }));
        const r0 = performance.now();
        let n = 0;
        const pub = async () => {
          while (n < records.length) {
            const b = records.slice(n, n + 500);
            n += 500;
            await raw.publish('raw-rate', b);
          }
        };
        await Promise.all([pub(), pub(), pub(), pub()]);
        return records.length / ((performance.now() - r0) / 1000);
      })();
      await raw.close();
      await t.close();
      return [
        { metric: '2xx → credit readable in credits_current, median', value: quantile(latencies, 0.5), unit: 'ms', baseline: { what: 'fsynced publish + one warehouse query, median', value: quantile(floor, 0.5) } },
        { metric: '2xx → credit readable, p95', value: quantile(latencies, 0.95), unit: 'ms' },
        { metric: `events accepted per second (${people * 4} events, batches of 500, 4 senders)`, value: events.length / (accepted / 1000), unit: 'ev/s', baseline: { what: 'bare log publish rate, same batches', value: rawRate } },
        { metric: 'events credited end to end per second', value: events.length / (done / 1000), unit: 'ev/s', baseline: { what: 'bare log publish rate', value: rawRate } },
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
export default stage;
