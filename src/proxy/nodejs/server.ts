/**
 * EdgeWhisk's Node.js action proxy: OpenWhisk's runtime protocol (`POST /init`, `POST /run`) on `node:http`, with
 * no web framework so it starts fast. Runnable on its own:
 *
 *   PORT=8080 HOST=0.0.0.0 node dist/proxy/nodejs/server.js
 *
 * It behaves like OpenWhisk's Node.js runtime (action-proxy-protocol §2-§6): the same state machine, responses,
 * status codes and log sentinels, so the engine judges it like any OpenWhisk image. Environment:
 * - `PORT` (default 8080; 0 = any free port) and `HOST` (default 0.0.0.0);
 * - `SOCKET`: a Unix socket path to listen on instead of TCP (EdgeWhisk's Docker runtime mounts one directory per
 *   container, so the engine reaches the proxy with no network at all); any user may connect to it;
 * - `__OW_ALLOW_CONCURRENT=true` accepts overlapping `/run` calls;
 * - `EW_READY_FD`: a file descriptor that receives `{"port": n}` (or `{"socket": path}`) once listening;
 * - `EW_PARENT_PID`: the proxy exits when that process is gone, so it never outlives the engine that started it.
 */
import { closeSync, rmSync, writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadAction, type Entry } from './action-loader';
import { describeError, invokeMain, reply, SENTINEL, type ProxyResponse } from './result';

const BODY_LIMIT = 48 * 1024 * 1024;
/** Written to stderr when the proxy is stopped by SIGTERM (`docker stop`, a daemon shutting down). */
export const TERMINATED = 'EdgeWhisk action proxy: stopped by SIGTERM';
const concurrent = process.env['__OW_ALLOW_CONCURRENT'] === 'true';

type State = 'ready' | 'starting' | 'running' | 'stopped';
let state: State = 'ready';
let entry: Entry | undefined;
let inFlight = 0;

/** Whether the last write to each stream left a line open: a sentinel must stand on a line of its own. */
const openLine = { stdout: false, stderr: false };

function trackOpenLines(name: 'stdout' | 'stderr'): void {
  const stream = process[name];
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    if (typeof chunk === 'string') {
      if (chunk.length > 0) openLine[name] = chunk.charCodeAt(chunk.length - 1) !== 10;
    } else if (chunk instanceof Uint8Array && chunk.length > 0) {
      openLine[name] = chunk[chunk.length - 1] !== 10;
    }
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

function sentinels(): void {
  // An action that wrote `no newline` would otherwise glue the sentinel to its text, and the engine would wait
  // for a sentinel line that never comes.
  process.stdout.write(`${openLine.stdout ? '\n' : ''}${SENTINEL}\n`);
  process.stderr.write(`${openLine.stderr ? '\n' : ''}${SENTINEL}\n`);
}

function refuse(message: string, status = 403, log = true): ProxyResponse {
  if (log) process.stderr.write(`Internal system error: ${message}\n`);
  return reply(status, { error: message });
}

/** The proxy's stringification of init env values (action-proxy-protocol §3.1). */
function envString(value: unknown): string {
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return value ? String(value) : '';
}

async function init(body: Record<string, unknown>): Promise<ProxyResponse> {
  if (entry !== undefined) return refuse('Cannot initialize the action more than once.');
  if (state !== 'ready') return reply(403, { error: `System not ready, status is ${state}.` });
  const value = (body['value'] ?? {}) as Record<string, unknown>;
  const code = value['code'];
  const main = value['main'] === undefined && typeof code === 'string' && code !== '' ? 'main' : value['main'];
  if (typeof main !== 'string' || main === '' || typeof code !== 'string' || code === '') {
    return reply(403, { error: 'Missing main/no code to execute.' });
  }
  state = 'starting';
  const env = value['env'];
  if (env !== null && typeof env === 'object') {
    for (const [key, raw] of Object.entries(env as Record<string, unknown>)) {
      if (key !== '' && !key.includes('=') && !key.includes('\0')) process.env[key] = envString(raw);
    }
  }
  try {
    entry = await loadAction(code, value['binary'] === true, main, typeof value['name'] === 'string' ? value['name'] : 'action');
    state = 'ready';
    return reply(200, { OK: true });
  } catch (error) {
    state = 'stopped';
    process.stderr.write(`Error during initialization: ${describeError(error)}\n`);
    sentinels();
    const message = error instanceof Error && error.name === 'Error' ? error.message : String(error);
    return reply(502, { error: `Initialization has failed due to: ${message}` });
  }
}

async function run(body: Record<string, unknown>): Promise<ProxyResponse> {
  if (entry === undefined) return refuse('System not initialized.');
  if (state === 'stopped' || (state === 'running' && !concurrent) || state === 'starting') {
    return refuse(`System not ready, status is ${state}.`);
  }
  const value = body['value'] ?? {};
  if (typeof value !== 'object') {
    return reply(403, { error: `Internal system error: the argument must be a dictionary but has type '${typeof value}'.` });
  }
  // The activation's context, exported for its duration (action-proxy-protocol §4.1).
  for (const [key, raw] of Object.entries(body)) {
    if (key !== 'value' && typeof raw === 'string') process.env[`__OW_${key.toUpperCase()}`] = raw;
  }
  if (!concurrent) state = 'running';
  inFlight++;
  const result = await invokeMain(entry, value, (line) => process.stderr.write(`${line}\n`));
  inFlight--;
  if (result.threw === true) state = 'stopped';
  else if (state === 'running' && inFlight === 0) state = 'ready';
  sentinels();
  return { status: result.status, body: result.body };
}

function send(res: ServerResponse, response: ProxyResponse): void {
  const body = Buffer.from(response.body, 'utf8');
  res.writeHead(response.status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

const TOO_LARGE = Symbol('too large');

function readBody(req: IncomingMessage): Promise<Buffer | undefined | typeof TOO_LARGE> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > BODY_LIMIT) return;
      size += chunk.length;
      if (size > BODY_LIMIT) {
        // Stop buffering, but answer: a dropped connection would read as a crashed runtime.
        chunks.length = 0;
        resolve(TOO_LARGE);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', () => resolve(undefined));
  });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const route = req.method === 'POST' ? req.url : undefined;
  const raw = await readBody(req);
  if (raw === TOO_LARGE) {
    res.setHeader('Connection', 'close');
    return send(res, reply(413, { error: `Request larger than allowed: the limit is ${BODY_LIMIT} bytes.` }));
  }
  let body: unknown;
  try {
    body = raw === undefined || raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
  } catch {
    body = undefined;
  }
  if (raw === undefined || body === null || typeof body !== 'object' || Array.isArray(body) || (route !== '/init' && route !== '/run')) {
    return send(res, reply(500, { error: 'Bad request.' }));
  }
  send(res, route === '/init' ? await init(body as Record<string, unknown>) : await run(body as Record<string, unknown>));
}

