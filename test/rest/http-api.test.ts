/**
 * The REST API over raw `node:http`: statuses, headers and bodies as OpenWhisk's controller answers them
 * (docs/semantics.md: #invocation, #firing-a-trigger, #limits, #rest-api), and a table of malformed requests that
 * must each get the right status and a clear `{error, code}` body while the server keeps serving.
 *
 * The server runs in-process with a small `codeLimit` (1000 bytes), which also makes the action PUT body limit small:
 * the REST layer allows an action PUT the code limit plus 1 MB (an invoke takes the 1 MB payload limit).
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandalone, type Standalone } from '../../src/index';
import { sleep } from '../helpers/engine';

const AUTH = 'http-api-uuid:' + 'f00d'.repeat(16);
const CODE_LIMIT = 1000;
const BODY_LIMIT = CODE_LIMIT + 1_048_576;
const HEX32 = /^[0-9a-f]{32}$/;
const NOT_FOUND = 'The requested resource does not exist.';
const BAD_TIMEOUT = 'Timeout must be number of milliseconds up to 60000.';

let server: Standalone;

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  json(): any;
}

interface CallOptions {
  /** `false` sends no Authorization header; a string sends those credentials. @default AUTH */
  readonly auth?: string | false;
  readonly headers?: Record<string, string>;
  /** Send the body without Content-Length (chunked). */
  readonly chunked?: boolean;
}

function basic(credentials: string): string {
  return `Basic ${Buffer.from(credentials).toString('base64')}`;
}

/** One HTTP request; `path` is sent exactly as given (no normalisation or re-encoding). */
function call(method: string, path: string, body?: string | Buffer | object, options: CallOptions = {}): Promise<Reply> {
  const url = new URL(server.url);
  const data = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const headers: Record<string, string> = { ...options.headers };
  const auth = options.auth ?? AUTH;
  if (auth !== false) headers['Authorization'] = basic(auth);
  if (data !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    if (options.chunked !== true) headers['Content-Length'] = String(Buffer.byteLength(data));
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    // A server may answer (e.g. 413) before it has read the whole body; the answer is what is checked.
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    req.end(data);
  });
}

const api = (rest: string): string => `/api/v1/namespaces/_/${rest}`;

async function define(name: string, code: string, extra: Record<string, unknown> = {}): Promise<void> {
  const reply = await call('PUT', api(`actions/${name}?overwrite=true`), { exec: { kind: 'nodejs:default', code }, ...extra });
  expect(reply.status, reply.text).toBe(200);
}

/** Polls GET /activations/{id} until the record is stored. */
async function activation(id: string, timeout = 5000): Promise<Reply> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const reply = await call('GET', api(`activations/${id}`));
    if (reply.status !== 404 || Date.now() > deadline) return reply;
    await sleep(20);
  }
}

function expectErrorBody(reply: Reply, status: number, message: string | RegExp): void {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers['content-type']).toContain('application/json');
  const body = reply.json();
  expect(Object.keys(body).sort()).toEqual(['code', 'error']);
  expect(body.code).toMatch(HEX32);
  expect(typeof body.error).toBe('string');
  if (typeof message === 'string') expect(body.error).toBe(message);
  else expect(body.error).toMatch(message);
}

beforeAll(async () => {
  server = await startStandalone({ port: 0, host: '127.0.0.1', auth: AUTH, engine: { prewarmCount: 0, codeLimit: CODE_LIMIT } });
  expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  await define('hello', 'function main(p) { return { greeting: "Hello, " + (p.who || "world") + "!" }; }');
  await define('fails', 'function main() { return { error: "boom" }; }');
  await define('slow', 'function main() { return new Promise((r) => setTimeout(() => r({ done: true }), 1000)); }');
  await define('too-slow', 'function main() { return new Promise((r) => setTimeout(() => r({ late: true }), 3000)); }', { limits: { timeout: 300 } });
  await define('list', 'function main() { return [1, "two", { three: 3 }]; }');
});

afterAll(async () => {
  await server?.close();
});

