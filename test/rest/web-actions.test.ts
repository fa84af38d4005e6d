import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandalone, type Standalone } from '../../src/index';

const AUTH = 'web-test-uuid:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
let server: Standalone;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): any;
}

function call(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...(body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) }), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const data = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data, json: () => JSON.parse(data.toString('utf8')) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function define(name: string, code: string, annotations: Record<string, unknown> = { 'web-export': true }, params?: Record<string, unknown>): Promise<void> {
  await server.engine.actions.create({ name, action: code, annotations, overwrite: true, ...(params === undefined ? {} : { params }) });
}

beforeAll(async () => {
  server = await startStandalone({ port: 0, auth: AUTH, engine: { prewarmCount: 0 } });
  await define('echo', 'function main(p) { return { body: p }; }');
  await define('page', 'function main(p) { return { html: "<h1>Hello " + (p.name || "web") + "</h1>" }; }');
  await define('json', 'function main(p) { return { name: p.name, n: Number(p.n) }; }');
  await define('custom', 'function main(p) { return { statusCode: 201, headers: { "X-Edge": "whisk", "Set-Cookie": ["a=1", "b=2"] }, body: { created: true } }; }');
  await define('png', 'function main() { return { headers: { "Content-Type": "image/png" }, body: Buffer.from([137, 80, 78, 71]).toString("base64") }; }');
  await define('empty', 'function main() { return {}; }');
  await define('hidden', 'function main() { return { secret: true }; }', {});
  await define('guarded', 'function main(p) { return { body: { user: p.__ow_user } }; }', { 'web-export': true, 'require-whisk-auth': true });
  await define('token', 'function main() { return { body: "ok" }; }', { 'web-export': true, 'require-whisk-auth': 's3cret' });
  await define('raw', 'function main(p) { return { body: { q: p.__ow_query, b: p.__ow_body } }; }', { 'web-export': true, 'raw-http': true });
  await define('teapot', 'async function main() { throw { statusCode: 418, body: "short and stout" }; }');
  await define('fixed', 'function main(p) { return { body: p.unit }; }', { 'web-export': true }, { unit: 'C' });
});

afterAll(async () => {
  await server.close();
});

describe('web actions over HTTP', () => {
  it('passes the HTTP context and merges query and JSON body (body wins)', async () => {
    const reply = await call('POST', '/api/v1/web/_/default/echo.http/some/path?a=1&b=query', JSON.stringify({ b: 'body', c: 3 }), { 'Content-Type': 'application/json', 'X-Thing': 'yes' });
    expect(reply.status).toBe(200);
    const p = reply.json();
    expect(p).toMatchObject({ a: '1', b: 'body', c: 3, __ow_method: 'post', __ow_path: '/some/path' });
    expect(p.__ow_headers['x-thing']).toBe('yes');
    expect(reply.headers['x-openwhisk-activation-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('projects .html, .json and .http results', async () => {
    const html = await call('GET', '/api/v1/web/guest/default/page.html?name=edge');
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.body.toString()).toBe('<h1>Hello edge</h1>');
    const json = await call('GET', '/api/v1/web/_/default/json.json?name=x&n=2');
    expect(json.json()).toMatchObject({ name: 'x', n: 2 });
    const custom = await call('GET', '/api/v1/web/_/default/custom');
    expect(custom.status).toBe(201);
    expect(custom.headers['x-edge']).toBe('whisk');
    expect(custom.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(custom.json()).toEqual({ created: true });
  });

  it('decodes base64 bodies of binary content types and answers 204 for an empty body', async () => {
    const png = await call('GET', '/api/v1/web/_/default/png.http');
    expect(png.headers['content-type']).toBe('image/png');
    expect([...png.body]).toEqual([137, 80, 78, 71]);
    expect((await call('GET', '/api/v1/web/_/default/empty.http')).status).toBe(204);
  });

  it('projects an application error as the response it describes', async () => {
    const reply = await call('GET', '/api/v1/web/_/default/teapot.http');
    expect(reply.status).toBe(418);
    expect(reply.body.toString()).toBe('short and stout');
  });

  it('answers OPTIONS with CORS headers', async () => {
    const reply = await call('OPTIONS', '/api/v1/web/_/default/echo.http', undefined, { 'Access-Control-Request-Headers': 'X-Custom' });
    expect(reply.status).toBe(200);
    expect(reply.headers['access-control-allow-origin']).toBe('*');
    expect(reply.headers['access-control-allow-methods']).toBe('OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH');
    expect(reply.headers['access-control-allow-headers']).toBe('X-Custom');
  });

  it('hides actions that are not web-exported and refuses reserved or final parameters', async () => {
    expect((await call('GET', '/api/v1/web/_/default/hidden.json')).status).toBe(404);
    expect((await call('GET', '/api/v1/web/_/default/nothing.json')).status).toBe(404);
    const reserved = await call('GET', '/api/v1/web/_/default/echo.http?__ow_user=admin');
    expect(reserved.status).toBe(400);
    expect(reserved.json().error).toBe('Request defines parameters that are not allowed (e.g., reserved properties).');
    const final = await call('GET', '/api/v1/web/_/default/fixed.http?unit=F');
    expect(final.status).toBe(400);
    expect(final.json().error).toBe('Request defines parameters that are not allowed (e.g., reserved properties).');
  });

  it('enforces require-whisk-auth with credentials or the X-Require-Whisk-Auth header', async () => {
    expect((await call('GET', '/api/v1/web/_/default/guarded.http')).status).toBe(401);
    const ok = await call('GET', '/api/v1/web/_/default/guarded.http', undefined, { Authorization: `Basic ${Buffer.from(AUTH).toString('base64')}` });
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ user: 'guest' });
    expect((await call('GET', '/api/v1/web/_/default/token.http', undefined, { 'X-Require-Whisk-Auth': 'wrong' })).status).toBe(401);
    expect((await call('GET', '/api/v1/web/_/default/token.http', undefined, { 'X-Require-Whisk-Auth': 's3cret' })).body.toString()).toBe('ok');
  });

  it('passes the raw query and body under raw-http', async () => {
    const reply = await call('POST', '/api/v1/web/_/default/raw.http?x=1&y=2', 'plain words', { 'Content-Type': 'text/plain' });
    expect(reply.json()).toEqual({ q: 'x=1&y=2', b: 'plain words' });
  });
});
