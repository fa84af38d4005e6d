/**
 * The container pool, runtime-agnostic (docs/semantics.md#containers-and-the-pool).
 *
 * Scheduling order for a request: a warm container of the same action version with spare concurrency; then a
 * prewarmed container of the same runtime, kind and memory; then a cold start if the memory budget admits it; then
 * eviction of least-recently-used idle warm containers to make room; otherwise the request waits in FIFO order
 * (new requests queue behind waiting ones so large actions are not starved). Memory is accounted as the sum of the
 * memory limits of every container the pool holds, busy, idle, prewarmed or starting, like OpenWhisk's user memory.
 */
import { EventEmitter } from 'node:events';
import { ewError } from '../errors';
import type { Container, ContainerFailure, Placement, Runtime } from '../runtimes/runtime';

export interface PoolRequest {
  readonly runtime: string;
  /** Identity of the action version: containers are reused only for the same key. */
  readonly key: string;
  readonly kind: string;
  readonly memory: number;
  readonly concurrency: number;
  readonly image?: string;
  /** The action's runtime-specific placement (Docker: its network); prewarms have none and serve only actions without one. */
  readonly placement?: Placement;
}

export interface PrewarmSpec {
  readonly runtime: string;
  readonly kind: string;
  readonly memory: number;
  readonly count: number;
}

export interface PoolOptions {
  readonly memoryBudget: number;
  readonly idleTimeout: number;
  readonly pauseGrace: number;
  readonly maxParallelStarts: number;
  readonly prewarm: readonly PrewarmSpec[];
}

const PREWARM_RETRY_MS = 30_000;

/** Placements are small flat maps: equal when they hold the same keys with the same values. */
function samePlacement(a: Placement | undefined, b: Placement | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => a?.[k] === b?.[k]);
}

type EntryState = 'starting' | 'prewarm' | 'warm' | 'paused';

interface Entry {
  readonly id: number;
  readonly runtime: string;
  readonly kind: string;
  readonly memory: number;
  readonly image: string | undefined;
  readonly placement: Placement | undefined;
  key: string | undefined;
  maxConcurrency: number;
  container: Container | undefined;
  state: EntryState;
  active: number;
  lastUsed: number;
  initialized: boolean;
  /** While the first activation initializes the container: settles when init is done (or failed). */
  initializing: Promise<void> | undefined;
  initDone: (() => void) | undefined;
  dead: boolean;
  pauseTimer: NodeJS.Timeout | undefined;
  /** Settles once the entry's container is running (and resumed, if it was paused). */
  ready: Promise<void>;
}

/** A container handed to one activation. `needsInit` is true for the first activation of a cold or prewarm start. */
export interface Lease {
  readonly container: Container;
  readonly needsInit: boolean;
  /** @internal */
  readonly entry: Entry;
}

interface Waiter {
  readonly request: PoolRequest;
  readonly resolve: (lease: Promise<Lease>) => void;
  readonly reject: (error: Error) => void;
}

export interface PoolStats {
  readonly containers: number;
  readonly busy: number;
  readonly idle: number;
  readonly prewarm: number;
  readonly paused: number;
  readonly starting: number;
  readonly memoryUsed: number;
  readonly waiting: number;
}

export class ContainerPool extends EventEmitter {
  readonly #runtimes: ReadonlyMap<string, Runtime>;
  readonly #options: PoolOptions;
  readonly #entries = new Set<Entry>();
  readonly #byKey = new Map<string, Set<Entry>>();
  // Waiters are few (bounded by the balancer's dispatch concurrency), so a plain array is the right queue here.
  readonly #waiters: Waiter[] = [];
  readonly #sweeper: NodeJS.Timeout;
  readonly #destroying = new Set<Promise<void>>();
  #memoryUsed = 0;
  #starting = 0;
  #nextId = 0;
  #closed = false;
  #prewarmPausedUntil = 0;

