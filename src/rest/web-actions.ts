/**
 * Web actions (apache/openwhisk docs/webactions.md): `/api/v1/web/{ns}/{pkg|default}/{action}.{ext}` runs an action annotated
 * `web-export` for any HTTP client, without credentials unless the action asks for them, and projects its result
 * onto the HTTP response (see web-response.ts).
 *
 * Anyone on the network can call this route, so it spends nothing before it knows the request can be served: the
 * action is looked up and the credentials it requires are checked before the body is read, and the body is then an
 * invocation payload, capped at `payloadLimit`. A caller without the namespace's credentials is anonymous: its
 * activations count against the anonymous share of the namespace's in-flight limit, and one whose caller has hung up
 * before it started is dropped from the queue instead of run.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { httpStatusOf, type Activation } from '../activations/record';
import type { Engine } from '../engine';
import { annotation } from '../entities/types';
import type { ActionView } from '../entities/views';
import { ewError, type EdgeWhiskError } from '../errors';
import { credentialsMatch } from './basic-auth';
import type { BodyReader } from './body-reader';
import { errorReply } from './http-reply';
import { JSON_MAX_DEPTH, scanJson, tooDeep } from './json-body';
import { project, reply, replyJson } from './web-response';

const EXTENSIONS = new Set(['json', 'http', 'html', 'text', 'svg']);
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
const CORS_METHODS = 'OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH';
const CORS_HEADERS = 'Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent';
const BINARY_TYPES = /^(image|audio|video)\/|^application\/(octet-stream|pdf|zip|gzip)/;

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

function truthy(value: unknown): boolean {
  return value === true || value === 'true' || value === 'yes';
}

/** The body as parameters: a JSON object's fields, form fields, or the text (base64 for binary types) as `__ow_body`. */
function parseBody(raw: Buffer, contentType: string): { fields?: Record<string, unknown>; body?: string; tooDeep?: true } {
  if (raw.length === 0) return {};
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json') {
    // Nesting that deep would parse, then overflow the stack of whatever walks the parameters.
    if (scanJson(raw, JSON_MAX_DEPTH).depth > JSON_MAX_DEPTH) return { tooDeep: true };
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

/**
 * Refuses the request with `error` as `{error}` (a coded error's status and message; anything else is a logged 500);
 * a body it came with is not read (see `lingerIfUnread`).
 */
function refuse(res: ServerResponse, error: unknown): void {
  const { status, message, headers } = errorReply(error);
  replyJson(res, status, { error: message }, headers);
}

function notFound(): EdgeWhiskError {
  return ewError('EW_ENTITY_NOT_FOUND', []);
}

export function createWebActions(engine: Engine, auth: Buffer, bodies: BodyReader) {
  const ns = engine.options.namespace;

  return async function handleWeb(req: IncomingMessage, res: ServerResponse, target: WebTarget, query: URLSearchParams): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    if (!METHODS.has(method)) return refuse(res, ewError('EW_METHOD_NOT_ALLOWED', []));
    if (target.namespace !== '_' && target.namespace !== ns) return refuse(res, notFound());
    let action: ActionView;
    try {
      action = await engine.actions.get({ name: `/${ns}/${target.name}`, code: false });
    } catch {
      return refuse(res, notFound());
    }
    const annotations = action.annotations;
    if (!truthy(annotation(annotations, 'web-export'))) return refuse(res, notFound());

    if (method === 'OPTIONS' && !truthy(annotation(annotations, 'web-custom-options'))) {
      const requested = req.headers['access-control-request-headers'];
      return reply(res, 200, {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Methods': CORS_METHODS,
        'Access-Control-Allow-Headers': typeof requested === 'string' ? requested : CORS_HEADERS,
      });
    }

    // The namespace's own credentials make the caller its owner; anyone else is anonymous.
    const owner = credentialsMatch(req.headers.authorization, auth);
    const requireAuth = annotation(annotations, 'require-whisk-auth');
    if (requireAuth === true) {
      if (!owner) return refuse(res, ewError('EW_WEB_NOT_AUTHORIZED', []));
    } else if (typeof requireAuth === 'string' || typeof requireAuth === 'number') {
      if (req.headers['x-require-whisk-auth'] !== String(requireAuth)) return refuse(res, ewError('EW_WEB_NOT_AUTHORIZED', []));
    }

    // The caller is gone when the connection closes before the answer was sent.
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    /**
     * Reads the body into the action's parameters and starts the activation; answers and returns `undefined` if
     * the request is refused. The raw body and the parameters live only while this runs, not while the caller
     * waits for the result, so its bytes are given back to the budget when it returns.
     */
    const begin = async (): Promise<{ activationId: string; activation: Promise<Activation> } | undefined> => {
      let raw: Buffer;
      try {
        raw = await bodies.read(req, res, { cap: engine.options.payloadLimit, anonymous: !owner });
      } catch (error) {
        refuse(res, error);
        return undefined;
      }
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(req.headers)) headers[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
      const params: Record<string, unknown> = {};
      if (truthy(annotation(annotations, 'raw-http'))) {
        if (raw.length > 0) params['__ow_body'] = BINARY_TYPES.test(headers['content-type'] ?? '') || !(headers['content-type'] ?? '').startsWith('text/') ? raw.toString('base64') : raw.toString('utf8');
        params['__ow_query'] = query.toString();
      } else {
        for (const [key, value] of query) params[key] = value;
        const parsed = parseBody(raw, headers['content-type'] ?? '');
        if (parsed.tooDeep === true) {
          refuse(res, tooDeep());
          return undefined;
        }
        if (parsed.fields !== undefined) Object.assign(params, parsed.fields);
        if (parsed.body !== undefined) params['__ow_body'] = parsed.body;
      }
      // The HTTP context belongs to the system: a request may not supply any of it itself.
      for (const key of Object.keys(params)) {
        if (key.startsWith('__ow_') && !(key === '__ow_body' || key === '__ow_query')) {
          refuse(res, ewError('EW_PARAMETERS_NOT_ALLOWED', []));
          return undefined;
        }
      }
      params['__ow_method'] = method.toLowerCase();
      params['__ow_headers'] = headers;
      params['__ow_path'] = target.path;
      if (owner && requireAuth === true) params['__ow_user'] = ns;
      return engine.actions.start({ name: `/${ns}/${target.name}`, params, caller: { anonymous: !owner, signal: gone.signal } });
    };

    let activation: Activation;
    try {
      const started = await begin().finally(() => bodies.release(req));
      if (started === undefined) return;
      res.setHeader('x-openwhisk-activation-id', started.activationId);
      activation = await started.activation;
    } catch (error) {
      return refuse(res, error);
    }
    const result = activation.response.result as Record<string, unknown>;
    if (activation.response.statusCode >= 2) return replyJson(res, httpStatusOf(activation.response.statusCode), { error: (result ?? {})['error'] ?? 'The action did not produce a valid response.' });
    // An application error is projected like a result: the action chose its status and body.
    const projected = activation.response.statusCode === 1 && typeof result?.['error'] === 'object' ? (result['error'] as Record<string, unknown>) : result;
    return project(res, target.ext, projected, activation.response.statusCode === 1, method === 'HEAD');
  };
}