describe('invoke and fire over HTTP', () => {
  it('sets x-openwhisk-activation-id on non-blocking and blocking invokes and on a fire', async () => {
    const accepted = await call('POST', api('actions/hello'), { who: 'header' });
    expect(accepted.status).toBe(202);
    expect(accepted.json()).toEqual({ activationId: expect.stringMatching(HEX32) });
    expect(accepted.headers['x-openwhisk-activation-id']).toBe(accepted.json().activationId);

    const blocking = await call('POST', api('actions/hello?blocking=true'), {});
    expect(blocking.status).toBe(200);
    expect(blocking.headers['x-openwhisk-activation-id']).toBe(blocking.json().activationId);

    const failed = await call('POST', api('actions/fails?blocking=true'));
    expect(failed.status).toBe(502);
    expect(failed.headers['x-openwhisk-activation-id']).toBe(failed.json().activationId);

    expect((await call('PUT', api('triggers/header-trigger'), {})).status).toBe(200);
    expect((await call('PUT', api('rules/header-rule'), { trigger: '/_/header-trigger', action: '/_/hello' })).status).toBe(200);
    const fired = await call('POST', api('triggers/header-trigger'), { who: 'fire' });
    expect(fired.status).toBe(202);
    expect(fired.json()).toEqual({ activationId: expect.stringMatching(HEX32) });
    expect(fired.headers['x-openwhisk-activation-id']).toBe(fired.json().activationId);
    const record = await activation(fired.json().activationId);
    expect(record.status).toBe(200);
    expect(record.json()).toMatchObject({ name: 'header-trigger', response: { result: { who: 'fire' } } });
  });

  it('answers a blocking invoke 200 on success, with the record or (result=true) only the result', async () => {
    const record = await call('POST', api('actions/hello?blocking=true'), { who: 'edge' });
    expect(record.status).toBe(200);
    expect(record.json()).toMatchObject({
      name: 'hello',
      namespace: 'guest',
      activationId: expect.stringMatching(HEX32),
      response: { status: 'success', success: true, result: { greeting: 'Hello, edge!' } },
    });
    const result = await call('POST', api('actions/hello?blocking=true&result=true'), { who: 'result' });
    expect(result.status).toBe(200);
    expect(result.json()).toEqual({ greeting: 'Hello, result!' });
  });

  it('answers a blocking invoke 502 on an application error, with the record', async () => {
    const reply = await call('POST', api('actions/fails?blocking=true'), {});
    expect(reply.status).toBe(502);
    expect(reply.json()).toMatchObject({ name: 'fails', response: { status: 'application error', success: false, result: { error: 'boom' } } });
    const resultOnly = await call('POST', api('actions/fails?blocking=true&result=true'), {});
    expect(resultOnly.status).toBe(502);
    expect(resultOnly.json()).toEqual({ error: 'boom' });
  });

  it('answers a blocking invoke 502 on a developer error (the 300 ms time limit), with the record', async () => {
    const reply = await call('POST', api('actions/too-slow?blocking=true'), {});
    expect(reply.status).toBe(502);
    expect(reply.json()).toMatchObject({
      name: 'too-slow',
      response: { status: 'action developer error', success: false, result: { error: 'The action exceeded its time limits of 300 milliseconds.' } },
    });
  });

  it('demotes a blocking invoke that outlives ?timeout=200 to 202 {activationId}; the action still completes', async () => {
    const begun = Date.now();
    const reply = await call('POST', api('actions/slow?blocking=true&timeout=200'), {});
    const waited = Date.now() - begun;
    expect(reply.status).toBe(202);
    expect(reply.json()).toEqual({ activationId: expect.stringMatching(HEX32) });
    expect(reply.headers['x-openwhisk-activation-id']).toBe(reply.json().activationId);
    expect(waited).toBeGreaterThanOrEqual(190); // it did wait, then answered before the 1 s action ended
    const record = await activation(reply.json().activationId);
    expect(record.status).toBe(200);
    expect(record.json().response).toMatchObject({ success: true, result: { done: true } });
  });

  it('answers 408 instead of demoting with &fail_on_timeout=true, and the action still completes', async () => {
    const reply = await call('POST', api('actions/slow?blocking=true&timeout=200&fail_on_timeout=true'), {});
    expect(reply.status).toBe(408);
    const body = reply.json();
    expect(body).toMatchObject({ error: expect.stringContaining('did not complete within the 200 ms wait'), code: expect.stringMatching(HEX32), activationId: expect.stringMatching(HEX32) });
    expect(reply.headers['x-openwhisk-activation-id']).toBe(body.activationId);
    expect((await activation(body.activationId)).json().response).toMatchObject({ success: true });
  });

  it(`answers 400 '${BAD_TIMEOUT}' to ?timeout=0 and ?timeout=60001 on a blocking invoke, and starts nothing`, async () => {
    await define('timeout-probe', 'function main() { return {}; }');
    for (const value of ['0', '60001', '-5', '1.5', 'soon']) {
      expectErrorBody(await call('POST', api(`actions/timeout-probe?blocking=true&timeout=${value}`), {}), 400, BAD_TIMEOUT);
    }
    // The upper bound itself is valid; the refused requests started no activation.
    expect((await call('POST', api('actions/timeout-probe?blocking=true&timeout=60000'), {})).status).toBe(200);
    const count = await call('GET', api('activations?name=timeout-probe&count=true'));
    expect(count.json()).toEqual({ activations: 1 });
  });

  it('answers 400 to an invalid ?timeout on a non-blocking invoke too (OpenWhisk validates the parameter whenever present)', async () => {
    // OpenWhisk: `parameter('timeout.as[FiniteDuration] ? …)` with the stringToFiniteDuration unmarshaller
    // (controller/Actions.scala) rejects the request before looking at `blocking`.
    await define('timeout-probe-nb', 'function main() { return {}; }');
    for (const value of ['0', '60001']) {
      expectErrorBody(await call('POST', api(`actions/timeout-probe-nb?timeout=${value}`), {}), 400, BAD_TIMEOUT);
    }
  });

  it('returns an array result as the array itself, without result=true', async () => {
    const reply = await call('POST', api('actions/list?blocking=true'), {});
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual([1, 'two', { three: 3 }]);
    expect(reply.headers['x-openwhisk-activation-id']).toMatch(HEX32);
    const withResult = await call('POST', api('actions/list?blocking=true&result=true'), {});
    expect(withResult.json()).toEqual([1, 'two', { three: 3 }]);
    // The stored record still holds the array as its result.
    const record = await activation(reply.headers['x-openwhisk-activation-id'] as string);
    expect(record.json().response.result).toEqual([1, 'two', { three: 3 }]);
  });

  it('answers a fire with no active rule 204 with no body, no activation id and no record', async () => {
    expect((await call('PUT', api('triggers/lonely'), { parameters: [{ key: 'p', value: 1 }] })).status).toBe(200);
    const noRule = await call('POST', api('triggers/lonely'), { x: 1 });
    expect(noRule.status).toBe(204);
    expect(noRule.text).toBe('');
    expect(noRule.headers['x-openwhisk-activation-id']).toBeUndefined();

    // A rule that exists but is inactive does not count.
    expect((await call('PUT', api('rules/lonely-rule'), { trigger: '/_/lonely', action: '/_/hello' })).status).toBe(200);
    expect((await call('POST', api('rules/lonely-rule'), { status: 'inactive' })).status).toBe(200);
    const inactive = await call('POST', api('triggers/lonely'));
    expect(inactive.status).toBe(204);
    expect(inactive.text).toBe('');
    expect((await call('GET', api('activations?name=lonely&count=true'))).json()).toEqual({ activations: 0 });
  });
});

