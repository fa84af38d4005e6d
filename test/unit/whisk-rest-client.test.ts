/**
 * Remote mode's own OpenWhisk REST client (src/remote/whisk-rest-client.ts), through the remote engine that uses it:
 * the requests it sends are the ones the official `openwhisk` client sent when remote mode used that client; every
 * failure (a refusal, an answer that is not OpenWhisk's, a refused connection, a server that never answers, an
 * untrusted certificate) is an `EW_REMOTE_ERROR` that names what happened. Local servers stand in for what a real
 * server cannot be made to do; one real `edgewhisk serve` checks the round trip. Everything listens on 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import openwhisk from 'openwhisk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ActionOptions } from '../../src/api/actions-api';
import { isEdgeWhiskError, type EdgeWhiskError } from '../../src/errors';
import { RemoteEngine, type RemoteOptions } from '../../src/remote/remote-engine';
import { WhiskRestClient } from '../../src/remote/whisk-rest-client';
import { freePort } from '../helpers/node-red-process';
import { startServe, type ServeProcess } from '../helpers/serve-process';

const AUTH = 'client-test-uuid:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
/** A package-qualified name with characters a URL path must encode (a space) or may (`&`, `@`). */
const NAME = 'tools/A & B@v1.x';

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

type Answer = { status: number; body?: unknown; text?: string; headers?: Record<string, string> };

const servers: Server[] = [];
const engines: RemoteEngine[] = [];

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((resolve) => s.close(resolve));
    }),
  );
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * A server that records every request and answers it with `answer` (200 `{}` unless told), maybe later; `log` has
 * `in`/`out` lines in the order requests arrived and answers left.
 */
async function recorder(answer: (r: Recorded) => Answer | Promise<Answer> = () => ({ status: 200, body: {} })): Promise<{ url: string; requests: Recorded[]; log: string[] }> {
  const requests: Recorded[] = [];
  const log: string[] = [];
  const port = await listen(
    createServer((req: IncomingMessage, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', async () => {
        const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
        requests.push(recorded);
        const what = `${recorded.method} ${recorded.url.split('?')[0]?.split('/').pop()}`;
        log.push(`in ${what}`);
        const a = await answer(recorded);
        const text = a.text ?? (a.body === undefined ? '' : JSON.stringify(a.body));
        log.push(`out ${what}`);
        res.writeHead(a.status, { 'Content-Type': a.text === undefined ? 'application/json' : 'text/html', ...a.headers });
        res.end(text);
      });
    }),
  );
  return { url: `http://127.0.0.1:${port}`, requests, log };
}

function engine(options: Partial<RemoteOptions> & { apihost: string }): RemoteEngine {
  const e = new RemoteEngine({ apiKey: AUTH, ...options });
  engines.push(e);
  return e;
}

/** What a request asked for, whoever sent it: path segments decoded, query parameters in order, body parsed. */
function asked(r: Recorded | undefined): unknown {
  if (r === undefined) return undefined;
  const url = new URL(r.url, 'http://x');
  return {
    method: r.method,
    path: url.pathname.split('/').map(decodeURIComponent),
    query: [...url.searchParams],
    body: r.body === '' ? undefined : JSON.parse(r.body),
    authorization: r.headers.authorization,
  };
}

async function rejection(promise: Promise<unknown>): Promise<EdgeWhiskError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isEdgeWhiskError(error, 'EW_REMOTE_ERROR')) throw new Error(`expected EW_REMOTE_ERROR, got ${inspect(error)}`);
  return error;
}

type Ow = ReturnType<typeof openwhisk>;

/** `actions.create` as remote-engine.ts called the official client before it had its own (parameters and
 *  annotations handed over as objects, the engine-only options dropped). */
function legacyCreate(ow: Ow, options: ActionOptions): Promise<unknown> {
  const { runtime: _runtime, keepIfUnchanged: _keep, params, annotations, ...rest } = options;
  const toObject = (list: unknown): unknown => (Array.isArray(list) ? Object.fromEntries(list.map((kv: { key: string; value: unknown }) => [kv.key, kv.value])) : list);
  const body: Record<string, unknown> = { ...rest };
  if (params !== undefined) body['params'] = toObject(params);
  if (annotations !== undefined) body['annotations'] = toObject(annotations);
  return ow.actions.create(body as never);
}

