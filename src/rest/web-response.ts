/**
 * A web action's result projected onto the HTTP response (apache/openwhisk docs/webactions.md): `.http` as `{statusCode,
 * headers, body}`, `.json` as JSON, `.html`/`.text`/`.svg` from the result's property of that name.
 *
 * The action chooses its status, headers and body, but not the message framing: the server alone decides
 * Content-Length, Transfer-Encoding and the connection's fate, so framing and hop-by-hop headers from a result are
 * dropped (an action sending both Transfer-Encoding and Content-Length would let a proxy in front read a different
 * response than the client — response splitting). Statuses are final ones (200..599; a 1xx such as 101 would switch
 * or stall the connection) and 204 and 304 carry no body, as HTTP requires. Header names or values Node would refuse
 * (control characters) are dropped rather than failing the whole response.
 */
import { validateHeaderName, validateHeaderValue, type ServerResponse } from 'node:http';
import { ewError } from '../errors';
import { lingerIfUnread } from './http-reply';

const BINARY_TYPES = /^(image|audio|video)\/|^application\/(octet-stream|pdf|zip|gzip)/;

/** Headers only the server may set: message framing and hop-by-hop headers (RFC 9110 §7.6.1, RFC 9112 §6). */
const SERVER_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']);

/** Statuses whose responses never have a body (RFC 9110 §6.4.1). */
const NO_BODY = new Set([204, 304]);

type Headers = Record<string, string | string[]>;

export function reply(res: ServerResponse, status: number, headers: Headers, body: Buffer = Buffer.alloc(0), head = false): void {
  if (res.headersSent || res.destroyed) return;
  lingerIfUnread(res);
  if (NO_BODY.has(status)) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  // A HEAD answer describes the body a GET would get, without sending it.
  res.writeHead(status, { ...headers, 'Content-Length': String(body.length) });
  res.end(head ? undefined : body);
}

export function replyJson(res: ServerResponse, status: number, value: unknown, headers: Headers = {}): void {
  reply(res, status, { 'Content-Type': 'application/json', ...headers }, Buffer.from(JSON.stringify(value) ?? 'null'));
}

/** The action's headers that a response may carry: strings, numbers, booleans or arrays of them, valid for HTTP. */
function actionHeaders(given: unknown): Headers {
  const headers: Headers = {};
  if (given === null || typeof given !== 'object') return headers;
  for (const [key, value] of Object.entries(given as Record<string, unknown>)) {
    if (SERVER_HEADERS.has(key.toLowerCase())) continue;
    const values = (Array.isArray(value) ? value : [value]).filter((v) => ['string', 'number', 'boolean'].includes(typeof v)).map(String);
    if (values.length === 0) continue;
    try {
      validateHeaderName(key);
      for (const v of values) validateHeaderValue(key, v);
    } catch {
      continue;
    }
    headers[key] = Array.isArray(value) ? values : (values[0] as string);
  }
  return headers;
}

/** `statusCode` as OpenWhisk reads it (a number or a numeric string); `undefined` when absent; throws when invalid. */
function statusOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const code = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(code) || code < 200 || code > 599) throw ewError('EW_WEB_RESPONSE_INVALID', []);
  return code;
}

export function project(res: ServerResponse, ext: string, result: Record<string, unknown>, failed: boolean, head: boolean): void {
  const send = (status: number, headers: Headers, body: Buffer): void => reply(res, status, headers, body, head);
  if (ext === 'json') return send(failed ? 400 : 200, { 'Content-Type': 'application/json' }, Buffer.from(JSON.stringify(result)));
  if (ext === 'html' || ext === 'text' || ext === 'svg') {
    const value = result[ext];
    if (typeof value !== 'string') return send(400, { 'Content-Type': 'application/json' }, Buffer.from(JSON.stringify({ error: ewError('EW_WEB_PROPERTY_MISSING', [ext]).message })));
    const type = ext === 'html' ? 'text/html; charset=utf-8' : ext === 'svg' ? 'image/svg+xml' : 'text/plain; charset=utf-8';
    return send(failed ? 400 : 200, { 'Content-Type': type }, Buffer.from(value, 'utf8'));
  }
  // .http: {statusCode, headers, body}.
  let statusCode: number | undefined;
  try {
    statusCode = statusOf(result['statusCode']);
  } catch (error) {
    return send(400, { 'Content-Type': 'application/json' }, Buffer.from(JSON.stringify({ error: (error as Error).message })));
  }
  const headers = actionHeaders(result['headers']);
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
  send(statusCode ?? (empty ? 204 : 200), headers, data);
}
