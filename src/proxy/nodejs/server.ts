/**
 * EdgeWhisk's Node.js action proxy: OpenWhisk's runtime protocol (`POST /init`, `POST /run`) on `node:http`, with
 * no web framework so it starts fast. Runnable on its own:
 *
 *   PORT=8080 HOST=0.0.0.0 node dist/proxy/nodejs/server.js
 *
 * It behaves like OpenWhisk's Node.js runtime (docs/action-protocol.md): the same state machine, responses,
 * status codes and log sentinels, so the engine judges it like any OpenWhisk image. Environment:
 * - `PORT` (default 8080; 0 = any free port) and `HOST` (default 0.0.0.0);
 * - `SOCKET`: a Unix socket path to listen on instead of TCP (EdgeWhisk's Docker runtime mounts one directory per
 *   container, so the engine reaches the proxy with no network at all); any user may connect to it;
 * - `__OW_ALLOW_CONCURRENT=true` accepts overlapping `/run` calls;
 * - `EW_READY_FD`: a file descriptor that receives `{"port": n}` (or `{"socket": path}`) once listening;
 * - `EW_PARENT_PID`: the proxy exits when that process is gone, so it never outlives the engine that started it;
 * - `EW_PROXY_SECRET`: when set, only requests carrying it in the `X-EdgeWhisk-Secret` header are served, others
 *   get 403 (EdgeWhisk's process runtime: any local process can reach a loopback port). It is removed from the
 *   environment before the action loads, so the action's own children do not inherit it;
 * - `EW_HEADERS_TIMEOUT` / `EW_REQUEST_TIMEOUT` (ms, default 10000 / 60000): how long a client may take to send a
 *   request's headers / the whole request, so a connection that never finishes one cannot be held forever. Only
 *   receiving is timed: the action itself runs as long as the engine lets it.
 *
 * Each request may carry `X-EdgeWhisk-Log-Limit` (bytes): the activation's log limit, enforced here, where the
 * output is produced (bounded-output.ts); without it the limit is OpenWhisk's largest, 10 MB.
 */
import { closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadAction, type Entry } from './action-loader';
import { BoundedOutput } from './bounded-output';
import { sameSecret } from './constant-time';
import { describeError, invokeMain, reply, type ProxyResponse } from './result';
import { LOG_LIMIT_HEADER, SECRET_HEADER } from './edgewhisk-headers';
import { SENTINEL, TERMINATED } from './stream-markers';

const BODY_LIMIT = 48 * 1024 * 1024;
const concurrent = process.env['__OW_ALLOW_CONCURRENT'] === 'true';
/** Read once and removed at once: the action (and whatever it starts) must not see it. */
const secret = process.env['EW_PROXY_SECRET'] ?? '';
delete process.env['EW_PROXY_SECRET'];

type State = 'ready' | 'starting' | 'running' | 'stopped';
let state: State = 'ready';
let entry: Entry | undefined;
let inFlight = 0;
/** Set by a successful init: the next run is the same (cold) activation, whose logs init has begun. */
let initLogsOpen = false;
let output: BoundedOutput | undefined;

/** The activation's output, bounded at its log limit (set up by `startServer`). */
function out(): BoundedOutput {
  output ??= new BoundedOutput();
  return output;
}

/**
 * Writes the sentinels after all of the activation's output. Written synchronously before the answer, so the engine
 * has the activation's logs by the time it has the answer, and waits for no more than what the pipe holds.
 */
function sentinels(): void {
  out().sentinels(SENTINEL);
}

