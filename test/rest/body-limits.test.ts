/**
 * Issue 11, finding 1: what the REST API reads of a request body, and when.
 *
 * - A body streamed slowly past its route's cap is cut off there (413) and its connection dropped, instead of being
 *   read to the end.
 * - A 45 MB JSON body to a route that takes an invocation payload is refused from its Content-Length, before it is
 *   read: before, `{"k0":0,"k1":1,…}` of 45 MB to an invoke stalled the event loop for 12 s (parse, merge,
 *   serialize) and only then got its 413.
 * - An action PUT, the one route that takes the code limit, parses a body whose bulk is the code, but refuses one
 *   whose bulk is structure before `JSON.parse` builds it.
 * - Bodies being read share one budget; a body that would go past it gets 503 with Retry-After, and anonymous web
 *   callers get only their share of it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandalone, type Standalone } from '../../src/index';
import { call, stall, upload } from './http-client';

const AUTH = 'body-limits-uuid:' + 'beef'.repeat(16);
const MB = 1 << 20;
const HEADERS = { Authorization: `Basic ${Buffer.from(AUTH).toString('base64')}` };

let server: Standalone;

/** `{"k0":0,"k1":1,…}` of about `bytes` bytes: cheap to send, expensive to parse. */
function manyKeys(bytes: number): Buffer {
  const parts: string[] = [];
  let length = 2;
  for (let n = 0; length < bytes; n++) {
    const part = `"k${n}":${n}`;
    parts.push(part);
    length += part.length + 1;
  }
  return Buffer.from(`{${parts.join(',')}}`);
}

/** Runs `fn` and returns the longest event-loop stall during it, in ms (server and client share this loop). */
async function worstLag(fn: () => Promise<unknown>): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  try {
    await fn();
  } finally {
    histogram.disable();
  }
  return histogram.max / 1e6;
}

beforeAll(async () => {
  server = await startStandalone({ port: 0, auth: AUTH, engine: { prewarmCount: 0 } });
  await server.engine.actions.create({ name: 'hello', action: 'function main() { return { body: "hi" }; }', annotations: { 'web-export': true } });
  await server.engine.triggers.create({ name: 'tick' });
});

afterAll(async () => {
  await server?.close();
});

describe('a body streamed slowly past its cap', () => {
  for (const [route, path, headers] of [
    ['an invoke (authenticated)', '/api/v1/namespaces/_/actions/hello', HEADERS],
    ['a web action (anonymous)', '/api/v1/web/guest/default/hello.http', {}],
  ] as const) {
    it(`is cut off at the payload limit with 413 on ${route}, and its connection dropped`, async () => {
      // 64 KB every 20 ms, chunked (no Content-Length to refuse up front): 16 MB would take 5 s to send.
      const result = await upload(server.url, path, { total: 16 * MB, chunk: 64 * 1024, pace: 20, declare: false, headers });
      expect(result.status, JSON.stringify(result)).toBe(413);
      // Answered as soon as the cap (1 MB) was passed, not after the whole body.
      expect(result.sentBeforeAnswer).toBeLessThan(2 * MB);
      // The client kept sending; the server read the rest only for the linger time, then dropped the connection.
      expect(result.closedAfter, JSON.stringify(result)).toBeDefined();
      expect(result.sent).toBeLessThan(16 * MB);
    });
  }
});

describe('a 45 MB JSON body to a route that takes an invocation payload', () => {
  const body = manyKeys(45 * MB);
  for (const [route, method, path, headers] of [
    ['an invoke', 'POST', '/api/v1/namespaces/_/actions/hello?blocking=true', HEADERS],
    ['a trigger fire', 'POST', '/api/v1/namespaces/_/triggers/tick', HEADERS],
    ['a trigger PUT', 'PUT', '/api/v1/namespaces/_/triggers/tock', HEADERS],
    ['a web action', 'POST', '/api/v1/web/guest/default/hello.json', {}],
  ] as const) {
    it(`is refused on ${route} from its Content-Length, without stalling the event loop`, async () => {
      let status = 0;
      let sentBeforeAnswer = Infinity;
      const lag = await worstLag(async () => {
        const result = await upload(server.url, path, { method, total: body.length, data: body, headers });
        status = result.status ?? 0;
        sentBeforeAnswer = result.sentBeforeAnswer ?? Infinity;
      });
      expect(status).toBe(413);
      expect(sentBeforeAnswer).toBeLessThan(body.length);
      // Before: 12 s on the invoke. A generous bound for a loaded 2-core CI host.
      expect(lag).toBeLessThan(500);
    });
  }

  it('is refused with a clear message', async () => {
    const reply = await call(server.url, 'POST', '/api/v1/namespaces/_/actions/hello', { auth: AUTH, body });
    expect(reply.status).toBe(413);
    expect(reply.json().error).toBe(`Request larger than allowed: ${body.length} > 1048576 bytes.`);
  });
});

