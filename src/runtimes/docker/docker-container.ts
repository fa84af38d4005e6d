/**
 * One action container on a Docker Engine: created hardened, attached for its output, watched for its exit, and
 * spoken to through a `ProxySession` over its Unix socket (EdgeWhisk's images) or a loopback port (stock images).
 *
 * How it ends decides the outcome its pending calls see: `State.OOMKilled` (or the runtime's own heap message) is
 * OOM; any other exit is `exited`; losing the daemon's connection while waiting for the exit is `lost`, which is
 * the engine's failure, not the action's.
 */
import { connect } from 'node:net';
import { request } from 'node:http';
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import { ewError } from '../../errors';
import type { Container, ContainerFailure, InitPayload, LogSink, Outcome, RunPayload } from '../runtime';
import { ProxySession } from '../proxy-client/proxy-session';
import type { ProxyAddress } from '../proxy-client/post-json';
import { PROXY_PORT } from './container-config';
import { SocketFolder } from './socket-folder';

/** What the container needs from its runtime. */
export interface DockerContext {
  readonly docker: Dockerode;
  /** Runs a Docker API call under the runtime's API deadline. */
  call<T>(what: string, operation: Promise<T>): Promise<T>;
  /** A removal that failed (daemon gone): retried when the daemon is back. */
  orphaned(id: string): void;
  /** The daemon's connection broke: the runtime checks it again before the next start. */
  lostDaemon(): void;
}

const POLL_MS = 5;

export class DockerContainer implements Container {
  readonly id: string;
  readonly #context: DockerContext;
  readonly #handle: Dockerode.Container;
  readonly #session: ProxySession;
  /** The socket folder of a container reached over a Unix socket; none for one reached over TCP. */
  readonly #folder: SocketFolder | undefined;
  #exitListener: ((failure: ContainerFailure) => void) | undefined;
  #destroyed = false;
  #removal: Promise<void> | undefined;
  #ended: ContainerFailure | undefined;

  private constructor(context: DockerContext, handle: Dockerode.Container, name: string, folder: SocketFolder | undefined, concurrency: number) {
    this.id = name;
    this.#context = context;
    this.#handle = handle;
    this.#folder = folder;
    this.#session = new ProxySession(concurrency);
  }

  /** Creates, starts and waits for the proxy to listen; on any failure nothing is left behind. */
  static async start(
    context: DockerContext,
    options: Dockerode.ContainerCreateOptions,
    folder: SocketFolder | undefined,
    concurrency: number,
    startTimeout: number,
  ): Promise<DockerContainer> {
    const name = options.name as string;
    const handle = await context.call(`create container ${name}`, context.docker.createContainer(options));
    const container = new DockerContainer(context, handle, name, folder, concurrency);
    try {
      await container.#boot(startTimeout);
    } catch (error) {
      await container.destroy();
      throw error;
    }
    return container;
  }

