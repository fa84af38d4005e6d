/**
 * The lean load balancer: one in-memory queue in front of the co-located invoker, as in Lean OpenWhisk, but
 * bounded. Admission refuses work with OpenWhisk's 429 messages instead of letting the backlog grow without bound,
 * and every accepted invocation settles with a record, including the ones still queued when the engine closes and
 * the ones whose web caller left before they started.
 *
 * Anonymous callers (web actions reached without the namespace's credentials) may hold only a share of the
 * namespace's in-flight limit, and wait behind authenticated work: anyone on the network can call a web action, and
 * such traffic must not be able to lock the namespace's owner out.
 *
 * A queued invocation costs one p-queue task and one closure: with a 100,000 backlog the live objects per job are
 * what the garbage collector has to walk, so nothing else is allocated per job here, except for jobs whose caller
 * can go away (they carry an abort listener).
 */
import PQueue from 'p-queue';
import type { StoredActivation } from '../activations/record';
import { ewError } from '../errors';

export interface BalancerOptions {
  readonly maxQueued: number;
  readonly concurrentInvocations: number;
  readonly dispatchConcurrency: number;
  /** Share (0..1) of `concurrentInvocations` anonymous callers may hold per namespace. */
  readonly webInvocationShare: number;
}

export interface QueuedJob {
  readonly namespace: string;
}

export interface SubmitOptions {
  /** Sequence components: skip the namespace limit, which the sequence as a whole already passed. */
  readonly internal?: boolean;
  /** A caller without the namespace's credentials: counts against the anonymous share, waits behind the others. */
  readonly anonymous?: boolean;
  /**
   * Aborts when the caller has gone. A job still waiting in the queue is then removed and settles with its `cancel`
   * record, never run; a job already started runs to its end.
   */
  readonly signal?: AbortSignal;
}

export interface BalancerHandlers<J extends QueuedJob> {
  /** Runs the job to its stored record; must never reject. */
  readonly run: (job: J) => Promise<StoredActivation>;
  /** Stores and returns the record a job settles with when the engine closes before it starts. */
  readonly abort: (job: J) => Promise<StoredActivation>;
  /** Stores and returns the record of a job removed from the queue because its caller left (`signal`). */
  readonly cancel: (job: J) => Promise<StoredActivation>;
}

/** Queue priority of anonymous jobs: p-queue runs higher priorities first, in order within one priority. */
const ANONYMOUS_PRIORITY = -1;

export class LeanBalancer<J extends QueuedJob> {
  readonly #options: BalancerOptions;
  readonly #handlers: BalancerHandlers<J>;
  readonly #queue: PQueue;
  readonly #inFlight = new Map<string, number>();
  readonly #anonymousInFlight = new Map<string, number>();
  readonly #anonymousAllowed: number;
  #closed = false;
  #aborting = false;

  constructor(options: BalancerOptions, handlers: BalancerHandlers<J>) {
    this.#options = options;
    this.#handlers = handlers;
    this.#queue = new PQueue({ concurrency: options.dispatchConcurrency });
    this.#anonymousAllowed = Math.floor(options.webInvocationShare * options.concurrentInvocations);
  }

  /** Invocations waiting for the invoker. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Invocations handed to the invoker and not yet finished. */
  get running(): number {
    return this.#queue.pending;
  }

  inFlight(namespace: string): number {
    return this.#inFlight.get(namespace) ?? 0;
  }

  /** Activations of anonymous callers in flight in `namespace` (queued and running, sequences included). */
  anonymousInFlight(namespace: string): number {
    return this.#anonymousInFlight.get(namespace) ?? 0;
  }

