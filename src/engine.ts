/**
 * The EdgeWhisk engine: a lean, embedded OpenWhisk. Controller, queue and invoker live in one process, as in Lean
 * OpenWhisk; containers are worker threads by default. No Node-RED import here or anywhere under the engine.
 */
import type { ActivationStore } from './activations/activation-store';
import { MemoryActivationStore } from './activations/memory-activation-store';
import { EntityStore } from './entities/entity-store';
import { ENGINE_MIGRATIONS } from './store/schema';
import { SqliteActivationStore } from './store/sqlite-activation-store';
import { openDatabase, type OpenedDatabase } from './store/sqlite-database';
import { SqliteEntityJournal } from './store/sqlite-entity-journal';
import { GroupCommit } from './store/group-commit';
import { SqliteAcceptedLog } from './store/sqlite-accepted-log';
import { NOTHING_REPLAYED, type ReplaySummary } from './queue/replay';
import { DeadLettersApi } from './api/dead-letters-api';
import { FeedsApi } from './api/feeds-api';
import { createEngineFeeds } from './feeds/engine-feeds';
import type { FeedService } from './feeds/feed-service';
import { SqliteFeedJournal } from './store/sqlite-feed-journal';
import { ActionsApi } from './api/actions-api';
import { ActivationsApi } from './api/activations-api';
import { PackagesApi } from './api/packages-api';
import { RulesApi } from './api/rules-api';
import { TriggersApi } from './api/triggers-api';
import { EngineCore, type EngineStats } from './engine-core';
import { fqn, requireNoPackage } from './entities/names';
import type { EngineEvents } from './events';
import { DEFAULTS, resolveOptions, type EngineOptions, type EngineOptionsInput } from './options';
import type { Runtime } from './runtimes/runtime';
import { DockerRuntime } from './runtimes/docker/docker-runtime';
import { ProcessRuntime } from './runtimes/process/process-runtime';
import { WorkerRuntime } from './runtimes/worker/worker-runtime';

export interface EngineConfig extends EngineOptionsInput {
  /** Runtimes by name; `worker` and `process` are always available unless replaced by one of the same name. */
  readonly runtimes?: readonly Runtime[];
  /** Where activation records go. @default a MemoryActivationStore holding `activationRetention` records within `activationRetentionBytes` */
  readonly activationStore?: ActivationStore;
  /**
   * The engine's database file: entities and activation records (unless `activationStore` is given) are kept there
   * and found again by the next engine on the same file. `'memory'` or absent: nothing outlives the engine.
   */
  readonly store?: string;
  /**
   * With a durable `store`: when to run the accepted invocations a previous engine left unfinished. `'auto'` (the
   * default) starts them on the next event-loop turn; `'manual'` waits for `engine.replay()`, for embedders that
   * define their actions after making the engine (Node-RED's flows).
   */
  readonly replay?: 'auto' | 'manual';
}

export type { EngineStats } from './engine-core';

export class Engine {
  readonly options: EngineOptions;
  readonly actions: ActionsApi;
  readonly triggers: TriggersApi;
  readonly rules: RulesApi;
  readonly packages: PackagesApi;
  readonly activations: ActivationsApi;
  readonly deadLetters: DeadLettersApi;
  /** Triggers' feeds (docs/feeds.md): `/whisk.system/alarms/*` and `/whisk.system/mqtt/*`. */
  readonly feeds: FeedsApi;
  readonly #core: EngineCore;
  readonly #feeds: FeedService;
  #replaying: Promise<ReplaySummary> | undefined;
  /** The durable store's database, when the engine has one (`store`). */
  readonly #database: OpenedDatabase | undefined;
  readonly #writer: GroupCommit | undefined;
  #closing: Promise<void> | undefined;