const CODE = 'function main(p) { return { sum: p.a + p.b }; }';
const CREATES: Record<string, ActionOptions> = {
  'a code action as the action node defines it': {
    name: NAME,
    kind: 'nodejs:22',
    action: CODE,
    exec: { main: 'run' },
    params: { a: 1, nested: { deep: [1, 2] } },
    limits: { timeout: 5_000 },
    annotations: { 'edgewhisk-node': 'n1', 'edgewhisk-network': 'lan' },
    runtime: 'process',
    overwrite: true,
  },
  'parameters and annotations given as key/value lists': {
    name: 'plain',
    action: CODE,
    params: [
      { key: 'a', value: 1 },
      { key: 'b', value: 'two' },
    ],
    annotations: [{ key: 'web-export', value: true }],
    version: '1.2.3',
    overwrite: false,
  },
  'a sequence': { name: 'seq', sequence: ['plain', 'tools/b', '/guest/c'], annotations: { 'edgewhisk-node': 'n2' }, overwrite: true },
  'an archive (Buffer)': { name: 'zip', kind: 'nodejs:22', action: Buffer.from('PK\u0003\u0004 not really a zip'), overwrite: true },
  'a whole action document': { name: 'doc', action: { exec: { kind: 'nodejs:22', code: CODE }, parameters: [{ key: 'a', value: 1 }] }, annotations: { x: 1 } },
  'an update of limits only': { name: 'plain', limits: { memory: 128 }, overwrite: true },
  'a fully qualified name': { name: '/guest/tools/act', action: CODE, overwrite: true },
};

/** Pairs of the same call, through the official client and through the remote engine. */
const CALLS: Record<string, { official: (ow: Ow) => Promise<unknown>; ours: (e: RemoteEngine) => Promise<unknown> }> = {
  'actions.get with code': { official: (ow) => ow.actions.get({ name: NAME, code: true } as never), ours: (e) => e.actions.get({ name: NAME }) },
  'actions.get without code': { official: (ow) => ow.actions.get({ name: NAME, code: false } as never), ours: (e) => e.actions.get({ name: NAME, code: false }) },
  'actions.get of /ns/pkg/name': { official: (ow) => ow.actions.get({ name: '/other/tools/act', code: true } as never), ours: (e) => e.actions.get({ name: '/other/tools/act' }) },
  ...Object.fromEntries(
    Object.entries(CREATES).map(([what, options]) => [`actions.create: ${what}`, { official: (ow: Ow) => legacyCreate(ow, options), ours: (e: RemoteEngine) => e.actions.create(options) }]),
  ),
  'actions.delete': { official: (ow) => ow.actions.delete({ name: NAME }), ours: (e) => e.actions.delete({ name: NAME }) },
  'actions.start (a non-blocking invoke)': {
    official: (ow) => ow.actions.invoke({ name: NAME, params: { n: 1, list: [1] }, blocking: false }),
    ours: (e) => e.actions.start({ name: NAME, params: { n: 1, list: [1] } }),
  },
  'actions.start with an array payload': {
    official: (ow) => ow.actions.invoke({ name: 'plain', params: [1, 2] as never, blocking: false }),
    ours: (e) => e.actions.start({ name: 'plain', params: [1, 2] }),
  },
  'triggers.get': { official: (ow) => ow.triggers.get({ name: 'bell' }), ours: (e) => e.triggers.get({ name: 'bell' }) },
  'triggers.create': { official: (ow) => ow.triggers.create({ name: 'bell' }), ours: (e) => e.triggers.create({ name: 'bell' }) },
  'triggers.invoke (fire)': { official: (ow) => ow.triggers.invoke({ name: 'bell', params: { who: 'door' } }), ours: (e) => e.triggers.invoke({ name: 'bell', params: { who: 'door' } }) },
  'triggers.invoke without parameters': { official: (ow) => ow.triggers.invoke({ name: 'bell', params: {} }), ours: (e) => e.triggers.invoke({ name: 'bell' }) },
  'rules.get': { official: (ow) => ow.rules.get({ name: 'ring' }), ours: (e) => e.rules.get({ name: 'ring' }) },
  'rules.create': {
    official: (ow) => ow.rules.create({ name: 'ring', trigger: 'bell', action: NAME, overwrite: true } as never),
    ours: (e) => e.rules.create({ name: 'ring', trigger: 'bell', action: NAME, overwrite: true }),
  },
  'rules.create with fully qualified names, not overwriting': {
    official: (ow) => ow.rules.create({ name: 'ring', trigger: '/guest/bell', action: '/guest/tools/act', overwrite: false } as never),
    ours: (e) => e.rules.create({ name: 'ring', trigger: '/guest/bell', action: '/guest/tools/act' }),
  },
  'rules.enable': { official: (ow) => ow.rules.enable({ name: 'ring' }), ours: (e) => e.rules.enable({ name: 'ring' }) },
  'rules.disable': { official: (ow) => ow.rules.disable({ name: 'ring' }), ours: (e) => e.rules.disable({ name: 'ring' }) },
  'rules.delete': { official: (ow) => ow.rules.delete({ name: 'ring' }), ours: (e) => e.rules.delete({ name: 'ring' }) },
  'activations.get': { official: (ow) => ow.activations.get({ name: '0123abcd' }), ours: (e) => e.activations.get('0123abcd') },
};

