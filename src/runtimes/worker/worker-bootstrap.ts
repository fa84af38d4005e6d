/**
 * Runs inside a worker thread: one action per thread, loaded once by `init`, then run on demand.
 *
 * It follows the Node.js action proxy (docs/action-protocol.md#the-worker-runtime): the same states, the same result
 * normalisation and the same error strings, carried over `postMessage` instead of HTTP. Everything the action
 * writes to the console or to process.stdout/stderr is forwarded to the host, tagged with the activation it
 * belongs to (AsyncLocalStorage keeps that right even for concurrent runs), and bounded here, where it is produced:
 * past the action's log limit, output is dropped before it is ever copied to the host (log-budget.ts).
 *
 * The time limit and the heap limit are enforced by the host, which terminates the thread; that also stops code
 * that never yields. Off-heap memory and process methods that would reach Node-RED's process are guarded here
 * (offheap-guard.ts, process-guards.ts), before the action's code loads.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import type { InitPayload, RunPayload } from '../runtime';
import { Batcher, isBatch, type Batch } from './batcher';
import { LogBudget } from './log-budget';
import type { FromWorker, LogMessage, ToWorker, WorkerData } from './messages';
import { guardOffHeap } from './offheap-guard';
import { guardProcess } from './process-guards';
import { loadPlainCode } from '../../proxy/nodejs/action-loader';
import { describeError, invokeMain, reply } from '../../proxy/nodejs/result';

const port = parentPort;
if (port === null) throw new Error('worker-bootstrap must run in a worker thread');

/**
 * A batch goes to the host once it carries this much: each is then a short task (a few ms) on the host's event loop.
 * Not smaller: the host stores a batch's lines as one block of text, which V8 keeps out of its young generation
 * from 128 KB on, so the garbage collector need not copy the 10 MB of a flooded record's logs again and again.
 */
const BATCH_BYTES = 256 * 1024;
/** The log limit until init gives the action's: OpenWhisk's largest, 10 MB. */
const DEFAULT_LOG_LIMIT = 10 * 1024 * 1024;

const current = new AsyncLocalStorage<string>();
let state: 'ready' | 'running' | 'stopped' = 'ready';
let entry: ((params: unknown) => unknown) | undefined;
let logLimit = DEFAULT_LOG_LIMIT;
/** The log budget of each request in progress: `''` for init, else the activation id. */
const budgets = new Map<string, LogBudget>();
/** After a successful init, its budget: the next run is the same (cold) activation, whose logs init has begun. */
let initBudget: LogBudget | undefined;
/** Set once the thread is ending: nothing more goes out, not even the answer of a run that goes on meanwhile. */
let ending = false;

function weigh(message: FromWorker): number {
  switch (message.t) {
    case 'log':
      // Most messages are one line: its text and the ~40 bytes each line costs stored.
      return message.x.length + 40;
    case 'init':
    case 'run':
      return message.body.length;
    default:
      return 64;
  }
}

/** Lines of one stream of one activation written in the same millisecond travel as one message. */
function merge(last: FromWorker, next: FromWorker): boolean {
  if (last.t !== 'log' || next.t !== 'log' || last.id !== next.id || last.s !== next.s || last.ts !== next.ts) return false;
  last.x += `\n${next.x}`;
  return true;
}

// Results are JSON strings and logs plain strings: posting them cannot fail.
const outbox = new Batcher<FromWorker>(port, { onError: () => undefined, weigh, maxWeight: BATCH_BYTES, merge });

function post(message: FromWorker): void {
  if (!ending) outbox.send(message);
}

/** The budget the current output counts against, if it is still taking any. */
function openBudget(): { id: string; budget: LogBudget } | undefined {
  const id = current.getStore() ?? '';
  const budget = budgets.get(id);
  return budget === undefined || budget.closed ? undefined : { id, budget };
}