  constructor(config: EngineConfig = {}) {
    if (typeof config !== 'object' || config === null) throw new TypeError(`Expected \`options\` to be an object, got \`${String(config)}\``);
    const { runtimes: runtimeList, activationStore, store, replay, ...rest } = config;
    if (replay !== undefined && replay !== 'auto' && replay !== 'manual') throw new TypeError(`Expected \`replay\` to be 'auto' or 'manual', got \`${String(replay)}\``);
    this.options = resolveOptions(rest);
    const runtimes = new Map<string, Runtime>();
    if (runtimeList !== undefined && !Array.isArray(runtimeList)) throw new TypeError('Expected `runtimes` to be an array of runtimes');
    for (const runtime of runtimeList ?? []) {
      if (typeof runtime?.name !== 'string' || typeof runtime.create !== 'function' || !Array.isArray(runtime.kinds)) {
        throw new TypeError('Expected every entry of `runtimes` to implement the Runtime interface (name, kinds, create)');
      }
      runtimes.set(runtime.name, runtime);
    }
    if (!runtimes.has('worker')) runtimes.set('worker', new WorkerRuntime());
    if (!runtimes.has('process')) runtimes.set('process', new ProcessRuntime({ pidsLimit: this.options.processPidsLimit }));
    // Docker only when asked for: the daemon's socket is root-equivalent, and an engine that does not use it
    // should not touch it.
    const { docker } = this.options;
    const wantsDocker = docker.enabled || this.options.defaultRuntime === 'docker' || this.options.prewarm.some((p) => p.runtime === 'docker');
    if (wantsDocker && !runtimes.has('docker')) {
      runtimes.set('docker', new DockerRuntime({ options: docker, defaults: DEFAULTS.docker, memoryBudget: this.options.memoryBudget }));
    }
    if (!runtimes.has(this.options.defaultRuntime)) {
      throw new TypeError(`Expected \`defaultRuntime\` to name a configured runtime (${[...runtimes.keys()].join(', ')}), got \`${this.options.defaultRuntime}\``);
    }
    if (store !== undefined && (typeof store !== 'string' || store === '')) throw new TypeError(`Expected \`store\` to be a file path or 'memory', got \`${String(store)}\``);
    const database = store === undefined || store === 'memory' ? undefined : openDatabase(store, ENGINE_MIGRATIONS);
    if (database?.movedAside !== undefined) {
      process.emitWarning(`EdgeWhisk's store ${database.path} was damaged (${database.movedAside.reason}); it was moved to ${database.movedAside.to} and a new one started.`, 'EdgeWhiskWarning');
    }
    this.#database = database;
    const { activationRetention: retention, activationRetentionBytes: maxBytes } = this.options;
    const { activationRetentionAge: maxAge, deadLetterRetention } = this.options;
    // One writer for the database: a record and the end of its invocation's acceptance commit together.
    const writer = database === undefined ? undefined : new GroupCommit(database);
    this.#writer = writer;
    const records =
      activationStore ?? (writer === undefined ? new MemoryActivationStore(retention, maxBytes, maxAge) : new SqliteActivationStore({ writer, retention, maxBytes, maxAge }));
    const entities = new EntityStore(database === undefined ? undefined : new SqliteEntityJournal(database));
    const accepted = writer === undefined ? undefined : new SqliteAcceptedLog(writer, deadLetterRetention);
    this.#core = new EngineCore(this.options, runtimes, records, entities, accepted);
    this.actions = new ActionsApi(this.#core);
    // A deleted trigger's feed stops with it (the field is set below, before any trigger can be deleted).
    this.triggers = new TriggersApi(this.#core, (trigger) => void this.#feeds.triggerDeleted(trigger));
    this.rules = new RulesApi(this.#core);
    this.packages = new PackagesApi(this.#core);
    this.activations = new ActivationsApi(this.#core);
    this.deadLetters = new DeadLettersApi(this.#core);
    this.#feeds = createEngineFeeds({
      core: this.#core,
      triggers: this.triggers,
      rules: this.rules,
      journal: database === undefined ? undefined : new SqliteFeedJournal(database),
    });
    this.feeds = new FeedsApi(this.actions, this.#feeds, (trigger) => fqn(requireNoPackage(this.#core.name(trigger), 'trigger')));
    for (const runtime of runtimes.values()) {
      // Runtimes that report (Docker: image pulls, relaxed hardening) speak through the engine's events. Deferred
      // to a microtask, so a report made in start() reaches listeners added right after the engine is made.
      runtime.start?.({
        pull: (progress) => queueMicrotask(() => this.#core.emit('runtime:pull', { runtime: runtime.name, ...progress })),
        warning: (message) => queueMicrotask(() => this.#core.emit('runtime:warning', { runtime: runtime.name, message })),
      });
    }
    this.#core.startPool();
    if (accepted !== undefined && replay !== 'manual') setImmediate(() => void this.replay());
  }

  /**
   * Runs the accepted invocations a previous engine on this store left unfinished (docs/durability.md) and starts
   * the feeds it kept (docs/feeds.md), once; later calls return the first call's summary. Never rejects. Without a
   * durable store there is nothing to run.
   */
  replay(): Promise<ReplaySummary> {
    if (this.#replaying === undefined && !this.#core.closed) this.#feeds.resume();
    this.#replaying ??= this.#core.closed
      ? Promise.resolve(NOTHING_REPLAYED)
      : this.#core.replay().catch((error: unknown) => {
          process.emitWarning(`EdgeWhisk could not replay accepted invocations: ${String(error)}`, 'EdgeWhiskWarning');
          return NOTHING_REPLAYED;
        });
    return this.#replaying;
  }

  on<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): this {
    this.#core.on(event, listener as never);
    return this;
  }

  once<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): this {
    this.#core.once(event, listener as never);
    return this;
  }

  off<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): this {
    this.#core.off(event, listener as never);
    return this;
  }

  listenerCount<E extends keyof EngineEvents>(event: E): number {
    return this.#core.listenerCount(event);
  }

  get closed(): boolean {
    return this.#core.closed;
  }

  /**
   * The kind an action created with `kind` on `runtime` (default: the engine's default runtime) is stored with:
   * `nodejs:default` and retired kinds such as `nodejs:20` become the newest Node.js kind that runtime offers, e.g.
   * `nodejs:24`; other kinds are returned as given.
   */
  resolveKind(kind: string, runtime?: string): string {
    return this.#core.resolveKind(kind, runtime).kind;
  }

  /** Every kind some runtime of this engine runs (besides `sequence` and the `nodejs:default` alias). */
  kinds(): string[] {
    return this.#core.kinds();
  }

  stats(): EngineStats {
    return this.#core.stats();
  }

  /**
   * Stops accepting work, lets running and queued activations finish for up to `timeout` ms (default
   * `closeTimeout`), then settles whatever is left with a whisk internal error and destroys every container.
   * Resolves within `timeout` plus the time to terminate containers. Idempotent.
   */
  close(timeout: number = this.options.closeTimeout): Promise<void> {
    if (!Number.isInteger(timeout) || timeout < 0) throw new TypeError(`Expected \`timeout\` to be a non-negative integer, got \`${String(timeout)}\``);
    // The database closes after the core, whose close flushes the activation records still to be committed.
    // Feeds stop at once with the core (a fire in flight is refused by the closed core); the store stays open
    // until both are done, for the feeds' last saved positions.
    this.#closing ??= Promise.all([this.#feeds.close(), this.#core.close(timeout)]).then(
      () => this.#closeStore(),
      (error: unknown) => {
        this.#closeStore();
        throw error;
      },
    );
    return this.#closing;
  }

  #closeStore(): void {
    this.#writer?.close();
    this.#database?.db.close();
  }
}

/** Creates an engine; see `EngineConfig` and the README's options table. */
export function createEngine(config: EngineConfig = {}): Engine {
  return new Engine(config);
}
