/**
 * Issue 11, finding 1: the standalone server's connection limits. Before, `edgewhisk serve` ran with Node's
 * defaults: 60 s to send the headers (checked every 30 s), 300 s for a request, keep-alive connections idle for
 * 65 s, and no cap on connections, so a few hundred clients sending a byte now and then held the server's sockets.
 *
 * Here the limits are small (headers 500 ms, request 1.5 s, keep-alive 1 s, 8 connections) so that each can be
 * watched taking effect; the defaults are in DEFAULTS (`httpHeadersTimeout`, …).
 */
import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, startStandalone, type Standalone } from '../../src/index';
import { call, RawConnection } from './http-client';

const AUTH = 'server-limits-uuid:' + 'feed'.repeat(16);
const LIMITS = { httpHeadersTimeout: 500, httpRequestTimeout: 1500, httpKeepAliveTimeout: 1000, httpMaxConnections: 8 };

let server: Standalone;
let port: number;

beforeAll(async () => {
  server = await startStandalone({ port: 0, auth: AUTH, engine: { prewarmCount: 0, ...LIMITS } });
  port = Number(new URL(server.url).port);
  await server.engine.actions.create({ name: 'slow', action: 'function main() { return new Promise((r) => setTimeout(() => r({ done: true }), 2500)); }' });
});

afterAll(async () => {
  await server?.close();
});

describe('the standalone server', () => {
  it('takes its limits from the engine options', () => {
    expect(server.server.headersTimeout).toBe(500);
    expect(server.server.requestTimeout).toBe(1500);
    expect(server.server.keepAliveTimeout).toBe(1000);
    expect(server.server.maxConnections).toBe(8);
  });

  it('closes a connection whose client never finishes its headers (408), after the header timeout', async () => {
    const client = new RawConnection(port);
    await client.connected();
    client.write('GET /api/v1/namespaces HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    const trickle = setInterval(() => client.write('a'), 100);
    try {
      const after = await client.closed;
      // Node answers 408 and closes; the check runs every 125 ms here (a quarter of the timeout).
      expect(after).toBeGreaterThanOrEqual(400);
      expect(after).toBeLessThan(3000);
      expect(client.data).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(trickle);
      client.destroy();
    }
  });

  it('closes a connection whose body trickles in for longer than the request timeout', async () => {
    const client = new RawConnection(port);
    await client.connected();
    const auth = Buffer.from(AUTH).toString('base64');
    client.write(`POST /api/v1/namespaces/_/actions/slow HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic ${auth}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":"`);
    const trickle = setInterval(() => client.write('a'), 100);
    try {
      const after = await client.closed;
      expect(after).toBeGreaterThanOrEqual(1400);
      expect(after).toBeLessThan(5000);
    } finally {
      clearInterval(trickle);
      client.destroy();
    }
  });

  it('still answers a blocking invoke that waits longer than the request timeout (the request itself was complete)', async () => {
    const reply = await call(server.url, 'POST', '/api/v1/namespaces/_/actions/slow?blocking=true&result=true', { auth: AUTH, body: '{}' });
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({ done: true });
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const client = new RawConnection(port);
    await client.connected();
    client.write('GET /api/v1/namespaces HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    await client.until((d) => d.includes('\r\n\r\n'));
    const answered = Date.now();
    await client.closed;
    // Node adds a second of grace to the advertised timeout (server.keepAliveTimeoutBuffer).
    expect(Date.now() - answered).toBeLessThan(4000);
    expect(client.data).toMatch(/Keep-Alive: timeout=1/i);
  });

  it('refuses connections past the connection cap, and serves again once they are gone', async () => {
    const held = Array.from({ length: 8 }, () => new RawConnection(port));
    try {
      await Promise.all(held.map((c) => c.connected()));
      // Give the server time to accept all eight before the ninth.
      await new Promise((r) => setTimeout(r, 100));
      const ninth = new RawConnection(port);
      ninth.write('GET /api/v1/namespaces HTTP/1.1\r\nHost: localhost\r\n\r\n');
      const closedAfter = await ninth.closed;
      expect(closedAfter).toBeLessThan(400);
      expect(ninth.data).toBe('');
    } finally {
      for (const c of held) c.destroy();
    }
    await new Promise((r) => setTimeout(r, 100));
    const agent = new Agent({ keepAlive: false });
    const reply = await call(server.url, 'GET', '/api/v1/namespaces', { auth: AUTH, agent });
    expect(reply.status).toBe(200);
  });
});

describe('the limits as options', () => {
  it.each([
    [{ webInvocationShare: 1.5 }, /`webInvocationShare` to be a number from 0 to 1/],
    [{ webInvocationShare: -0.1 }, /`webInvocationShare` to be a number from 0 to 1/],
    [{ httpBodyBudget: 1_000_000 }, /`httpBodyBudget` to hold the largest request body \(codeLimit \+ 1048576, or payloadLimit: 51380224\)/],
    [{ httpBodyBudget: 60_000_000, payloadLimit: 70_000_000 }, /`httpBodyBudget` to hold the largest request body \(.*: 70000000\)/],
    [{ httpHeadersTimeout: 5000, httpRequestTimeout: 1000 }, /`httpHeadersTimeout` to be at most `httpRequestTimeout` \(1000\)/],
    [{ httpMaxConnections: 0 }, /`httpMaxConnections` to be a positive integer/],
  ])('refuses %o with a TypeError naming the option', (options, message) => {
    expect(() => createEngine({ prewarmCount: 0, ...options })).toThrow(message);
  });
});