function emitTo(id: string, budget: LogBudget, stream: LogMessage['s'], text: string): void {
  const { lines, truncation } = budget.take(text);
  const ts = Date.now();
  if (lines.length > 0) post({ t: 'log', id, s: stream, ts, x: lines.length === 1 ? (lines[0] as string) : lines.join('\n') });
  if (truncation !== undefined) post({ t: 'log', id, s: 'stderr', ts, x: truncation });
}

function emit(stream: LogMessage['s'], text: string): void {
  const open = openBudget();
  if (open !== undefined) emitTo(open.id, open.budget, stream, text);
}

/** Formats only output that will be kept: a flood past the limit costs the thread little. */
function emitFormatted(stream: LogMessage['s'], render: () => string): void {
  const open = openBudget();
  if (open !== undefined) emitTo(open.id, open.budget, stream, render());
}

/** Sends what waits before the thread ends; with a reason, says first why the action ended. */
function onEnding(reason?: string): void {
  if (ending) return;
  // Not counted against the log limit: it is why the action ended.
  if (reason !== undefined) outbox.send({ t: 'log', id: current.getStore() ?? '', s: 'stderr', ts: Date.now(), x: reason });
  ending = true;
  try {
    outbox.flush();
  } catch {
    // The host is gone: nobody is left to tell.
  }
}

const endThread = guardProcess(onEnding);
const { memoryLimit } = (workerData ?? {}) as Partial<WorkerData>;
if (typeof memoryLimit === 'number' && memoryLimit > 0) {
  guardOffHeap(memoryLimit, (detail) => {
    onEnding(detail);
    // Posted directly, after the logs: the host must know it was memory before it sees the thread end.
    port.postMessage({ t: 'oom', detail } satisfies FromWorker);
    return endThread(1);
  });
}

// The action's console and standard streams go to its activation's logs, never to Node-RED's own output.
const toStdout = (...args: unknown[]): void => emitFormatted('stdout', () => format(...args));
const toStderr = (...args: unknown[]): void => emitFormatted('stderr', () => format(...args));
console.log = toStdout;
console.info = toStdout;
console.debug = toStdout;
console.warn = toStderr;
console.error = toStderr;
console.trace = (...args: unknown[]): void => emitFormatted('stderr', () => `Trace: ${format(...args)}\n${new Error().stack ?? ''}`);
console.dir = (value: unknown): void => emitFormatted('stdout', () => format('%O', value));
for (const [stream, name] of [
  [process.stdout, 'stdout'],
  [process.stderr, 'stderr'],
] as const) {
  stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    emitFormatted(name, () => (typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8')));
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
  // The context of this activation, as the proxy exports it (docs/action-protocol.md#activation-context).
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
    const limit = message.payload.logLimit;
    if (typeof limit === 'number' && Number.isInteger(limit) && limit >= 0) logLimit = limit;
    const budget = new LogBudget(logLimit);
    budgets.set('', budget);
    const { status, body } = init(message.payload);
    budgets.delete('');
    if (status === 200) initBudget = budget;
    post({ t: 'init', status, body });
    return;
  }
  const id = message.payload.activation_id;
  budgets.set(id, initBudget ?? new LogBudget(logLimit));
  initBudget = undefined;
  current.run(id, () => {
    run(message.payload)
      .catch((error: unknown) => reply(502, { error: `An error has occurred: ${String(error)}` }))
      .then(({ status, body }) => {
        post({ t: 'run', id, status, body });
        // Output after the answer belongs to no activation any more: dropped here, as the host would drop it.
        budgets.delete(id);
      });
  });
}

port.on('message', (message: ToWorker | Batch<ToWorker>) => {
  if (isBatch<ToWorker>(message)) for (const item of message.items) receive(item);
  else receive(message);
});
// Posted last: 'online' fires before this script has loaded, and a prewarm is only ready once it has.
port.postMessage({ t: 'ready' } satisfies FromWorker);
