import { describe, expect, it } from 'vitest';
import type { TouchpointMessage } from '@touchline/contracts';
import { pageJson, touchpointJson } from '../src/serialise.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const rand = rng(7);
const PIECES = ['plain', '', ' ', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '€', '😀', '\ud83d', '\ude00', '\u2028', '</script>', "it's", 'a"b\\c'];
const text = () => Array.from({ length: Math.floor(rand() * 4) }, () => PIECES[Math.floor(rand() * PIECES.length)]).join('');
const num = () => [0, -0, 1.5, 1e21, 1e-7, 1_795_305_600_000, 123456789.123, Number.MAX_SAFE_INTEGER][Math.floor(rand() * 8)]!;

describe('touchpointJson', () => {
  it('writes exactly what JSON.stringify writes', () => {
    for (let i = 0; i < 20_000; i++) {
      const m: TouchpointMessage = {
        v: 1,
        kind: 'touchpoint',
        messageId: text(),
        anonymousId: rand() < 0.3 ? undefined : text(),
        userId: rand() < 0.5 ? undefined : text(),
        timestamp: num(),
        receivedAt: num(),
        interaction: 'click',
        channel: text(),
        source: text(),
        medium: text(),
        campaign: text(),
        content: text(),
        term: text(),
        clickId: text(),
        clickIdType: text(),
        url: text(),
        referrer: text(),
        cost: num(),
        consent: rand() < 0.5,
        ip: text(),
        userAgent: text(),
        bot: rand() < 0.5,
      };
      expect(touchpointJson(m), JSON.stringify(m)).toBe(JSON.stringify(m));
      // With the page fields written beforehand, as memoised pages are.
      expect(touchpointJson(m, pageJson(m))).toBe(JSON.stringify(m));
    }
  });

  it('falls back to JSON.stringify for numbers JSON cannot hold', () => {
    const m = { v: 1, kind: 'touchpoint', messageId: 'm', timestamp: NaN, receivedAt: 1, interaction: 'visit', channel: '', source: '', medium: '', campaign: '', content: '', term: '', clickId: '', clickIdType: '', url: '', referrer: '', cost: Infinity, consent: true, ip: '', userAgent: '', bot: false } as TouchpointMessage;
    expect(touchpointJson(m)).toBe(JSON.stringify(m));
  });
});
