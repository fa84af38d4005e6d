/**
 * The engine's internals: stores, runtimes, and the one path every activation takes (admission → queue → invoker →
 * store → events). The API facades and the sequence runner see it through the role interfaces of engine-context.ts;
 * the pool, the balancer and the runtimes stay private, and Engine drives them through methods.
 */
import { EventEmitter } from 'node:events';
import type { ActivationStore } from './activations/activation-store';
import { actionAnnotations, activationRecord } from './activations/record-builder';
import { STATUS, toApiView, type StatusCode, type StoredActivation } from './activations/record';
import type { ActionsContext, ActivationsContext, ResolvedKind, StartContext, Started, TriggersContext } from './engine-context';
import { EntityStore } from './entities/entity-store';
import { parseName, rootNamespace, type QualifiedName } from './entities/names';
import { annotation, isSequence, type ActionDoc } from './entities/types';
import { ewError } from './errors';
import type { EngineEvents } from './events';
import { ContainerPool, type PoolStats, type PrewarmSpec } from './invoker/container-pool';
import { BUILTIN_KIND, type BuiltinHandler } from './invoker/builtin-action';
import { Invoker, type InvocationJob } from './invoker/invoker';
import { mergeArguments } from './invoker/params';
import type { EngineOptions } from './options';
import { LeanBalancer } from './queue/lean-balancer';
import type { AcceptedLog, SequenceProgress } from './queue/accepted-log';
import { AcceptedWork, type RunOnce } from './queue/accepted-work';
import { NOTHING_REPLAYED, replayAccepted, type ReplaySummary } from './queue/replay';
import type { Runtime } from './runtimes/runtime';
import { DEFAULT_NODE_KIND, newestNodeKind, RETIRED_NODE_KINDS } from './runtimes/node-kinds';
import { runSequence } from './sequences/sequence-runner';
import { newActivationId } from './util/ids';

/** Annotation naming the runtime an action runs on (`worker`, `process`, `docker`); absent = engine default. */
export const RUNTIME_ANNOTATION = 'edgewhisk-runtime';

/** Aliases resolved at create time besides `nodejs:default` (see `resolveKind`). */
const KIND_ALIASES: Readonly<Record<string, string>> = { 'python:default': 'python:3' };

/** A job as the core hands it around: whether it has reached the invoker, for an invocation made durable late. */
interface CoreJob extends InvocationJob {
  readonly attempt: number;
  started: boolean;
}

export interface EngineStats {
  readonly queued: number;
  readonly running: number;
  readonly pool: PoolStats;
}

export class EngineCore extends EventEmitter<EngineEvents> implements ActionsContext, TriggersContext, ActivationsContext {
  readonly options: EngineOptions;
  readonly entities: EntityStore;
  readonly activations: ActivationStore;
  readonly #runtimes: ReadonlyMap<string, Runtime>;
  readonly #pool: ContainerPool;
  readonly #balancer: LeanBalancer<CoreJob>;
  readonly #invoker: Invoker;
  /** Accepted invocations on disk; absent without a durable store. */
  readonly accepted: AcceptedLog | undefined;
  readonly #work: AcceptedWork | undefined;
  /** Built-in actions by entity path, `whisk.system/alarms/alarm`. */
  readonly #builtins = new Map<string, BuiltinHandler>();
  #closed = false;

