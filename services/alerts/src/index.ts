import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  BidSignalsTopicMessage,
  ConversionMessage,
  CostMessage,
  CreditMessage,
  TouchpointMessage,
  type AlertMessage,
  type BidSignalsTopicMessage as BidSignalsMessage,
  type FraudFlagMessage,
  type GroupMap,
  type TopicMap,
} from '@touchline/contracts';
import { startStage, type Bus, type Consumer, type KeyRing, type Logger, type Warehouse } from '@touchline/platform';
import { BidSignaller, conversionValue } from './bids.js';
import { RevenueBoard } from './board.js';
import { DASHBOARD_HTML } from './dashboard.js';
import { findingId } from './detectors/format.js';
import { detectDirectShare, detectOpportunities, detectRoiDrops } from './detectors/performance.js';
import { TrafficMonitor, type FraudFlag, type TrafficFindings } from './detectors/traffic.js';
import { startExperiments, type ExperimentsStage } from './experiments-stage.js';
import { AlertJournal, type JournalItem } from './journal.js';
import { MetricsStore, WINDOWS, type MetricRow } from './metrics.js';
import { alertsOptions, type AlertsOptions, type AlertsOptionsInput } from './options.js';
import { StreamHub, type ServerMessage, type StreamFilter } from './stream.js';
import { suggestBudgetShifts } from './suggestions.js';
import { WebhookDeliverer, type Fetch } from './webhooks/delivery.js';
import { webhookRoutes } from './webhooks/routes.js';
import { WebhookStore } from './webhooks/store.js';

export { RevenueBoard } from './board.js';
export { StreamHub, STREAM_CHANNELS, DURABLE_CHANNELS, type DurableFrame, type ServerMessage } from './stream.js';
export { MetricsStore, WINDOWS, type MetricRow } from './metrics.js';
export { TrafficMonitor, DEFAULT_TRAFFIC_OPTIONS, type TrafficOptions, type FraudFlag } from './detectors/traffic.js';
export { detectRoiDrops, detectOpportunities, detectDirectShare } from './detectors/performance.js';
export { suggestBudgetShifts, riskTier, shiftGain, DEFAULT_SUGGESTION_OPTIONS, type SuggestionOptions } from './suggestions.js';
export { BidSignaller, conversionValue, DEFAULT_BID_OPTIONS } from './bids.js';
export { AlertJournal } from './journal.js';
export { LiftTracker, calibratedCredit } from './experiments.js';
export type { ExperimentsStage } from './experiments-stage.js';
export { verifySignature, signatureHeader, SIGNATURE_HEADER, SIGNATURE_TOLERANCE_MS, type Verification } from './webhooks/signature.js';
export { WebhookStore } from './webhooks/store.js';
export { WebhookDeliverer, DEFAULT_DELIVERY_OPTIONS, type DeliveryOptions, type Fetch } from './webhooks/delivery.js';
export { alertsOptions, alertsOptionsFrom, DEFAULT_ALERTS_OPTIONS, type AlertsOptions, type AlertsOptionsInput } from './options.js';

export interface AlertsDeps {
  bus: Bus;
  warehouse: Warehouse;
  logger: Logger;
  topics: TopicMap;
  groups: GroupMap;
  keys: KeyRing;
  app: FastifyInstance;
  /** Where webhook registrations are kept (`webhooks.json`); the embedded default data dir when absent. */
  dataDir?: string;
  options?: AlertsOptionsInput;
  now?: () => number;
  fetch?: Fetch;
}