describe('the requests remote mode sends', () => {
  it.each(Object.keys(CALLS))('%s: the official openwhisk client sends the same', async (what) => {
    const call = CALLS[what]!;
    const server = await recorder((r) => (r.method === 'POST' && r.url.includes('/actions/') ? { status: 202, body: { activationId: '0123abcd' } } : { status: 200, body: {} }));
    await call.official(openwhisk({ apihost: server.url, api_key: AUTH }));
    const official = server.requests.splice(0);
    await call.ours(engine({ apihost: server.url }));
    // The first request is the call; `start` goes on to poll for the record, which the official client never did.
    expect(asked(server.requests[0])).toEqual(asked(official[0]));
    expect(official).toHaveLength(1);
  });

  it('lists activations with the query the official client sends', async () => {
    const server = await recorder(() => ({ status: 200, body: [] }));
    await openwhisk({ apihost: server.url, api_key: AUTH }).activations.list({ docs: true, limit: 200, since: 1_700_000_000_000 } as never);
    expect(await new WhiskRestClient({ apihost: server.url, apiKey: AUTH }).listActivations({ limit: 200, docs: true, since: 1_700_000_000_000 })).toEqual([]);
    expect(asked(server.requests[1])).toEqual(asked(server.requests[0]));
  });

  it('encodes each segment of a name and keeps the slash of its package', async () => {
    const server = await recorder();
    await engine({ apihost: server.url }).actions.get({ name: NAME });
    expect(server.requests[0]?.url).toBe('/api/v1/namespaces/_/actions/tools/A%20%26%20B%40v1.x?code=true');
    expect(server.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from(AUTH).toString('base64')}`);
  });

  it('refuses names it cannot place, without sending anything', async () => {
    const server = await recorder();
    const e = engine({ apihost: server.url });
    // The official client refuses the first three; it would send the others, `ns/pkg/name` to its own namespace.
    for (const name of ['/a/b/c/d', 'a/b/c/d', '/lonely', 'other/tools/act', 'tools/..', 'a//b']) {
      expect((await rejection(e.actions.get({ name }))).message, name).toMatch(/^Invalid resource identifier/);
    }
    expect((await rejection(e.rules.create({ name: 'r', trigger: 't' }))).message).toBe('Missing mandatory action parameter from options.');
    expect((await rejection(e.actions.create({ name: 'nothing' }))).message).toBe('Missing mandatory action or sequence parameter from options.');
    expect((await rejection(e.actions.start({ name: 'x', params: 'text' }))).message).toBe('Invalid payload type, must be an object.');
    expect(server.requests).toEqual([]);
  });

  it('takes a path below the host, a trailing slash and an upper-case scheme in apihost, as the official client does (less the double slash)', async () => {
    const server = await recorder();
    const port = new URL(server.url).port;
    await openwhisk({ apihost: `${server.url}/edgewhisk`, api_key: AUTH }).triggers.get({ name: 'bell' });
    await engine({ apihost: `${server.url}/edgewhisk/` }).triggers.get({ name: 'bell' });
    await engine({ apihost: `HTTP://127.0.0.1:${port}/edgewhisk` }).triggers.get({ name: 'bell' });
    expect(server.requests.map((r) => r.url)).toEqual(Array(3).fill('/edgewhisk/api/v1/namespaces/_/triggers/bell'));
  });

  it('refuses an apihost that is not an HTTP(S) URL when the engine is made', () => {
    expect(() => new RemoteEngine({ apihost: 'ftp://127.0.0.1:21', apiKey: AUTH })).toThrow(/http:\/\/ or https:\/\//);
    expect(() => new RemoteEngine({ apihost: 'http://exa mple', apiKey: AUTH })).toThrow(TypeError);
  });
});

describe('order of changes and invocations, as on an embedded engine', () => {
  const later = (ms: number, answer: Answer): Promise<Answer> => new Promise((resolve) => setTimeout(() => resolve(answer), ms));
  /** Definitions take 150 ms to answer; everything else answers at once. */
  const slowDefinitions = (r: Recorded): Answer | Promise<Answer> =>
    r.method === 'PUT' ? later(150, { status: r.url.includes('/fails') ? 500 : 200, body: r.url.includes('/fails') ? { error: 'no' } : {} })
    : r.method === 'POST' ? { status: 202, body: { activationId: 'a1' } }
    : r.url.includes('/activations/') ? { status: 200, body: { activationId: 'a1' } }
    : { status: 404, body: { error: 'The requested resource does not exist.' } };

  it('an invocation waits for the definitions asked for before it, and an action\'s definitions run side by side', async () => {
    const server = await recorder(slowDefinitions);
    const e = engine({ apihost: server.url });
    const defined = Promise.all([e.actions.create({ name: 'one', action: CODE, overwrite: true }), e.actions.create({ name: 'two', action: CODE, overwrite: true })]);
    await e.actions.start({ name: 'one' });
    await defined;
    expect(server.log.slice(0, 5)).toEqual(['in PUT one', 'in PUT two', 'out PUT one', 'out PUT two', 'in POST one']);
  });

  it('a sequence\'s definition waits for the definitions asked for before it (its components)', async () => {
    const server = await recorder(slowDefinitions);
    const e = engine({ apihost: server.url });
    await Promise.all([e.actions.create({ name: 'one', action: CODE, overwrite: true }), e.actions.create({ name: 'seq', sequence: ['one'], overwrite: true })]);
    expect(server.log).toEqual(['in PUT one', 'out PUT one', 'in PUT seq', 'out PUT seq']);
  });

  it('a rule\'s definition waits for its trigger\'s and a fire for the rule, however the changes before them end', async () => {
    const server = await recorder(slowDefinitions);
    const e = engine({ apihost: server.url });
    const trigger = e.triggers.create({ name: 'fails' }).catch((error: unknown) => error);
    const rule = e.rules.create({ name: 'ring', trigger: 'fails', action: 'one', overwrite: true });
    await e.triggers.invoke({ name: 'fails' });
    expect(await trigger).toMatchObject({ code: 'EW_REMOTE_ERROR', statusCode: 500 });
    await rule;
    expect(server.log).toEqual(['in PUT fails', 'out PUT fails', 'in PUT ring', 'out PUT ring', 'in POST fails', 'out POST fails']);
  });
});

describe('remote failures', () => {
  it("keeps OpenWhisk's message and status of a refusal, and nothing of the request", async () => {
    const server = await recorder(() => ({ status: 409, body: { error: 'resource already exists', code: 'abc123' } }));
    const error = await rejection(engine({ apihost: server.url }).triggers.create({ name: 'bell' }));
    expect(error).toMatchObject({ code: 'EW_REMOTE_ERROR', statusCode: 409, message: 'resource already exists' });
    expect(error.cause).toBeUndefined();
    const everything = inspect(error, { depth: Infinity, showHidden: true });
    expect(everything).not.toContain(AUTH.split(':')[1]);
    expect(everything).not.toContain(Buffer.from(AUTH).toString('base64'));
    // The client's own error has OpenWhisk's message, and keeps the body as the official client's did.
    const raw = await new WhiskRestClient({ apihost: server.url, apiKey: AUTH }).getTrigger('bell').catch((e: unknown) => e);
    expect(raw).toMatchObject({ message: 'resource already exists', statusCode: 409, error: { error: 'resource already exists', code: 'abc123' } });
  });

  it('names the host, request and status of an answer that is not OpenWhisk\'s (a proxy\'s error page, a redirect)', async () => {
    const server = await recorder((r) =>
      r.url.includes('/rules/') ? { status: 301, text: '', headers: { Location: 'https://elsewhere.example/' } } : { status: 502, text: '<html>Bad gateway</html>' },
    );
    const e = engine({ apihost: server.url });
    const gateway = await rejection(e.actions.get({ name: NAME }));
    expect(gateway.statusCode).toBe(502);
    expect(gateway.message).toBe(`The OpenWhisk API at ${server.url} answered GET /api/v1/namespaces/_/actions/tools/A%20%26%20B%40v1.x with HTTP 502 (Bad Gateway)`);
    const moved = await rejection(e.rules.get({ name: 'ring' }));
    // Not followed, and not an error status to pass on: a bad gateway, as for no answer at all.
    expect(moved.statusCode).toBe(502);
    expect(moved.message).toMatch(/with HTTP 301 \(Moved Permanently\) to https:\/\/elsewhere\.example\/$/);
  });

  it('refuses a successful answer that is not JSON (502: the API was not what answered)', async () => {
    const server = await recorder(() => ({ status: 200, text: '<html>login</html>' }));
    const error = await rejection(engine({ apihost: server.url }).triggers.get({ name: 'bell' }));
    expect(error.statusCode).toBe(502);
    expect(error.message).toBe(`The OpenWhisk API at ${server.url} answered GET /api/v1/namespaces/_/triggers/bell with HTTP 200 but not with JSON`);
  });

  it('turns a refused connection into an EW_REMOTE_ERROR naming the host, for every kind of call and for the poller', async () => {
    const port = await freePort();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const e = engine({ apihost: `http://127.0.0.1:${port}`, pollInterval: 10 });
      const listener = (): void => undefined;
      e.on('activation:completed', listener);
      const calls = [() => e.actions.get({ name: 'x' }), () => e.actions.start({ name: 'x' }), () => e.triggers.invoke({ name: 't' }), () => e.activations.wait({ activationId: 'a', timeout: 1_000 })];
      for (const call of calls) {
        const error = await rejection(call());
        expect(error.statusCode).toBe(502);
        expect(error.message).toMatch(new RegExp(`^Cannot reach the OpenWhisk API at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
      }
      // The poller meets the same refusal several times meanwhile, and keeps it to itself.
      await new Promise((r) => setTimeout(r, 100));
      e.off('activation:completed', listener);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('gives up on a server that never answers after the request timeout, and hangs up', async () => {
    const hungUp: string[] = [];
    const port = await listen(
      createServer((req) => {
        // Reads the request, never answers it.
        req.resume();
        req.socket.once('close', () => hungUp.push(req.url ?? ''));
      }),
    );
    const started = Date.now();
    const error = await rejection(engine({ apihost: `http://127.0.0.1:${port}`, requestTimeout: 300 }).rules.enable({ name: 'ring' }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.statusCode).toBe(502);
    expect(error.message).toBe(`The OpenWhisk API at http://127.0.0.1:${port} did not answer POST /api/v1/namespaces/_/rules/ring within 300 ms`);
    await expect.poll(() => hungUp).toEqual(['/api/v1/namespaces/_/rules/ring']);
  });
});

/**
 * A throwaway self-signed certificate for 127.0.0.1, made with the openssl command line (.ci/run installs it; the
 * tests fail without it rather than skip).
 */
function selfSigned(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'edgewhisk-cert-'));
  try {
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
        { stdio: 'pipe' },
      );
    } catch (error) {
      throw new Error(`The HTTPS tests make their certificate with the openssl command line (Debian: apt-get install openssl): ${(error as Error).message}`);
    }
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('HTTPS', () => {
  let certificate: { key: string; cert: string };
  let port = 0;
  const seen: string[] = [];

  beforeAll(() => {
    certificate = selfSigned();
  });

  beforeEach(async () => {
    seen.length = 0;
    const handler: RequestListener = (req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ name: 'bell' }));
    };
    // An HTTPS server only: whatever reaches the handler came over TLS.
    port = await listen(createHttpsServer(certificate, handler) as unknown as Server);
  });

  it('assumes HTTPS for an apihost without a scheme, and accepts a self-signed certificate with ignoreCerts', async () => {
    await expect(engine({ apihost: `127.0.0.1:${port}`, ignoreCerts: true }).triggers.get({ name: 'bell' })).resolves.toEqual({ name: 'bell' });
    expect(seen).toEqual(['/api/v1/namespaces/_/triggers/bell']);
  });

  it('refuses a self-signed certificate without ignoreCerts, and says which setting accepts it', async () => {
    const error = await rejection(engine({ apihost: `https://127.0.0.1:${port}` }).triggers.get({ name: 'bell' }));
    expect(error.statusCode).toBe(502);
    expect(error.message).toMatch(new RegExp(`^Cannot reach the OpenWhisk API at https://127\\.0\\.0\\.1:${port}: self[- ]signed certificate.*\\. A self-signed certificate is accepted only with "Accept self-signed certificates" \\(ignoreCerts\\)$`));
    expect(seen).toEqual([]);
  });
});