  /**
   * Throws the 429 (or 503 after close) a new invocation would get, without enqueuing anything. Lets a caller that
   * fans out (a trigger, a sequence) refuse up front.
   */
  checkAdmission(namespace: string, anonymous = false): void {
    if (this.#closed) throw ewError('EW_ENGINE_CLOSED', []);
    const count = this.inFlight(namespace);
    if (count >= this.#options.concurrentInvocations) {
      throw ewError('EW_THROTTLED_CONCURRENT', [count, this.#options.concurrentInvocations], { namespace });
    }
    if (anonymous) {
      const anonymousCount = this.anonymousInFlight(namespace);
      if (anonymousCount >= this.#anonymousAllowed) {
        throw ewError('EW_THROTTLED_ANONYMOUS', [anonymousCount, this.#anonymousAllowed], { namespace });
      }
    }
    if (this.#queue.size >= this.#options.maxQueued) {
      throw ewError('EW_QUEUE_FULL', [this.#queue.size, this.#options.maxQueued]);
    }
  }

  /**
   * Counts an anonymous activation that does not go through `submit` as one job (a sequence, whose components are
   * internal) against the anonymous share until `settled` settles. Call after `checkAdmission(namespace, true)`.
   */
  holdAnonymous(namespace: string, settled: Promise<unknown>): void {
    this.#count(this.#anonymousInFlight, namespace, 1);
    const release = (): void => this.#count(this.#anonymousInFlight, namespace, -1);
    settled.then(release, release);
  }

  /**
   * Queues `job` and resolves with its record; never rejects once accepted. Throws a coded error if the job is
   * refused.
   */
  submit(job: J, options: SubmitOptions = {}): Promise<StoredActivation> {
    const anonymous = options.anonymous === true;
    if (options.internal === true) {
      if (this.#closed) throw ewError('EW_ENGINE_CLOSED', []);
    } else {
      this.checkAdmission(job.namespace, anonymous);
    }
    this.#count(this.#inFlight, job.namespace, 1);
    if (anonymous) this.#count(this.#anonymousInFlight, job.namespace, 1);
    const { signal } = options;
    if (signal === undefined) {
      return anonymous
        ? this.#queue.add(() => this.#execute(job, true), { priority: ANONYMOUS_PRIORITY })
        : this.#queue.add(() => this.#execute(job, false));
    }
    // p-queue drops a waiting task whose signal aborts, but also abandons a running one: so the queue gets its own
    // signal, which follows the caller's only until the job starts.
    const waiting = new AbortController();
    const onGone = (): void => waiting.abort();
    if (signal.aborted) waiting.abort();
    else signal.addEventListener('abort', onGone, { once: true });
    const task = (): Promise<StoredActivation> => {
      signal.removeEventListener('abort', onGone);
      return this.#execute(job, anonymous);
    };
    return this.#queue
      .add(task, { signal: waiting.signal, ...(anonymous ? { priority: ANONYMOUS_PRIORITY } : {}) })
      .catch(() => this.#settle(job, anonymous, this.#handlers.cancel));
  }

  /** Waits up to `ms` for all work to finish; returns whether it did. Accepts no new work from now on. */
  async drain(ms: number): Promise<boolean> {
    this.#closed = true;
    if (this.#queue.size === 0 && this.#queue.pending === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([this.#queue.onIdle().then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Makes every job that has not started settle at once with its abort record (as the queue reaches it, without
   * touching a container). Resolves when the queue is empty.
   */
  async abortQueued(): Promise<void> {
    this.#closed = true;
    this.#aborting = true;
    await this.#queue.onEmpty();
  }

  #execute(job: J, anonymous: boolean): Promise<StoredActivation> {
    return this.#settle(job, anonymous, this.#aborting ? this.#handlers.abort : this.#handlers.run);
  }

  /** Settles `job` through `handler` (its abort record if that fails) and gives its place in flight back. */
  async #settle(job: J, anonymous: boolean, handler: (job: J) => Promise<StoredActivation>): Promise<StoredActivation> {
    try {
      return await handler(job);
    } catch {
      return await this.#handlers.abort(job);
    } finally {
      this.#count(this.#inFlight, job.namespace, -1);
      if (anonymous) this.#count(this.#anonymousInFlight, job.namespace, -1);
    }
  }

  #count(counts: Map<string, number>, namespace: string, delta: number): void {
    const next = (counts.get(namespace) ?? 0) + delta;
    if (next <= 0) counts.delete(namespace);
    else counts.set(namespace, next);
  }
}