export interface Alerts {
  board: RevenueBoard;
  metrics: MetricsStore;
  traffic: TrafficMonitor;
  hub: StreamHub;
  journal: AlertJournal;
  webhooks: WebhookStore;
  /** The credits consumer (kept under this name for the embedded composition). */
  consumer: Consumer;
  consumers: Consumer[];
  options: AlertsOptions;
  /** The experiments consumer, when experiments are configured. */
  experiments: ExperimentsStage | undefined;
  /** Runs the windowed detectors, suggestions and bid signals now; resolves once they are durable. */
  evaluate(what?: { detectors?: boolean; suggestions?: boolean; bids?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

const TrafficTopicMessage = z.discriminatedUnion('kind', [TouchpointMessage, ConversionMessage, CostMessage]);

/**
 * The alerts service. Three consumers, four with experiments:
 * - credits (group `alerts`): running revenue per channel (all time) and windowed metrics per
 *   model, channel and campaign; each credit also goes out as a fractional conversion value on the
 *   bid-signals topic;
 * - traffic (group `<alerts>-traffic`: touchpoints, conversions, costs): spend, and the fraud
 *   detectors that need every click (bursts and bots flag touches at once);
 * - webhooks (group `<alerts>-webhooks`: bid-signals): signed delivery to registered webhooks.
 * - experiments (group `<alerts>-experiments`, only with experiments configured: touchpoints,
 *   conversions, identities): live lift of each incrementality experiment and the
 *   `incrementality_calibrated` channel credit (see `LiftTracker`).
 * Windowed detectors, budget-shift suggestions and bid signals run on timers. Every alert,
 * suggestion and fraud flag is stored in `touchline.alerts` and published on the alerts topic
 * before the batch that caused it is committed, and streamed on `/v1/stream`.
 */
export async function startAlerts(deps: AlertsDeps): Promise<Alerts> {
  const logger = deps.logger.child({ service: 'alerts' });
  const now = deps.now ?? Date.now;
  const o = alertsOptions(deps.options);
  const board = new RevenueBoard();
  const metrics = new MetricsStore(o.retentionMs);
  await seed(board, metrics, deps.warehouse, now() - o.retentionMs);

  const publishDurable: { to?: StreamHub } = {};
  const journal = new AlertJournal(deps.warehouse, deps.bus, deps.topics.alerts, logger, (f) => publishDurable.to?.publishDurable(f), { ...o.journal, now });
  const traffic = new TrafficMonitor(o.traffic);
  const { lastSeq, ids } = await journal.init();
  traffic.markFired(ids);

  const revenueFor = (model: string): ServerMessage => ({
    channel: 'metrics',
    type: 'revenue_by_channel',
    data: { model, channels: board.snapshot(model), at: now() },
    match: { model },
  });
  const windowsFor = (model: string): ServerMessage => {
    const at = now();
    const windows = Object.fromEntries(Object.entries(WINDOWS).map(([name, ms]) => [name, metrics.snapshot(model, ms, at)]));
    const data = { model, at, currency: metrics.currency(), windows };
    return { channel: 'metrics', type: 'window_metrics', data, match: { model }, narrow: (f) => narrowWindows(data, f) };
  };
  const models = () => [...new Set([...board.models(), ...metrics.models()])].sort();
  let experiments: ExperimentsStage | undefined;
  const hub = new StreamHub(
    deps.keys,
    logger,
    (send, channels, filter) => {
      if (!channels.includes('metrics')) return;
      for (const m of experiments?.latest() ?? []) send(m);
      for (const model of models()) {
        if (filter.model && filter.model !== model) continue;
        send(revenueFor(model));
        send(windowsFor(model));
      }
    },
    journal,
    o.stream,
  );
  hub.setLastSeq(lastSeq);
  publishDurable.to = hub;
  hub.attach(deps.app);

  const webhooks = WebhookStore.inDir(deps.dataDir ?? './.touchline');
  // Signatures carry the real time whatever clock the domain runs on: receivers check it against theirs.
  const deliverer = new WebhookDeliverer(webhooks, deps.bus, deps.topics.deadletter, logger, o.delivery, deps.fetch, Date.now);

  deps.app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(DASHBOARD_HTML));
  await deps.app.register(async (scope) => webhookRoutes(scope, { store: webhooks, keys: deps.keys, now }));

  // Revenue per channel is coalesced to one update per model every 200 ms, window metrics to one per
  // `metricsEveryMs`, however fast credit arrives; windows also slide when nothing arrives.
  const dirty = new Set<string>();
  /** Credit or spend changed since suggestions were last computed. */
  let changed = false;
  const dirtyWindows = new Set<string>();
  let lastWindowsAt = 0;
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, fn: () => void) => {
    const t = setInterval(fn, ms);
    t.unref();
    timers.push(t);
  };
  every(200, () => {
    for (const model of dirty) hub.publish(revenueFor(model));
    dirty.clear();
  });
  every(o.metricsEveryMs, () => {
    const t = now();
    const all = t - lastWindowsAt >= 10_000;
    if (!all && dirtyWindows.size === 0) return;
    for (const model of all ? models() : dirtyWindows) hub.publish(windowsFor(model));
    if (all) lastWindowsAt = t;
    dirtyWindows.clear();
  });

  const flagsOf = (flags: FraudFlag[], at: number): JournalItem[] => {
    const groups = new Map<string, { identity: string; reason: string; ids: string[] }>();
    for (const f of flags) {
      const k = `${f.identity}\u0000${f.reason}`;
      const g = groups.get(k) ?? { identity: f.identity, reason: f.reason, ids: [] };
      g.ids.push(f.touchpointId);
      groups.set(k, g);
    }
    return [...groups.values()].map((g) => {
      const touchpointIds = [...new Set(g.ids)].sort();
      const message: FraudFlagMessage = {
        v: 1,
        kind: 'fraud_flag',
        flagId: findingId('flag', g.reason, ...touchpointIds),
        touchpointIds,
        reason: g.reason,
        flaggedAt: at,
      };
      return { kind: 'flag', message, identity: g.identity };
    });
  };
  const record = async (found: TrafficFindings, extra: AlertMessage[] = []) => {
    const items: JournalItem[] = [...flagsOf(found.flags, now()), ...[...found.alerts, ...extra].map((message) => ({ kind: 'alert' as const, message }))];
    if (items.length > 0) await journal.record(items);
  };

  const credits = await startStage({
    bus: deps.bus,
    logger,
    groupId: deps.groups.alerts,
    topics: [deps.topics.credits],
    schema: CreditMessage,
    deadletterTopic: deps.topics.deadletter,
    handle: async (items) => {
      const values: BidSignalsMessage[] = [];
      for (const { message } of items) {
        if (metrics.applyCredit(message)) changed = true;
        dirtyWindows.add(message.model);
        if (!board.apply(message)) continue;
        dirty.add(message.model);
        if (message.model === o.calibrationModel) experiments?.creditChanged();
        values.push(conversionValue(message));
        hub.publish({ channel: 'credits', type: 'credit', data: message, match: { model: message.model, channel: message.shares.map((s) => s.channel), campaign: message.shares.map((s) => s.campaign) } });
      }
      if (values.length > 0) await deps.bus.publish(deps.topics.bidSignals, values.map((v) => ({ key: v.kind === 'conversion_value' ? v.conversionId : v.id, value: JSON.stringify(v) })));
    },
  });

  const trafficConsumer = await startStage({
    bus: deps.bus,
    logger,
    groupId: deps.groups.alertsTraffic,
    topics: [deps.topics.touchpoints, deps.topics.conversions, deps.topics.costs],
    schema: TrafficTopicMessage,
    deadletterTopic: deps.topics.deadletter,
    restore: (items) => {
      const t = now();
      for (const { message } of items) {
        if (message.kind === 'cost') metrics.applyCost(message);
        else traffic.observe(message, t, false);
      }
    },
    handle: async (items) => {
      const t = now();
      const found: TrafficFindings = { alerts: [], flags: [] };
      for (const { message } of items) {
        if (message.kind === 'cost') {
          if (metrics.applyCost(message)) {
            changed = true;
            for (const m of models()) dirtyWindows.add(m);
          }
          continue;
        }
        const f = traffic.observe(message, t, true);
        found.alerts.push(...f.alerts);
        found.flags.push(...f.flags);
      }
      await record(found);
    },
  });

  const webhookConsumer = await startStage({
    bus: deps.bus,
    logger,
    groupId: deps.groups.alertsWebhooks,
    topics: [deps.topics.bidSignals],
    schema: BidSignalsTopicMessage,
    deadletterTopic: deps.topics.deadletter,
    handle: async (items) => {
      await deliverer.deliver(items.map((i) => ({ message: i.message, raw: i.record.value.toString('utf8') })));
    },
  });

  if (o.experiments.length > 0) {
    experiments = await startExperiments({
      bus: deps.bus,
      warehouse: deps.warehouse,
      logger,
      topics: deps.topics,
      groups: deps.groups,
      board,
      publish: (m) => hub.publish(m),
      options: { experiments: o.experiments, everyMs: o.liftEveryMs, confidence: o.liftConfidence, calibrationModel: o.calibrationModel },
      now,
    });
  }

  const signaller = new BidSignaller(o.bids);
  let running: Promise<void> | undefined;
  let lastSuggest = 0;
  let lastBids = 0;
  let prunedAt = 0;
  const evaluate = async (what: { detectors?: boolean; suggestions?: boolean; bids?: boolean } = { detectors: true, suggestions: true, bids: true }) => {
    const t = now();
    if (what.detectors) {
      const clicks = (channel: string, campaign: string, from: number, to: number) => traffic.clicks(channel, campaign, from, to, t);
      await record(traffic.tick(t), [
        ...detectRoiDrops(metrics, o.model, t, o.roiDrop),
        ...detectOpportunities(metrics, o.model, t, o.opportunity, clicks),
        ...detectDirectShare(metrics, o.model, t, o.directShare),
      ]);
    }
    if (what.suggestions) {
      const { suggestions } = suggestBudgetShifts(metrics, o.model, t, o.suggestions);
      const fresh = suggestions.filter((s) => !journal.has(s.id));
      if (fresh.length > 0) await journal.record(fresh.map((message) => ({ kind: 'suggestion' as const, message })));
    }
    if (what.bids) {
      const signals = signaller.signals(metrics, o.model, t);
      if (signals.length > 0) await deps.bus.publish(deps.topics.bidSignals, signals.map((s) => ({ key: `${s.channel}|${s.campaign}`, value: JSON.stringify(s) })));
    }
  };
  const tick = () => {
    if (running) return;
    const t = now();
    const suggestions = t - lastSuggest >= o.suggestEveryMs || (changed && t - lastSuggest >= o.suggestAfterChangeMs);
    const what = { detectors: true, suggestions, bids: t - lastBids >= o.bidEveryMs };
    if (suggestions) changed = false;
    running = evaluate(what)
      .then(() => {
        if (what.suggestions) lastSuggest = t;
        if (what.bids) lastBids = t;
        if (t - prunedAt >= 60_000) {
          metrics.prune(t);
          prunedAt = t;
        }
      })
      .catch((err: unknown) => {
        if (what.suggestions) changed = true;
        logger.error({ err }, 'alert evaluation failed; it runs again on the next tick');
      })
      .finally(() => (running = undefined));
  };
  every(o.evaluateEveryMs, tick);

  const consumers = [credits, trafficConsumer, webhookConsumer, ...(experiments ? [experiments.consumer] : [])];
  return {
    board,
    metrics,
    traffic,
    hub,
    journal,
    webhooks,
    consumer: credits,
    consumers,
    options: o,
    experiments,
    async evaluate(what) {
      while (running) await running;
      await evaluate(what);
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      deliverer.close();
      await Promise.all([...consumers.filter((c) => c !== experiments?.consumer).map((c) => c.stop()), experiments?.stop()]);
      if (running) await running;
      hub.close();
    },
  };
}

/** Only the rows a subscriber's channel or campaign filter asks for. */
function narrowWindows(data: { windows: Record<string, { channels: MetricRow[]; campaigns: MetricRow[]; total: MetricRow }> }, f: StreamFilter): unknown {
  if (!f.channel && !f.campaign) return data;
  const keep = (r: MetricRow) => (!f.channel || r.channel === f.channel) && (!f.campaign || r.campaign === f.campaign);
  const windows = Object.fromEntries(
    Object.entries(data.windows).map(([k, w]) => [k, { channels: f.campaign ? [] : w.channels.filter(keep), campaigns: w.campaigns.filter(keep), total: w.total }]),
  );
  return { ...data, windows };
}

/** The board from all current credit; the windowed store from the credit of the retention period. */
async function seed(board: RevenueBoard, metrics: MetricsStore, wh: Warehouse, since: number): Promise<void> {
  const rows = await wh.query<{ conversion_id: string; model: string; version: string; channel: string; campaign: string; ts: string; w: number; v: number }>(
    `SELECT conversion_id, model, version, channel, campaign, toUnixTimestamp64Milli(any(conversion_ts)) AS ts, sum(weight) AS w, sum(value) AS v
     FROM touchline.credits_current GROUP BY conversion_id, model, version, channel, campaign`,
  );
  const grouped = new Map<string, { conversionId: string; model: string; version: number; ts: number; parts: Array<{ channel: string; campaign: string; weight: number; value: number }> }>();
  for (const r of rows) {
    const key = `${r.conversion_id}\u0000${r.model}`;
    let g = grouped.get(key);
    if (!g) grouped.set(key, (g = { conversionId: r.conversion_id, model: r.model, version: Number(r.version), ts: Number(r.ts), parts: [] }));
    g.parts.push({ channel: r.channel, campaign: r.campaign, weight: Number(r.w), value: Number(r.v) });
  }
  for (const g of grouped.values()) {
    const byChannel = new Map<string, { weight: number; value: number }>();
    for (const p of g.parts) {
      const c = byChannel.get(p.channel) ?? { weight: 0, value: 0 };
      c.weight += p.weight;
      c.value += p.value;
      byChannel.set(p.channel, c);
    }
    board.set(g.conversionId, g.model, g.version, byChannel);
    if (g.ts >= since) metrics.seedCredit(g.conversionId, g.model, g.version, g.ts, g.parts);
  }
}
