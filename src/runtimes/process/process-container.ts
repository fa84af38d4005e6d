/**
 * One container of the process runtime: a child process running an action proxy, the per-container secret it
 * requires, everything it starts (process-tree.ts), the limits watched from outside, and its temporary folder.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Container, ContainerFailure, ContainerSpec, InitPayload, LogSink, Outcome, RunPayload } from '../runtime';
import { ProxySession } from '../proxy-client/proxy-session';
import { HAS_PROC } from './proc-fs';
import { ProcessTree } from './process-tree';
import type { ProcessWatch, Watched } from './process-watch';
import { makeContainerFolder, removeContainerFolder, removeContainerFolderSync } from './temp-folders';

/** Memory allowed beyond `limits.memory` for the runtime itself (the proxy's own interpreter), in MB. */
const RUNTIME_ALLOWANCE_MB = 64;
const MB = 1024 * 1024;

export interface ContainerSettings {
  readonly startTimeout: number;
  readonly pidsLimit: number;
  readonly watch: ProcessWatch;
}

/** Written to the activation's logs when the container is ended for having too many processes. */
export const PIDS_EXCEEDED = (limit: number): string =>
  `The action exceeded its limit of ${limit} processes besides its runtime and was aborted.`;
/** Written to the activation's logs when the processes' memory, not the heap, ended the container. */
export const MEMORY_EXCEEDED = (mb: number, limitMb: number): string =>
  `The action's processes held ${mb} MB of memory, more than its limit of ${limitMb} MB allows, and were killed.`;

export class ProcessContainer implements Container, Watched {
  readonly id: string;
  readonly #spec: ContainerSpec;
  readonly #settings: ContainerSettings;
  readonly #session: ProxySession;
  readonly #child: ReturnType<typeof spawn>;
  /** Everything the proxy started; undefined without /proc (then the process group is all there is). */
  readonly #tree: ProcessTree | undefined;
  readonly #started: Promise<number>;
  #startListeners: ((failure: ContainerFailure) => void)[] = [];
  #exitListener: ((failure: ContainerFailure) => void) | undefined;
  #destroyed = false;
  #oom = false;
  /** Settles once the temporary folder is gone (after the process exited). */
  #removed: Promise<void> | undefined;

  /** The container's own temporary directory (unpacked archives live there); removed when the container ends. */
  readonly #tmp: string;

