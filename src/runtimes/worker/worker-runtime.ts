/**
 * The embedded default runtime: every container is a `worker_threads` Worker running one action.
 *
 * A worker has its own V8 isolate, heap and event loop, so a spinning or crashing action cannot block or kill the
 * host's event loop, and `terminate()` stops even code that never yields. Its off-heap memory is watched against the
 * action's memory limit (offheap-watchdog.ts) and its output arrives bounded and in bounded batches
 * (worker-bootstrap.ts). It shares the process, user, filesystem and network with Node-RED: it isolates faults, not
 * untrusted code (use the docker runtime for that).
 */
import { Worker } from 'node:worker_threads';
import { compiledSibling } from '../../util/compiled-path';
import type { Container, ContainerFailure, ContainerSpec, InitPayload, LogSink, Outcome, RunPayload, Runtime } from '../runtime';
import { hostNodeKind } from '../node-kinds';
import { Batcher, isBatch, type Batch } from './batcher';
import { Inbox } from './inbox';
import type { FromWorker, ToWorker, WorkerData } from './messages';
import { OffHeapWatchdog } from './offheap-watchdog';

/** Workers run on the host's Node.js, so that is the one kind they offer (`nodejs:default` resolves to it). */
export const WORKER_KINDS: readonly string[] = Object.freeze([hostNodeKind()]);

export interface WorkerRuntimeOptions {
  /** Stack size of each worker in MB. @default 4 */
  readonly stackSizeMb?: number;
}

export class WorkerRuntime implements Runtime {
  readonly name = 'worker';
  readonly kinds = WORKER_KINDS;
  readonly #bootstrap: string;
  readonly #stackSizeMb: number;
  #next = 0;

