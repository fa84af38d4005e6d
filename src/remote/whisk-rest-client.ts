/**
 * The few calls of OpenWhisk's REST API (apache/openwhisk docs/rest_api.md) that the remote engine makes, on
 * `node:http`/`node:https` so that remote mode needs no npm client. Requests are built as the official `openwhisk`
 * npm client builds them (same paths, query parameters and bodies), so a deployment sees the same traffic it saw
 * from that client; a test compares the two request by request (test/unit/whisk-rest-client.test.ts).
 *
 * `node:https` rather than `fetch`: accepting a private cluster's self-signed certificate (`ignoreCerts`) is a
 * per-request option there, while `fetch` would need undici's `Agent`, which is not importable without installing it.
 *
 * Answers are returned as parsed JSON, `unknown`: the remote engine is the one place they are taken as entity views
 * and activation records. Every failure rejects with a `WhiskRequestError`, which holds the status and the server's
 * body but never the request (its Authorization header is the API key).
 */
import { STATUS_CODES, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface WhiskRestClientOptions {
  /** `https://host`, `http://127.0.0.1:3233`, a path below a host (`http://host:1880/edgewhisk`), or `host[:port]` (HTTPS). */
  readonly apihost: string;
  /** `uuid:key`, sent as HTTP Basic credentials. */
  readonly apiKey: string;
  /** @default '_' (the key's own namespace) */
  readonly namespace?: string;
  /** Accept self-signed certificates (a private cluster). @default false */
  readonly ignoreCerts?: boolean;
  /** How long one request may take, from connecting to the last byte of the answer, in ms. @default 60000 */
  readonly timeout?: number;
}

/**
 * A refused or failed request. `statusCode` and `error` (the answer's body, OpenWhisk's `{error, code}`) have the
 * names the official client's errors use; `statusCode` is absent when the server gave no answer.
 */
export class WhiskRequestError extends Error {
  override readonly name = 'WhiskRequestError';
  readonly statusCode: number | undefined;
  readonly error: unknown;

  constructor(message: string, statusCode?: number, body?: unknown, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.statusCode = statusCode;
    this.error = body;
  }
}

type Query = Readonly<Record<string, string | number | boolean>>;

/** The official client's message for a name it cannot place (openwhisk/lib/messages.js). */
const INVALID_NAME = 'Invalid resource identifier from options. Should be "resource", "/namespace/resource" or "/namespace/package/resource".';

/** Invocation parameters are a JSON object (or an array, passed as is); the message is the official client's. */
const INVALID_PAYLOAD = 'Invalid payload type, must be an object.';

function isPayload(params: unknown): params is object {
  return typeof params === 'object' && params !== null;
}

/** Certificate failures that `ignoreCerts` is for: said so in the message, since the node has a setting for it. */
const UNTRUSTED_CERT = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']);

/**
 * What went wrong with a connection. A host with several addresses (`localhost`: ::1 and 127.0.0.1) fails with an
 * AggregateError whose own message is empty; its attempts say what happened.
 */
function reason(error: NodeJS.ErrnoException): string {
  if (error.message !== '') return error.message;
  if (error instanceof AggregateError) return error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  return String(error.code ?? error);
}

/**
 * The API's base URL (ending in `/api/v1/`) from `apihost`. As the official client: without a scheme it is HTTPS
 * (`host:3233` means `https://host:3233`); `http://` is kept as given. Unlike it, trailing slashes are dropped (it
 * would ask for `//api/v1`) and the scheme is matched only at the start and in any case.
 */
function apiBase(apihost: string): URL {
  const trimmed = apihost.trim().replace(/\/+$/, '');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(`${withScheme}/api/v1/`);
  } catch {
    throw new TypeError(`Expected \`apihost\` to be the URL of an OpenWhisk API host, got \`${apihost}\``);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`Expected \`apihost\` to be an http:// or https:// URL, got \`${apihost}\``);
  }
  return url;
}

/**
 * An entity name as the official client reads it (openwhisk/lib/names.js): `name`, `pkg/name`, `/ns/name` or
 * `/ns/pkg/name`; a namespace in the name wins over the client's. The client also takes `ns/pkg/name` but then drops
 * `ns` and asks its own namespace for `pkg/name`; that form is refused here, as the embedded engine refuses it.
 */
function placeName(name: string, namespace: string): { namespace: string; segments: string[] } {
  if (typeof name !== 'string' || name === '') throw new TypeError('Expected an entity name');
  const parts = name.split('/');
  const qualified = parts[0] === '';
  const placed =
    parts.length === 1 ? { namespace, segments: parts }
    : parts.length === 2 && !qualified ? { namespace, segments: parts }
    : (parts.length === 3 || parts.length === 4) && qualified ? { namespace: parts[1] as string, segments: parts.slice(2) }
    : undefined;
  // `.` and `..` are no entity's name, and a URL would resolve them away (`actions/..` is the namespace).
  if (placed === undefined || [placed.namespace, ...placed.segments].some((s) => s === '' || s === '.' || s === '..')) throw new Error(INVALID_NAME);
  return placed;
}

