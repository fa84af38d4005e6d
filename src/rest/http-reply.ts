/**
 * How the REST API answers: JSON with OpenWhisk's statuses, errors as `{"error": "<message>", "code": "<transaction
 * id>"}`; and what happens to a body the answer came before.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ewError, isEdgeWhiskError, type EdgeWhiskError } from '../errors';

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };

/**
 * How long the rest of a refused body is read (and discarded) after the answer, before the connection is dropped.
 * Closing at once would make the kernel answer the bytes still arriving with a reset, which can reach the client
 * before it has read the answer (it sees EPIPE or ECONNRESET instead of the 413); Apache lingers 2 s the same way.
 */
export const LINGER_MS = 2_000;

export function transactionId(): string {
  return randomBytes(16).toString('hex');
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Call before answering: when the answer comes before the request's body was read (a 401, a 404, a 413 on
 * Content-Length, a body cut off at its cap), the rest of the body is discarded (Node drains it) for at most
 * LINGER_MS, then the connection is dropped. A refused client never gets the server to read, let alone keep, more
 * than that; one that finishes its body in time keeps its connection. (A client that sent `Connection: close` has
 * its connection closed by Node right after the answer.)
 */
export function lingerIfUnread(res: ServerResponse): void {
  const req = res.req as IncomingMessage | undefined;
  if (req === undefined || req.complete || !hasBody(req)) return;
  res.once('finish', () => {
    if (req.complete) return;
    // Node drains an unconsumed request after the answer; one that was read in part is resumed by its reader.
    const timer = setTimeout(() => req.socket?.destroy(), LINGER_MS);
    timer.unref();
    const done = (): void => clearTimeout(timer);
    req.once('end', done);
    req.once('close', done);
  });
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  lingerIfUnread(res);
  if (status === 204) {
    res.writeHead(204, headers);
    res.end();
    return;
  }
  const data = Buffer.from(JSON.stringify(body) ?? 'null', 'utf8');
  res.writeHead(status, { ...JSON_HEADERS, 'Content-Length': String(data.length), ...headers });
  res.end(data);
}

export function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  send(res, status, { error: message, code: transactionId() }, headers);
}

export interface ErrorReply {
  readonly status: number;
  readonly message: string;
  readonly headers: Record<string, string>;
}

/**
 * What a thrown value is answered with. A coded error is the request's own answer: its status and message (503
 * with Retry-After). Anything else is the server's fault, never the request's, whatever its class (an engine bug
 * is as likely a TypeError as anything): it is logged, and answered 500 without its details.
 */
export function errorReply(error: unknown): ErrorReply {
  const coded = isEdgeWhiskError(error) ? error : internalError(error);
  return { status: coded.statusCode, message: coded.message, headers: coded.code === 'EW_SERVER_BUSY' ? { 'Retry-After': '1' } : {} };
}

function internalError(error: unknown): EdgeWhiskError {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.emitWarning(`EdgeWhisk's REST API failed on a request: ${detail}`, 'EdgeWhiskWarning');
  return ewError('EW_SERVER_ERROR', [], {}, { cause: error });
}