describe('namespaces, limits and the error body', () => {
  it('GET /api/v1/namespaces lists the one namespace', async () => {
    const reply = await call('GET', '/api/v1/namespaces');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toContain('application/json');
    expect(reply.json()).toEqual(['guest']);
  });

  it('GET /api/v1/namespaces/_/limits (and /guest/limits) describes the limits', async () => {
    const reply = await call('GET', '/api/v1/namespaces/_/limits');
    expect(reply.status).toBe(200);
    const limits = reply.json();
    expect(limits).toMatchObject({ minActionTimeout: 100, maxActionTimeout: 300_000, concurrentInvocations: 2000, maxActionConcurrency: 200 });
    for (const value of Object.values(limits)) expect(typeof value).toBe('number');
    expect((await call('GET', '/api/v1/namespaces/guest/limits')).json()).toEqual(limits);
  });

  it('answers errors as {error, code} with a 32-hex transaction id, a new one per request', async () => {
    const first = await call('GET', api('actions/nothing-here'));
    const second = await call('GET', api('actions/nothing-here'));
    expectErrorBody(first, 404, NOT_FOUND);
    expectErrorBody(second, 404, NOT_FOUND);
    expect(first.json().code).not.toBe(second.json().code);
  });
});

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly body?: string | Buffer | object;
  readonly options?: CallOptions;
  readonly status: number;
  readonly message: string | RegExp;
}

