import { describe, expect, it } from 'vitest';
import { parseJson } from '../src/batch.js';

/**
 * The body parser refuses keys that could poison prototypes (as fastify's secure-json-parse does),
 * however they are spelled, and parses everything else exactly like JSON.parse.
 */
describe('parseJson', () => {
  it('refuses a __proto__ key, also \\u-escaped, at any depth', () => {
    expect(() => parseJson('{"batch":[{"__proto__":{"admin":true}}]}')).toThrow('body: a "__proto__" key is not allowed');
    expect(() => parseJson('{"batch":[{"\\u005f_proto__":{"admin":true}}]}')).toThrow('body: a "__proto__" key is not allowed');
    expect(() => parseJson('{"__proto__":1}')).toThrow('body: a "__proto__" key is not allowed');
  });

  it('refuses constructor.prototype, also \\u-escaped', () => {
    expect(() => parseJson('{"batch":[{"constructor":{"prototype":{"admin":true}}}]}')).toThrow('body: a "constructor.prototype" key is not allowed');
    expect(() => parseJson('{"batch":[{"constr\\u0075ctor":{"prototype":{}}}]}')).toThrow('body: a "constructor.prototype" key is not allowed');
  });

  it('accepts those words as values, a constructor key without a prototype, and other escapes', () => {
    const texts = [
      '{"batch":[{"type":"touch","url":"https://x.example/?q=__proto__&r=constructor"}]}',
      '{"batch":[{"constructor":{"name":"x"}}]}',
      '{"batch":[{"name":"caf\\u00e9"}]}',
      '{"batch":[{"type":"touch","anonymousId":"a1"}]}',
    ];
    for (const t of texts) expect(parseJson(t)).toEqual(JSON.parse(t));
  });

  it('says where invalid JSON breaks, and that an empty body is empty', () => {
    expect(() => parseJson('{"batch":[}')).toThrow(/^body is not valid JSON( at position \d+)?$/);
    expect(() => parseJson('')).toThrow('body is empty: send a JSON object');
  });
});
