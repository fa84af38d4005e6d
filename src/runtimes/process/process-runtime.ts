/**
 * The `process` runtime: every container is a child process running an action proxy (EdgeWhisk's Node.js proxy,
 * or its Python proxy for `python:3`) on a loopback port, spoken to over HTTP like any OpenWhisk runtime image.
 *
 * A child process can be killed outright, so a timeout ends the whole process group; `limits.memory` caps the
 * heap (and the resident size, watched from outside); a crash ends only that process. Children never outlive the
 * engine: `destroy()` kills their group, and each proxy exits by itself when the engine's process is gone.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { builtFile } from '../../util/compiled-path';
import type { Container, ContainerFailure, ContainerSpec, InitPayload, LogSink, Outcome, RunPayload, Runtime } from '../runtime';
import { hostNodeKind } from '../node-kinds';
import { ProxySession } from '../proxy-client/proxy-session';

/** Node.js actions run on the host's own Node.js (`process.execPath`), Python ones on `pythonPath`. */
export const PROCESS_KINDS: readonly string[] = Object.freeze([hostNodeKind(), 'python:3']);

export interface ProcessRuntimeOptions {
  /** The Python 3 interpreter for `python:3` actions. @default 'python3' (or env EDGEWHISK_PYTHON) */
  readonly pythonPath?: string;
  /** How long a process may take to start listening, in ms. @default 10000 */
  readonly startTimeout?: number;
}

const RSS_CHECK_MS = 250;
const PAGE_SIZE = 4096;

export class ProcessRuntime implements Runtime {
  readonly name = 'process';
  readonly kinds = PROCESS_KINDS;
  readonly #python: string;
  readonly #startTimeout: number;
  #pythonResolved: Promise<string> | undefined;
  #next = 0;

  constructor(options: ProcessRuntimeOptions = {}) {
    this.#python = options.pythonPath ?? process.env['EDGEWHISK_PYTHON'] ?? 'python3';
    this.#startTimeout = options.startTimeout ?? 10_000;
    if (typeof this.#python !== 'string' || this.#python === '') throw new TypeError('Expected `pythonPath` to be a non-empty string');
    if (!Number.isInteger(this.#startTimeout) || this.#startTimeout < 1) {
      throw new TypeError(`Expected \`startTimeout\` to be a positive integer, got \`${String(options.startTimeout)}\``);
    }
  }

  /**
   * The interpreter's real path, asked once: version-manager shims (pyenv) otherwise add ~300 ms to every start.
   * Falls back to the configured command, whose failure then reports itself when the container starts.
   */
  #pythonCommand(): Promise<string> {
    this.#pythonResolved ??= new Promise((resolve) => {
      execFile(this.#python, ['-c', 'import sys; print(sys.executable)'], { timeout: 10_000 }, (error, stdout) => {
        const path = stdout.trim();
        resolve(error === null && path !== '' ? path : this.#python);
      });
    });
    return this.#pythonResolved;
  }

  async create(spec: ContainerSpec): Promise<Container> {
    const python = spec.kind.startsWith('python:');
    const proxies = join(__dirname, '..', '..', 'proxy');
    const command = python ? await this.#pythonCommand() : process.execPath;
    // The heap limit is the action's memory limit; anything beyond it in resident memory is caught from outside.
    const args = python
      ? ['-u', builtFile(join(proxies, 'python'), 'proxy.py')]
      : [`--max-old-space-size=${spec.memory}`, builtFile(join(proxies, 'nodejs'), 'server.js')];
    const container = new ProcessContainer(`process-${++this.#next}`, command, args, spec, this.#startTimeout);
    return container.started();
  }
}

class ProcessContainer implements Container {
  readonly id: string;
  readonly #spec: ContainerSpec;
  readonly #session: ProxySession;
  readonly #child: ReturnType<typeof spawn>;
  readonly #started: Promise<number>;
  #startListeners: ((failure: ContainerFailure) => void)[] = [];
  #exitListener: ((failure: ContainerFailure) => void) | undefined;
  #destroyed = false;
  #oom = false;
  #rssTimer: NodeJS.Timeout | undefined;

  /** The container's own temporary directory (unpacked archives live there); removed when the container ends. */
  readonly #tmp: string;

  constructor(id: string, command: string, args: string[], spec: ContainerSpec, startTimeout: number) {
    this.id = id;
    this.#spec = spec;
    // Even a proxy killed with SIGKILL leaves nothing in the system's temp folder: its TMPDIR is removed here.
    this.#tmp = mkdtempSync(join(tmpdir(), `edgewhisk-${id}-`));
    this.#session = new ProxySession(spec.concurrency);
    this.#child = spawn(command, args, {
      // Its own process group, so a timeout kills everything the action started too.
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
        ...(spec.concurrency > 1 ? { __OW_ALLOW_CONCURRENT: 'true' } : {}),
      },
    });
    this.#child.on('error', (error: NodeJS.ErrnoException) =>
      this.#die({
        type: 'exited',
        detail:
          error.code === 'ENOENT'
            ? `${command} was not found: install it${command === process.execPath ? '' : ', or set the process runtime\'s pythonPath (env EDGEWHISK_PYTHON)'}`
            : `could not start ${command}: ${error.message}`,
      }),
    );
    this.#child.on('exit', (code, signal) => {
      rm(this.#tmp, { recursive: true, force: true }).catch(() => undefined);
      this.#onExit(code, signal);
    });
    this.#session.pipe(this.#child.stdout as Readable, 'stdout');
    this.#session.pipe(this.#child.stderr as Readable, 'stderr');
    this.#started = new Promise<number>((resolve, reject) => {
      const ready = this.#child.stdio[3] as Readable | null;
      const timer = setTimeout(() => reject(new Error(`the process did not start listening within ${startTimeout} ms`)), startTimeout);
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
    this.#startMemoryWatch();
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
    this.#session.close();
    const exited = new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) resolve();
      else this.#child.once('exit', () => resolve());
    });
    this.#killGroup();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
  }

  #killGroup(): void {
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

  /**
   * Polls the resident size while an action runs (one timer per container, idle when nothing runs); beyond the
   * memory limit plus an allowance for the runtime itself the process is killed and the activation reports OOM.
   */
  #startMemoryWatch(): void {
    const pid = this.#child.pid;
    if (pid === undefined || !existsSync(`/proc/${pid}/statm`)) return;
    const limit = (this.#spec.memory + 64) * 1024 * 1024;
    this.#rssTimer = setInterval(() => {
      if (this.#session.busy === 0) return;
      try {
        const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
        if (rssPages * PAGE_SIZE > limit) {
          this.#oom = true;
          this.#killGroup();
        }
      } catch {
        // The process is gone; its exit is handled elsewhere.
      }
    }, RSS_CHECK_MS);
    this.#rssTimer.unref();
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    // The group may still hold processes the action started, and with them the other ends of its pipes.
    if (!this.#destroyed) this.#killGroup();
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
    clearInterval(this.#rssTimer);
    this.#session.die(failure);
    const listeners = this.#startListeners;
    this.#startListeners = [];
    for (const listener of listeners) listener(failure);
  }
}