export class WhiskRestClient {
  readonly #base: URL;
  /** The API host as shown in messages: no credentials, no `/api/v1`. */
  readonly #host: string;
  readonly #authorization: string;
  readonly #namespace: string;
  readonly #ignoreCerts: boolean;
  readonly #timeout: number;

  constructor(options: WhiskRestClientOptions) {
    if (typeof options.apihost !== 'string' || options.apihost.trim() === '') throw new TypeError('Expected `apihost` to be the URL of an OpenWhisk API host');
    if (typeof options.apiKey !== 'string' || !/^[^:]+:.+$/.test(options.apiKey)) throw new TypeError('Expected `apiKey` to be credentials of the form uuid:key');
    const timeout = options.timeout ?? 60_000;
    if (!Number.isInteger(timeout) || timeout < 1) throw new TypeError(`Expected \`timeout\` to be a positive integer of milliseconds, got \`${String(options.timeout)}\``);
    this.#base = apiBase(options.apihost);
    this.#host = `${this.#base.origin}${this.#base.pathname.slice(0, -'/api/v1/'.length)}`;
    this.#authorization = `Basic ${Buffer.from(options.apiKey).toString('base64')}`;
    this.#namespace = options.namespace ?? '_';
    this.#ignoreCerts = options.ignoreCerts === true;
    this.#timeout = timeout;
  }

  /** `GET actions/{name}?code=`: the action, with its code unless `code` is false. */
  getAction(name: string, code: boolean): Promise<unknown> {
    return this.#entity('GET', 'actions', name, { code });
  }

  /**
   * `PUT actions/{name}?overwrite=`: `body` is OpenWhisk's action document (remote-action-body.ts builds it). Without
   * `overwrite` the parameter is left out, as the official client leaves it out (OpenWhisk's default is false).
   */
  putAction(name: string, body: Readonly<Record<string, unknown>>, overwrite?: boolean): Promise<unknown> {
    return this.#entity('PUT', 'actions', name, overwrite === undefined ? {} : { overwrite }, body);
  }

  deleteAction(name: string): Promise<unknown> {
    return this.#entity('DELETE', 'actions', name);
  }

  /** `POST actions/{name}?blocking=false`: `{activationId}` as soon as the platform accepted the invocation. */
  invokeAction(name: string, params: object): Promise<unknown> {
    if (!isPayload(params)) return Promise.reject(new WhiskRequestError(INVALID_PAYLOAD));
    return this.#entity('POST', 'actions', name, { blocking: false }, params);
  }

  getTrigger(name: string): Promise<unknown> {
    return this.#entity('GET', 'triggers', name);
  }

  /** `PUT triggers/{name}` with an empty body and no `overwrite`: an existing trigger is a 409, as with the official client. */
  putTrigger(name: string): Promise<unknown> {
    return this.#entity('PUT', 'triggers', name, {}, {});
  }

  /** `POST triggers/{name}`: `{activationId}` (202), or `undefined` when no rule is active (204, no body). */
  fireTrigger(name: string, params: object): Promise<unknown> {
    if (!isPayload(params)) return Promise.reject(new WhiskRequestError(INVALID_PAYLOAD));
    return this.#entity('POST', 'triggers', name, {}, params);
  }

  getRule(name: string): Promise<unknown> {
    return this.#entity('GET', 'rules', name);
  }

  /**
   * `PUT rules/{name}?overwrite=` with `{trigger, action}` fully qualified as the official client does: a name that
   * starts with `/` is kept, any other gets this client's namespace (`x` → `/_/x`, `pkg/x` → `/_/pkg/x`).
   */
  putRule(name: string, rule: { readonly trigger: string | undefined; readonly action: string | undefined }, overwrite: boolean): Promise<unknown> {
    // Checked here: the messages are the official client's, and `undefined` must not become "/_/undefined".
    if (typeof rule.action !== 'string' || rule.action === '') return Promise.reject(new WhiskRequestError('Missing mandatory action parameter from options.'));
    if (typeof rule.trigger !== 'string' || rule.trigger === '') return Promise.reject(new WhiskRequestError('Missing mandatory trigger parameter from options.'));
    const qualified = (n: string): string => (n.startsWith('/') ? n : `/${this.#namespace}/${n}`);
    return this.#entity('PUT', 'rules', name, { overwrite }, { action: qualified(rule.action), trigger: qualified(rule.trigger) });
  }

  /** `POST rules/{name}` with `{status}`: enables or disables the rule. */
  setRuleStatus(name: string, status: 'active' | 'inactive'): Promise<unknown> {
    return this.#entity('POST', 'rules', name, {}, { status });
  }

  deleteRule(name: string): Promise<unknown> {
    return this.#entity('DELETE', 'rules', name);
  }

