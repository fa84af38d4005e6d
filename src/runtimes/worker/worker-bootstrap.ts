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
import { format } from 'node:util';
import { parentPort } from 'node:worker_threads';
import type { InitPayload, RunPayload } from '../runtime';
import { Batcher, isBatch, type Batch } from './batcher';
import type { FromWorker, ToWorker } from './messages';
import { loadPlainCode } from '../../proxy/nodejs/action-loader';
import { describeError, invokeMain, reply } from '../../proxy/nodejs/result';

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
  try {
    entry = loadPlainCode(payload.code, payload.main, payload.name);
  } catch (error) {
    state = 'stopped';
    // The stack (with the failing line) goes to the logs; the result carries the short form, e.g. `SyntaxError: …`.
    emit('stderr', `Error during initialization: ${describeError(error)}`);
    const message = error instanceof Error && error.name === 'Error' ? error.message : String(error);
    return reply(502, { error: `Initialization has failed due to: ${message}` });
  }
  return reply(200, { OK: true });
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
  const result = await invokeMain(entry, value, (line) => emit('stderr', line));
  // A synchronous throw stops the runtime (state `stopped`), exactly like OpenWhisk's Node.js runtime.
  if (result.threw === true) state = 'stopped';
  return { status: result.status, body: result.body };
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
