/**
 * The contract between the invoker and a runtime (worker threads, child processes, Docker containers), modelled on
 * OpenWhisk's ContainerFactory/Container and tinyFaaS's Backend/Handler.
 *
 * A runtime speaks the action-proxy protocol (`/init`, `/run`) over whatever transport it has and reports what
 * happened as an `Outcome`. Judging outcomes (success, application error, developer error) is the invoker's job,
 * not the runtime's, so every runtime is judged by the same rules. Time limits are enforced by the invoker, which
 * destroys a container that overruns.
 */
import type { LogStream } from '../activations/log-collector';

export interface ContainerSpec {
  readonly kind: string;
  /** Memory limit in MB. */
  readonly memory: number;
  /** How many runs the container must accept at once (`limits.concurrency`). */
  readonly concurrency: number;
  /** Docker image for blackbox kinds. */
  readonly image?: string;
  /** What the runtime's `placementOf` read from the action (Docker: its network); absent for prewarms. */
  readonly placement?: Placement;
}

/**
 * Runtime-specific settings an action carries in its annotations (Docker: `edgewhisk-network`), opaque to the
 * engine: read by the runtime, handed back to it with each container it creates, and compared by the pool, which
 * reuses a container only for the same placement. A new runtime setting then touches only its runtime.
 */
export type Placement = Readonly<Record<string, string>>;

/** The `/init` body of the action-proxy protocol. */
export interface InitPayload {
  readonly name: string;
  readonly main: string;
  readonly code: string;
  readonly binary: boolean;
  /** Exported as environment variables before the code loads; values are already strings. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The action's log limit in bytes (0: no logs), the same for every activation of the container. Runtimes that
   * can bound output where it is produced stop there; the invoker's LogCollector enforces it in any case.
   */
  readonly logLimit?: number;
}

/** The `/run` body of the action-proxy protocol. */
export interface RunPayload {
  readonly value: unknown;
  readonly namespace: string;
  readonly action_name: string;
  readonly action_version: string;
  readonly activation_id: string;
  readonly transaction_id: string;
  /** Epoch ms, as a string. */
  readonly deadline: string;
}

/** The proxy answered: an HTTP status and the body text. */
export interface ProxyReply {
  readonly type: 'reply';
  readonly status: number;
  readonly body: string;
}

/**
 * The container died: crashed, exited, was killed, or ran out of memory (the action's doing); or the runtime lost
 * it, e.g. the Docker daemon stopped (the engine's failure, judged as a whisk internal error).
 */
export interface ContainerFailure {
  readonly type: 'exited' | 'oom' | 'lost';
  /** What the runtime knows about why (an uncaught error's stack, an exit code). */
  readonly detail?: string;
}

export type Outcome = ProxyReply | ContainerFailure;

/** Receives an activation's output as it is written. */
export type LogSink = (stream: LogStream, text: string, time: number) => void;

export interface Container {
  readonly id: string;
  /** Never rejects: a failure is an `Outcome`. */
  init(payload: InitPayload, logs: LogSink): Promise<Outcome>;
  /** Never rejects: a failure is an `Outcome`. */
  run(payload: RunPayload, logs: LogSink): Promise<Outcome>;
  /** Ends the container and anything it runs; pending `init`/`run` calls settle as `exited`. Idempotent. */
  destroy(): Promise<void>;
  /** Runtimes that can freeze an idle container (Docker) implement both. */
  pause?(): Promise<void>;
  resume?(): Promise<void>;
  /** Called at most once, when the container dies without `destroy()` (crash, OOM, killed from outside). */
  onExit(listener: (failure: ContainerFailure) => void): void;
}

/** Progress of an image pull, for runtimes that run images (Docker). */
export interface PullProgress {
  readonly image: string;
  readonly status: string;
  /** Bytes done and expected over all layers, when the registry reports them. */
  readonly current?: number;
  readonly total?: number;
}

/**
 * How a runtime tells the engine's users what they should know beyond an activation's outcome. The engine passes
 * one to `start()` and turns each report into its `runtime:pull` and `runtime:warning` events.
 */
export interface RuntimeReporter {
  /** A slow step before the first container of an image: pulling it. */
  pull(progress: PullProgress): void;
  /** Something the operator should act on: a relaxed hardening default, a missing sandbox, a stale image. */
  warning(message: string): void;
}

/** Reports nobody hears: what a runtime uses until (or unless) an engine starts it. */
export const SILENT_REPORTER: RuntimeReporter = Object.freeze({ pull: () => undefined, warning: () => undefined });

export interface Runtime {
  /** The name actions and engines select it by: `worker`, `process`, `docker`. */
  readonly name: string;
  /** Action kinds it runs, e.g. `nodejs:24`. */
  readonly kinds: readonly string[];
  /** Starts a container; rejects only when none could be provisioned. */
  create(spec: ContainerSpec): Promise<Container>;
  /** The placement an action's annotations ask for on this runtime, if any (see `Placement`). */
  placementOf?(annotations: readonly { readonly key: string; readonly value: unknown }[]): Placement | undefined;
  /**
   * Called once when the engine starts, for runtimes with work to do before the first container (a sweep) or
   * anything to report.
   */
  start?(reporter: RuntimeReporter): void;
  /** Releases what the runtime holds beyond its containers. */
  close?(): Promise<void>;
}