  getActivation(id: string): Promise<unknown> {
    if (typeof id !== 'string' || id === '') return Promise.reject(new WhiskRequestError('Missing mandatory activation parameter from options.'));
    return this.#request('GET', [this.#namespace, 'activations', id], {});
  }

  /** `GET activations?limit=&docs=&since=`, the parameters in the official client's order. */
  listActivations(query: { readonly limit?: number; readonly docs?: boolean; readonly since?: number }): Promise<unknown> {
    const ordered: Record<string, number | boolean> = {};
    if (query.limit !== undefined) ordered['limit'] = query.limit;
    if (query.docs !== undefined) ordered['docs'] = query.docs;
    if (query.since !== undefined) ordered['since'] = query.since;
    return this.#request('GET', [this.#namespace, 'activations'], ordered);
  }

  async #entity(method: string, collection: string, name: string, query: Query = {}, body?: unknown): Promise<unknown> {
    const placed = placeName(name, this.#namespace);
    return this.#request(method, [placed.namespace, collection, ...placed.segments], query, body);
  }

  /** One request to `namespaces/{segments…}`, each segment URI-encoded (so `pkg/action` keeps its `/`). */
  async #request(method: string, segments: readonly string[], query: Query, body?: unknown): Promise<unknown> {
    const url = new URL(`namespaces/${segments.map(encodeURIComponent).join('/')}`, this.#base);
    for (const [key, value] of Object.entries(query)) url.searchParams.append(key, String(value));
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { Authorization: this.#authorization, Accept: 'application/json', 'User-Agent': 'node-red-contrib-edgewhisk' };
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const what = `${method} ${url.pathname}`;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;

    return await new Promise((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const fail = (error: Error): void => settle(() => reject(error));
      // `rejectUnauthorized` is an option of the request, so each client trusts what it was told to; Node's shared
      // agent keeps connections with different options apart.
      const req = send(url, { method, headers, ...(url.protocol === 'https:' ? { rejectUnauthorized: !this.#ignoreCerts } : {}) });
      // One deadline for the whole exchange: a server that accepts and then never answers (or trickles) is an error.
      const timer = setTimeout(() => {
        fail(new WhiskRequestError(`The OpenWhisk API at ${this.#host} did not answer ${what} within ${this.#timeout} ms`));
        req.destroy();
      }, this.#timeout);
      req.on('error', (error: NodeJS.ErrnoException) => fail(this.#unreachable(error)));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error: NodeJS.ErrnoException) => fail(this.#unreachable(error)));
        res.on('close', () => {
          if (!res.complete) fail(new WhiskRequestError(`The OpenWhisk API at ${this.#host} closed the connection before it finished answering ${what}`));
        });
        res.on('end', () => {
          try {
            const answer = this.#answer(what, res, Buffer.concat(chunks).toString('utf8'));
            settle(() => resolve(answer));
          } catch (error) {
            fail(error as Error);
          }
        });
      });
      req.end(payload);
    });
  }

  /** The body of a 2xx answer (`undefined` when empty, as a 204 is), or the error of any other. */
  #answer(what: string, res: IncomingMessage, text: string): unknown {
    const status = res.statusCode ?? 0;
    let body: unknown;
    let json = true;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = false;
      body = text;
    }
    if (status >= 200 && status < 300) {
      if (!json) throw new WhiskRequestError(`The OpenWhisk API at ${this.#host} answered ${what} with HTTP ${status} but not with JSON`);
      return body;
    }
    const refusal = (body as { error?: unknown } | undefined)?.error;
    if (status >= 400 && json && typeof refusal === 'string') throw new WhiskRequestError(refusal, status, body);
    // Not OpenWhisk's answer (a proxy, a load balancer, a redirect to HTTPS): say what came back, and from where. A
    // redirect is not followed (nor was it by the official client) and is no error status to pass on: no statusCode.
    const location = status >= 300 && status < 400 && res.headers.location !== undefined ? ` to ${res.headers.location}` : '';
    const message = `The OpenWhisk API at ${this.#host} answered ${what} with HTTP ${status} (${STATUS_CODES[status] ?? 'unknown status'})${location}`;
    throw new WhiskRequestError(message, status >= 400 ? status : undefined, body);
  }

  /** A request that got no answer: refused, unresolvable, reset, or a certificate this client does not trust. */
  #unreachable(error: NodeJS.ErrnoException): WhiskRequestError {
    if (error instanceof WhiskRequestError) return error;
    // Named as the engine node names the setting; `ignoreCerts` is its name in code.
    const hint = UNTRUSTED_CERT.has(String(error.code)) ? '. A self-signed certificate is accepted only with "Accept self-signed certificates" (ignoreCerts)' : '';
    return new WhiskRequestError(`Cannot reach the OpenWhisk API at ${this.#host}: ${reason(error)}${hint}`, undefined, undefined, error);
  }
}
