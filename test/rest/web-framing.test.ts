/**
 * Issue 11, finding 8 (HTTP parts): a web action chooses its status, headers and body, not the message framing.
 *
 * Before, a `.http` result's headers went to the wire as given: `transfer-encoding: chunked` next to the server's
 * Content-Length (a proxy in front and the client then disagree on where the response ends: response splitting),
 * `connection: close`, a 101 that switched nothing, and a body plus a Content-Length on 204 and 304, which must have
 * none, so the next response on a kept connection was read from the middle of the body. Each is checked here on a raw
 * socket, with a second request pipelined behind it to show the connection is still in step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandalone, type Standalone } from '../../src/index';
import { call, parseResponses, RawConnection } from './http-client';

const AUTH = 'web-framing-uuid:' + '0bad'.repeat(16);

let server: Standalone;
let port: number;

const result = (value: unknown): string => `function main() { return ${JSON.stringify(value)}; }`;

async function define(name: string, value: unknown): Promise<void> {
  await server.engine.actions.create({ name, action: result(value), annotations: { 'web-export': true }, overwrite: true });
}

/** Sends `GET path` and then `GET /…/ping.http` on one connection; returns both responses as read off the wire. */
async function pipelined(path: string): Promise<ReturnType<typeof parseResponses>> {
  const client = new RawConnection(port);
  try {
    client.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\nGET /api/v1/web/guest/default/ping.http HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    await client.until((d) => d.includes('pong'));
    return parseResponses(client.data);
  } finally {
    client.destroy();
  }
}

const header = (response: { headers: [string, string][] }, name: string): string[] => response.headers.filter(([k]) => k === name).map(([, v]) => v);

beforeAll(async () => {
  server = await startStandalone({ port: 0, auth: AUTH, engine: { prewarmCount: 0 } });
  port = Number(new URL(server.url).port);
  await define('ping', { body: 'pong' });
});

afterAll(async () => {
  await server?.close();
});

describe('framing headers from a web action result', () => {
  it('drops Transfer-Encoding, Content-Length and hop-by-hop headers; the server frames the body', async () => {
    await define('framing', {
      headers: { 'transfer-encoding': 'chunked', 'content-length': '5', connection: 'close', upgrade: 'h2c', 'keep-alive': 'timeout=999', 'x-kept': 'yes' },
      body: 'hello, world',
    });
    const [first, second] = await pipelined('/api/v1/web/guest/default/framing.http');
    expect(first?.status).toBe(200);
    expect(header(first!, 'transfer-encoding')).toEqual([]);
    expect(header(first!, 'content-length')).toEqual(['12']);
    expect(header(first!, 'upgrade')).toEqual([]);
    expect(header(first!, 'connection')).not.toContain('close');
    expect(header(first!, 'keep-alive')).not.toContain('timeout=999');
    expect(header(first!, 'x-kept')).toEqual(['yes']);
    expect(first?.body).toBe('hello, world');
    // The connection is still in step: the pipelined request got its own answer.
    expect(second).toMatchObject({ status: 200, body: 'pong' });
  });

  it('drops a header whose value would split the response, instead of failing it', async () => {
    await define('splitting', { headers: { 'x-evil': 'a\r\nSet-Cookie: session=stolen', 'x-fine': 'ok' }, body: 'safe' });
    const [first, second] = await pipelined('/api/v1/web/guest/default/splitting.http');
    expect(first?.status).toBe(200);
    expect(header(first!, 'set-cookie')).toEqual([]);
    expect(header(first!, 'x-evil')).toEqual([]);
    expect(header(first!, 'x-fine')).toEqual(['ok']);
    expect(first?.body).toBe('safe');
    expect(second).toMatchObject({ status: 200, body: 'pong' });
  });
});

describe('statuses from a web action result', () => {
  for (const status of [204, 304]) {
    it(`sends no body and no Content-Length with ${status}, and the next response is read in step`, async () => {
      await define(`status-${status}`, { statusCode: status, headers: { 'content-length': '11' }, body: 'not allowed' });
      const client = new RawConnection(port);
      try {
        client.write(`GET /api/v1/web/guest/default/status-${status}.http HTTP/1.1\r\nHost: localhost\r\n\r\nGET /api/v1/web/guest/default/ping.http HTTP/1.1\r\nHost: localhost\r\n\r\n`);
        await client.until((d) => d.includes('pong'));
        expect(client.data).not.toContain('not allowed');
        const head = client.data.slice(0, client.data.indexOf('\r\n\r\n'));
        expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
        expect(head.toLowerCase()).not.toContain('content-length');
        // The second response starts right after the first one's headers.
        expect(client.data.slice(head.length + 4)).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      } finally {
        client.destroy();
      }
    });
  }

  it.each([
    ['101', 101],
    ['100', 100],
    ['99', 99],
    ['600', 600],
    ['200.5', 200.5],
    ['"abc"', 'abc'],
    ['null', null],
  ])("answers statusCode %s with 400 \"Response is not valid 'message/http'.\"", async (_name, statusCode) => {
    await define('bad-status', { statusCode, body: 'x' });
    const reply = await call(server.url, 'GET', '/api/v1/web/guest/default/bad-status.http');
    expect(reply.status).toBe(400);
    expect(reply.json()).toEqual({ error: "Response is not valid 'message/http'." });
  });

  it('takes a numeric string statusCode, as OpenWhisk does', async () => {
    await define('string-status', { statusCode: '404', body: 'gone' });
    const reply = await call(server.url, 'GET', '/api/v1/web/guest/default/string-status.http');
    expect(reply.status).toBe(404);
    expect(reply.text).toBe('gone');
  });

  it('answers HEAD with the GET headers and no body', async () => {
    const client = new RawConnection(port);
    try {
      client.write('HEAD /api/v1/web/guest/default/ping.http HTTP/1.1\r\nHost: localhost\r\n\r\nGET /api/v1/web/guest/default/ping.http HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await client.until((d) => d.includes('pong'));
      const head = client.data.slice(0, client.data.indexOf('\r\n\r\n'));
      expect(head.toLowerCase()).toContain('content-length: 4');
      expect(client.data.slice(head.length + 4)).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    } finally {
      client.destroy();
    }
  });
});