  constructor(n: number, command: string, args: string[], spec: ContainerSpec, settings: ContainerSettings) {
    this.id = `process-${n}`;
    this.#spec = spec;
    this.#settings = settings;
    // Even a proxy killed with SIGKILL leaves nothing in the system's temp folder: its TMPDIR is removed here, or
    // at the latest when the engine's process exits.
    this.#tmp = makeContainerFolder(n, (folder) => {
      this.#killTree();
      removeContainerFolderSync(folder);
    });
    // Any local process can reach the proxy's loopback port: the proxy serves only requests carrying this.
    const secret = randomBytes(32).toString('hex');
    // Inherited by whatever the action starts: recognises descendants whose parent died (process-tree.ts).
    const mark = randomBytes(16).toString('hex');
    this.#session = new ProxySession(spec.concurrency, { secret });
    this.#child = spawn(command, args, {
      // Its own session and process group, so a timeout reaches everything the action started in them.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      // A clean environment: the action sees its own variables, not Node-RED's.
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        LANG: 'C.UTF-8',
        PYTHONIOENCODING: 'utf-8',
        PYTHONDONTWRITEBYTECODE: '1',
        HOST: '127.0.0.1',
        PORT: '0',
        TMPDIR: this.#tmp,
        EW_READY_FD: '3',
        EW_PARENT_PID: String(process.pid),
        EW_PROXY_SECRET: secret,
        EW_CONTAINER: mark,
        ...(spec.concurrency > 1 ? { __OW_ALLOW_CONCURRENT: 'true' } : {}),
      },
    });
    this.#tree = HAS_PROC && this.#child.pid !== undefined ? new ProcessTree(this.#child.pid, `EW_CONTAINER=${mark}`, settings.watch.starts) : undefined;
    this.#child.on('error', (error: NodeJS.ErrnoException) => {
      this.#removed ??= removeContainerFolder(this.#tmp);
      this.#die({
        type: 'exited',
        detail:
          error.code === 'ENOENT'
            ? `${command} was not found: install it${command === process.execPath ? '' : ', or set the process runtime\'s pythonPath (env EDGEWHISK_PYTHON)'}`
            : `could not start ${command}: ${error.message}`,
      });
    });
    this.#child.on('exit', (code, signal) => {
      this.#onExit(code, signal);
      this.#removed ??= removeContainerFolder(this.#tmp);
    });
    this.#session.pipe(this.#child.stdout as Readable, 'stdout');
    this.#session.pipe(this.#child.stderr as Readable, 'stderr');
    this.#started = new Promise<number>((resolve, reject) => {
      const ready = this.#child.stdio[3] as Readable | null;
      const timer = setTimeout(() => reject(new Error(`the process did not start listening within ${settings.startTimeout} ms`)), settings.startTimeout);
      this.#startListeners.push((failure) => {
        clearTimeout(timer);
        const stderr = this.#session.stderrTail.trim();
        reject(new Error(`The ${spec.kind} process did not start: ${failure.detail ?? 'unknown reason'}${stderr ? `: ${stderr}` : ''}`));
      });
      let text = '';
      ready?.on('error', () => undefined);
      ready?.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const line = text.split('\n')[0];
        if (!text.includes('\n') || line === undefined) return;
        clearTimeout(timer);
        try {
          resolve((JSON.parse(line) as { port: number }).port);
        } catch {
          reject(new Error(`the process announced an unreadable port: ${line}`));
        }
      });
    });
    this.#started.catch(() => undefined);
  }

  async started(): Promise<Container> {
    try {
      this.#session.connect({ port: await this.#started });
    } catch (error) {
      await this.destroy();
      throw error;
    }
    this.#startListeners = [];
    this.#child.unref();
    if (this.#tree !== undefined && this.#session.dead === undefined) this.#settings.watch.add(this);
    return this;
  }

  onExit(listener: (failure: ContainerFailure) => void): void {
    this.#exitListener = listener;
  }

  init(payload: InitPayload, logs: LogSink): Promise<Outcome> {
    return this.#session.init(payload, logs);
  }

  run(payload: RunPayload, logs: LogSink): Promise<Outcome> {
    return this.#session.run(payload, logs);
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#settings.watch.delete(this);
    this.#session.close();
    const exited = new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null || this.#child.pid === undefined) resolve();
      else this.#child.once('exit', () => resolve());
    });
    this.#killTree();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
    // The folder goes once the process has let go of it; a caller that awaited destroy() finds it gone.
    this.#removed ??= removeContainerFolder(this.#tmp);
    await this.#removed;
  }

  /**
   * One look at the container's processes (called by the runtime's watch four times a second): past the process
   * limit, or with the private memory of the proxy and all its descendants past the memory limit (plus an
   * allowance for the runtime itself), the whole tree is killed and the activation says why.
   */
  check(): void {
    const tree = this.#tree;
    if (tree === undefined || this.#destroyed || this.#session.dead !== undefined) return;
    tree.update();
    const usage = tree.usage();
    const limit = (this.#spec.memory + RUNTIME_ALLOWANCE_MB) * MB;
    if (usage.descendants > this.#settings.pidsLimit) {
      this.#session.note(PIDS_EXCEEDED(this.#settings.pidsLimit));
      this.#end();
    } else if (usage.privateBytes > limit) {
      this.#oom = true;
      this.#session.note(MEMORY_EXCEEDED(Math.round(usage.privateBytes / MB), this.#spec.memory));
      this.#end();
    }
  }

  /** Ends the container from outside; its exit then reports how (see #onExit). */
  #end(): void {
    this.#settings.watch.delete(this);
    this.#killTree();
  }

  #killTree(): void {
    if (this.#tree !== undefined) {
      this.#tree.killAll();
      return;
    }
    const pid = this.#child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        this.#child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#settings.watch.delete(this);
    // What the action started may still run (detached, or not yet noticed), holding the other ends of its pipes.
    if (!this.#destroyed) this.#killTree();
    // 'exit' can come before the last of stderr: the runtime's dying words decide OOM or crash, so read them first.
    void this.#session.outputEnded().then(() => {
      const failure: ContainerFailure =
        this.#oom || this.#session.said('heap-exhausted')
          ? { type: 'oom', detail: 'memory limit exceeded' }
          : { type: 'exited', detail: signal !== null ? `killed by ${signal}` : `exited with code ${String(code)}` };
      this.#die(failure);
      if (!this.#destroyed) {
        this.#destroyed = true;
        this.#exitListener?.(failure);
      }
    })
      // Nothing above should throw; if it ever does, it must not become an unhandled rejection (Node-RED exits).
      .catch(() => this.#die({ type: 'exited', detail: 'the process ended' }));
  }

  #die(failure: ContainerFailure): void {
    if (this.#session.dead !== undefined) return;
    this.#settings.watch.delete(this);
    this.#session.die(failure);
    const listeners = this.#startListeners;
    this.#startListeners = [];
    for (const listener of listeners) listener(failure);
  }
}
