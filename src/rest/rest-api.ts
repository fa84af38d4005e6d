/**
 * OpenWhisk's REST API (`/api/v1`) over the engine, on plain `node:http`, so `wsk`, the official `openwhisk` npm
 * client, webhooks and Home Assistant's REST commands can use an EdgeWhisk engine (apache/openwhisk docs/rest_api.md and core/controller's RestAPIs).
 *
 * Every answer is JSON with OpenWhisk's statuses; errors are `{"error": "<message>", "code": "<transaction id>"}`.
 * Nothing a client sends can throw out of the handler: malformed JSON, wrong types, odd paths and oversize bodies
 * all get a status and a message, and the server keeps serving.
 *
 * A request's route, method and credentials are settled before its body is read, and each route reads at most what
 * it can use: an action's code for an action PUT, an invocation payload for an invoke or a fire, an entity's
 * parameters and annotations for the other PUTs (body-reader.ts, json-body.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { awaitActivation } from '../activations/await-activation';
import { httpStatusOf } from '../activations/record';
import type { Engine } from '../engine';
import { SYSTEM_NAMESPACE } from '../entities/entity-store';
import { ewError } from '../errors';
import { credentialsMatch } from './basic-auth';
import { BodyReader } from './body-reader';
import { errorReply, send, sendError, transactionId } from './http-reply';
import { parseJsonBody } from './json-body';
import { epochParams, flag, listParams, waitTimeout } from './query';
import { createWebActions, parseWebPath } from './web-actions';

export interface RestApiOptions {
  /** `uuid:key` credentials every route requires (HTTP Basic, as OpenWhisk). */
  readonly auth: string;
  /** Largest action PUT body in bytes (other routes take less). @default the engine's code limit plus 1 MB */
  readonly bodyLimit?: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Room for an entity's small fields (names, kind, limits, version) besides its parameters and annotations. */
const ENTITY_SLACK = 65_536;

function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw ewError('EW_BODY_MALFORMED', ['Expected a JSON object.']);
  return body as Record<string, unknown>;
}