const LONG_NAME = 'a'.repeat(257);
const OVERSIZE = Buffer.alloc(BODY_LIMIT + 1, 'a');

const table: Case[] = [
  // Authentication and authorization (docs/semantics.md#rest-api)
  { name: 'no credentials', method: 'GET', path: api('actions'), options: { auth: false }, status: 401, message: /authentication/i },
  { name: 'a wrong key', method: 'GET', path: api('actions'), options: { auth: 'http-api-uuid:wrong' }, status: 401, message: /^The supplied authentication is invalid/ },
  { name: 'a wrong uuid', method: 'GET', path: api('actions'), options: { auth: `other-uuid:${'f00d'.repeat(16)}` }, status: 401, message: /^The supplied authentication is invalid/ },
  { name: 'a non-Basic Authorization header', method: 'GET', path: api('actions'), options: { auth: false, headers: { Authorization: 'Bearer abc' } }, status: 401, message: /authentication/i },
  { name: 'credentials without a key', method: 'GET', path: '/api/v1/namespaces', options: { auth: 'http-api-uuid' }, status: 401, message: /authentication/i },
  { name: 'another namespace (entity)', method: 'GET', path: '/api/v1/namespaces/someone-else/actions/hello', status: 403, message: 'The supplied authentication is not authorized to access this resource.' },
  { name: 'another namespace (list)', method: 'GET', path: '/api/v1/namespaces/someone-else/triggers', status: 403, message: 'The supplied authentication is not authorized to access this resource.' },
  { name: 'another namespace (invoke)', method: 'POST', path: '/api/v1/namespaces/someone-else/actions/hello?blocking=true', body: {}, status: 403, message: 'The supplied authentication is not authorized to access this resource.' },

  // Bodies
  { name: 'invalid JSON on PUT action', method: 'PUT', path: api('actions/broken'), body: '{"exec": {', status: 400, message: /^The request content was malformed/ },
  { name: 'invalid JSON on invoke', method: 'POST', path: api('actions/hello'), body: 'not json', status: 400, message: /^The request content was malformed/ },
  { name: 'a JSON array on PUT action', method: 'PUT', path: api('actions/broken'), body: '[1, 2]', status: 400, message: /^The request content was malformed/ },
  { name: 'a JSON string on PUT trigger', method: 'PUT', path: api('triggers/broken'), body: '"text"', status: 400, message: /^The request content was malformed/ },
  { name: 'a JSON array on PUT rule', method: 'PUT', path: api('rules/broken'), body: '[]', status: 400, message: /^The request content was malformed/ },
  { name: 'a JSON array on fire', method: 'POST', path: api('triggers/lonely'), body: '[1]', status: 400, message: /^The request content was malformed/ },
  { name: 'a JSON number as invoke payload', method: 'POST', path: api('actions/hello?blocking=true'), body: '42', status: 400, message: /JSON object/ },
  { name: 'a PUT action without code', method: 'PUT', path: api('actions/broken'), body: {}, status: 400, message: /exec/ },
  // OpenWhisk refuses these at PUT (WhiskActionPut/Exec deserialization: "'code' must be a string defined in 'exec'
  // for '<kind>' actions"); an action without code could never run.
  { name: 'a PUT action with exec null', method: 'PUT', path: api('actions/exec-null'), body: { exec: null }, status: 400, message: /exec|code/ },
  { name: 'a PUT action with exec an array', method: 'PUT', path: api('actions/exec-array'), body: { exec: [1] }, status: 400, message: /exec|code/ },
  { name: 'a PUT action with an exec without code', method: 'PUT', path: api('actions/exec-no-code'), body: { exec: { kind: 'nodejs:default' } }, status: 400, message: /exec|code/ },
  { name: 'code over the code limit', method: 'PUT', path: api('actions/broken'), body: { exec: { kind: 'nodejs:default', code: `function main() { return {}; }//${'x'.repeat(CODE_LIMIT)}` } }, status: 413, message: /^exec larger than allowed: \d+ > 1000 bytes\.$/ },
  { name: 'a body over the body limit (Content-Length)', method: 'PUT', path: api('actions/broken'), body: OVERSIZE, status: 413, message: `Request larger than allowed: ${BODY_LIMIT + 1} > ${BODY_LIMIT} bytes.` },
  { name: 'a body over the body limit (chunked)', method: 'POST', path: api('actions/hello'), body: OVERSIZE, options: { chunked: true }, status: 413, message: /^Request larger than allowed: \d+ > \d+ bytes\.$/ },

  // Paths
  { name: 'an unknown collection', method: 'GET', path: api('widgets'), status: 404, message: NOT_FOUND },
  { name: 'an unknown collection entity', method: 'GET', path: api('widgets/x'), status: 404, message: NOT_FOUND },
  { name: 'an unknown API version', method: 'GET', path: '/api/v2/namespaces', status: 404, message: NOT_FOUND },
  { name: 'an unknown top-level path', method: 'GET', path: '/etc/passwd', status: 404, message: NOT_FOUND },
  { name: 'an unknown activation sub-resource', method: 'GET', path: api('activations/0123456789abcdef0123456789abcdef/bogus'), status: 404, message: NOT_FOUND },
  { name: 'a missing activation', method: 'GET', path: api('activations/0123456789abcdef0123456789abcdef'), status: 404, message: NOT_FOUND },
  { name: 'a missing trigger on fire', method: 'POST', path: api('triggers/none'), body: {}, status: 404, message: NOT_FOUND },

  // Methods
  { name: 'PATCH on an action', method: 'PATCH', path: api('actions/hello'), body: {}, status: 405, message: /not allowed/i },
  { name: 'POST on the action collection', method: 'POST', path: api('actions'), body: {}, status: 405, message: /not allowed/i },
  { name: 'DELETE on /namespaces', method: 'DELETE', path: '/api/v1/namespaces', status: 405, message: /not allowed/i },
  { name: 'PUT on limits', method: 'PUT', path: api('limits'), body: {}, status: 405, message: /not allowed/i },
  { name: 'POST on an activation', method: 'POST', path: api('activations/0123456789abcdef0123456789abcdef'), body: {}, status: 405, message: /not allowed/i },

  // Entity names (docs/semantics.md#names)
  { name: 'a%3Fb as an action name (GET)', method: 'GET', path: api('actions/a%3Fb'), status: 400, message: 'The name of the entity contains illegal characters.' },
  { name: 'a%3Fb as an action name (PUT)', method: 'PUT', path: api('actions/a%3Fb'), body: { exec: { kind: 'nodejs:default', code: 'function main() { return {}; }' } }, status: 400, message: 'The name of the entity contains illegal characters.' },
  { name: 'a%20 (trailing space) as a trigger name', method: 'PUT', path: api('triggers/abc%20'), body: {}, status: 400, message: 'The name of the entity contains illegal characters.' },
  { name: 'a 257-character action name (GET)', method: 'GET', path: api(`actions/${LONG_NAME}`), status: 400, message: 'Name segement longer than allowed: 257 > 256.' },
  { name: 'a 257-character trigger name (PUT)', method: 'PUT', path: api(`triggers/${LONG_NAME}`), body: {}, status: 400, message: 'Name segement longer than allowed: 257 > 256.' },
  { name: '..%2F..%2Fetc%2Fpasswd as an action name', method: 'GET', path: api('actions/..%2F..%2Fetc%2Fpasswd'), status: 400, message: 'The name of the entity contains illegal characters.' },
  { name: '..%2F..%2Fetc%2Fpasswd as a trigger name (PUT)', method: 'PUT', path: api('triggers/..%2F..%2Fetc%2Fpasswd'), body: {}, status: 400, message: 'The name of the entity contains illegal characters.' },
  { name: '..%2F..%2Fetc%2Fpasswd on invoke', method: 'POST', path: api('actions/..%2F..%2Fetc%2Fpasswd?blocking=true'), body: {}, status: 400, message: 'The name of the entity contains illegal characters.' },

  // Query parameters (docs/semantics.md#lists, #blocking-and-non-blocking)
  { name: 'limit=201 on the action list', method: 'GET', path: api('actions?limit=201'), status: 400, message: "The value '201' is not in the range of 0 to 200 for actions." },
  { name: 'limit=201 on the trigger list', method: 'GET', path: api('triggers?limit=201'), status: 400, message: "The value '201' is not in the range of 0 to 200 for triggers." },
  { name: 'limit=-1 on the rule list', method: 'GET', path: api('rules?limit=-1'), status: 400, message: "The value '-1' is not in the range of 0 to 200 for rules." },
  { name: 'skip=-1 on the activation list', method: 'GET', path: api('activations?skip=-1'), status: 400, message: "The value '-1' is not greater than or equal to 0 for activations." },
  { name: 'limit=ten on the action list', method: 'GET', path: api('actions?limit=ten'), status: 400, message: "The value 'ten' is not an integer for actions." },
  { name: 'docs with count', method: 'GET', path: api('activations?docs=true&count=true'), status: 400, message: "The parameter 'docs' is not permitted with 'count'." },
  { name: 'since=yesterday', method: 'GET', path: api('activations?since=yesterday'), status: 400, message: 'Parameter is not a valid value for epoch seconds: yesterday' },

  // Rules
  { name: 'a rule toggle with a bad status', method: 'POST', path: api('rules/lonely-rule'), body: { status: 'paused' }, status: 400, message: /'active' or 'inactive'.*paused/ },
  { name: 'a rule toggle without a status', method: 'POST', path: api('rules/lonely-rule'), body: {}, status: 400, message: /'active' or 'inactive'/ },
  { name: 'a rule toggle with an array body', method: 'POST', path: api('rules/lonely-rule'), body: '["active"]', status: 400, message: /^The request content was malformed/ },
  { name: 'a rule on a missing trigger', method: 'PUT', path: api('rules/broken'), body: { trigger: '/_/none', action: '/_/hello' }, status: 400, message: "The rule's trigger '/guest/none' does not exist." },
];

describe('malformed requests: the right status, a clear message, and the server keeps serving', () => {
  it.each(table)('$name → $status', async ({ method, path, body, options, status, message }) => {
    const reply = await call(method, path, body, options);
    expectErrorBody(reply, status, message);
    expect(reply.text).not.toContain('root:');
    if (status === 401) expect(reply.headers['www-authenticate']).toMatch(/^Basic realm=/);
  });

  it('created nothing on the refused requests', async () => {
    for (const collection of ['actions', 'triggers', 'rules']) {
      const reply = await call('GET', api(`${collection}?limit=200`));
      expect(reply.status).toBe(200);
      const listed: string[] = reply.json().map((e: { name: string }) => e.name);
      expect(listed).not.toContain('broken');
      expect(listed.some((n) => n.includes('passwd') || n.length > 256)).toBe(false);
    }
  });

  it('still serves a normal invoke after the table', async () => {
    const reply = await call('POST', api('actions/hello?blocking=true&result=true'), { who: 'after' });
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({ greeting: 'Hello, after!' });
    const list = await call('GET', api('actions?limit=2&skip=1'));
    expect(list.status).toBe(200);
    expect(list.json()).toHaveLength(2);
  });
});
