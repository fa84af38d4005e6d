/**
 * Issue 11, finding 8 (HTTP parts): input read strictly.
 *
 * - Basic credentials: Node's base64 decoder skips junk, so `<key>!!`, a key with a space in it or with non-zero pad
 *   bits was accepted as the key. Only canonical base64 is now.
 * - Deeply nested JSON parsed, then overflowed the stack of whatever walked it: 500. Now 400 "The request content
 *   was malformed" (deeper than 128 levels), on every route that reads JSON and on web actions.
 * - `publish: "false"` was stored as `true` (`Boolean("false")`). A boolean field must now be a boolean.
 * - `timeout=0x10` was read as 16 (`Number()`); integer query parameters must now be decimal digits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandalone, type Standalone } from '../../src/index';
import { rejection } from '../helpers/engine';
import { call } from './http-client';

const AUTH = 'strict-input-uuid:' + 'abcd'.repeat(16);
const TOKEN = Buffer.from(AUTH).toString('base64');
const MALFORMED = /^The request content was malformed:\n/;
const api = (rest: string): string => `/api/v1/namespaces/_/${rest}`;

let server: Standalone;

beforeAll(async () => {
  server = await startStandalone({ port: 0, auth: AUTH, engine: { prewarmCount: 0 } });
  await server.engine.actions.create({ name: 'echo', action: 'function main(p) { return { body: { n: Object.keys(p).length } }; }', annotations: { 'web-export': true } });
  await server.engine.triggers.create({ name: 'tick' });
});

afterAll(async () => {
  await server?.close();
});

describe('Basic credentials are canonical base64 or nothing', () => {
  // Each of these decodes, with Node's lenient decoder, to exactly the key's bytes.
  const bad: [string, string][] = [
    ['junk appended', `Basic ${TOKEN}!!`],
    ['junk inside', `Basic ${TOKEN.slice(0, 20)}*${TOKEN.slice(20)}`],
    ['a space inside', `Basic ${TOKEN.slice(0, 20)} ${TOKEN.slice(20)}`],
    ['padding appended', `Basic ${TOKEN}==`],
    ['percent-encoding appended', `Basic ${TOKEN}%0A`],
    ['two spaces after the scheme', `Basic  ${TOKEN}`],
  ];
  it.each(bad)('refuses %s with 401', async (_name, header) => {
    const reply = await call(server.url, 'GET', api('actions'), { headers: { Authorization: header } });
    expect(reply.status).toBe(401);
    expect(reply.json().error).toBe('The supplied authentication is invalid.');
  });

  it('refuses the url-safe alphabet and non-zero pad bits (other spellings of the same bytes)', async () => {
    const key = 'u:k?>?1';
    const canonical = Buffer.from(key).toString('base64'); // dTprPz4/MQ==: a '/', and 4 pad bits in the 'Q'
    const urlSafe = canonical.replace(/\//g, '_').replace(/\+/g, '-');
    const padBits = `${canonical.slice(0, -3)}${String.fromCharCode(canonical.charCodeAt(canonical.length - 3) + 1)}==`;
    for (const variant of [urlSafe, padBits]) {
      expect(variant).not.toBe(canonical);
      expect(Buffer.from(variant, 'base64').toString()).toBe(key);
    }
    const local = await startStandalone({ port: 0, auth: key, engine: { prewarmCount: 0 } });
    try {
      expect((await call(local.url, 'GET', api('actions'), { headers: { Authorization: `Basic ${canonical}` } })).status).toBe(200);
      expect((await call(local.url, 'GET', api('actions'), { headers: { Authorization: `Basic ${urlSafe}` } })).status).toBe(401);
      expect((await call(local.url, 'GET', api('actions'), { headers: { Authorization: `Basic ${padBits}` } })).status).toBe(401);
    } finally {
      await local.close();
    }
  });

  it('accepts the key itself, with the scheme in any case', async () => {
    for (const scheme of ['Basic', 'basic', 'BASIC']) {
      expect((await call(server.url, 'GET', api('actions'), { headers: { Authorization: `${scheme} ${TOKEN}` } })).status).toBe(200);
    }
  });

  it('applies the same reading to web actions that require the key', async () => {
    await server.engine.actions.create({ name: 'guarded', action: 'function main() { return { body: "in" }; }', annotations: { 'web-export': true, 'require-whisk-auth': true } });
    expect((await call(server.url, 'GET', '/api/v1/web/guest/default/guarded.http', { headers: { Authorization: `Basic ${TOKEN}!!` } })).status).toBe(401);
    expect((await call(server.url, 'GET', '/api/v1/web/guest/default/guarded.http', { headers: { Authorization: `Basic ${TOKEN}` } })).text).toBe('in');
  });
});

describe('deeply nested JSON is malformed, not a 500', () => {
  const nested = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const deep = nested(100_000);
  const cases: [string, string, string, string][] = [
    ['an invoke payload', 'POST', api('actions/echo?blocking=true'), deep],
    ['an action PUT', 'PUT', api('actions/deep'), `{"exec":{"kind":"nodejs:default","code":"function main() {}"},"parameters":[{"key":"p","value":${deep}}]}`],
    ['a trigger fire', 'POST', api('triggers/tick'), deep],
    ['an array payload', 'POST', api('actions/echo?blocking=true'), `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
  ];
  it.each(cases)('answers 400 on %s', async (_name, method, path, body) => {
    const reply = await call(server.url, method, path, { auth: AUTH, body });
    expect(reply.status, reply.text).toBe(400);
    expect(reply.json().error).toMatch(MALFORMED);
    expect(reply.json().error).toContain('nested deeper than 128 levels');
  });

  it('answers 400 on a web action JSON body', async () => {
    const reply = await call(server.url, 'POST', '/api/v1/web/guest/default/echo.json', { body: deep });
    expect(reply.status).toBe(400);
    expect(reply.json().error).toMatch(MALFORMED);
  });

  it('accepts 128 levels', async () => {
    const reply = await call(server.url, 'POST', api('actions/echo?blocking=true&result=true'), { auth: AUTH, body: nested(127) });
    expect(reply.status, reply.text).toBe(200);
  });

  it('keeps serving', async () => {
    expect((await call(server.url, 'GET', '/api/v1/web/guest/default/echo.json?x=1')).json()).toEqual({ body: { n: 4 } });
  });
});

describe('a boolean field is a boolean', () => {
  const exec = { kind: 'nodejs:default', code: 'function main() { return {}; }' };
  for (const [collection, body] of [
    ['actions', { exec }],
    ['triggers', {}],
    ['packages', {}],
  ] as const) {
    it(`refuses publish: "false" on a ${collection} PUT with 400, and stores nothing`, async () => {
      const reply = await call(server.url, 'PUT', api(`${collection}/published`), { auth: AUTH, body: JSON.stringify({ ...body, publish: 'false' }) });
      expect(reply.status).toBe(400);
      expect(reply.json().error).toBe(`The request content was malformed: 'publish' must be a boolean, got "false".`);
      expect((await call(server.url, 'GET', api(`${collection}/published`), { auth: AUTH })).status).toBe(404);
    });

    it(`stores publish: false as false on a ${collection} PUT`, async () => {
      const reply = await call(server.url, 'PUT', api(`${collection}/unpublished-${collection}`), { auth: AUTH, body: JSON.stringify({ ...body, publish: false }) });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json().publish).toBe(false);
    });
  }

  it('refuses publish: "false" through the engine API too', async () => {
    const error = await rejection(() => server.engine.actions.create({ name: 'api-published', action: 'function main() {}', publish: 'false' as unknown as boolean }));
    expect(error.code).toBe('EW_FIELD_TYPE');
    expect(error.statusCode).toBe(400);
    expect((await server.engine.actions.create({ name: 'api-published', action: 'function main() {}', publish: true }))['publish']).toBe(true);
  });
});

describe('integer query parameters are decimal digits', () => {
  it.each(['0x10', '1e3', '%2B16', '%2016', '16.0', '0b1', ''])("refuses ?timeout=%s with OpenWhisk's 400", async (value) => {
    const reply = await call(server.url, 'POST', api(`actions/echo?blocking=true&timeout=${value}`), { auth: AUTH, body: '{}' });
    expect(reply.status).toBe(400);
    expect(reply.json().error).toBe('Timeout must be number of milliseconds up to 60000.');
  });

  it('takes ?timeout=16', async () => {
    const reply = await call(server.url, 'POST', api('actions/echo?timeout=16'), { auth: AUTH, body: '{}' });
    expect(reply.status).toBe(202);
  });

  it.each(['0x10', '1e1', '%2010', '%2B5'])('refuses ?limit=%s (and ?skip) on a list', async (value) => {
    const limit = await call(server.url, 'GET', api(`actions?limit=${value}`), { auth: AUTH });
    expect(limit.status).toBe(400);
    expect(limit.json().error).toBe(`The value '${decodeURIComponent(value)}' is not an integer for actions.`);
    expect((await call(server.url, 'GET', api(`activations?skip=${value}`), { auth: AUTH })).status).toBe(400);
  });

  it.each(['0x10', '1e12', '%201'])('refuses ?since=%s on the activation list', async (value) => {
    const reply = await call(server.url, 'GET', api(`activations?since=${value}`), { auth: AUTH });
    expect(reply.status).toBe(400);
    expect(reply.json().error).toBe(`Parameter is not a valid value for epoch seconds: ${decodeURIComponent(value)}`);
  });

  it('takes decimal limit, skip, since and upto', async () => {
    const reply = await call(server.url, 'GET', api(`activations?limit=5&skip=0&since=0&upto=${Date.now()}`), { auth: AUTH });
    expect(reply.status).toBe(200);
  });
});