/** `publish` is a boolean: the string "false" must not be stored as true. */
function checkPublish(body: Record<string, unknown>): void {
  const publish = body['publish'];
  if (publish !== undefined && typeof publish !== 'boolean') throw ewError('EW_FIELD_TYPE', ['publish', 'a boolean', JSON.stringify(publish) ?? String(publish)]);
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
  const o = engine.options;
  const actionLimit = options.bodyLimit ?? o.codeLimit + 1_048_576;
  if (!Number.isInteger(actionLimit) || actionLimit < 1 || actionLimit > o.httpBodyBudget) {
    throw new TypeError(`Expected \`bodyLimit\` to be a positive integer up to httpBodyBudget (${o.httpBodyBudget}), got \`${String(options.bodyLimit)}\``);
  }
  /** Body caps per route; the structure cap bounds what JSON.parse has to build besides the largest string. */
  const caps = {
    action: { cap: actionLimit, structure: 2 * o.parametersLimit + ENTITY_SLACK },
    payload: { cap: o.payloadLimit, structure: Infinity },
    entity: { cap: 2 * o.parametersLimit + ENTITY_SLACK, structure: Infinity },
    rule: { cap: o.parametersLimit + ENTITY_SLACK, structure: Infinity },
  } as const;
  const bodies = new BodyReader(o.httpBodyBudget, o.webInvocationShare);
  const ns = o.namespace;

  /** `_` and the configured namespace are the same; any other is not this key's to touch. */
  const checkNamespace = (namespace: string): void => {
    if (namespace !== '_' && namespace !== ns) {
      throw ewError('EW_AUTH_FORBIDDEN', []);
    }
  };
  /**
   * The system namespace's packages and feed actions (docs/feeds.md) are everyone's to read and to invoke (a feed
   * action is how a trigger gets its feed), and no one's to change, as in OpenWhisk.
   */
  const systemUse = (namespace: string, collection: string, method: string): boolean => {
    if (namespace !== SYSTEM_NAMESPACE) return false;
    const allowed = collection === 'packages' ? method === 'GET' : collection === 'actions' ? method === 'GET' || method === 'POST' : false;
    if (!allowed) throw ewError('EW_AUTH_FORBIDDEN', []);
    return true;
  };
  /** Entity name with its namespace, as the engine expects. */
  const entity = (namespace: string, rest: string[], collection = '', method = 'GET'): string => {
    if (rest.length === 0 || rest.some((r) => r === '')) throw ewError('EW_ROUTE_NOT_FOUND', []);
    if (systemUse(namespace, collection, method)) return `/${SYSTEM_NAMESPACE}/${rest.join('/')}`;
    checkNamespace(namespace);
    return `/${ns}/${rest.join('/')}`;
  };

  /** The JSON body of `req`, at most `cap.cap` bytes; read only once the route has accepted the request. */
  const jsonBody = async (req: IncomingMessage, res: ServerResponse, cap: { cap: number; structure: number }): Promise<unknown> =>
    parseJsonBody(await bodies.read(req, res, { cap: cap.cap }), cap.structure);

  const invoke = async (req: IncomingMessage, res: ServerResponse, name: string, query: URLSearchParams): Promise<void> => {
    const blocking = flag(query, 'blocking');
    // OpenWhisk checks `timeout` whenever it is given, blocking or not; before the body is read.
    const wait = Math.min(waitTimeout(query) ?? o.maxBlockingWait, o.maxBlockingWait);
    // The payload is read and handed over here, so that neither it nor its raw bytes stay alive during the wait.
    const started = await jsonBody(req, res, caps.payload)
      // Non-blocking: accepted work, on disk before the 202 (docs/durability.md).
      .then((body) => engine.actions.start({ name, params: body ?? {}, durable: !blocking }))
      .finally(() => bodies.release(req));
    const header = { 'x-openwhisk-activation-id': started.activationId };
    if (!blocking) {
      started.activation.catch(() => undefined);
      return send(res, 202, { activationId: started.activationId }, header);
    }
    // An activation that cannot be waited for (its promise rejects) is answered as one that outlived the wait.
    const activation = await awaitActivation(started.activation.catch(() => undefined), wait);
    if (activation === undefined) {
      // OpenWhisk's demotion: still running after the wait. `?fail_on_timeout=true` asks for an error instead.
      // Either way the caller holds an id of work that goes on: it becomes accepted work.
      await started.durable();
      if (flag(query, 'fail_on_timeout')) {
        const error = ewError('EW_ACTIVATION_WAIT_EXPIRED', [started.activationId, wait]);
        return send(res, error.statusCode, { error: error.message, code: transactionId(), activationId: started.activationId }, header);
      }
      return send(res, 202, { activationId: started.activationId }, header);
    }
    const status = httpStatusOf(activation.response.statusCode);
    const result = activation.response.result;
    if (flag(query, 'result') || Array.isArray(result)) return send(res, status, result, header);
    send(res, status, activation, header);
  };

  const web = createWebActions(engine, expected, bodies);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Web actions answer anyone (unless the action requires credentials), so they are routed before auth.
    const webTarget = parseWebPath(url.pathname);
    if (webTarget !== undefined) return web(req, res, webTarget, url.searchParams);
    const target = route(url.pathname);
    if (target === undefined) throw ewError('EW_ROUTE_NOT_FOUND', []);
    if (!credentialsMatch(req.headers.authorization, expected)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="EdgeWhisk"');
      throw ewError('EW_AUTH_INVALID', []);
    }
    const method = req.method ?? 'GET';
    const query = url.searchParams;
    if (target === 'namespaces') {
      if (method !== 'GET') throw ewError('EW_METHOD_NOT_ALLOWED', []);
      return send(res, 200, [ns]);
    }
    const { namespace, collection, rest } = target;
    const listOptions = () => ({
      namespace: ns,
      ...listParams(query, collection),
      ...(flag(query, 'count') ? { count: true } : {}),
    });

    switch (collection) {
      case 'limits': {
        if (method !== 'GET') throw ewError('EW_METHOD_NOT_ALLOWED', []);
        checkNamespace(namespace);
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
          if (method !== 'GET') throw ewError('EW_METHOD_NOT_ALLOWED', []);
          if (!systemUse(namespace, collection, method)) checkNamespace(namespace);
          return send(res, 200, await engine.actions.list({ ...listOptions(), namespace: namespace === SYSTEM_NAMESPACE ? SYSTEM_NAMESPACE : ns }));
        }
        const name = entity(namespace, rest, collection, method);
        if (method === 'GET') return send(res, 200, await engine.actions.get({ name, code: query.get('code') !== 'false' }));
        if (method === 'DELETE') return send(res, 200, await engine.actions.delete({ name }));
        if (method === 'PUT') {
          const body = objectBody(await jsonBody(req, res, caps.action));
          checkPublish(body);
          return send(res, 200, await engine.actions.create({ name, action: body, overwrite: flag(query, 'overwrite') }));
        }
        if (method === 'POST') return invoke(req, res, name, query);
        throw ewError('EW_METHOD_NOT_ALLOWED', []);
      }
      case 'triggers': {
        if (rest.length === 0) {
          if (method !== 'GET') throw ewError('EW_METHOD_NOT_ALLOWED', []);
          checkNamespace(namespace);
          return send(res, 200, await engine.triggers.list(listOptions()));
        }
        const name = entity(namespace, rest);
        if (method === 'GET') return send(res, 200, await engine.triggers.get({ name }));
        if (method === 'DELETE') return send(res, 200, await engine.triggers.delete({ name }));
        if (method === 'PUT') {
          const body = objectBody(await jsonBody(req, res, caps.entity));
          checkPublish(body);
          return send(res, 200, await engine.triggers.create({ name, trigger: body, overwrite: flag(query, 'overwrite') }));
        }
        if (method === 'POST') {
          const body = objectBody(await jsonBody(req, res, caps.payload));
          const fired = await engine.triggers.invoke({ name, params: body });
          if (fired.activationId === undefined) return send(res, 204, undefined);
          return send(res, 202, { activationId: fired.activationId }, { 'x-openwhisk-activation-id': fired.activationId });
        }
        throw ewError('EW_METHOD_NOT_ALLOWED', []);
      }
      case 'rules': {
        if (rest.length === 0) {
          if (method !== 'GET') throw ewError('EW_METHOD_NOT_ALLOWED', []);
          checkNamespace(namespace);
          return send(res, 200, await engine.rules.list(listOptions()));
        }
        const name = entity(namespace, rest);
        if (method === 'GET') return send(res, 200, await engine.rules.get({ name }));
        if (method === 'DELETE') return send(res, 200, await engine.rules.delete({ name }));
        if (method === 'PUT') {
          const body = objectBody(await jsonBody(req, res, caps.rule));
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
          const body = objectBody(await jsonBody(req, res, caps.rule));
          if (body['status'] === 'active') return send(res, 200, await engine.rules.enable({ name }));
          if (body['status'] === 'inactive') return send(res, 200, await engine.rules.disable({ name }));
          throw ewError('EW_RULE_STATUS_INVALID', [String(body['status'])]);
        }
        throw ewError('EW_METHOD_NOT_ALLOWED', []);
      }
      case 'packages': {
        if (rest.length === 0) {
          if (method !== 'GET') throw ewError('EW_METHOD_NOT_ALLOWED', []);
          if (!systemUse(namespace, collection, method)) checkNamespace(namespace);
          const listed = { ...listOptions(), namespace: namespace === SYSTEM_NAMESPACE ? SYSTEM_NAMESPACE : ns, public: flag(query, 'public') };
          return send(res, 200, await engine.packages.list(listed));
        }
        const name = entity(namespace, rest, collection, method);
        if (method === 'GET') return send(res, 200, await engine.packages.get({ name }));
        if (method === 'DELETE') return send(res, 200, await engine.packages.delete({ name, force: flag(query, 'force') }));
        if (method === 'PUT') {
          const body = objectBody(await jsonBody(req, res, caps.entity));
          checkPublish(body);
          return send(res, 200, await engine.packages.create({ name, package: body, overwrite: flag(query, 'overwrite') }));
        }
        throw ewError('EW_METHOD_NOT_ALLOWED', []);
      }
      case 'activations': {
        if (method !== 'GET') throw ewError('EW_METHOD_NOT_ALLOWED', []);
        checkNamespace(namespace);
        if (rest.length === 0) {
          const listed = await engine.activations.list({
            ...listOptions(),
            ...(query.has('name') ? { name: query.get('name') as string } : {}),
            ...epochParams(query),
            docs: flag(query, 'docs'),
            count: flag(query, 'count'),
          });
          return send(res, 200, listed);
        }
        const [id, part, ...extra] = rest;
        if (id === undefined || extra.length > 0) throw ewError('EW_ROUTE_NOT_FOUND', []);
        if (part === undefined) return send(res, 200, await engine.activations.get(id));
        if (part === 'logs') return send(res, 200, await engine.activations.logs(id));
        if (part === 'result') return send(res, 200, await engine.activations.result(id));
        throw ewError('EW_ROUTE_NOT_FOUND', []);
      }
      case 'deadletters': {
        // EdgeWhisk's own collection (docs/durability.md): GET lists or shows one; POST runs one again; DELETE drops it.
        checkNamespace(namespace);
        if (rest.length === 0) {
          if (method !== 'GET') throw ewError('EW_METHOD_NOT_ALLOWED', []);
          return send(res, 200, await engine.deadLetters.list(listOptions()));
        }
        const [id, ...extra] = rest;
        if (id === undefined || extra.length > 0) throw ewError('EW_ROUTE_NOT_FOUND', []);
        if (method === 'GET') return send(res, 200, await engine.deadLetters.get(id));
        if (method === 'DELETE') return send(res, 200, await engine.deadLetters.delete(id));
        if (method === 'POST') {
          const redriven = await engine.deadLetters.redrive(id);
          return send(res, 202, redriven, { 'x-openwhisk-activation-id': redriven.activationId });
        }
        throw ewError('EW_METHOD_NOT_ALLOWED', []);
      }
      default:
        throw ewError('EW_ROUTE_NOT_FOUND', []);
    }
  };

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      const { status, message, headers } = errorReply(error);
      sendError(res, status, message, headers);
    });
  };
}
