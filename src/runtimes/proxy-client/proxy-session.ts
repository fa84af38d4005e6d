/**
 * The engine's side of the action-proxy protocol for one proxy that runs outside the engine's process (a child
 * process, a Docker container): `/init` and `/run` over keep-alive HTTP, and the proxy's stdout and stderr split
 * into per-activation logs at the sentinel lines (docs/action-protocol.md#logs-and-sentinels).
 *
 * The session does not own the proxy's lifetime. Its container reports the proxy's death with `die()`, which
 * settles every pending request with that failure: a dropped connection alone says nothing about why.
 */
import { Agent } from 'node:http';
import type { Readable } from 'node:stream';
import { SENTINEL } from '../../proxy/nodejs/stream-markers';
import type { ContainerFailure, InitPayload, LogSink, Outcome, RunPayload } from '../runtime';
import { LineSplitter } from './line-splitter';
import { postJson, type ProxyAddress } from './post-json';
import { LOG_LIMIT_HEADER, SECRET_HEADER } from '../../proxy/nodejs/edgewhisk-headers';
import { markerOf, type Marker } from './proxy-markers';

/** After a response, how long to wait for the sentinels that close the activation's logs (OpenWhisk: 2 s idle). */
const SENTINEL_WAIT_MS = 2_000;
/** How long a gone proxy's remaining output may take to arrive before its end is judged without it. */
const OUTPUT_DRAIN_MS = 2_000;

export interface ProxySessionOptions {
  /** The proxy's secret (`EW_PROXY_SECRET`), sent with every request. */
  readonly secret?: string;
}

export class ProxySession {
  readonly #agent: Agent;
  readonly #collectLogs: boolean;
  readonly #secret: string | undefined;
  /** The action's log limit, from its init: the same for every activation of the container. */
  #logLimit: number | undefined;
  #address: ProxyAddress | undefined;
  #current: LogSink | undefined;
  #sentinels = { stdout: 0, stderr: 0 };
  #sentinelWaiter: (() => void) | undefined;
  #dead: ContainerFailure | undefined;
  #deadListeners: ((failure: ContainerFailure) => void)[] = [];
  #busy = 0;
  #stderrTail = '';
  /** Markers written since the last request began: how the proxy says it is ending (see proxy-markers). */
  #said = new Set<Marker>();
  #streamsEnded: Promise<void>[] = [];

  constructor(concurrency: number, options: ProxySessionOptions = {}) {
    // Interleaved output of concurrent runs cannot be split per activation; OpenWhisk collects none then either.
    this.#collectLogs = concurrency <= 1;
    this.#secret = options.secret;
    this.#agent = new Agent({ keepAlive: true, maxSockets: Math.max(1, concurrency) });
  }

  /** Requests in flight. */
  get busy(): number {
    return this.#busy;
  }

  /** The last 2,000 characters the proxy wrote to stderr, for the message of a proxy that failed to start. */
  get stderrTail(): string {
    return this.#stderrTail;
  }

  /**
   * Whether the proxy wrote `marker` since the last request began (or since it started). Kept per line rather than
   * read from the tail: a runtime's dying words can be followed by kilobytes of native stack trace.
   */
  said(marker: Marker): boolean {
    return this.#said.has(marker);
  }

  /**
   * Settles once every piped stream has been read to its end, or after 2 s. A process or container can be
   * reported gone before its last output arrives, and that output (its dying words) decides how it ended.
   */
  outputEnded(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, OUTPUT_DRAIN_MS);
      timer.unref();
      void Promise.all(this.#streamsEnded).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  get dead(): ContainerFailure | undefined {
    return this.#dead;
  }

  /** Where the proxy listens; set once it does. */
  connect(address: ProxyAddress): void {
    this.#address = address;
  }

  /** Reads one of the proxy's output streams. */
  pipe(stream: Readable, name: 'stdout' | 'stderr'): void {
    const splitter = new LineSplitter((line) => {
      if (line === SENTINEL) {
        this.#sentinels[name]++;
        if (this.#sentinels.stdout > 0 && this.#sentinels.stderr > 0) this.#sentinelWaiter?.();
        return;
      }
      if (name === 'stderr') {
        this.#stderrTail = `${this.#stderrTail}${line}\n`.slice(-2_000);
        const marker = markerOf(line);
        if (marker !== undefined) this.#said.add(marker);
      }
      this.#current?.(name, line, Date.now());
    });
    stream.on('data', (chunk: Buffer) => {
      splitter.push(chunk);
      // One chunk per turn of the event loop: while a proxy floods, Node.js would otherwise read (and split) up to
      // 32 chunks of 64 KiB back to back, holding the host's event loop for 100 ms and more.
      stream.pause();
      setImmediate(() => stream.resume());
    });
    this.#streamsEnded.push(
      new Promise<void>((resolve) => {
        stream.once('end', () => {
          splitter.end();
          resolve();
        });
        stream.once('close', () => resolve());
        stream.once('error', () => resolve());
      }),
    );
  }