  constructor(runtimes: ReadonlyMap<string, Runtime>, options: PoolOptions) {
    super();
    this.#runtimes = runtimes;
    this.#options = options;
    const every = Math.min(Math.max(Math.floor(options.idleTimeout / 4), 50), 60_000);
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts the configured prewarmed containers; call once after construction. */
  start(): void {
    this.#backfillPrewarms();
  }

  stats(): PoolStats {
    let busy = 0;
    let idle = 0;
    let prewarm = 0;
    let paused = 0;
    let starting = 0;
    for (const e of this.#entries) {
      if (e.state === 'starting') starting++;
      else if (e.state === 'prewarm') prewarm++;
      else if (e.state === 'paused') paused++;
      else if (e.active > 0) busy++;
      else idle++;
    }
    return { containers: this.#entries.size, busy, idle, prewarm, paused, starting, memoryUsed: this.#memoryUsed, waiting: this.#waiters.length };
  }

  /** Resolves with a container for `request`, waiting for capacity if there is none. */
  acquire(request: PoolRequest): Promise<Lease> {
    if (this.#closed) return Promise.reject(ewError('EW_ENGINE_ABORTED', []));
    if (request.memory > this.#options.memoryBudget || !this.#runtimes.has(request.runtime)) {
      return Promise.reject(new Error(`no container of ${request.memory} MB on '${request.runtime}' fits this pool`));
    }
    if (this.#waiters.length === 0) {
      const lease = this.#tryAssign(request);
      if (lease !== undefined) return lease;
    }
    return new Promise<Promise<Lease>>((resolve, reject) => {
      this.#waiters.push({ request, resolve, reject });
    }).then((lease) => lease);
  }

  /**
   * Returns a leased container. An unhealthy one (developer error, timeout, OOM, crash, internal error) is destroyed
   * and never reused (docs/semantics.md#container-reuse).
   */
  release(lease: Lease, healthy: boolean): void {
    const entry = lease.entry;
    entry.active = Math.max(0, entry.active - 1);
    entry.lastUsed = Date.now();
    if (lease.needsInit) this.#initSettled(entry, healthy && !entry.dead);
    if (!healthy || entry.dead) {
      this.#remove(entry);
    } else {
      entry.initialized = true;
      if (entry.active === 0) this.#schedulePause(entry);
    }
    this.#drain();
  }

  /**
   * The lease's init succeeded: activations waiting to share the container (`limits.concurrency` > 1) may run on it
   * now rather than when the first run ends.
   */
  initialized(lease: Lease): void {
    if (lease.needsInit) this.#initSettled(lease.entry, true);
  }

  #initSettled(entry: Entry, ok: boolean): void {
    if (ok) entry.initialized = true;
    const done = entry.initDone;
    entry.initDone = undefined;
    entry.initializing = undefined;
    done?.();
  }

  /** Destroys every container and fails every waiter. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    const waiters = this.#waiters.splice(0);
    for (const w of waiters) w.reject(ewError('EW_ENGINE_ABORTED', []));
    const entries = [...this.#entries];
    await Promise.allSettled(entries.map((e) => this.#remove(e)));
    await Promise.allSettled([...this.#destroying]);
  }

  #tryAssign(request: PoolRequest): Promise<Lease> | undefined {
    // 1. A warm (or paused) container of the same action version with spare concurrency.
    const warm = this.#byKey.get(request.key);
    if (warm !== undefined) {
      for (const entry of warm) {
        if ((entry.state === 'warm' || entry.state === 'paused') && entry.initialized && entry.active < entry.maxConcurrency) {
          return this.#lease(entry, false);
        }
        // A container still starting or initializing for this action takes more runs if it accepts them at once
        // (OpenWhisk schedules onto warming containers too): a burst then starts one container, not one each.
        if (entry.initializing !== undefined && !entry.dead && entry.active < entry.maxConcurrency) {
          return this.#leaseAfterInit(entry, request);
        }
      }
    }
    // 2. A prewarmed container of the same runtime, kind and memory (no promotion to other sizes, as OpenWhisk).
    if (request.concurrency === 1) {
      for (const entry of this.#entries) {
        if (entry.state === 'prewarm' && entry.runtime === request.runtime && entry.kind === request.kind && entry.memory === request.memory && entry.image === request.image && samePlacement(entry.placement, request.placement)) {
          this.#assignKey(entry, request);
          entry.state = 'warm';
          queueMicrotask(() => this.#backfillPrewarms());
          return this.#lease(entry, true);
        }
      }
    }
    // 3. A cold start within the memory budget, evicting idle warm containers if that makes room.
    if (this.#starting >= this.#options.maxParallelStarts) return undefined;
    if (!this.#fits(request.memory) && !this.#evictFor(request.memory)) return undefined;
    const entry = this.#startContainer(request.runtime, request.kind, request.memory, request.image, request.concurrency, request.placement);
    this.#assignKey(entry, request);
    return this.#lease(entry, true);
  }

  #leaseAfterInit(entry: Entry, request: PoolRequest): Promise<Lease> {
    entry.active++;
    return (entry.initializing as Promise<void>).then(() => {
      if (entry.initialized && !entry.dead && this.#entries.has(entry)) return { container: entry.container as Container, needsInit: false, entry };
      // The init failed and the container is gone: this activation competes for a container afresh.
      entry.active = Math.max(0, entry.active - 1);
      return this.acquire(request);
    });
  }

  #lease(entry: Entry, needsInit: boolean): Promise<Lease> {
    if (needsInit && entry.maxConcurrency > 1) {
      entry.initializing = new Promise<void>((resolve) => (entry.initDone = resolve));
    }
    entry.active++;
    if (entry.pauseTimer !== undefined) {
      clearTimeout(entry.pauseTimer);
      entry.pauseTimer = undefined;
    }
    if (entry.state === 'paused') {
      const container = entry.container as Container;
      entry.state = 'warm';
      entry.ready = container.resume?.() ?? Promise.resolve();
    }
    return entry.ready.then(
      () => ({ container: entry.container as Container, needsInit, entry }),
      (error: unknown) => {
        // The container never came up (or could not be resumed): give its memory back and let others try.
        entry.active = Math.max(0, entry.active - 1);
        this.#remove(entry);
        this.#drain();
        throw error;
      },
    );
  }

  #assignKey(entry: Entry, request: PoolRequest): void {
    entry.key = request.key;
    entry.maxConcurrency = request.concurrency;
    let set = this.#byKey.get(request.key);
    if (set === undefined) {
      set = new Set();
      this.#byKey.set(request.key, set);
    }
    set.add(entry);
  }

  #fits(memory: number): boolean {
    return this.#memoryUsed + memory <= this.#options.memoryBudget;
  }

  /** Removes least-recently-used idle warm containers (never prewarms or busy ones) until `memory` fits. */
  #evictFor(memory: number): boolean {
    const idle = [...this.#entries]
      .filter((e) => (e.state === 'warm' || e.state === 'paused') && e.active === 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    let freeable = 0;
    for (const e of idle) freeable += e.memory;
    if (this.#memoryUsed - freeable + memory > this.#options.memoryBudget) return false;
    for (const e of idle) {
      if (this.#fits(memory)) break;
      void this.#remove(e);
    }
    return this.#fits(memory);
  }

  #startContainer(runtimeName: string, kind: string, memory: number, image: string | undefined, concurrency: number, placement?: Placement): Entry {
    const runtime = this.#runtimes.get(runtimeName);
    const entry: Entry = {
      id: ++this.#nextId,
      runtime: runtimeName,
      kind,
      memory,
      image,
      placement,
      key: undefined,
      maxConcurrency: concurrency,
      container: undefined,
      state: 'starting',
      active: 0,
      lastUsed: Date.now(),
      initialized: false,
      initializing: undefined,
      initDone: undefined,
      dead: false,
      pauseTimer: undefined,
      ready: Promise.resolve(),
    };
    this.#entries.add(entry);
    this.#memoryUsed += memory;
    this.#starting++;
    const spec = { kind, memory, concurrency, ...(image === undefined ? {} : { image }), ...(placement === undefined ? {} : { placement }) };
    entry.ready = (runtime === undefined ? Promise.reject(new Error(`unknown runtime ${runtimeName}`)) : runtime.create(spec)).then(
      (container) => {
        this.#starting--;
        entry.container = container;
        container.onExit((failure) => this.#onContainerExit(entry, failure));
        if (entry.state === 'starting') entry.state = entry.key === undefined ? 'prewarm' : 'warm';
        if (!this.#entries.has(entry)) void container.destroy().catch(() => undefined);
        this.#drain();
      },
      (error: unknown) => {
        this.#starting--;
        // Not 'error': an EventEmitter throws that event when nobody listens, and this must never throw.
        this.emit('start-failed', { runtime: runtimeName, kind, error });
        if (entry.key === undefined) {
          // A prewarm that cannot start is not retried at once, or a broken runtime would spin here.
          this.#remove(entry);
          this.#prewarmPausedUntil = Date.now() + PREWARM_RETRY_MS;
        }
        throw error;
      },
    );
    // Prewarm failures are reported through the event above; nobody awaits a prewarm's readiness.
    entry.ready.catch(() => undefined);
    return entry;
  }

  #onContainerExit(entry: Entry, failure: ContainerFailure): void {
    entry.dead = true;
    this.emit('container-exit', { runtime: entry.runtime, key: entry.key, failure });
    if (entry.active === 0) {
      this.#remove(entry);
      this.#drain();
      this.#backfillPrewarms();
    }
  }

  #remove(entry: Entry): Promise<void> {
    if (!this.#entries.delete(entry)) return Promise.resolve();
    this.#memoryUsed -= entry.memory;
    // Runs waiting for this container's init look for another one.
    this.#initSettled(entry, false);
    if (entry.pauseTimer !== undefined) clearTimeout(entry.pauseTimer);
    if (entry.key !== undefined) {
      const set = this.#byKey.get(entry.key);
      set?.delete(entry);
      if (set?.size === 0) this.#byKey.delete(entry.key);
    }
    const container = entry.container;
    if (container === undefined) return Promise.resolve();
    const destroyed = container.destroy().catch(() => undefined);
    // close() waits for these too: a container being removed when the engine closes is still the engine's.
    this.#destroying.add(destroyed);
    void destroyed.then(() => this.#destroying.delete(destroyed));
    return destroyed;
  }

  #schedulePause(entry: Entry): void {
    const container = entry.container;
    if (container?.pause === undefined || entry.state !== 'warm') return;
    entry.pauseTimer = setTimeout(() => {
      entry.pauseTimer = undefined;
      if (entry.active > 0 || entry.state !== 'warm' || !this.#entries.has(entry)) return;
      entry.state = 'paused';
      container.pause!().catch(() => {
        // A container that cannot be paused is not trusted to resume either.
        if (entry.active === 0) this.#remove(entry);
      });
    }, this.#options.pauseGrace);
    entry.pauseTimer.unref();
  }

  #drain(): void {
    while (this.#waiters.length > 0 && !this.#closed) {
      const head = this.#waiters[0] as Waiter;
      const lease = this.#tryAssign(head.request);
      if (lease === undefined) return;
      this.#waiters.shift();
      head.resolve(lease);
    }
    if (this.#waiters.length === 0) this.#backfillPrewarms();
  }

  #backfillPrewarms(): void {
    if (this.#closed || Date.now() < this.#prewarmPausedUntil) return;
    for (const spec of this.#options.prewarm) {
      let have = 0;
      for (const e of this.#entries) {
        if (e.key === undefined && e.runtime === spec.runtime && e.kind === spec.kind && e.memory === spec.memory) have++;
      }
      // Prewarms never evict anything and never take the last memory a waiting request could use.
      while (have < spec.count && this.#waiters.length === 0 && this.#fits(spec.memory) && this.#starting < this.#options.maxParallelStarts) {
        this.#startContainer(spec.runtime, spec.kind, spec.memory, undefined, 1);
        have++;
      }
    }
  }

  #sweep(): void {
    const cutoff = Date.now() - this.#options.idleTimeout;
    for (const e of this.#entries) {
      if ((e.state === 'warm' || e.state === 'paused') && e.active === 0 && e.lastUsed <= cutoff) void this.#remove(e);
    }
  }
}