function logLimit(req: IncomingMessage): number | undefined {
  const value = req.headers[LOG_LIMIT_HEADER];
  return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/** Whether the request carries the proxy's secret (always, when it has none); compared in constant time. */
function authorized(req: IncomingMessage): boolean {
  if (secret === '') return true;
  const given = req.headers[SECRET_HEADER];
  return typeof given === 'string' && sameSecret(given, secret);
}

function refuse(message: string, status = 403, log = true): ProxyResponse {
  if (log) process.stderr.write(`Internal system error: ${message}\n`);
  return reply(status, { error: message });
}

/** Init env values stringified as OpenWhisk's Node.js runtime does (docs/action-protocol.md#init-environment). */
function envString(value: unknown): string {
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return value ? String(value) : '';
}

async function init(body: Record<string, unknown>, limit: number | undefined): Promise<ProxyResponse> {
  if (entry !== undefined) return refuse('Cannot initialize the action more than once.');
  if (state !== 'ready') return reply(403, { error: `System not ready, status is ${state}.` });
  const value = (body['value'] ?? {}) as Record<string, unknown>;
  const code = value['code'];
  const main = value['main'] === undefined && typeof code === 'string' && code !== '' ? 'main' : value['main'];
  if (typeof main !== 'string' || main === '' || typeof code !== 'string' || code === '') {
    return reply(403, { error: 'Missing main/no code to execute.' });
  }
  state = 'starting';
  out().begin(limit);
  const env = value['env'];
  if (env !== null && typeof env === 'object') {
    for (const [key, raw] of Object.entries(env as Record<string, unknown>)) {
      if (key !== '' && !key.includes('=') && !key.includes('\0')) process.env[key] = envString(raw);
    }
  }
  try {
    entry = await loadAction(code, value['binary'] === true, main, typeof value['name'] === 'string' ? value['name'] : 'action');
    state = 'ready';
    initLogsOpen = true;
    out().flush();
    return reply(200, { OK: true });
  } catch (error) {
    state = 'stopped';
    process.stderr.write(`Error during initialization: ${describeError(error)}\n`);
    sentinels();
    const message = error instanceof Error && error.name === 'Error' ? error.message : String(error);
    return reply(502, { error: `Initialization has failed due to: ${message}` });
  }
}

async function run(body: Record<string, unknown>, limit: number | undefined): Promise<ProxyResponse> {
  if (entry === undefined) return refuse('System not initialized.');
  if (state === 'stopped' || (state === 'running' && !concurrent) || state === 'starting') {
    return refuse(`System not ready, status is ${state}.`);
  }
  const value = body['value'] ?? {};
  if (typeof value !== 'object') {
    return reply(403, { error: `Internal system error: the argument must be a dictionary but has type '${typeof value}'.` });
  }
  // The activation's context, exported for its duration (docs/action-protocol.md#activation-context).
  for (const [key, raw] of Object.entries(body)) {
    if (key !== 'value' && typeof raw === 'string') process.env[`__OW_${key.toUpperCase()}`] = raw;
  }
  if (!concurrent) state = 'running';
  // Overlapping runs (concurrency > 1) share one count: their interleaved output is one stream anyway.
  if (inFlight === 0) out().begin(limit, initLogsOpen);
  initLogsOpen = false;
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
  if (!authorized(req)) {
    // Before the body is read, and nothing written to the action's logs: a stranger's request is not its business.
    res.setHeader('Connection', 'close');
    return send(res, reply(403, { error: 'Forbidden: this action proxy serves only the engine that started it.' }));
  }
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
  const limit = logLimit(req);
  send(res, route === '/init' ? await init(body as Record<string, unknown>, limit) : await run(body as Record<string, unknown>, limit));
}

/** Kills the proxy's process group (itself included) when it leads one, as the process runtime starts it. */
function endOwnGroup(): void {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (process.pid > 1 && group === process.pid) process.kill(-process.pid, 'SIGKILL');
  } catch {
    // No /proc: only the proxy ends.
  }
}

function watchParent(): void {
  const parent = Number(process.env['EW_PARENT_PID']);
  if (!Number.isInteger(parent) || parent <= 0) return;
  const timer = setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      // The engine that started this proxy is gone: nobody will ever ask for a result again. What the action
      // started in the proxy's process group goes too (the engine would have killed it).
      endOwnGroup();
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

/** A timeout in ms from the environment, or `fallback`. */
function envMs(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

export function startServer(): void {
  out();
  const headersTimeout = envMs('EW_HEADERS_TIMEOUT', 10_000);
  const requestTimeout = Math.max(headersTimeout, envMs('EW_REQUEST_TIMEOUT', 60_000));
  const server = createServer(
    {
      // A client must send its headers (and its whole request) in time; Node.js checks every
      // connectionsCheckingInterval, 30 s by default, which would stretch a 10 s limit to 40 s.
      headersTimeout,
      requestTimeout,
      connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(headersTimeout / 4))),
    },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        process.stderr.write(`Internal system error: ${describeError(error)}\n`);
        if (!res.headersSent) send(res, reply(500, { error: 'Internal error.' }));
      });
    },
  );
  // The action's own time is the engine's to enforce: no inactivity timeout while it runs (its answer may take
  // minutes to come, with nothing on the connection meanwhile).
  server.timeout = 0;
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
