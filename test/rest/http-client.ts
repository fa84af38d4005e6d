/**
 * A small HTTP client for the REST tests: whole answers as `Reply`, raw TCP exchanges where the framing itself is
 * under test, and the server's answers to bodies it refuses before the client has finished sending them.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  json(): any;
}

export interface CallOptions {
  /** `uuid:key` for HTTP Basic; omitted: no Authorization header. */
  readonly auth?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Send the body without Content-Length (chunked). */
  readonly chunked?: boolean;
  readonly agent?: Agent | false;
}

export function basic(credentials: string): string {
  return `Basic ${Buffer.from(credentials).toString('base64')}`;
}

/** One request to `base` (`http://host:port`); `path` is sent as given. */
export function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const url = new URL(base);
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth !== undefined) headers['Authorization'] = basic(options.auth);
  const body = options.body;
  if (body !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    if (options.chunked !== true) headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const data = Buffer.concat(chunks);
        const text = data.toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    // A server may answer (e.g. 413) before it has read the whole body; the answer is what is checked.
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    req.end(body);
  });
}

export interface Upload {
  /** Status of the answer, or the socket error if none came. */
  readonly status?: number;
  readonly error?: string;
  /** ms from the start until the answer's headers arrived. */
  readonly answeredAfter?: number;
  /** Bytes the client had written when the answer arrived. */
  readonly sentBeforeAnswer?: number;
  /** Bytes the client wrote in all. */
  readonly sent: number;
  /** ms from the start until the server closed the connection; absent when it kept it (keep-alive). */
  readonly closedAfter?: number;
}

export interface UploadOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** Bytes to send in all. */
  readonly total: number;
  /** What to send (its first `total` bytes); otherwise `a`s. */
  readonly data?: Buffer;
  readonly chunk?: number;
  /** Pause between chunks, ms; 0 writes as fast as the socket takes them. */
  readonly pace?: number;
  /** Declare the total as Content-Length; otherwise the body is chunked. @default true */
  readonly declare?: boolean;
  /** @default a keep-alive agent of its own, as browsers and curl keep connections */
  readonly agent?: Agent | false;
  /** Gives up (error `deadline`) after this many ms. @default 30000 */
  readonly deadline?: number;
}

/**
 * Streams a body of `total` bytes like a hostile client: it keeps writing after the answer, until it has sent
 * everything or the server drops the connection. Resolves when the connection closes, or when everything was sent
 * and answered on a connection the server keeps. Never rejects.
 */
export function upload(base: string, path: string, options: UploadOptions): Promise<Upload> {
  const url = new URL(base);
  const started = Date.now();
  const size = options.chunk ?? 1 << 20;
  const piece = Buffer.alloc(size, 'a');
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...options.headers };
  if (options.declare !== false) headers['Content-Length'] = String(options.total);
  const agent = options.agent ?? new Agent({ keepAlive: true });
  return new Promise((resolve) => {
    let status: number | undefined;
    let error: string | undefined;
    let answeredAfter: number | undefined;
    let sentBeforeAnswer: number | undefined;
    let closedAfter: number | undefined;
    let answered = false;
    let sent = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      if (agent !== false && options.agent === undefined) agent.destroy();
      resolve({
        ...(status === undefined ? {} : { status }),
        ...(error === undefined ? {} : { error }),
        ...(answeredAfter === undefined ? {} : { answeredAfter }),
        ...(sentBeforeAnswer === undefined ? {} : { sentBeforeAnswer }),
        sent,
        ...(closedAfter === undefined ? {} : { closedAfter }),
      });
    };
    const req = request({ host: url.hostname, port: url.port, method: options.method ?? 'POST', path, headers, agent }, (res) => {
      status = res.statusCode;
      answeredAfter = Date.now() - started;
      sentBeforeAnswer = sent;
      res.resume();
      res.on('end', () => {
        answered = true;
        if (sent >= options.total && req.writableFinished) finish();
      });
    });
    const deadline = setTimeout(() => {
      error ??= 'deadline';
      req.destroy();
      finish();
    }, options.deadline ?? 30_000);
    req.on('socket', (socket) => {
      socket.once('close', () => {
        closedAfter = Date.now() - started;
        finish();
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    req.on('finish', () => {
      if (answered) finish();
    });
    const write = (): void => {
      while (!req.destroyed && sent < options.total) {
        const n = Math.min(size, options.total - sent);
        const next = options.data === undefined ? (n === size ? piece : piece.subarray(0, n)) : options.data.subarray(sent, sent + n);
        sent += n;
        const more = req.write(next);
        if ((options.pace ?? 0) > 0) {
          setTimeout(write, options.pace);
          return;
        }
        if (!more) {
          req.once('drain', write);
          return;
        }
      }
      if (!req.destroyed && sent >= options.total) req.end();
    };
    write();
  });
}

/** A request that sends `send` bytes of a body declared `declared` bytes long, then stalls until destroyed. */
export function stall(base: string, path: string, options: { send: number; declared: number; headers?: Record<string, string> }): { destroy(): void } {
  const url = new URL(base);
  const req = request({
    host: url.hostname,
    port: url.port,
    method: 'POST',
    path,
    headers: { 'Content-Type': 'text/plain', 'Content-Length': String(options.declared), ...options.headers },
    agent: false,
  });
  req.on('error', () => undefined);
  req.write(Buffer.alloc(options.send, 'a'));
  return { destroy: () => req.destroy() };
}

/** A raw TCP connection that collects what the server sends and notes when it closes. */
export class RawConnection {
  readonly socket: Socket;
  readonly opened = Date.now();
  data = '';
  closedAt: number | undefined;
  readonly closed: Promise<number>;

  constructor(port: number, host = '127.0.0.1') {
    this.socket = connect(port, host);
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => (this.data += d));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      this.socket.on('close', () => {
        this.closedAt = Date.now();
        resolve(this.closedAt - this.opened);
      });
    });
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.socket.connecting) return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
  }

  write(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** Resolves once `predicate` holds for what arrived so far, or rejects after `timeout` ms. */
  async until(predicate: (data: string) => boolean, timeout = 10_000): Promise<string> {
    const deadline = Date.now() + timeout;
    while (!predicate(this.data)) {
      if (Date.now() > deadline) throw new Error(`no matching data within ${timeout} ms; got ${JSON.stringify(this.data.slice(0, 500))}`);
      if (this.closedAt !== undefined && !predicate(this.data)) throw new Error(`closed before matching data; got ${JSON.stringify(this.data.slice(0, 500))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.data;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Splits raw HTTP/1.1 responses (Content-Length framed, or bodiless) off the front of `data`. */
export function parseResponses(data: string): { status: number; headers: [string, string][]; body: string }[] {
  const out: { status: number; headers: [string, string][]; body: string }[] = [];
  let rest = data;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers = lines.map((l): [string, string] => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);
    const length = Number(headers.find(([k]) => k === 'content-length')?.[1] ?? 0);
    out.push({ status, headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}