  async #boot(startTimeout: number): Promise<void> {
    const deadline = Date.now() + startTimeout;
    // Attached before start, so not a line of the proxy's output is missed.
    const stream = await this.#context.call('attach', this.#handle.attach({ stream: true, stdout: true, stderr: true }) as Promise<NodeJS.ReadableStream>);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.#context.docker.modem.demuxStream(stream, stdout, stderr);
    stream.on('end', () => {
      stdout.end();
      stderr.end();
    });
    stream.on('error', () => undefined);
    this.#session.pipe(stdout, 'stdout');
    this.#session.pipe(stderr, 'stderr');
    await this.#context.call('start', this.#handle.start());
    this.#watchExit();
    const address = await this.#listening(deadline);
    this.#session.connect(address);
  }

  /** Waits for the exit in the background; the only place that learns the container ended on its own. */
  #watchExit(): void {
    this.#handle.wait({ condition: 'not-running' }).then(
      async (result: { StatusCode?: number }) => {
        // The daemon can report the exit before the attach stream has delivered the proxy's dying words.
        await this.#session.outputEnded();
        let failure: ContainerFailure = { type: 'exited', detail: `exited with code ${String(result?.StatusCode)}` };
        try {
          const state = (await this.#context.call('inspect', this.#handle.inspect())).State;
          if (state.OOMKilled) failure = { type: 'oom', detail: 'memory limit exceeded (OOMKilled)' };
        } catch {
          // Removed already (killed from outside with `docker rm -f`): its exit code is all there is.
        }
        if (failure.type !== 'oom' && this.#session.said('heap-exhausted')) failure = { type: 'oom', detail: 'heap limit exceeded' };
        if (failure.type === 'exited' && this.#session.said('stopped-by-runtime')) {
          // `docker stop` or a daemon shutting down: the daemon is checked again before the next container.
          this.#context.lostDaemon();
          failure = { type: 'lost', detail: 'Docker stopped the container (docker stop, or the daemon shutting down)' };
        }
        this.#end(failure);
      },
      (error: unknown) => {
        // Removed by the engine or from outside before the wait answered: an exit like any other.
        if (this.#destroyed || (error as { statusCode?: number }).statusCode === 404) {
          this.#end({ type: 'exited', detail: 'the container was removed' });
          return;
        }
        this.#context.lostDaemon();
        this.#end({ type: 'lost', detail: `lost the Docker daemon while the container ran: ${error instanceof Error ? error.message : String(error)}` });
      },
    )
      // Nothing above should throw; if it ever does, it must not become an unhandled rejection (Node-RED exits).
      .catch(() => this.#end({ type: 'exited', detail: 'the container ended' }));
  }

  #end(failure: ContainerFailure): void {
    if (this.#ended !== undefined) return;
    this.#ended = failure;
    this.#session.die(failure);
    if (!this.#destroyed) {
      this.#destroyed = true;
      void this.#remove();
      this.#exitListener?.(failure);
    }
  }

  async #listening(deadline: number): Promise<ProxyAddress> {
    if (this.#folder !== undefined) {
      const folder = this.#folder;
      // Locked as soon as the proxy has bound its socket (before /init: no action code has run yet); from then
      // on the engine connects only to the socket it verified (socket-folder.ts).
      await this.#poll(deadline, () => folder.bound());
      const socketPath = folder.lock();
      await this.#poll(deadline, () => canConnect(socketPath));
      return { socketPath };
    }
    const info = await this.#context.call('inspect', this.#handle.inspect());
    const port = Number(info.NetworkSettings?.Ports?.[`${PROXY_PORT}/tcp`]?.[0]?.HostPort);
    if (!Number.isInteger(port) || port <= 0) throw new Error(`the container's port ${PROXY_PORT} was not published`);
    // Docker's port proxy accepts connections before the action proxy listens: wait for an HTTP answer instead.
    await this.#poll(deadline, () => answersHttp(port));
    return { port, host: '127.0.0.1' };
  }

  async #poll(deadline: number, ready: () => boolean | Promise<boolean>): Promise<void> {
    for (;;) {
      if (this.#ended !== undefined) {
        const stderr = this.#session.stderrTail.trim();
        throw new Error(`the container ended before its proxy listened (${this.#ended.detail ?? this.#ended.type})${stderr === '' ? '' : `: ${stderr}`}`);
      }
      if (await ready()) return;
      if (Date.now() > deadline) throw new Error(`the container's proxy did not listen within the start timeout`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  onExit(listener: (failure: ContainerFailure) => void): void {
    this.#exitListener = listener;
  }

  init(payload: InitPayload, logs: LogSink): Promise<Outcome> {
    return this.#refuseTampered() ?? this.#session.init(payload, logs);
  }

  run(payload: RunPayload, logs: LogSink): Promise<Outcome> {
    return this.#refuseTampered() ?? this.#session.run(payload, logs);
  }

  /**
   * A container whose user could undo the folder's lock (it runs as the engine's own user, or as root) and changed
   * the folder is never spoken to again: the call fails with what changed, and the container is removed.
   */
  #refuseTampered(): Promise<Outcome> | undefined {
    const change = this.#folder?.tampered();
    if (change === undefined) return undefined;
    const message = ewError('EW_DOCKER_SOCKET_TAMPERED', [change]).message;
    this.#end({ type: 'exited', detail: message });
    return Promise.resolve({ type: 'reply', status: 502, body: JSON.stringify({ error: message }) });
  }

  async pause(): Promise<void> {
    await this.#context.call('pause', this.#handle.pause());
  }

  async resume(): Promise<void> {
    await this.#context.call('unpause', this.#handle.unpause());
  }

  destroy(): Promise<void> {
    if (this.#removal !== undefined) return this.#removal;
    this.#destroyed = true;
    // Calls still pending end once it is gone; the exit watcher may not hear of it if the daemon is gone.
    return this.#remove().then(() => this.#session.die({ type: 'exited', detail: 'destroyed' }));
  }

  /** Removes the container once, however many ask (a timeout, the pool, the engine closing); settles when gone. */
  #remove(): Promise<void> {
    this.#removal ??= this.#removeOnce();
    return this.#removal;
  }

  async #removeOnce(): Promise<void> {
    this.#session.close();
    try {
      await this.#context.call('remove', this.#handle.remove({ force: true, v: true }));
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) this.#context.orphaned(this.id);
    }
    if (this.#folder !== undefined) {
      // The session accepts no request any more before the descriptor it connects through is closed: its number
      // is reused by the next open, and a connection to it would reach whatever that is.
      this.#session.die({ type: 'exited', detail: 'destroyed' });
      this.#folder.close();
      await SocketFolder.remove(this.#folder.dir);
    }
  }
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function answersHttp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET', agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
