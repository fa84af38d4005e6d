/**
 * Issue 11, finding 4: anonymous web traffic must not lock the namespace's owner out.
 *
 * Web actions answer anyone. Before, their activations counted against the namespace's in-flight limit like any
 * other: 2,500 requests to a 3 s web action made every authenticated invoke answer 429 (scaled here: a limit of 40,
 * 60 anonymous requests). Now anonymous callers hold at most `webInvocationShare` of the limit (here 10 of 40) and
 * get 429 past it, while authenticated callers keep the rest.
 *
 * And an anonymous caller that hangs up before its activation started no longer leaves it to run: it is removed
 * from the queue and recorded as not run.
 */
import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandalone, type Standalone } from '../../src/index';
import { sleep } from '../helpers/engine';
import { call, RawConnection, type Reply } from './http-client';

const AUTH = 'web-share-uuid:' + 'ace0'.repeat(16);
const NAP = 'function main() { return new Promise((r) => setTimeout(() => r({ body: "rested" }), 2000)); }';

describe('the anonymous share of the in-flight limit', () => {
  let server: Standalone;

  beforeAll(async () => {
    server = await startStandalone({ port: 0, auth: AUTH, engine: { prewarmCount: 0, concurrentInvocations: 40, webInvocationShare: 0.25 } });
    // One container takes all the naps at once, so the test measures admission, not container starts.
    await server.engine.actions.create({ name: 'nap', action: NAP, annotations: { 'web-export': true }, limits: { concurrency: 50 } });
    await server.engine.actions.create({ name: 'hello', action: 'function main() { return { hello: "owner" }; }' });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('refuses anonymous callers past their share with 429, while the owner is still served', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
    const flood: Promise<Reply>[] = Array.from({ length: 60 }, () => call(server.url, 'GET', '/api/v1/web/guest/default/nap.http', { agent }));
    // The refusals come back at once; the admitted naps are still running.
    const refused: Reply[] = [];
    const settled = flood.map((p) => p.then((r) => (r.status === 429 ? refused.push(r) : undefined)));
    const deadline = Date.now() + 1500;
    while (refused.length < 50 && Date.now() < deadline) await sleep(10);
    expect(refused.length).toBe(50);
    expect(refused[0]?.json().error).toBe('Too many concurrent anonymous web action requests in flight (count: 10, allowed: 10).');

    // The owner, authenticated, while anonymous traffic holds its whole share.
    const invoke = await call(server.url, 'POST', '/api/v1/namespaces/_/actions/hello?blocking=true&result=true', { auth: AUTH, body: '{}' });
    expect(invoke.status, invoke.text).toBe(200);
    expect(invoke.json()).toEqual({ hello: 'owner' });
    // The owner may also call the web action itself: with the namespace's key it is not anonymous.
    const owned = await call(server.url, 'GET', '/api/v1/web/guest/default/nap.http', { auth: AUTH });
    expect(owned.status).toBe(200);

    await Promise.all(settled);
    const served = (await Promise.all(flood)).filter((r) => r.status === 200);
    expect(served).toHaveLength(10);
    expect(served[0]?.text).toBe('rested');
    agent.destroy();
  });

  it('counts a web-exported sequence once per anonymous call against the share', async () => {
    await server.engine.actions.create({ name: 'nap-seq', sequence: ['nap'], annotations: { 'web-export': true } });
    const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
    const replies = await Promise.all(Array.from({ length: 15 }, () => call(server.url, 'GET', '/api/v1/web/guest/default/nap-seq.http', { agent })));
    agent.destroy();
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(10).fill(200), ...Array(5).fill(429)]);
    expect(replies.find((r) => r.status === 429)?.json().error).toMatch(/^Too many concurrent anonymous web action requests in flight \(count: 10, allowed: 10\)\.$/);
  });
});

describe('queued web activations (one dispatched at a time)', () => {
  let server: Standalone;

  beforeAll(async () => {
    // One activation dispatched at a time: the second request waits in the queue.
    server = await startStandalone({ port: 0, auth: AUTH, engine: { prewarmCount: 0, dispatchConcurrency: 1 } });
    await server.engine.actions.create({ name: 'nap', action: NAP, annotations: { 'web-export': true } });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('has its queued activation removed from the queue and recorded as not run, never run', async () => {
    const queued: string[] = [];
    const started: string[] = [];
    server.engine.on('activation:queued', (a) => queued.push(a.activationId));
    server.engine.on('activation:started', (a) => started.push(a.activationId));
    const port = Number(new URL(server.url).port);
    const request = 'GET /api/v1/web/guest/default/nap.http HTTP/1.1\r\nHost: localhost\r\n\r\n';

    const first = new RawConnection(port);
    first.write(request);
    while (started.length < 1) await sleep(10);
    const second = new RawConnection(port);
    second.write(request);
    while (queued.length < 2) await sleep(10);
    expect(server.engine.stats().queued).toBe(1);

    // The second caller hangs up while its activation waits: it leaves the queue at once.
    second.destroy();
    const deadline = Date.now() + 1000;
    while (server.engine.stats().queued > 0 && Date.now() < deadline) await sleep(10);
    expect(server.engine.stats().queued).toBe(0);

    // The first still gets its answer; the second never started.
    await first.until((d) => d.includes('rested'));
    first.destroy();
    await sleep(200);
    expect(started).toEqual([queued[0]]);
    const record = await server.engine.activations.get(queued[1] as string);
    expect(record.response).toMatchObject({
      status: 'whisk internal error',
      success: false,
      result: { error: 'The web action caller disconnected before the activation started; it was not run.' },
    });
    expect(record.duration).toBe(0);
  });

  it("queues anonymous work behind the owner's", async () => {
    await server.engine.actions.create({ name: 'hello', action: 'function main() { return {}; }' });
    const started: string[] = [];
    const onStarted = (a: { name: string }): void => void started.push(a.name);
    server.engine.on('activation:started', onStarted);
    const port = Number(new URL(server.url).port);
    const request = 'GET /api/v1/web/guest/default/nap.http HTTP/1.1\r\nHost: localhost\r\n\r\n';
    const callers = [new RawConnection(port), new RawConnection(port)];
    try {
      callers[0]?.write(request);
      while (started.length < 1) await sleep(10);
      callers[1]?.write(request);
      while (server.engine.stats().queued < 1) await sleep(10);
      // The owner's invoke comes last but starts before the anonymous one that waited.
      const reply = await call(server.url, 'POST', '/api/v1/namespaces/_/actions/hello', { auth: AUTH, body: '{}' });
      expect(reply.status).toBe(202);
      await callers[1]?.until((d) => d.includes('rested'));
      expect(started).toEqual(['nap', 'hello', 'nap']);
    } finally {
      server.engine.off('activation:started', onStarted);
      for (const c of callers) c.destroy();
    }
  });

  it('runs an activation to its end when its caller hangs up after it started', async () => {
    const completed: { id: string; success: boolean }[] = [];
    server.engine.on('activation:completed', (a) => completed.push({ id: a.activationId, success: a.response.success }));
    const client = new RawConnection(Number(new URL(server.url).port));
    client.write('GET /api/v1/web/guest/default/nap.http HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await sleep(300);
    client.destroy();
    const deadline = Date.now() + 5000;
    while (completed.length < 1 && Date.now() < deadline) await sleep(20);
    expect(completed).toEqual([{ id: expect.any(String), success: true }]);
  });
});
