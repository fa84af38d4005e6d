/**
 * Runs inside a worker thread: one action per thread, loaded once by `init`, then run on demand.
 *
 * It follows the Node.js action proxy (action-proxy-protocol §3-§4): the same states, the same result
 * normalisation and the same error strings, carried over `postMessage` instead of HTTP. Everything the action
 * writes to the console or to process.stdout/stderr is forwarded to the host, tagged with the activation it
 * belongs to (AsyncLocalStorage keeps that right even for concurrent runs).
 *
 * Time and memory limits are not enforced here: the host terminates the thread, which also stops code that never
 * yields.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { format } from 'node:util';
import { runInThisContext } from 'node:vm';
import { parentPort } from 'node:worker_threads';
import type { InitPayload, RunPayload } from '../runtime';
import { Batcher, isBatch, type Batch } from './batcher';
import type { FromWorker, ToWorker } from './messages';

const port = parentPort;
if (port === null) throw new Error('worker-bootstrap must run in a worker thread');

const current = new AsyncLocalStorage<string>();
let state: 'ready' | 'running' | 'stopped' = 'ready';
let entry: ((params: unknown) => unknown) | undefined;

// Results are JSON strings and logs plain strings: posting them cannot fail.
const outbox = new Batcher<FromWorker>(port, () => undefined);

function post(message: FromWorker): void {
  outbox.send(message);
}

function emit(stream: 'stdout' | 'stderr', text: string): void {
  post({ t: 'log', id: current.getStore() ?? '', s: stream, x: text, ts: Date.now() });
}

// The action's console and standard streams go to its activation's logs, never to Node-RED's own output.
const toStdout = (...args: unknown[]): void => emit('stdout', format(...args));
const toStderr = (...args: unknown[]): void => emit('stderr', format(...args));
console.log = toStdout;
console.info = toStdout;
console.debug = toStdout;
console.warn = toStderr;
console.error = toStderr;
console.trace = (...args: unknown[]): void => emit('stderr', `Trace: ${format(...args)}\n${new Error().stack ?? ''}`);
console.dir = (value: unknown): void => emit('stdout', format('%O', value));
for (const [stream, name] of [
  [process.stdout, 'stdout'],
  [process.stderr, 'stderr'],
] as const) {
  stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    emit(name, typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof stream.write;
}

function reply(status: number, body: unknown): { status: number; body: string } {
  return { status, body: JSON.stringify(body) };
}

/** Own property lookup along `a.b.c`; `main` has been validated by the engine and is never evaluated as code. */
function lookup(root: unknown, path: readonly string[]): unknown {
  let value: unknown = root;
  for (const segment of path) {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
    if (!Object.prototype.hasOwnProperty.call(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? String(error)) : String(error);
}

function init(payload: InitPayload): { status: number; body: string } {
  if (state !== 'ready' || entry !== undefined) {
    emit('stderr', 'Internal system error: Cannot initialize the action more than once.');
    return reply(403, { error: 'Cannot initialize the action more than once.' });
  }
  if (typeof payload.main !== 'string' || payload.main === '' || typeof payload.code !== 'string' || payload.code === '') {
    return reply(403, { error: 'Missing main/no code to execute.' });
  }
  if (payload.binary) {
    state = 'stopped';
    const message =
      'Initialization has failed due to: the worker runtime runs plain JavaScript only; run archive (zip/tar.gz) actions on the process or docker runtime.';
    emit('stderr', message);
    return reply(502, { error: message });
  }
  for (const [key, value] of Object.entries(payload.env)) process.env[key] = value;

  // The action is a sloppy-mode script in the thread's global scope: `function main`, `var main` and `global.main`
  // become globals, and `exports`/`module.exports` work as in a CommonJS module.
  const filename = join(process.cwd(), `${payload.name.replace(/[^\w.-]/g, '_')}.js`);
  const module = { exports: {} as Record<string, unknown> };
  const globals = globalThis as Record<string, unknown>;
  const before = new Set(Object.getOwnPropertyNames(globalThis));
  Object.assign(globals, {
    module,
    exports: module.exports,
    require: createRequire(filename),
    __filename: filename,
    __dirname: process.cwd(),
  });
  try {
    runInThisContext(payload.code, { filename });
  } catch (error) {
    state = 'stopped';
    // The stack (with the failing line) goes to the logs; the result carries the short form, e.g. `SyntaxError: …`.
    emit('stderr', `Error during initialization: ${describeError(error)}`);
    return reply(502, { error: `Initialization has failed due to: ${String(error)}` });
  }
  const path = payload.main.split('.');
  // Only globals the action itself created count, so a hostile `main` such as `process.exit` finds nothing.
  const first = path[0] as string;
  let found = before.has(first) ? undefined : lookup(globalThis, path);
  if (typeof found !== 'function') found = lookup(module.exports, path);
  if (typeof found !== 'function' && typeof module.exports === 'function' && payload.main === 'main') found = module.exports;
  if (typeof found !== 'function') {
    state = 'stopped';
    const message = `Initialization has failed due to: Action entrypoint '${payload.main}' is not a function.`;
    emit('stderr', `Error during initialization: Action entrypoint '${payload.main}' is not a function.`);
    return reply(502, { error: message });
  }
  entry = found as (params: unknown) => unknown;
  return reply(200, { OK: true });
}

/** `serialize-error`'s shape: name, message, stack and own enumerable properties. */
function serializeError(reason: unknown): unknown {
  if (!reason) return {};
  if (reason instanceof Error) {
    const out: Record<string, unknown> = { name: reason.name, message: reason.message, stack: reason.stack };
    for (const [key, value] of Object.entries(reason)) out[key] = value;
    if (reason.cause !== undefined) out['cause'] = serializeError(reason.cause);
    return out;
  }
  return reason;
}

function normalise(result: unknown): { status: number; body: string } {
  if (result === undefined) return { status: 200, body: '{}' };
  if (typeof result !== 'object' || result === null) {
    emit('stderr', `Result must be of type object but has type "${result === null ? 'null' : typeof result}": ${String(result)}`);
    return reply(502, { error: 'The action did not return a dictionary.' });
  }
  try {
    return { status: 200, body: JSON.stringify(result) };
  } catch (error) {
    return reply(502, { error: `The action did not produce a valid JSON response: ${(error as Error).message}` });
  }
}

async function run(payload: RunPayload): Promise<{ status: number; body: string }> {
  if (entry === undefined) {
    emit('stderr', 'Internal system error: System not initialized.');
    return reply(403, { error: 'System not initialized.' });
  }
  if (state === 'stopped') return reply(403, { error: 'System not ready, status is stopped.' });
  const value = payload.value ?? {};
  if (typeof value !== 'object') {
    return reply(403, { error: `Internal system error: the argument must be a dictionary but has type '${typeof value}'.` });
  }
  // The context of this activation, as the proxy exports it (action-proxy-protocol §4.1).
  process.env['__OW_NAMESPACE'] = payload.namespace;
  process.env['__OW_ACTION_NAME'] = payload.action_name;
  process.env['__OW_ACTION_VERSION'] = payload.action_version;
  process.env['__OW_ACTIVATION_ID'] = payload.activation_id;
  process.env['__OW_TRANSACTION_ID'] = payload.transaction_id;
  process.env['__OW_DEADLINE'] = payload.deadline;
  let returned: unknown;
  try {
    returned = entry(value);
  } catch (error) {
    // A synchronous throw stops the proxy (state `stopped`), exactly like OpenWhisk's Node.js runtime.
    state = 'stopped';
    emit('stderr', describeError(error));
    return reply(502, { error: `An error has occurred: ${String(error)}` });
  }
  if (returned !== null && typeof returned === 'object' && typeof (returned as PromiseLike<unknown>).then === 'function') {
    try {
      returned = await (returned as PromiseLike<unknown>);
    } catch (reason) {
      // A rejection is the action's own answer: an application error, and the runtime stays healthy.
      try {
        return { status: 200, body: JSON.stringify({ error: serializeError(reason) }) };
      } catch {
        return { status: 200, body: JSON.stringify({ error: String(reason) }) };
      }
    }
  }
  return normalise(returned);
}

function receive(message: ToWorker): void {
  if (message.t === 'init') {
    const { status, body } = init(message.payload);
    post({ t: 'init', status, body });
    return;
  }
  const id = message.payload.activation_id;
  current.run(id, () => {
    run(message.payload)
      .catch((error: unknown) => reply(502, { error: `An error has occurred: ${String(error)}` }))
      .then(({ status, body }) => {
        post({ t: 'run', id, status, body });
      });
  });
}

port.on('message', (message: ToWorker | Batch<ToWorker>) => {
  if (isBatch<ToWorker>(message)) for (const item of message.items) receive(item);
  else receive(message);
});
// Posted last: 'online' fires before this script has loaded, and a prewarm is only ready once it has.
port.postMessage({ t: 'ready' } satisfies FromWorker);
