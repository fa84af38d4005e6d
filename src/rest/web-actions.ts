/**
 * Web actions (openwhisk-semantics §7): `/api/v1/web/{ns}/{pkg|default}/{action}.{ext}` runs an action annotated
 * `web-export` for any HTTP client, without credentials unless the action asks for them, and projects its result
 * onto the HTTP response: `.http` as `{statusCode, headers, body}`, `.json` as JSON, `.html`/`.text`/`.svg` from the
 * result's property of that name.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Activation } from '../activations/record';
import type { Engine } from '../engine';
import { annotation, type KeyValue } from '../entities/types';
import { isEdgeWhiskError } from '../errors';

const EXTENSIONS = new Set(['json', 'http', 'html', 'text', 'svg']);
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
const CORS_METHODS = 'OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH';
const CORS_HEADERS = 'Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent';
const BINARY_TYPES = /^(image|audio|video)\/|^application\/(octet-stream|pdf|zip|gzip)/;
const RESERVED = 'Request defines parameters that are not allowed (e.g., reserved properties).';

interface WebTarget {
  readonly namespace: string;
  readonly name: string;
  readonly ext: string;
  readonly path: string;
}

/** `/api/v1/web/ns/default/action.ext/extra/path` → its parts, or `undefined` when it is not a web route. */
export function parseWebPath(pathname: string): WebTarget | undefined {
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts[0] !== 'api' || parts[1] !== 'v1' || parts[2] !== 'web' || parts.length < 6) return undefined;
  let decoded: string[];
  try {
    decoded = parts.map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
  const [, , , namespace, pkg, last, ...extra] = decoded as [string, string, string, string, string, string, ...string[]];
  const dot = last.lastIndexOf('.');
  const ext = dot > 0 && EXTENSIONS.has(last.slice(dot + 1)) ? last.slice(dot + 1) : 'http';
  const action = ext === 'http' && !last.endsWith('.http') ? last : last.slice(0, dot);
  // `default` is the package part of an action outside any package.
  const name = pkg === 'default' ? action : `${pkg}/${action}`;
  return { namespace, name, ext, path: extra.length === 0 ? '' : `/${extra.join('/')}` };
}

function reply(res: ServerResponse, status: number, headers: Record<string, string | number | string[]>, body?: Buffer): void {
  if (res.headersSent) return;
  const data = body ?? Buffer.alloc(0);
  res.writeHead(status, { ...headers, 'Content-Length': data.length });
  res.end(data);
}

function replyJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  reply(res, status, { 'Content-Type': 'application/json', ...headers }, Buffer.from(JSON.stringify(value) ?? 'null'));
}

function truthy(value: unknown): boolean {
  return value === true || value === 'true' || value === 'yes';
}

function parseBody(raw: Buffer, contentType: string): { fields?: Record<string, unknown>; body?: string } {
  if (raw.length === 0) return {};
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json') {
    try {
      const value = JSON.parse(raw.toString('utf8')) as unknown;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return { fields: value as Record<string, unknown> };
    } catch {
      // Not JSON after all: passed on as text.
    }
    return { body: raw.toString('utf8') };
  }
  if (type === 'application/x-www-form-urlencoded') return { fields: Object.fromEntries(new URLSearchParams(raw.toString('utf8'))) };
  if (type.startsWith('text/') || type === '') return { body: raw.toString('utf8') };
  return { body: raw.toString('base64') };
}