  constructor(options: WorkerRuntimeOptions = {}) {
    this.#stackSizeMb = options.stackSizeMb ?? 4;
    if (!Number.isInteger(this.#stackSizeMb) || this.#stackSizeMb < 1) {
      throw new TypeError(`Expected \`stackSizeMb\` to be a positive integer, got \`${String(options.stackSizeMb)}\``);
    }
    this.#bootstrap = compiledSibling(__dirname, 'worker-bootstrap');
  }

  create(spec: ContainerSpec): Promise<Container> {
    const container = new WorkerContainer(`worker-${++this.#next}`, this.#bootstrap, spec, this.#stackSizeMb);
    return container.started();
  }
}

type Pending = { resolve: (outcome: Outcome) => void; logs: LogSink };

/** What the thread sends, and what happens to it, in the order it happened. */
type Event = FromWorker | { readonly t: 'worker-error'; readonly error: Error } | { readonly t: 'worker-exit'; readonly code: number };

class WorkerContainer implements Container {
  readonly id: string;
  readonly #worker: Worker;
  readonly #outbox: Batcher<ToWorker>;
  readonly #runs = new Map<string, Pending>();
  #init: Pending | undefined;
  #dead: ContainerFailure | undefined;
  #fatal: Error | undefined;
  /** Why the thread ran out of off-heap memory, when it did (the worker's own check or the watchdog). */
  #offHeap: string | undefined;
  readonly #watchdog: OffHeapWatchdog;
  readonly #inbox: Inbox<Event>;
  #destroyed = false;
  #exitListener: ((failure: ContainerFailure) => void) | undefined;
  #online: Promise<void>;
  #ready: (() => void) | undefined;

  constructor(id: string, bootstrap: string, spec: ContainerSpec, stackSizeMb: number) {
    this.id = id;
    const memoryLimit = spec.memory * 1024 * 1024;
    this.#worker = new Worker(bootstrap, {
      // The heap limit is the action's memory limit: exhausting it ends this thread only.
      resourceLimits: { maxOldGenerationSizeMb: spec.memory, stackSizeMb },
      // A private, empty `process.env`: actions see only what init and run export. (The process's own environment
      // stays readable through /proc/self/environ: see the README's Trust paragraph.)
      env: {},
      stdin: false,
      name: `edgewhisk-${id}`,
      workerData: { memoryLimit } satisfies WorkerData,
    });
    this.#watchdog = new OffHeapWatchdog(this.#worker, memoryLimit, (detail) => this.#outOfOffHeapMemory(detail));
    // Settled by 'ready' or by the thread's exit (#onExit).
    this.#online = new Promise((resolve) => {
      this.#ready = resolve;
    });
    this.#outbox = new Batcher<ToWorker>(this.#worker, {
      onError: (error) => this.#settleAll({ type: 'exited', detail: `Could not pass the request to the worker: ${String(error)}` }),
    });
    // The thread's errors and exit queue behind its messages: an answer or an out-of-memory note sent before the
    // thread ended is taken before its end is judged, even when a flood has messages waiting.
    this.#inbox = new Inbox<Event>((event) => this.#onEvent(event));
    this.#worker.on('message', (message: FromWorker | Batch<FromWorker>) => {
      this.#inbox.push(isBatch<FromWorker>(message) ? message.items : [message]);
    });
    this.#worker.on('error', (error: Error) => this.#inbox.push([{ t: 'worker-error', error }]));
    this.#worker.on('exit', (code: number) => this.#inbox.push([{ t: 'worker-exit', code }]));
  }

  async started(): Promise<Container> {
    await this.#online;
    if (this.#dead !== undefined) throw new Error(`The worker exited while starting: ${this.#dead.detail ?? 'unknown reason'}`);
    return this;
  }

  onExit(listener: (failure: ContainerFailure) => void): void {
    this.#exitListener = listener;
  }

  init(payload: InitPayload, logs: LogSink): Promise<Outcome> {
    if (this.#dead !== undefined) return Promise.resolve(this.#dead);
    return new Promise((resolve) => {
      this.#init = { resolve, logs };
      this.#post({ t: 'init', payload });
    });
  }

  run(payload: RunPayload, logs: LogSink): Promise<Outcome> {
    if (this.#dead !== undefined) return Promise.resolve(this.#dead);
    return new Promise((resolve) => {
      this.#runs.set(payload.activation_id, { resolve, logs });
      this.#post({ t: 'run', payload });
    });
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    try {
      await this.#worker.terminate();
    } catch {
      // Already gone: nothing left to stop.
    }
  }

  #post(message: ToWorker): void {
    try {
      this.#outbox.send(message);
    } catch (error) {
      // Parameters that cannot be cloned never reach the action; the run fails instead of the host.
      this.#settleAll({ type: 'exited', detail: `Could not pass the request to the worker: ${(error as Error).message}` });
    }
  }

  *#pending(): Generator<Pending> {
    if (this.#init !== undefined) yield this.#init;
    yield* this.#runs.values();
  }

  #onEvent(event: Event): void {
    switch (event.t) {
      case 'worker-error': {
        this.#fatal = event.error;
        const text = `${event.error.stack ?? String(event.error)}`;
        for (const pending of this.#pending()) pending.logs('stderr', text, Date.now());
        return;
      }
      case 'worker-exit':
        this.#onExit(event.code);
        return;
      default:
        this.#onMessage(event);
    }
  }

  #onMessage(message: FromWorker): void {
    switch (message.t) {
      case 'ready':
        this.#ready?.();
        return;
      case 'log': {
        // Lines still queued when the container was destroyed (a timeout) have no record left to go to.
        if (this.#destroyed) return;
        const target = (message.id === '' ? this.#init : this.#runs.get(message.id)) ?? this.#init;
        if (target === undefined) return;
        // The final newline makes `x`'s last line whole, even an empty one.
        target.logs(message.s, `${message.x}\n`, message.ts);
        return;
      }
      case 'oom':
        // The worker ends itself next; its exit is judged as out of memory.
        this.#offHeap = message.detail;
        return;
      case 'init': {
        const pending = this.#init;
        this.#init = undefined;
        pending?.resolve({ type: 'reply', status: message.status, body: message.body });
        return;
      }
      case 'run': {
        const pending = this.#runs.get(message.id);
        this.#runs.delete(message.id);
        pending?.resolve({ type: 'reply', status: message.status, body: message.body });
        return;
      }
    }
  }

  /** The watchdog saw the thread's off-heap memory past the limit: say so in the logs, then end the thread. */
  #outOfOffHeapMemory(detail: string): void {
    if (this.#dead !== undefined || this.#destroyed) return;
    this.#offHeap = detail;
    for (const pending of this.#pending()) pending.logs('stderr', detail, Date.now());
    this.#worker.terminate().catch(() => undefined);
  }

  #onExit(code: number): void {
    this.#watchdog.stop();
    const heap = (this.#fatal as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const failure: ContainerFailure = heap
      ? { type: 'oom', detail: this.#fatal?.message ?? 'out of memory' }
      : this.#offHeap !== undefined
        ? { type: 'oom', detail: this.#offHeap }
        : { type: 'exited', detail: this.#fatal?.message ?? `the worker exited with code ${code}` };
    this.#dead = failure;
    this.#ready?.();
    this.#settleAll(failure);
    if (!this.#destroyed) this.#exitListener?.(failure);
  }

  #settleAll(failure: ContainerFailure): void {
    const pending = [...this.#pending()];
    this.#init = undefined;
    this.#runs.clear();
    for (const p of pending) p.resolve(failure);
  }
}
