/**
 * Reads request bodies without letting clients decide how much memory the server spends on them.
 *
 * Every body has a cap chosen by its route (an action's code for an action PUT, an invocation payload for an invoke
 * or a web action, …): a Content-Length over the cap is refused before a byte is read, and a body that streams past
 * it is cut off there. All bodies being read share one budget (`httpBodyBudget`), of which anonymous web callers
 * get only their share: a chunk that does not fit is not buffered, and the request gets 503. Callers read a body
 * only once the route and credentials are settled, so requests that will be refused anyway cost nothing.
 *
 * A body's bytes count against the budget until the handler releases them (once it has handed the body on) or the
 * response closes, whichever comes first.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ewError, type EdgeWhiskError } from '../errors';

export interface BodyCap {
  /** Largest body this route takes, in bytes. */
  readonly cap: number;
  /** The caller did not authenticate: the body counts against the anonymous share of the budget too. */
  readonly anonymous?: boolean;
}

interface Hold {
  bytes: number;
  readonly anonymous: boolean;
}

export class BodyReader {
  readonly #budget: number;
  readonly #anonymousBudget: number;
  #held = 0;
  #anonymousHeld = 0;
  readonly #holds = new WeakMap<IncomingMessage, Hold>();

  constructor(budget: number, anonymousShare: number) {
    this.#budget = budget;
    this.#anonymousBudget = Math.floor(budget * anonymousShare);
  }

  /**
   * The body of `req`, at most `cap` bytes. Rejects with EW_REQUEST_TOO_LARGE (413) past the cap, EW_SERVER_BUSY
   * (503) when the budget has no room, or EW_BODY_INCOMPLETE (400) when the client goes away.
   */
  read(req: IncomingMessage, res: ServerResponse, { cap, anonymous = false }: BodyCap): Promise<Buffer> {
    const consumed = alreadyRead(req);
    if (consumed !== undefined) {
      if (consumed.length > cap) return Promise.reject(ewError('EW_REQUEST_TOO_LARGE', [consumed.length, cap]));
      return Promise.resolve(consumed);
    }
    return new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > cap) return reject(ewError('EW_REQUEST_TOO_LARGE', [declared, cap]));
      if (Number.isFinite(declared) && !this.#fits(declared, anonymous)) return reject(this.#busy(anonymous));
      const hold: Hold = { bytes: 0, anonymous };
      this.#holds.set(req, hold);
      res.once('close', () => this.release(req));
      const chunks: Buffer[] = [];
      let settled = false;
      const stop = (error: EdgeWhiskError): void => {
        if (settled) return;
        settled = true;
        req.off('data', onData);
        chunks.length = 0;
        this.release(req);
        // The rest is read and discarded, not buffered, until the connection is closed (see lingerIfUnread).
        req.resume();
        reject(error);
      };
      const onData = (chunk: Buffer): void => {
        if (hold.bytes + chunk.length > cap) return stop(ewError('EW_REQUEST_TOO_LARGE', [hold.bytes + chunk.length, cap]));
        if (!this.#fits(chunk.length, anonymous)) return stop(this.#busy(anonymous));
        this.#take(hold, chunk.length);
        chunks.push(chunk);
      };
      req.on('data', onData);
      req.once('end', () => {
        if (settled) return;
        settled = true;
        req.off('data', onData);
        resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, hold.bytes));
      });
      // A client that goes away mid-body: Node reports it as an error, but a bare close must not leave this pending.
      req.once('error', (error) => stop(ewError('EW_BODY_INCOMPLETE', [], {}, { cause: error })));
      req.once('close', () => {
        if (!req.readableEnded) stop(ewError('EW_BODY_INCOMPLETE', []));
      });
    });
  }

  /** Gives the bytes of `req`'s body back to the budget: the handler no longer holds the raw body. */
  release(req: IncomingMessage): void {
    const hold = this.#holds.get(req);
    if (hold === undefined) return;
    this.#holds.delete(req);
    this.#held -= hold.bytes;
    if (hold.anonymous) this.#anonymousHeld -= hold.bytes;
  }

  #fits(bytes: number, anonymous: boolean): boolean {
    return this.#held + bytes <= this.#budget && (!anonymous || this.#anonymousHeld + bytes <= this.#anonymousBudget);
  }

  #take(hold: Hold, bytes: number): void {
    hold.bytes += bytes;
    this.#held += bytes;
    if (hold.anonymous) this.#anonymousHeld += bytes;
  }

  #busy(anonymous: boolean): EdgeWhiskError {
    return anonymous
      ? ewError('EW_SERVER_BUSY', [this.#anonymousHeld, this.#anonymousBudget])
      : ewError('EW_SERVER_BUSY', [this.#held, this.#budget]);
  }
}

/**
 * The body of a request whose stream something before us has read: under Node-RED, when the editor and the HTTP
 * nodes share a root (its default), the editor API's JSON body parser reads every JSON request first and leaves the
 * parsed value in `req.body`. Waiting for the stream then would wait forever; the value is taken as the body instead
 * (as JSON text: what a JSON body means is kept, its formatting is not). `undefined` when the stream is unread.
 */
function alreadyRead(req: IncomingMessage): Buffer | undefined {
  const parsed = req as IncomingMessage & { _body?: unknown; body?: unknown };
  if (parsed._body !== true && !req.readableEnded) return undefined;
  const body = parsed.body;
  if (body === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}