describe('an action PUT, the route that takes the code limit', () => {
  it('parses 45 MB of code (a string parses at memory speed)', async () => {
    const code = `function main() { return {}; }//${'x'.repeat(45 * MB)}`;
    const reply = await call(server.url, 'PUT', '/api/v1/namespaces/_/actions/big?overwrite=true', {
      auth: AUTH,
      body: JSON.stringify({ exec: { kind: 'nodejs:default', code } }),
    });
    expect(reply.status).toBe(200);
    expect((await server.engine.actions.get({ name: 'big' }))['exec']).toMatchObject({ code });
  });

  it('refuses 45 MB of structure before JSON.parse, without stalling the event loop', async () => {
    const body = manyKeys(45 * MB);
    let reply: Awaited<ReturnType<typeof call>> | undefined;
    const lag = await worstLag(async () => {
      reply = await call(server.url, 'PUT', '/api/v1/namespaces/_/actions/heavy', { auth: AUTH, body });
    });
    expect(reply?.status).toBe(413);
    expect(reply?.json().error).toMatch(/^The request content is too complex: \d+ bytes besides its largest string > 2162688 bytes\.$/);
    // The body is read and scanned (a byte loop over 45 MB), never parsed: before, parsing it alone took seconds.
    expect(lag).toBeLessThan(1000);
  });
});

describe('the body budget', () => {
  let small: Standalone;

  beforeAll(async () => {
    // 4 MB in transit at most, of which anonymous callers get a quarter (1 MB); bodies up to 512 KB.
    small = await startStandalone({
      port: 0,
      auth: AUTH,
      engine: { prewarmCount: 0, codeLimit: 1000, payloadLimit: 512 * 1024, httpBodyBudget: 4 * MB, webInvocationShare: 0.25 },
    });
    await small.engine.actions.create({ name: 'hello', action: 'function main() { return { body: "hi" }; }', annotations: { 'web-export': true } });
  });

  afterAll(async () => {
    await small?.close();
  });

  const KB = 1024;
  const web = '/api/v1/web/guest/default/hello.http';
  const invoke = '/api/v1/namespaces/_/actions/hello';
  /** Lets the server read what the stalled requests have sent (loopback: well within this). */
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

  it('answers 503 with Retry-After to an anonymous body past the anonymous share, while the owner still gets through', async () => {
    // Two anonymous bodies of which 450 KB each are in transit: 900 KB of the anonymous 1 MB.
    const held = [0, 1].map(() => stall(small.url, web, { send: 450 * KB, declared: 460 * KB }));
    try {
      await settle();
      const refused = await call(small.url, 'POST', web, { body: Buffer.alloc(450 * KB, 'a'), headers: { 'Content-Type': 'text/plain' } });
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.json().error).toMatch(/^The server is receiving too many request bodies at once \(\d+ of 1048576 bytes in transit\); retry later\.$/);
      // The owner's body counts against the whole budget only.
      const owner = await call(small.url, 'POST', web, { auth: AUTH, body: Buffer.alloc(450 * KB, 'a'), headers: { 'Content-Type': 'text/plain' } });
      expect(owner.status).toBe(200);
    } finally {
      for (const h of held) h.destroy();
    }
    // The stalled bodies' bytes were given back when their connections closed.
    await settle();
    const after = await call(small.url, 'POST', web, { body: Buffer.alloc(450 * KB, 'a'), headers: { 'Content-Type': 'text/plain' } });
    expect(after.status).toBe(200);
  });

  it('answers 503 with Retry-After on the authenticated routes once the whole budget is in transit', async () => {
    // Nine authenticated bodies of which 450 KB each are in transit: 3.96 MB of the 4 MB budget.
    const held = Array.from({ length: 9 }, () => stall(small.url, invoke, { send: 450 * KB, declared: 460 * KB, headers: HEADERS }));
    try {
      await settle();
      const refused = await call(small.url, 'POST', invoke, { auth: AUTH, body: JSON.stringify({ pad: 'a'.repeat(450 * KB) }) });
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.json().error).toMatch(/^The server is receiving too many request bodies at once \(\d+ of 4194304 bytes in transit\); retry later\.$/);
      // Requests without a body are not affected.
      expect((await call(small.url, 'GET', '/api/v1/namespaces/_/actions', { auth: AUTH })).status).toBe(200);
    } finally {
      for (const h of held) h.destroy();
    }
    await settle();
    const after = await call(small.url, 'POST', invoke, { auth: AUTH, body: JSON.stringify({ pad: 'a'.repeat(450 * KB) }) });
    expect(after.status).toBe(202);
  });
});
