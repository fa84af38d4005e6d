/**
 * OpenWhisk's REST API (`/api/v1`) over the engine, on plain `node:http`, so `wsk`, the official `openwhisk` npm
 * client, webhooks and Home Assistant's REST commands can use an EdgeWhisk engine (openwhisk-semantics §3, §12).
 *
 * Every answer is JSON with OpenWhisk's statuses; errors are `{"error": "<message>", "code": "<transaction id>"}`.
 * Nothing a client sends can throw out of the handler: malformed JSON, wrong types, odd paths and oversize bodies
 * all get a status and a message, and the server keeps serving.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Activation } from '../activations/record';
import type { Engine } from '../engine';
import { ewError, isEdgeWhiskError } from '../errors';
import { checkWaitTimeout } from '../api/actions-api';
import { createWebActions, parseWebPath } from './web-actions';

export interface RestApiOptions {
  /** `uuid:key` credentials every route requires (HTTP Basic, as OpenWhisk). */
  readonly auth: string;
  /** Largest request body in bytes. @default the engine's code limit plus 1 MB */
  readonly bodyLimit?: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };
const NOT_FOUND = 'The requested resource does not exist.';
const BAD_AUTH = 'The supplied authentication is invalid.';
const METHOD_NOT_ALLOWED = 'Method not allowed.';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function transactionId(): string {
  return randomBytes(16).toString('hex');
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  if (status === 204) {
    res.writeHead(204, headers);
    res.end();
    return;
  }
  const data = Buffer.from(JSON.stringify(body) ?? 'null', 'utf8');
  res.writeHead(status, { ...JSON_HEADERS, 'Content-Length': String(data.length), ...headers });
  res.end(data);
}

function sendError(res: ServerResponse, status: number, message: string, code = transactionId()): void {
  send(res, status, { error: message, code });
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(ewError('EW_REQUEST_TOO_LARGE', [declared, limit]));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(ewError('EW_REQUEST_TOO_LARGE', [size, limit]));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (error) => {
      if (!failed) reject(error);
    });
  });
}

async function jsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const raw = await readBody(req, limit);
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'The request content was malformed:\nInvalid JSON.');
  }
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'The request content was malformed:\nExpected a JSON object.');
  return body as Record<string, unknown>;
}

/** A boolean query parameter, read as akka-http (OpenWhisk's server) reads one. */
function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name)?.toLowerCase();
  return value === '' || value === 'true' || value === 'yes' || value === 'on' || value === '1';
}

