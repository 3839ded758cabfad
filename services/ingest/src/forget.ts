import { randomUUID } from 'node:crypto';
import type { PrivacyDeleteMessage, PrivacyDeleteRequest, PrivacyDeleteResponse, TopicMap } from '@touchline/contracts';
import type { Bus, Logger, Warehouse } from '@touchline/platform';
import { DenyList } from './deny-list.js';
import { hashEmail } from './privacy.js';

/**
 * Forgetting a person (`POST /v1/privacy/delete`):
 *
 * 1. The named ids go on the deny list at once: from now on this instance drops their events.
 * 2. With a warehouse: wait (bounded) until the pipeline has consumed what was already in the log,
 *    so rows in flight land before they are deleted; then widen the ids to every id linked to them
 *    (identify links, events carrying both an anonymousId and a userId), as the stitcher does.
 * 3. A privacy_delete message with all the ids goes on the identities topic, durably, before the
 *    answer: it is what the stitcher forgets the person by, and what every ingest instance builds
 *    its deny list from (also after a restart).
 * 4. The person's rows are deleted from touchpoints, conversions, identity_links and dead letters
 *    that name them; their conversions' credit gets a retraction row at a newer version for every
 *    model (so `credits_current` and the ROI views drop it, and a late restatement at an older
 *    version stays hidden), and their earlier credit rows are deleted.
 *
 * Every step is idempotent: a repeated request redoes the sweep and changes nothing more.
 */
export interface ForgetDeps {
  bus: Bus;
  topics: TopicMap;
  denyList: DenyList;
  /** An id as ingest stores it (emails and phones pseudonymised). */
  storedId: (id: string) => string;
  warehouse?: Warehouse | undefined;
  /** Consumer groups to wait for before deleting rows (see `PipelineGroups`). */
  pipeline?: PipelineGroups | undefined;
  /** Upper bound of the wait for the pipeline. */
  drainTimeoutMs: number;
  logger: Logger;
  now: () => number;
}

/** The groups whose progress matters to a deletion: readers of the raw topics, then of the journeys. */
export interface PipelineGroups {
  /** Groups reading touchpoints, conversions and identities (stitcher, warehouse sink). */
  raw: string[];
  /** Groups reading journeys (attributor). */
  journeys: string[];
}

/** Ids linked to a person are followed this many hops through the warehouse. */
const MAX_HOPS = 6;
/** A "person" with more ids than this is a shared id gone wrong; the sweep stops widening. */
const MAX_IDS = 2_000;

interface Ids {
  anonymousIds: Set<string>;
  userIds: Set<string>;
  emailHashes: Set<string>;
}

export async function forget(request: PrivacyDeleteRequest, deps: ForgetDeps): Promise<PrivacyDeleteResponse> {
  const requestId = randomUUID();
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const ids: Ids = {
    anonymousIds: new Set(list(request.anonymousId).map(deps.storedId)),
    userIds: new Set(list(request.userId).map(deps.storedId)),
    emailHashes: new Set(list(request.email).map(hashEmail)),
  };
  deps.denyList.add(plain(ids));

  let drained: boolean | undefined;
  const wh = deps.warehouse;
  if (wh) {
    if (deps.pipeline) drained = await drainPipeline(deps.bus, deps.topics, deps.pipeline, deps.drainTimeoutMs);
    await widen(wh, ids, deps.logger);
    deps.denyList.add(plain(ids));
  }

  const message: PrivacyDeleteMessage = {
    v: 1,
    kind: 'privacy_delete',
    requestId,
    ...plain(ids),
    requestedAt: deps.now(),
  };
  const key = [...ids.userIds][0] ?? [...ids.anonymousIds][0] ?? [...ids.emailHashes][0]!;
  await deps.bus.publish(deps.topics.identities, [{ key, value: JSON.stringify(message) }]);
  // Other instances on the embedded log learn it here rather than from the topic (see DenyList).
  DenyList.announce(deps.bus, deps.topics.identities, plain(ids));
  await deps.denyList.persist();

  const response: PrivacyDeleteResponse = { requestId, forgotten: plain(ids) };
  if (wh) {
    const { deletedRows, retractedConversions } = await eraseFromWarehouse(wh, ids, requestId, deps.now);
    response.deletedRows = deletedRows;
    response.retractedConversions = retractedConversions;
    if (drained !== undefined) response.drained = drained;
  }
  deps.logger.info({ requestId, ids: message.anonymousIds.length + message.userIds.length + message.emailHashes.length }, 'person forgotten');
  return response;
}

function plain(ids: Ids) {
  return { anonymousIds: [...ids.anonymousIds].sort(), userIds: [...ids.userIds].sort(), emailHashes: [...ids.emailHashes].sort() };
}

/**
 * Waits until the raw groups have committed everything that is in the input topics now, then
 * until the journey readers have committed what the stitcher published meanwhile. False on timeout.
 */
async function drainPipeline(bus: Bus, topics: TopicMap, groups: PipelineGroups, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const raw = [topics.touchpoints, topics.conversions, topics.identities];
  if (!(await caughtUp(bus, groups.raw, raw, deadline))) return false;
  return caughtUp(bus, groups.journeys, [topics.journeys], deadline);
}

async function caughtUp(bus: Bus, groups: string[], topics: string[], deadline: number): Promise<boolean> {
  const targets: Array<[string, Map<number, string>]> = [];
  for (const t of topics) targets.push([t, await bus.endOffsets(t)]);
  let pause = 5;
  for (;;) {
    let behind = false;
    for (const g of groups) {
      for (const [topic, ends] of targets) {
        const committed = await bus.committedOffsets(g, topic);
        for (const [p, end] of ends) {
          if (BigInt(committed.get(p) ?? '0') < BigInt(end)) behind = true;
        }
      }
    }
    if (!behind) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 200);
  }
}