export function createWebActions(engine: Engine, auth: Buffer, bodyLimit: number) {
  const credentialsMatch = (header: string | undefined): boolean => {
    if (header === undefined || !/^basic /i.test(header)) return false;
    const given = Buffer.from(Buffer.from(header.slice(6).trim(), 'base64').toString('utf8'));
    return given.length === auth.length && timingSafeEqual(given, auth);
  };

  return async function handleWeb(req: IncomingMessage, res: ServerResponse, target: WebTarget, query: URLSearchParams, raw: Buffer): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    if (!METHODS.has(method)) return replyJson(res, 405, { error: 'Method not allowed.' });
    if (target.namespace !== '_' && target.namespace !== engine.options.namespace) return replyJson(res, 404, { error: 'The requested resource does not exist.' });
    let action: Record<string, unknown>;
    try {
      action = await engine.actions.get({ name: `/${engine.options.namespace}/${target.name}`, code: false });
    } catch {
      return replyJson(res, 404, { error: 'The requested resource does not exist.' });
    }
    const annotations = action['annotations'] as KeyValue[];
    if (!truthy(annotation(annotations, 'web-export'))) return replyJson(res, 404, { error: 'The requested resource does not exist.' });

    if (method === 'OPTIONS' && !truthy(annotation(annotations, 'web-custom-options'))) {
      const requested = req.headers['access-control-request-headers'];
      return reply(res, 200, {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Methods': CORS_METHODS,
        'Access-Control-Allow-Headers': typeof requested === 'string' ? requested : CORS_HEADERS,
      });
    }

    const requireAuth = annotation(annotations, 'require-whisk-auth');
    let user: string | undefined;
    if (requireAuth === true) {
      if (!credentialsMatch(req.headers.authorization)) return replyJson(res, 401, { error: 'Not Authorized' });
      user = engine.options.namespace;
    } else if (typeof requireAuth === 'string' || typeof requireAuth === 'number') {
      if (req.headers['x-require-whisk-auth'] !== String(requireAuth)) return replyJson(res, 401, { error: 'Not Authorized' });
    }

    if (raw.length > bodyLimit) return replyJson(res, 413, { error: `Request larger than allowed: ${raw.length} > ${bodyLimit} bytes.` });
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers)) headers[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    const rawHttp = truthy(annotation(annotations, 'raw-http'));
    const params: Record<string, unknown> = {};
    if (rawHttp) {
      if (raw.length > 0) params['__ow_body'] = BINARY_TYPES.test(headers['content-type'] ?? '') || !(headers['content-type'] ?? '').startsWith('text/') ? raw.toString('base64') : raw.toString('utf8');
      params['__ow_query'] = query.toString();
    } else {
      for (const [key, value] of query) params[key] = value;
      const parsed = parseBody(raw, headers['content-type'] ?? '');
      if (parsed.fields !== undefined) Object.assign(params, parsed.fields);
      if (parsed.body !== undefined) params['__ow_body'] = parsed.body;
    }
    // The HTTP context belongs to the system: a request may not supply any of it itself.
    for (const key of Object.keys(params)) {
      if (key.startsWith('__ow_') && !(key === '__ow_body' || key === '__ow_query')) return replyJson(res, 400, { error: RESERVED });
    }
    params['__ow_method'] = method.toLowerCase();
    params['__ow_headers'] = headers;
    params['__ow_path'] = target.path;
    if (user !== undefined) params['__ow_user'] = user;

    let activation: Activation;
    try {
      const started = await engine.actions.start({ name: `/${engine.options.namespace}/${target.name}`, params });
      activation = await started.activation;
      res.setHeader('x-openwhisk-activation-id', started.activationId);
    } catch (error) {
      const status = isEdgeWhiskError(error) ? error.statusCode : 500;
      return replyJson(res, status, { error: error instanceof Error ? error.message : String(error) });
    }
    const result = activation.response.result as Record<string, unknown>;
    if (activation.response.statusCode >= 2) return replyJson(res, activation.response.statusCode === 3 ? 500 : 502, { error: (result ?? {})['error'] ?? 'The action did not produce a valid response.' });
    // An application error is projected like a result: the action chose its status and body.
    const projected = activation.response.statusCode === 1 && typeof result?.['error'] === 'object' ? (result['error'] as Record<string, unknown>) : result;
    return project(res, target.ext, projected, activation.response.statusCode === 1, method === 'HEAD');
  };
}

function project(res: ServerResponse, ext: string, result: Record<string, unknown>, failed: boolean, head: boolean): void {
  const send = (status: number, headers: Record<string, string | number | string[]>, body: Buffer): void =>
    reply(res, status, headers, head ? Buffer.alloc(0) : body);
  if (ext === 'json') return send(failed ? 400 : 200, { 'Content-Type': 'application/json' }, Buffer.from(JSON.stringify(result)));
  if (ext === 'html' || ext === 'text' || ext === 'svg') {
    const value = result[ext];
    if (typeof value !== 'string') return send(400, { 'Content-Type': 'application/json' }, Buffer.from(JSON.stringify({ error: `The action did not return a '${ext}' property.` })));
    const type = ext === 'html' ? 'text/html; charset=utf-8' : ext === 'svg' ? 'image/svg+xml' : 'text/plain; charset=utf-8';
    return send(failed ? 400 : 200, { 'Content-Type': type }, Buffer.from(value, 'utf8'));
  }
  // .http: {statusCode, headers, body}.
  const headers: Record<string, string | number | string[]> = {};
  const given = result['headers'];
  if (given !== null && typeof given === 'object') {
    for (const [key, value] of Object.entries(given as Record<string, unknown>)) {
      if (Array.isArray(value)) headers[key] = value.map(String);
      else if (['string', 'number', 'boolean'].includes(typeof value)) headers[key] = String(value);
    }
  }
  const contentType = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
  const body = result['body'];
  const empty = body === undefined || body === null || body === '';
  let data = Buffer.alloc(0);
  if (!empty) {
    if (typeof body === 'string') {
      data = typeof contentType === 'string' && BINARY_TYPES.test(contentType) ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
      if (contentType === undefined) headers['Content-Type'] = 'text/html; charset=utf-8';
    } else {
      data = Buffer.from(JSON.stringify(body));
      if (contentType === undefined) headers['Content-Type'] = 'application/json';
    }
  }
  const statusCode = typeof result['statusCode'] === 'number' ? result['statusCode'] : empty ? 204 : 200;
  send(statusCode, headers, data);
}
