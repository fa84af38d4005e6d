/**
 * Conformance harness for EdgeWhisk's action proxies (docs/action-protocol.md#conformance-tests): starts a fresh
 * proxy process, learns its port from file descriptor 3, speaks `/init` and `/run` over `node:http` (one connection
 * per request, as OpenWhisk's invoker does), collects stdout and stderr, and counts the log sentinels.
 *
 * Proxy-neutral: any command that follows EdgeWhisk's process conventions works, e.g.
 *   startProxy(['python3', 'src/proxy/python/proxy.py'])
 *   startProxy([process.execPath, 'dist/proxy/nodejs/server.js'])
 * Conventions: env `HOST=127.0.0.1`, `PORT=0`, `EW_READY_FD=3`; the proxy writes `{"port": n}\n` to fd 3 once it
 * listens. Nothing here imports a test framework: call `stopAll()` from the suite's `afterEach`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

export const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX';

/** OpenWhisk's rule for `binary` (docs/semantics.md#actions). */
const BASE64 = /^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$/;

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The raw body text. */
  readonly text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary result fields
  readonly body: any;
}

export interface ProxyStreams {
  /** stdout without sentinel lines, trimmed. */
  readonly stdout: string;
  /** stderr without sentinel lines, trimmed. */
  readonly stderr: string;
  readonly stdoutSentinels: number;
  readonly stderrSentinels: number;
  /** Whether each stream's sentinel lines form one contiguous block (true when there are none). */
  readonly stdoutContiguous: boolean;
  readonly stderrContiguous: boolean;
  readonly rawStdout: string;
  readonly rawStderr: string;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface StartOptions {
  readonly cwd?: string;
  /** How long the proxy may take to announce its port, in ms. @default 10000 */
  readonly startTimeout?: number;
}

export interface InitValue {
  readonly code?: string | null;
  readonly main?: string;
  readonly binary?: boolean;
  readonly env?: Readonly<Record<string, unknown>>;
  readonly name?: string;
}

const running = new Set<ProxyProcess>();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `code` would be sent with `binary: true` by OpenWhisk's rule. */
export function isBinary(code: string): boolean {
  const trimmed = code.trim();
  return trimmed !== '' && trimmed.length % 4 === 0 && BASE64.test(trimmed);
}

/** An `/init` body for `code`, with `binary` computed by OpenWhisk's rule unless given. */
export function initBody(code: string, main?: string, env?: Readonly<Record<string, unknown>>): { value: InitValue } {
  return {
    value: {
      code,
      binary: isBinary(code),
      ...(main === undefined ? {} : { main }),
      ...(env === undefined ? {} : { env }),
    },
  };
}

function lines(text: string): string[] {
  return text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

function sentinelInfo(raw: string): { text: string; count: number; contiguous: boolean } {
  const all = lines(raw);
  const at = all.flatMap((line, index) => (line === SENTINEL ? [index] : []));
  const first = at[0];
  const last = at[at.length - 1];
  return {
    text: all.filter((line) => line !== SENTINEL).join('\n').trim(),
    count: at.length,
    contiguous: first === undefined || last === undefined || last - first + 1 === at.length,
  };
}

export class ProxyProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  readonly #stdout: Buffer[];
  readonly #stderr: Buffer[];

  constructor(child: ChildProcess, port: number, exited: Promise<Exit>, stdout: Buffer[], stderr: Buffer[]) {
    this.child = child;
    this.port = port;
    this.exited = exited;
    this.#stdout = stdout;
    this.#stderr = stderr;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Whether the process has exited. */
  get gone(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** POSTs `body` as JSON. */
  post(path: string, body: unknown): Promise<Reply> {
    return this.request('POST', path, Buffer.from(JSON.stringify(body), 'utf8'));
  }

  init(value: InitValue): Promise<Reply> {
    return this.post('/init', { value });
  }

  /** `/run` with `value` and any context keys (`api_key`, `namespace`, …) at the top level. */
  run(value: unknown, context: Readonly<Record<string, unknown>> = {}): Promise<Reply> {
    return this.post('/run', { value, ...context });
  }

  /** One request on its own connection; `data` is sent verbatim. */
  request(method: string, path: string, data?: Buffer | string, timeout = 30_000): Promise<Reply> {
    const payload = data === undefined ? undefined : Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          path,
          method,
          agent: false,
          timeout,
          headers: {
            'Content-Type': 'application/json',
            Accept: 'application/json',
            ...(payload === undefined ? {} : { 'Content-Length': payload.length }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              body = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no response within ${timeout} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** What the proxy wrote so far. */
  streams(): ProxyStreams {
    const rawStdout = Buffer.concat(this.#stdout).toString('utf8');
    const rawStderr = Buffer.concat(this.#stderr).toString('utf8');
    const out = sentinelInfo(rawStdout);
    const err = sentinelInfo(rawStderr);
    return {
      stdout: out.text,
      stderr: err.text,
      stdoutSentinels: out.count,
      stderrSentinels: err.count,
      stdoutContiguous: out.contiguous,
      stderrContiguous: err.contiguous,
      rawStdout,
      rawStderr,
    };
  }

  /**
   * The streams once each holds at least `count` sentinels (or after `timeout` ms, for the test to report), plus a
   * short `settle` so that a surplus sentinel would be seen too. The timeout is generous: only a failing test waits
   * it out, and a loaded machine may take seconds to pass the proxy's output on.
   */
  async waitForSentinels(count: number, timeout = 10_000, settle = 50): Promise<ProxyStreams> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const now = this.streams();
      if ((now.stdoutSentinels >= count && now.stderrSentinels >= count) || Date.now() > deadline || this.gone) break;
      await sleep(5);
    }
    await sleep(settle);
    return this.streams();
  }

  /** SIGTERM, then SIGKILL after `grace` ms; resolves with how the process ended. */
  async stop(grace = 2_000): Promise<Exit> {
    running.delete(this);
    if (!this.gone) {
      this.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), grace)));
      const outcome = await Promise.race([this.exited, late]);
      clearTimeout(timer);
      if (outcome === 'late') this.child.kill('SIGKILL');
    }
    return this.exited;
  }
}

/**
 * Starts `command` (argv) as a fresh proxy process with a clean environment (`PATH` plus the conventions above plus
 * `env`) and resolves once it has announced its port on fd 3.
 */
export function startProxy(command: readonly string[], env: Readonly<Record<string, string>> = {}, options: StartOptions = {}): Promise<ProxyProcess> {
  const [file, ...args] = command;
  if (file === undefined) return Promise.reject(new Error('startProxy needs a command'));
  const child = spawn(file, args, {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOST: '127.0.0.1', PORT: '0', EW_READY_FD: '3', ...env },
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  (child.stdout as Readable).on('data', (chunk: Buffer) => stdout.push(chunk));
  (child.stderr as Readable).on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', () => resolve({ code: null, signal: null }));
  });
  const startTimeout = options.startTimeout ?? 10_000;
  return new Promise<ProxyProcess>((resolve, reject) => {
    const ready = child.stdio[3] as Readable | null;
    let text = '';
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${command.join(' ')}: ${why}; stderr: ${Buffer.concat(stderr).toString('utf8').trim()}`));
    };
    const timer = setTimeout(() => fail(`no port announced within ${startTimeout} ms`), startTimeout);
    child.on('error', (error) => fail(`cannot start: ${error.message}`));
    void exited.then((exit) => fail(`exited before announcing its port (code ${String(exit.code)}, signal ${String(exit.signal)})`));
    if (ready === null) return fail('no fd 3 pipe');
    ready.on('error', () => undefined);
    ready.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const newline = text.indexOf('\n');
      if (newline < 0 || settled) return;
      let port: unknown;
      try {
        port = (JSON.parse(text.slice(0, newline)) as { port?: unknown }).port;
      } catch {
        port = undefined;
      }
      if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0) return fail(`announced an unreadable port: ${text.slice(0, newline)}`);
      settled = true;
      clearTimeout(timer);
      const proxy = new ProxyProcess(child, port, exited, stdout, stderr);
      running.add(proxy);
      resolve(proxy);
    });
  });
}

/** Stops every proxy started and not yet stopped; for the suite's `afterEach`. */
export async function stopAll(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((proxy) => proxy.stop()));
}