/** Adds every id linked to the person in the warehouse, hop by hop, like the stitcher's union-find. */
async function widen(wh: Warehouse, ids: Ids, logger: Logger): Promise<void> {
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const before = ids.anonymousIds.size + ids.userIds.size + ids.emailHashes.size;
    const params = { a: [...ids.anonymousIds], u: [...ids.userIds], e: [...ids.emailHashes] };
    const rows = await wh.query<{ a: string; u: string; e: string }>(
      `SELECT anonymous_id AS a, user_id AS u, email_hash AS e FROM touchline.identity_links
         WHERE anonymous_id IN {a:Array(String)} OR user_id IN {u:Array(String)} OR email_hash IN {e:Array(String)}
       UNION ALL
       SELECT anonymous_id AS a, user_id AS u, '' AS e FROM touchline.touchpoints
         WHERE anonymous_id != '' AND user_id != '' AND (anonymous_id IN {a:Array(String)} OR user_id IN {u:Array(String)})
       UNION ALL
       SELECT anonymous_id AS a, user_id AS u, '' AS e FROM touchline.conversions
         WHERE anonymous_id != '' AND user_id != '' AND (anonymous_id IN {a:Array(String)} OR user_id IN {u:Array(String)})`,
      params,
    );
    for (const r of rows) {
      if (r.a) ids.anonymousIds.add(r.a);
      if (r.u) ids.userIds.add(r.u);
      if (r.e) ids.emailHashes.add(r.e);
    }
    const after = ids.anonymousIds.size + ids.userIds.size + ids.emailHashes.size;
    if (after === before) return;
    if (after > MAX_IDS) {
      logger.warn({ ids: after }, 'privacy delete: the person links to unusually many ids; not widening further');
      return;
    }
  }
}

const ts = (ms: number) => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');

async function eraseFromWarehouse(wh: Warehouse, ids: Ids, requestId: string, now: () => number) {
  const a = [...ids.anonymousIds];
  const u = [...ids.userIds];
  const e = [...ids.emailHashes];
  const persons = [...a.map((x) => `a:${x}`), ...u.map((x) => `u:${x}`), ...e.map((x) => `e:${x}`)];
  const byId = `(anonymous_id IN {a:Array(String)} OR user_id IN {u:Array(String)})`;
  // Dead letters keep refused payloads as text; the ids appear there as JSON strings.
  const needles = [...a, ...u, ...e].map((x) => JSON.stringify(x));
  const where: Record<string, string> = {
    'touchline.touchpoints': byId,
    'touchline.conversions': byId,
    'touchline.identity_links': `(${byId} OR linked_anonymous_id IN {a:Array(String)} OR email_hash IN {e:Array(String)})`,
    'touchline.deadletter': `arrayExists(n -> position(payload, n) > 0, {n:Array(String)})`,
  };
  const params = { a, u, e, n: needles, p: persons };

  const conversions = await wh.query<{ c: string }>(`SELECT DISTINCT conversion_id AS c FROM touchline.conversions WHERE ${byId}`, params);
  const c = conversions.map((r) => r.c);
  const creditWhere = `(conversion_id IN {c:Array(String)} OR person_id IN {p:Array(String)})`;
  const credited = await wh.query<{ conversion_id: string; model: string; v: string | number; cts: string }>(
    `SELECT conversion_id, model, max(version) AS v, any(conversion_ts) AS cts FROM touchline.credits
     WHERE ${creditWhere} GROUP BY conversion_id, model`,
    { ...params, c },
  );

  const deletedRows: Record<string, number> = {};
  for (const [table, w] of Object.entries(where)) {
    const [row] = await wh.query<{ n: string | number }>(`SELECT count() AS n FROM ${table} WHERE ${w}`, params);
    deletedRows[table.replace('touchline.', '')] = Number(row?.n ?? 0);
    if (Number(row?.n ?? 0) > 0) {
      await wh.client.command({ query: `ALTER TABLE ${table} DELETE WHERE ${w} SETTINGS mutations_sync = 2`, query_params: params });
    }
  }

  if (credited.length > 0) {
    const nowMs = now();
    const micros = nowMs * 1000;
    const rows = credited.map((r) => ({
      conversion_id: r.conversion_id,
      model: r.model,
      // Newer than every credit of the conversion so far, also when the clocks disagree.
      version: Math.max(micros, Number(r.v) + 1),
      touchpoint_id: '',
      channel: '',
      campaign: '',
      touch_ts: r.cts,
      conversion_ts: r.cts,
      conversion_name: '',
      person_id: '',
      weight: 0,
      value: 0,
      currency: '',
      retracted: 1,
      computed_at: ts(nowMs),
      // Not from a topic: outside every range the warehouse sink tracks.
      src_topic: '',
      src_partition: 0,
      src_offset: 0,
    }));
    await wh.insertRows('touchline.credits', rows, `privacy-retract-${requestId}`);
    const [row] = await wh.query<{ n: string | number }>(`SELECT count() AS n FROM touchline.credits WHERE ${creditWhere} AND retracted = 0`, { ...params, c });
    deletedRows.credits = Number(row?.n ?? 0);
    if (deletedRows.credits > 0) {
      await wh.client.command({
        query: `ALTER TABLE touchline.credits DELETE WHERE ${creditWhere} AND retracted = 0 SETTINGS mutations_sync = 2`,
        query_params: { ...params, c },
      });
    }
  }
  return { deletedRows, retractedConversions: new Set(credited.map((r) => r.conversion_id)).size };
}
