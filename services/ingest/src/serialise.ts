import type { TouchpointMessage } from '@touchline/contracts';

/**
 * `JSON.stringify` of a touchpoint message, byte for byte, about a third faster: the keys are
 * known, so only the values are written, and most strings need no escaping at all. Touchpoints are
 * most of the traffic and stringifying them was the largest single cost of an event.
 * `test/serialise.test.ts` holds it to JSON.stringify on generated messages.
 */
// Control characters are exactly what must not appear unescaped in a JSON string.
// eslint-disable-next-line no-control-regex
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

function str(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/**
 * Where the holdout tagger keeps an arms object's JSON: arms objects are shared by the messages of
 * one id and never change, so each is written once (JSON.stringify skips symbol keys).
 */
export const ARMS_JSON: unique symbol = Symbol('armsJson');

function armsJson(arms: object): string {
  return (arms as { [ARMS_JSON]?: string })[ARMS_JSON] ?? JSON.stringify(arms);
}

/** The fields of a touchpoint decided by its channel, campaign and page. */
export type PageFields = Pick<TouchpointMessage, 'channel' | 'source' | 'medium' | 'campaign' | 'content' | 'term' | 'clickId' | 'clickIdType' | 'url' | 'referrer'>;

/**
 * Those fields as they appear in a touchpoint's JSON, from `,"channel":` to the referrer's value.
 * Many touches share them (see the page memo in `normalise.ts`), so they can be written once.
 */
export function pageJson(f: PageFields): string {
  return (
    `,"channel":${str(f.channel)},"source":${str(f.source)},"medium":${str(f.medium)},"campaign":${str(f.campaign)}` +
    `,"content":${str(f.content)},"term":${str(f.term)},"clickId":${str(f.clickId)},"clickIdType":${str(f.clickIdType)}` +
    `,"url":${str(f.url)},"referrer":${str(f.referrer)}`
  );
}

/** `page`: `pageJson` of this message's page fields, when the caller has it already. */
export function touchpointJson(m: TouchpointMessage, page?: string): string {
  if (!Number.isFinite(m.timestamp) || !Number.isFinite(m.receivedAt) || !Number.isFinite(m.cost)) return JSON.stringify(m);
  return (
    `{"v":1,"kind":"touchpoint","messageId":${str(m.messageId)}` +
    (m.anonymousId !== undefined ? `,"anonymousId":${str(m.anonymousId)}` : '') +
    (m.userId !== undefined ? `,"userId":${str(m.userId)}` : '') +
    `,"timestamp":${m.timestamp},"receivedAt":${m.receivedAt},"interaction":${str(m.interaction)}` +
    (page ?? pageJson(m)) +
    `,"cost":${m.cost},"consent":${m.consent}` +
    `,"ip":${str(m.ip)},"userAgent":${str(m.userAgent)},"bot":${m.bot}` +
    (m.arms !== undefined ? `,"arms":${armsJson(m.arms)}}` : '}')
  );
}