function watchParent(): void {
  const parent = Number(process.env['EW_PARENT_PID']);
  if (!Number.isInteger(parent) || parent <= 0) return;
  const timer = setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      // The engine that started this proxy is gone: nobody will ever ask for a result again.
      process.exit(0);
    }
  }, 1000);
  timer.unref();
}

function announce(where: { port: number } | { socket: string }): void {
  const fd = Number(process.env['EW_READY_FD']);
  if (!Number.isInteger(fd) || fd < 0) return;
  try {
    writeSync(fd, `${JSON.stringify(where)}\n`);
    closeSync(fd);
  } catch {
    // Nobody is listening on that descriptor; the proxy still serves.
  }
}

export function startServer(): void {
  trackOpenLines('stdout');
  trackOpenLines('stderr');
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      process.stderr.write(`Internal system error: ${describeError(error)}\n`);
      if (!res.headersSent) send(res, reply(500, { error: 'Internal error.' }));
    });
  });
  // Only the engine enforces time: the proxy never times a request out itself.
  server.timeout = 0;
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.on('error', (error) => {
    process.stderr.write(`Cannot serve: ${describeError(error)}\n`);
    process.exit(1);
  });
  const socket = process.env['SOCKET'] ?? '';
  if (socket !== '') {
    // A socket file left by an earlier proxy in the same directory would make listen fail with EADDRINUSE.
    rmSync(socket, { force: true });
    // The engine may run as another user than the proxy (a container's uid): it must be able to connect.
    server.listen({ path: socket, readableAll: true, writableAll: true }, () => announce({ socket }));
  } else {
    const port = Number(process.env['PORT'] ?? 8080);
    server.listen(Number.isInteger(port) && port >= 0 ? port : 8080, process.env['HOST'] ?? '0.0.0.0', () => {
      announce({ port: (server.address() as AddressInfo).port });
    });
  }
  watchParent();
  process.on('SIGTERM', () => {
    // Only a container runtime stopping the container sends this (the engine kills outright): say so, so the
    // engine can tell a stopped container from an action that exited.
    process.stderr.write(`${TERMINATED}\n`);
    process.exit(0);
  });
}

if (require.main === module) startServer();