describe('against a real edgewhisk serve', () => {
  let server: ServeProcess;

  beforeAll(async () => {
    server = await startServe({ auth: AUTH });
  });

  afterAll(() => server?.stop());

  it('defines and runs a package action whose name needs encoding, fires a trigger with and without an active rule, and reads 404s', async () => {
    const ow = openwhisk({ apihost: server.url, api_key: AUTH });
    await ow.packages.create({ name: 'tools' });
    const e = engine({ apihost: server.url });

    const created = await e.actions.create({ name: NAME, action: CODE, params: { a: 1 }, annotations: { 'edgewhisk-node': 'n1' }, overwrite: true });
    expect(created).toMatchObject({ name: 'A & B@v1.x', namespace: 'guest/tools' });
    // The official client finds it under the same name: the path placed it in its package.
    expect(((await ow.actions.get({ name: NAME })) as { exec: { code: string } }).exec.code).toBe(CODE);
    const started = await e.actions.start({ name: NAME, params: { b: 2 } });
    expect((await started.activation).response.result).toEqual({ sum: 3 });

    await e.triggers.create({ name: 'bell' });
    // 204, no body: no rule is active.
    expect(await e.triggers.invoke({ name: 'bell' })).toEqual({});
    await e.rules.create({ name: 'ring', trigger: 'bell', action: NAME, overwrite: true });
    expect(await e.rules.get({ name: 'ring' })).toMatchObject({ status: 'active', action: { path: 'guest/tools', name: 'A & B@v1.x' } });
    const fired = await e.triggers.invoke({ name: 'bell', params: { b: 5 } });
    expect(fired.activationId).toMatch(/^[0-9a-f]{32}$/);
    expect(await e.activations.wait({ activationId: fired.activationId!, timeout: 10_000 })).toMatchObject({ name: 'bell' });
    await e.rules.disable({ name: 'ring' });
    expect(await e.rules.get({ name: 'ring' })).toMatchObject({ status: 'inactive' });
    expect(await e.triggers.invoke({ name: 'bell' })).toEqual({});

    const missing = await rejection(e.actions.get({ name: 'tools/missing' }));
    expect(missing).toMatchObject({ statusCode: 404, message: 'The requested resource does not exist.' });
    const listed = (await new WhiskRestClient({ apihost: server.url, apiKey: AUTH }).listActivations({ limit: 10, docs: true, since: 0 })) as { activationId: string }[];
    expect(listed.map((a) => a.activationId)).toContain(started.activationId);

    await e.rules.delete({ name: 'ring' });
    await e.actions.delete({ name: NAME });
    await expect(ow.actions.get({ name: NAME })).rejects.toMatchObject({ statusCode: 404 });
  });
});
