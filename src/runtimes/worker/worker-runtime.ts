/**
 * The embedded default runtime: every container is a `worker_threads` Worker running one action.
 *
 * A worker has its own V8 isolate, heap and event loop, so a spinning or crashing action cannot block or kill the
 * host's event loop, and `terminate()` stops even code that never yields. It shares the process, user, filesystem
 * and network with Node-RED: it isolates faults, not untrusted code (use the docker runtime for that).
 */
import { Worker } from 'node:worker_threads';
import { compiledSibling } from '../../util/compiled-path';
import type { Container, ContainerFailure, ContainerSpec, InitPayload, LogSink, Outcome, RunPayload, Runtime } from '../runtime';
import { hostNodeKind } from '../node-kinds';
import { Batcher, isBatch, type Batch } from './batcher';
import type { FromWorker, ToWorker } from './messages';

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

class WorkerContainer implements Container {
  readonly id: string;
  readonly #worker: Worker;
  readonly #outbox: Batcher<ToWorker>;
  readonly #runs = new Map<string, Pending>();
  #init: Pending | undefined;
  #dead: ContainerFailure | undefined;
  #fatal: Error | undefined;
  #destroyed = false;
  #exitListener: ((failure: ContainerFailure) => void) | undefined;
  #online: Promise<void>;
  #ready: (() => void) | undefined;

  constructor(id: string, bootstrap: string, spec: ContainerSpec, stackSizeMb: number) {
    this.id = id;
    this.#worker = new Worker(bootstrap, {
      // The heap limit is the action's memory limit: exhausting it ends this thread only.
      resourceLimits: { maxOldGenerationSizeMb: spec.memory, stackSizeMb },
      // A private, empty environment: actions see only what init and run export, not Node-RED's secrets.
      env: {},
      stdin: false,
      name: `edgewhisk-${id}`,
    });
    this.#online = new Promise((resolve) => {
      this.#ready = resolve;
      this.#worker.once('exit', () => resolve());
    });
    this.#outbox = new Batcher<ToWorker>(this.#worker, (error) =>
      this.#settleAll({ type: 'exited', detail: `Could not pass the request to the worker: ${String(error)}` }),
    );
    this.#worker.on('message', (message: FromWorker | Batch<FromWorker>) => {
      if (isBatch<FromWorker>(message)) for (const item of message.items) this.#onMessage(item);
      else this.#onMessage(message);
    });
    this.#worker.on('error', (error: Error) => {
      this.#fatal = error;
      const text = `${error.stack ?? String(error)}`;
      for (const pending of this.#pending()) pending.logs('stderr', text, Date.now());
    });
    this.#worker.on('exit', (code: number) => this.#onExit(code));
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

  #onMessage(message: FromWorker): void {
    switch (message.t) {
      case 'ready':
        this.#ready?.();
        return;
      case 'log': {
        const target = message.id === '' ? this.#init : this.#runs.get(message.id);
        (target ?? this.#init)?.logs(message.s, message.x, message.ts);
        return;
      }
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

  #onExit(code: number): void {
    const oom = (this.#fatal as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const failure: ContainerFailure = oom
      ? { type: 'oom', detail: this.#fatal?.message ?? 'out of memory' }
      : { type: 'exited', detail: this.#fatal?.message ?? `the worker exited with code ${code}` };
    this.#dead = failure;
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