  /**
   * Adds `text` as a line of stderr to the logs of the activation in progress, if any: what the runtime knows
   * about why it is about to end the container (a limit the action went past).
   */
  note(text: string): void {
    this.#current?.('stderr', text, Date.now());
  }

  async init(payload: InitPayload, logs: LogSink): Promise<Outcome> {
    if (payload.logLimit !== undefined) this.#logLimit = payload.logLimit;
    const env = Object.keys(payload.env).length === 0 ? undefined : payload.env;
    const body = { value: { name: payload.name, main: payload.main, code: payload.code, binary: payload.binary, ...(env === undefined ? {} : { env }) } };
    const outcome = await this.#request('/init', body, logs);
    // A failed init (502) ends with sentinels; a successful or refused one (200, 403) writes none.
    // Output of a successful init (top-level code) may trail its response: it stays with this activation's logs.
    if (outcome.type === 'reply' && outcome.status === 502) await this.#awaitSentinels();
    return outcome;
  }

  async run(payload: RunPayload, logs: LogSink): Promise<Outcome> {
    const outcome = await this.#request('/run', payload, logs);
    // Only runs that reached the action (200, 502) end with sentinels; refusals (403) and bad requests (500) do not.
    if (outcome.type === 'reply' && (outcome.status === 200 || outcome.status === 502)) await this.#awaitSentinels();
    else this.#current = undefined;
    return outcome;
  }

  /** The proxy is gone: settles every pending request with `failure`. Only the first call counts. */
  die(failure: ContainerFailure): void {
    if (this.#dead !== undefined) return;
    this.#dead = failure;
    this.#agent.destroy();
    this.#sentinelWaiter?.();
    const listeners = this.#deadListeners;
    this.#deadListeners = [];
    for (const listener of listeners) listener(failure);
  }

  /** Closes the connections; requests still in flight settle when the container reports how it ended. */
  close(): void {
    this.#agent.destroy();
  }

  async #request(path: string, body: unknown, logs: LogSink): Promise<Outcome> {
    if (this.#dead !== undefined) return this.#dead;
    const address = this.#address;
    if (address === undefined) return { type: 'exited', detail: 'the proxy is not listening yet' };
    // Concurrent runs share one process: an earlier marker still speaks for the others in flight.
    if (this.#busy === 0) this.#said.clear();
    if (this.#collectLogs) {
      this.#current = logs;
      this.#sentinels = { stdout: 0, stderr: 0 };
    }
    this.#busy++;
    let onDeath: ((failure: ContainerFailure) => void) | undefined;
    const died = new Promise<Outcome>((resolve) => {
      onDeath = resolve;
      this.#deadListeners.push(resolve);
    });
    const answered = postJson(this.#agent, address, path, body, this.#headers()).then(
      (reply): Outcome => ({ type: 'reply', status: reply.status, body: reply.body }),
      // A dropped connection means the proxy died (or is dying): its container says how.
      (): Promise<Outcome> => died,
    );
    const outcome = await Promise.race([answered, died]);
    this.#deadListeners = this.#deadListeners.filter((l) => l !== onDeath);
    this.#busy--;
    return outcome;
  }

  #headers(): Record<string, string> {
    const headers: Record<string, string> = {};
    if (this.#secret !== undefined) headers[SECRET_HEADER] = this.#secret;
    if (this.#logLimit !== undefined) headers[LOG_LIMIT_HEADER] = String(this.#logLimit);
    return headers;
  }

  #awaitSentinels(): Promise<void> {
    if (!this.#collectLogs || this.#dead !== undefined) return Promise.resolve();
    if (this.#sentinels.stdout > 0 && this.#sentinels.stderr > 0) {
      this.#current = undefined;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#sentinelWaiter = undefined;
        resolve();
      }, SENTINEL_WAIT_MS);
      this.#sentinelWaiter = () => {
        clearTimeout(timer);
        this.#sentinelWaiter = undefined;
        resolve();
      };
    }).then(() => {
      // The activation's logs end here; anything later belongs to no activation.
      this.#current = undefined;
    });
  }
}
