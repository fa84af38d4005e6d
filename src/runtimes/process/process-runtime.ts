/**
 * The `process` runtime: every container is a child process running an action proxy (EdgeWhisk's Node.js proxy,
 * or its Python proxy for `python:3`) on a loopback port, spoken to over HTTP like any OpenWhisk runtime image.
 *
 * A child process can be killed outright, so a timeout ends it and everything it started (process-tree.ts finds
 * even detached descendants); `limits.memory` caps the heap, and the private memory of the proxy and all its
 * descendants is watched from outside, as is their number (`pidsLimit`); a crash ends only that container. The
 * loopback port is open to every local process, so the proxy serves only requests carrying its per-container
 * secret. `destroy()` (and the engine's close) kills the whole tree; a proxy whose engine died exits by itself with
 * its process group; temporary folders are removed at exit or by the next start (temp-folders.ts).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULTS } from '../../options';
import { builtFile } from '../../util/compiled-path';
import type { Container, ContainerSpec, Runtime } from '../runtime';
import { hostNodeKind } from '../node-kinds';
import { ProcessContainer } from './process-container';
import { ProcessWatch } from './process-watch';
import { sweepStaleFolders } from './temp-folders';

/** Node.js actions run on the host's own Node.js (`process.execPath`), Python ones on `pythonPath`. */
export const PROCESS_KINDS: readonly string[] = Object.freeze([hostNodeKind(), 'python:3']);

export interface ProcessRuntimeOptions {
  /** The Python 3 interpreter for `python:3` actions. @default 'python3' (or env EDGEWHISK_PYTHON) */
  readonly pythonPath?: string;
  /** How long a process may take to start listening, in ms. @default 10000 */
  readonly startTimeout?: number;
  /** Processes an action may have running at once besides its proxy. @default DEFAULTS.processPidsLimit */
  readonly pidsLimit?: number;
}

/** Leftover folders of engines that are gone are removed once per process, when the first runtime starts. */
let swept: Promise<void> | undefined;

export class ProcessRuntime implements Runtime {
  readonly name = 'process';
  readonly kinds = PROCESS_KINDS;
  readonly #python: string;
  readonly #startTimeout: number;
  readonly #pidsLimit: number;
  readonly #watch = new ProcessWatch();
  #pythonResolved: Promise<string> | undefined;
  #next = 0;

  constructor(options: ProcessRuntimeOptions = {}) {
    this.#python = options.pythonPath ?? process.env['EDGEWHISK_PYTHON'] ?? 'python3';
    this.#startTimeout = options.startTimeout ?? 10_000;
    this.#pidsLimit = options.pidsLimit ?? DEFAULTS.processPidsLimit;
    if (typeof this.#python !== 'string' || this.#python === '') throw new TypeError('Expected `pythonPath` to be a non-empty string');
    if (!Number.isInteger(this.#startTimeout) || this.#startTimeout < 1) {
      throw new TypeError(`Expected \`startTimeout\` to be a positive integer, got \`${String(options.startTimeout)}\``);
    }
    if (!Number.isInteger(this.#pidsLimit) || this.#pidsLimit < 1) {
      throw new TypeError(`Expected \`pidsLimit\` to be a positive integer, got \`${String(options.pidsLimit)}\``);
    }
  }

  start(): void {
    swept ??= sweepStaleFolders().catch(() => undefined);
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
    this.start();
    const python = spec.kind.startsWith('python:');
    const proxies = join(__dirname, '..', '..', 'proxy');
    const command = python ? await this.#pythonCommand() : process.execPath;
    // The heap limit is the action's memory limit; the private memory of the proxy and its children is watched
    // from outside (process-container.ts).
    const args = python
      ? ['-u', builtFile(join(proxies, 'python'), 'proxy.py')]
      : [`--max-old-space-size=${spec.memory}`, builtFile(join(proxies, 'nodejs'), 'server.js')];
    const n = ++this.#next;
    const container = new ProcessContainer(n, command, args, spec, { startTimeout: this.#startTimeout, pidsLimit: this.#pidsLimit, watch: this.#watch });
    return container.started();
  }
}
