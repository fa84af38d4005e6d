/**
 * The engine's keep-alive connection to a proxy: a proxy may close an idle connection just as the engine picks it
 * for the next request (Node.js servers close idle ones after 5 s). That request used to fail as if the proxy had
 * died, and the activation waited for its time limit. It is now sent again on a new connection. A real HTTP server
 * on 127.0.0.1 stands in for the proxy, dropping every connection's second request unread.
 */
import { Agent, createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson } from '../../src/runtimes/proxy-client/post-json';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe('proxy client: a kept-alive connection the proxy closed', () => {
  it('sends the request again on a new connection, once, instead of failing it', async () => {
    const served = new WeakMap<Socket, number>();
    let handled = 0;
    server = createServer((req, res) => {
      const count = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, count);
      if (count > 1) {
        // The close racing the next request: it is dropped unread.
        req.socket.destroy();
        return;
      }
      handled++;
      req.resume();
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 2 }).end('{}'));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = { port: (server.address() as AddressInfo).port };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await postJson(agent, address, '/run', { value: {} })).toEqual({ status: 200, body: '{}' });
      // Before: rejected with "socket hang up" (ECONNRESET), read by the session as a dead proxy.
      expect(await postJson(agent, address, '/run', { value: {} })).toEqual({ status: 200, body: '{}' });
      expect(handled).toBe(2);
    } finally {
      agent.destroy();
    }
  });

  it('does not send again what failed on a new connection', async () => {
    server = createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const agent = new Agent({ keepAlive: true });
    try {
      await expect(postJson(agent, { port: (server.address() as AddressInfo).port }, '/run', {})).rejects.toThrow(/socket hang up/);
    } finally {
      agent.destroy();
    }
  });
});