function authorized(header: string | undefined, expected: Buffer): boolean {
  // The scheme name is case-insensitive (RFC 7235).
  if (header === undefined || !/^basic /i.test(header)) return false;
  const given = Buffer.from(Buffer.from(header.slice(6).trim(), 'base64').toString('utf8'));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Splits `/api/v1/namespaces/{ns}/{collection}/{name...}` into its parts, decoding each segment. */
function route(pathname: string): { namespace: string; collection: string; rest: string[] } | 'namespaces' | undefined {
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts[0] !== 'api' || parts[1] !== 'v1' || parts[2] !== 'namespaces') return undefined;
  if (parts.length === 3) return 'namespaces';
  let decoded: string[];
  try {
    decoded = parts.slice(3).map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
  const [namespace, collection, ...rest] = decoded;
  if (namespace === undefined) return undefined;
  return { namespace, collection: collection ?? '', rest };
}

export function createRestApi(engine: Engine, options: RestApiOptions): Handler {
  if (typeof options.auth !== 'string' || !/^[^:]+:.+$/.test(options.auth)) {
    throw new TypeError('Expected `auth` to be credentials of the form uuid:key');
  }
  const expected = Buffer.from(options.auth, 'utf8');
  const limit = options.bodyLimit ?? engine.options.codeLimit + 1_048_576;
  const ns = engine.options.namespace;

  /** `_` and the configured namespace are the same; any other is not this key's to touch. */
  const checkNamespace = (namespace: string): void => {
    if (namespace !== '_' && namespace !== ns) {
      throw new HttpError(403, 'The supplied authentication is not authorized to access this resource.');
    }
  };
  /** Entity name with its namespace, as the engine expects. */
  const entity = (namespace: string, rest: string[]): string => {
    if (rest.length === 0 || rest.some((r) => r === '')) throw new HttpError(404, NOT_FOUND);
    checkNamespace(namespace);
    return `/${ns}/${rest.join('/')}`;
  };

  const invoke = async (res: ServerResponse, name: string, query: URLSearchParams, body: unknown): Promise<void> => {
    const blocking = flag(query, 'blocking');
    const timeoutParam = query.get('timeout');
    let wait = engine.options.maxBlockingWait;
    // OpenWhisk checks `timeout` whenever it is given, blocking or not.
    if (timeoutParam !== null) {
      const t = Number(timeoutParam);
      checkWaitTimeout(Number.isInteger(t) ? t : -1);
      wait = Math.min(t, wait);
    }
    const started = await engine.actions.start({ name, params: body ?? {} });
    const header = { 'x-openwhisk-activation-id': started.activationId };
    if (!blocking) {
      started.activation.catch(() => undefined);
      return send(res, 202, { activationId: started.activationId }, header);
    }
    let timer: NodeJS.Timeout | undefined;
    const activation = await new Promise<Activation | undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), wait);
      started.activation.then(resolve, () => resolve(undefined));
    });
    clearTimeout(timer);
    if (activation === undefined) {
      // OpenWhisk's demotion: still running after the wait. `?fail_on_timeout=true` asks for an error instead.
      if (flag(query, 'fail_on_timeout')) {
        const error = ewError('EW_ACTIVATION_WAIT_EXPIRED', [started.activationId, wait]);
        return send(res, 408, { error: error.message, code: transactionId(), activationId: started.activationId }, header);
      }
      return send(res, 202, { activationId: started.activationId }, header);
    }
    const status = activation.response.success ? 200 : activation.response.statusCode === 3 ? 500 : 502;
    const result = activation.response.result;
    if (flag(query, 'result') || Array.isArray(result)) return send(res, status, result, header);
    send(res, status, activation, header);
  };

  const web = createWebActions(engine, expected, engine.options.payloadLimit);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Web actions answer anyone (unless the action requires credentials), so they are routed before auth.
    const webTarget = parseWebPath(url.pathname);
    if (webTarget !== undefined) return web(req, res, webTarget, url.searchParams, await readBody(req, limit));
    const target = route(url.pathname);
    if (target === undefined) throw new HttpError(404, NOT_FOUND);
    if (!authorized(req.headers.authorization, expected)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="EdgeWhisk"');
      throw new HttpError(401, BAD_AUTH);
    }
    const method = req.method ?? 'GET';
    const query = url.searchParams;
    if (target === 'namespaces') {
      if (method !== 'GET') throw new HttpError(405, METHOD_NOT_ALLOWED);
      return send(res, 200, [ns]);
    }
    const { namespace, collection, rest } = target;
    const listOptions = {
      namespace: ns,
      ...(query.has('limit') ? { limit: query.get('limit') as string } : {}),
      ...(query.has('skip') ? { skip: query.get('skip') as string } : {}),
      ...(flag(query, 'count') ? { count: true } : {}),
    };
    const readBodyIfAny = async (): Promise<unknown> => (method === 'GET' || method === 'DELETE' ? undefined : jsonBody(req, limit));

    switch (collection) {
      case 'limits': {
        if (method !== 'GET') throw new HttpError(405, METHOD_NOT_ALLOWED);
        checkNamespace(namespace);
        const o = engine.options;
        return send(res, 200, {
          concurrentInvocations: o.concurrentInvocations,
          maxQueued: o.maxQueued,
          sequenceMaxActionCount: o.sequenceMaxLength,
          minActionMemory: o.limits.memory.min * 1_048_576,
          maxActionMemory: o.limits.memory.max * 1_048_576,
          minActionTimeout: o.limits.timeout.min,
          maxActionTimeout: o.limits.timeout.max,
          minActionLogs: o.limits.logs.min * 1_048_576,
          maxActionLogs: o.limits.logs.max * 1_048_576,
          maxActionConcurrency: o.limits.concurrency.max,
        });
      }
      case 'actions': {
        if (rest.length === 0) {
          if (method !== 'GET') throw new HttpError(405, METHOD_NOT_ALLOWED);
          checkNamespace(namespace);
          return send(res, 200, await engine.actions.list(listOptions));
        }
        const name = entity(namespace, rest);
        if (method === 'GET') return send(res, 200, await engine.actions.get({ name, code: query.get('code') !== 'false' }));
        if (method === 'DELETE') return send(res, 200, await engine.actions.delete({ name }));
        if (method === 'PUT') {
          const body = objectBody(await readBodyIfAny());
          return send(res, 200, await engine.actions.create({ name, action: body, overwrite: flag(query, 'overwrite') }));
        }
        if (method === 'POST') return invoke(res, name, query, await readBodyIfAny());
        throw new HttpError(405, METHOD_NOT_ALLOWED);
      }
      case 'triggers': {
        if (rest.length === 0) {
          if (method !== 'GET') throw new HttpError(405, METHOD_NOT_ALLOWED);
          checkNamespace(namespace);
          return send(res, 200, await engine.triggers.list(listOptions));
        }
        const name = entity(namespace, rest);
        if (method === 'GET') return send(res, 200, await engine.triggers.get({ name }));
        if (method === 'DELETE') return send(res, 200, await engine.triggers.delete({ name }));
        if (method === 'PUT') {
          const body = objectBody(await readBodyIfAny());
          return send(res, 200, await engine.triggers.create({ name, trigger: body, overwrite: flag(query, 'overwrite') }));
        }
        if (method === 'POST') {
          const body = objectBody(await readBodyIfAny());
          const fired = await engine.triggers.invoke({ name, params: body });
          if (fired.activationId === undefined) return send(res, 204, undefined);
          return send(res, 202, { activationId: fired.activationId }, { 'x-openwhisk-activation-id': fired.activationId });
        }
        throw new HttpError(405, METHOD_NOT_ALLOWED);
      }
      case 'rules': {
        if (rest.length === 0) {
          if (method !== 'GET') throw new HttpError(405, METHOD_NOT_ALLOWED);
          checkNamespace(namespace);
          return send(res, 200, await engine.rules.list(listOptions));
        }
        const name = entity(namespace, rest);
        if (method === 'GET') return send(res, 200, await engine.rules.get({ name }));
        if (method === 'DELETE') return send(res, 200, await engine.rules.delete({ name }));
        if (method === 'PUT') {
          const body = objectBody(await readBodyIfAny());
          const status = body['status'];
          return send(
            res,
            200,
            await engine.rules.create({
              name,
              ...(typeof body['trigger'] === 'string' ? { trigger: body['trigger'] } : {}),
              ...(typeof body['action'] === 'string' ? { action: body['action'] } : {}),
              ...(status === 'active' || status === 'inactive' ? { status } : {}),
              ...(body['annotations'] !== undefined ? { annotations: body['annotations'] as Record<string, unknown> } : {}),
              overwrite: flag(query, 'overwrite'),
            }),
          );
        }
        if (method === 'POST') {
          const body = objectBody(await readBodyIfAny());
          if (body['status'] === 'active') return send(res, 200, await engine.rules.enable({ name }));
          if (body['status'] === 'inactive') return send(res, 200, await engine.rules.disable({ name }));
          throw ewError('EW_RULE_STATUS_INVALID', [String(body['status'])]);
        }
        throw new HttpError(405, METHOD_NOT_ALLOWED);
      }
      case 'packages': {
        if (rest.length === 0) {
          if (method !== 'GET') throw new HttpError(405, METHOD_NOT_ALLOWED);
          checkNamespace(namespace);
          return send(res, 200, await engine.packages.list({ ...listOptions, public: flag(query, 'public') }));
        }
        const name = entity(namespace, rest);
        if (method === 'GET') return send(res, 200, await engine.packages.get({ name }));
        if (method === 'DELETE') return send(res, 200, await engine.packages.delete({ name, force: flag(query, 'force') }));
        if (method === 'PUT') {
          const body = objectBody(await readBodyIfAny());
          return send(res, 200, await engine.packages.create({ name, package: body, overwrite: flag(query, 'overwrite') }));
        }
        throw new HttpError(405, METHOD_NOT_ALLOWED);
      }
      case 'activations': {
        if (method !== 'GET') throw new HttpError(405, METHOD_NOT_ALLOWED);
        checkNamespace(namespace);
        if (rest.length === 0) {
          const listed = await engine.activations.list({
            ...listOptions,
            ...(query.has('name') ? { name: query.get('name') as string } : {}),
            ...(query.has('since') ? { since: query.get('since') as string } : {}),
            ...(query.has('upto') ? { upto: query.get('upto') as string } : {}),
            docs: flag(query, 'docs'),
            count: flag(query, 'count'),
          });
          return send(res, 200, listed);
        }
        const [id, part, ...extra] = rest;
        if (id === undefined || extra.length > 0) throw new HttpError(404, NOT_FOUND);
        if (part === undefined) return send(res, 200, await engine.activations.get(id));
        if (part === 'logs') return send(res, 200, await engine.activations.logs(id));
        if (part === 'result') return send(res, 200, await engine.activations.result(id));
        throw new HttpError(404, NOT_FOUND);
      }
      default:
        throw new HttpError(404, NOT_FOUND);
    }
  };

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) return sendError(res, error.status, error.message);
      if (isEdgeWhiskError(error)) return sendError(res, error.statusCode, error.message);
      // Misuse of an engine API by the request (wrong types) is the client's error, not the server's.
      if (error instanceof TypeError) return sendError(res, 400, error.message);
      sendError(res, 500, 'The server encountered an internal error.');
    });
  };
}