  constructor(
    options: EngineOptions,
    runtimes: ReadonlyMap<string, Runtime>,
    activations: ActivationStore,
    entities: EntityStore = new EntityStore(),
    accepted?: AcceptedLog,
  ) {
    super();
    this.accepted = accepted;
    this.#work = accepted === undefined ? undefined : new AcceptedWork(accepted, options, (record) => this.complete(record));
    this.entities = entities;
    this.options = options;
    this.activations = activations;
    this.#runtimes = runtimes;
    this.#pool = new ContainerPool(runtimes, {
      memoryBudget: options.memoryBudget,
      idleTimeout: options.idleTimeout,
      pauseGrace: options.pauseGrace,
      maxParallelStarts: options.maxParallelStarts,
      prewarm: this.#prewarmSpecs(),
    });
    this.#pool.on('start-failed', (info: EngineEvents['container:start-failed'][0]) => this.emit('container:start-failed', info));
    this.#pool.on('container-exit', (info: EngineEvents['container:exit'][0]) => this.emit('container:exit', info));
    this.#invoker = new Invoker(this.#pool, options, {
      onStart: (job) => {
        (job as CoreJob).started = true;
        this.#work?.noteStart(job.activationId, job.attempt ?? 1);
        this.emit('activation:started', info(job));
      },
    });
    // The balancer's handlers return records; they are stored (or retried) by `#settle`.
    this.#balancer = new LeanBalancer<CoreJob>(options, {
      run: (job) => this.#run(job),
      abort: (job) => Promise.resolve(notRunRecord(job, ewError('EW_ENGINE_ABORTED', []).message)),
      cancel: (job) => Promise.resolve(notRunRecord(job, ewError('EW_CALLER_GONE', []).message)),
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** `prewarmCount` Node.js containers on the default runtime, plus the `prewarm` entries; bad entries throw TypeError. */
  #prewarmSpecs(): PrewarmSpec[] {
    const { options } = this;
    const memory = options.limits.memory.default;
    const specs: PrewarmSpec[] = [];
    const defaultRuntime = this.#runtimes.get(options.defaultRuntime);
    const defaultNode = defaultRuntime === undefined ? undefined : newestNodeKind(defaultRuntime.kinds);
    if (defaultRuntime !== undefined && defaultNode !== undefined && options.prewarmCount > 0) {
      specs.push({ runtime: defaultRuntime.name, kind: defaultNode, memory, count: options.prewarmCount });
    }
    for (const entry of options.prewarm) {
      const kind = this.resolveKind(entry.kind, entry.runtime).kind;
      let runtime: Runtime;
      try {
        runtime = this.runtimeFor(kind, entry.runtime);
      } catch (error) {
        throw new TypeError(`Expected \`prewarm\` kind '${entry.kind}' to run on a configured runtime: ${(error as Error).message}`);
      }
      if (entry.count > 0) specs.push({ runtime: runtime.name, kind, memory: entry.memory ?? memory, count: entry.count });
    }
    return specs;
  }

  name(input: unknown): QualifiedName {
    return parseName(input, this.options.namespace);
  }

  /**
   * The kind an action is stored with. `nodejs:default` becomes the newest Node.js kind of the runtime the action
   * will run on (`requested`, else the default runtime; else of any runtime). A retired kind (`nodejs:20`) that no
   * runtime offers resolves the same way, so flows saved before it was retired keep working; the caller learns of
   * the substitution through `retired`. Anything else is returned as given and judged by `runtimeFor`.
   */
  resolveKind(kind: string, requested?: unknown): ResolvedKind {
    const alias = KIND_ALIASES[kind];
    if (alias !== undefined) return { kind: alias };
    const retired = RETIRED_NODE_KINDS.includes(kind);
    if (kind !== DEFAULT_NODE_KIND && !retired) return { kind };
    const named = requested === undefined || requested === null || requested === '' ? undefined : this.#runtimes.get(String(requested));
    const candidates = named ?? this.#runtimes.get(this.options.defaultRuntime);
    if (retired && [...(named === undefined ? this.#runtimes.values() : [named])].some((r) => r.kinds.includes(kind))) return { kind };
    const newest = (candidates === undefined ? undefined : newestNodeKind(candidates.kinds)) ?? newestNodeKind([...this.#runtimes.values()].flatMap((r) => r.kinds));
    if (newest === undefined) return { kind };
    return retired ? { kind: newest, retired: kind } : { kind: newest };
  }

  /** Picks the runtime for an action kind, honouring an explicit choice; throws 400 if none runs it. */
  runtimeFor(kind: string, requested: unknown): Runtime {
    const all = [...this.#runtimes.keys()];
    if (requested !== undefined && requested !== null && requested !== '') {
      const runtime = this.#runtimes.get(String(requested));
      if (runtime === undefined) throw ewError('EW_RUNTIME_UNSUPPORTED', [String(requested), all]);
      if (!runtime.kinds.includes(kind)) throw ewError('EW_KIND_UNSUPPORTED', [kind, runtime.kinds]);
      return runtime;
    }
    const preferred = this.#runtimes.get(this.options.defaultRuntime);
    if (preferred?.kinds.includes(kind) === true) return preferred;
    for (const runtime of this.#runtimes.values()) if (runtime.kinds.includes(kind)) return runtime;
    const kinds = [...this.kinds(), 'sequence'];
    throw ewError('EW_KIND_UNSUPPORTED', [kind, kinds]);
  }

  /** Makes the action at `path` (`whisk.system/pkg/name`, an entity of kind `builtin`) run `handler` in this process. */
  registerBuiltin(path: string, handler: BuiltinHandler): void {
    this.#builtins.set(path, handler);
  }

  /** Runs again what the store holds as accepted and unfinished (queue/replay.ts); nothing without a durable store. */
  replay(): Promise<ReplaySummary> {
    if (this.accepted === undefined) return Promise.resolve(NOTHING_REPLAYED);
    return replayAccepted(this, this.accepted);
  }

  /** Starts the container pool (its prewarm); once, after the runtimes have been started. */
  startPool(): void {
    this.#pool.start();
  }

  /** Every kind some runtime runs (besides `sequence` and the `nodejs:default` alias). */
  kinds(): string[] {
    return [...new Set([...this.#runtimes.values()].flatMap((r) => r.kinds))];
  }

  stats(): EngineStats {
    return { queued: this.#balancer.queued, running: this.#balancer.running, pool: this.#pool.stats() };
  }

  /**
   * Stops accepting work at once, lets running and queued activations finish for up to `timeout` ms, then settles
   * whatever is left with a whisk internal error, destroys every container and closes the runtimes and the store.
   * Call once (Engine.close makes it idempotent).
   */
  async close(timeout: number): Promise<void> {
    this.#closed = true;
    // Retries waiting for their backoff stay accepted on disk: the next engine on this store runs them.
    this.#work?.close();
    const drained = await this.#balancer.drain(timeout);
    // What did not finish in time: queued jobs settle as aborted, running ones end with their containers.
    const aborted = drained ? Promise.resolve() : this.#balancer.abortQueued();
    await this.#pool.close();
    await aborted;
    await Promise.all([...this.#runtimes.values()].map((r) => r.close?.().catch(() => undefined)));
    await this.activations.close?.();
  }

  /**
   * Starts an activation of `action` with `payload`. Validation and admission errors throw synchronously (so a
   * caller gets OpenWhisk's 400/413/429 at once); everything after admission ends in a record.
   */
  start(action: ActionDoc, payload: unknown, context: StartContext = {}): Started {
    if (this.#closed) throw ewError('EW_ENGINE_CLOSED', []);
    const merged = mergeArguments(action, payload);
    const { initEnv } = merged;
    // The arguments travel as JSON, as they would over OpenWhisk's HTTP API: the size limit applies to that text,
    // and the action gets a snapshot the caller can no longer mutate (a flow may reuse its message at once).
    const text = JSON.stringify(merged.params) ?? '{}';
    const size = Buffer.byteLength(text, 'utf8');
    if (size > this.options.payloadLimit) throw ewError('EW_REQUEST_TOO_LARGE', [size, this.options.payloadLimit]);
    const params: unknown = JSON.parse(text);
    const activationId = context.activationId ?? newActivationId();
    const attempt = context.attempt ?? 1;
    // Sequence components are started by the engine on behalf of the sequence's caller, who passed admission.
    const caller = context.internal === true ? undefined : context.caller;
    const anonymous = caller?.anonymous === true;
    if (isSequence(action.exec)) {
      if (context.internal !== true) this.#balancer.checkAdmission(rootNamespace(action.namespace), anonymous);
      // A retry goes on from the progress the failed attempt wrote.
      const runOnce: RunOnce = (n) => {
        const resume = n === attempt ? context.resume : this.#work?.get(activationId)?.progress;
        return runSequence(this, action, params, activationId, { ...context, attempt: n, ...(resume === undefined ? {} : { resume }) });
      };
      const work = this.#work;
      const tracked = context.durable === true ? work?.track(activationId, action, payload, context, true) : undefined;
      const done = runOnce(attempt).then((record) => this.#settle(record, runOnce));
      if (anonymous) this.#balancer.holdAnonymous(rootNamespace(action.namespace), done);
      const durable = work === undefined ? resolvedDurable : work.durableOf(activationId, tracked, () => work.track(activationId, action, payload, context, true));
      return { activationId, done, durable };
    }
    if (action.exec.kind === BUILTIN_KIND) return this.#startBuiltin(action, params, activationId, context);
    const exec = action.exec;
    const runtime = this.runtimeFor(exec.kind, annotation(action.annotations, RUNTIME_ANNOTATION));
    const placement = runtime.placementOf?.(action.annotations);
    const job: CoreJob = {
      activationId,
      action,
      exec,
      runtime: runtime.name,
      params,
      initEnv,
      // The invoking namespace: an action in a package has `ns/pkg` as its own namespace path.
      namespace: rootNamespace(action.namespace),
      receivedAt: context.receivedAt ?? Date.now(),
      transactionId: activationId,
      attempt,
      started: false,
      ...(context.cause === undefined ? {} : { cause: context.cause }),
      ...(context.causedBy === undefined ? {} : { causedBy: context.causedBy }),
      ...(context.binding === undefined ? {} : { binding: context.binding }),
      ...(placement === undefined ? {} : { placement }),
    };
    const work = this.#work;
    // Refused work must not be written down: admission is checked before the acceptance (submit checks it again).
    if (work !== undefined && context.durable === true && context.internal !== true) this.#balancer.checkAdmission(job.namespace, anonymous);
    const tracked = context.durable === true ? work?.track(activationId, action, payload, context, false) : undefined;
    const first = this.#balancer.submit(job, {
      internal: context.internal === true,
      anonymous,
      ...(caller?.signal === undefined ? {} : { signal: caller.signal }),
    });
    // Retries skip admission: the invocation was admitted once.
    const runOnce: RunOnce = (n) => (n === attempt ? first : this.#balancer.submit({ ...job, attempt: n, started: false }, { internal: true }));
    const done = first.then((record) => this.#settle(record, runOnce));
    if (this.listenerCount('activation:queued') > 0) this.emit('activation:queued', info(job));
    const durable = work === undefined ? resolvedDurable : work.durableOf(activationId, tracked, () => work.track(activationId, action, payload, context, job.started));
    return { activationId, done, durable };
  }

  /**
   * A built-in action runs here and now, outside the queue and the pool: it is the engine's own short work (a feed
   * lifecycle call), and must not wait behind a backlog of user actions. Not written down as accepted work: a feed
   * action's caller always waits for its answer.
   */
  #startBuiltin(action: ActionDoc, params: unknown, activationId: string, context: StartContext): Started {
    const handler = this.#builtins.get(`${action.namespace}/${action.name}`);
    if (handler === undefined) throw ewError('EW_KIND_UNSUPPORTED', [BUILTIN_KIND, this.kinds()]);
    const start = Date.now();
    const args = typeof params === 'object' && params !== null && !Array.isArray(params) ? (params as Record<string, unknown>) : {};
    const finish = (statusCode: StatusCode, result: Record<string, unknown>): StoredActivation =>
      activationRecord({
        entity: action,
        namespace: this.options.namespace,
        activationId,
        start,
        end: Date.now(),
        cause: context.cause,
        response: { statusCode, result },
        logs: [],
        annotations: actionAnnotations(action, BUILTIN_KIND, { waitTime: 0, timedOut: false, causedBy: context.causedBy }),
      });
    const done = Promise.resolve()
      .then(() => handler(args))
      .then(
        (outcome) => ('error' in outcome ? finish(STATUS.APPLICATION_ERROR, { error: outcome.error }) : finish(STATUS.SUCCESS, outcome.result)),
        (error: unknown) => finish(STATUS.INTERNAL_ERROR, { error: error instanceof Error ? error.message : String(error) }),
      )
      .then((record) => this.complete(record));
    return { activationId, done, durable: resolvedDurable };
  }

  /** The balancer's run: accepted work waits for its acceptance to be on disk, and does not run without one. */
  #run(job: CoreJob): Promise<StoredActivation> {
    const tracked = this.#work?.get(job.activationId);
    if (tracked === undefined) return this.#invoker.run(job);
    return tracked.acceptance.then((refusal) =>
      refusal === undefined ? this.#invoker.run(job) : notRunRecord(job, refusal instanceof Error ? refusal.message : String(refusal)),
    );
  }

  /** Where every finished run goes: stored, or (accepted work) retried, dead-lettered or left for the next engine. */
  #settle(record: StoredActivation, runOnce: RunOnce): Promise<StoredActivation> {
    return this.#work === undefined ? this.complete(record) : this.#work.settle(record, runOnce);
  }

  sequenceStep(sequenceId: string, progress: SequenceProgress): Promise<void> {
    return this.#work?.sequenceStep(sequenceId, progress) ?? Promise.resolve();
  }

  async record(activationId: string): Promise<StoredActivation | undefined> {
    return await this.activations.get(activationId);
  }

  /**
   * Stores a finished record and announces it. Neither a failing store nor a throwing listener may lose the result
   * for the caller waiting on it, or turn a finished activation into a failed one.
   */
  complete(record: StoredActivation): Promise<StoredActivation> {
    let stored: void | Promise<void>;
    try {
      stored = this.activations.put(record);
    } catch {
      stored = undefined;
    }
    if (stored instanceof Promise) return stored.then(() => this.#announce(record), () => this.#announce(record));
    return Promise.resolve(this.#announce(record));
  }

  #announce(record: StoredActivation): StoredActivation {
    if (this.listenerCount('activation:completed') > 0) {
      try {
        this.emit('activation:completed', toApiView(record));
      } catch (error) {
        process.emitWarning(`An 'activation:completed' listener threw: ${String(error)}`, 'EdgeWhiskWarning');
      }
    }
    return record;
  }
}

/** `durable()` of an engine without a durable store: nothing to write. */
const resolvedDurable = (): Promise<void> => Promise.resolve();

function info(job: InvocationJob): EngineEvents['activation:queued'][0] {
  return {
    activationId: job.activationId,
    namespace: job.namespace,
    name: job.action.name,
    kind: job.exec.kind,
    ...(job.cause === undefined ? {} : { cause: job.cause }),
  };
}

/** The record of a job that never ran: the engine closed first, or its web caller left while it was queued. */
function notRunRecord(job: InvocationJob, message: string): StoredActivation {
  const now = Date.now();
  return activationRecord({
    entity: job.action,
    namespace: job.namespace,
    activationId: job.activationId,
    start: now,
    end: now,
    cause: job.cause,
    response: { statusCode: STATUS.INTERNAL_ERROR, result: { error: message } },
    logs: [],
    annotations: actionAnnotations(job.action, job.exec.kind, { waitTime: now - job.receivedAt, timedOut: false }),
  });
}
