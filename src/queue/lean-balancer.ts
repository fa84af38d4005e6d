/**
 * The lean load balancer: one in-memory queue in front of the co-located invoker, as in Lean OpenWhisk, but
 * bounded. Admission refuses work with OpenWhisk's 429 messages instead of letting the backlog grow without bound,
 * and every accepted invocation settles with a record, including the ones still queued when the engine closes.
 *
 * A queued invocation costs one p-queue task and one closure: with a 100,000 backlog the live objects per job are
 * what the garbage collector has to walk, so nothing else is allocated per job here.
 */
import PQueue from 'p-queue';
import type { StoredActivation } from '../activations/record';
import { ewError } from '../errors';

export interface BalancerOptions {
  readonly maxQueued: number;
  readonly concurrentInvocations: number;
  readonly dispatchConcurrency: number;
}

export interface QueuedJob {
  readonly namespace: string;
}

export interface BalancerHandlers<J extends QueuedJob> {
  /** Runs the job to its stored record; must never reject. */
  readonly run: (job: J) => Promise<StoredActivation>;
  /** Stores and returns the record a job settles with when the engine closes before it starts. */
  readonly abort: (job: J) => Promise<StoredActivation>;
}

export class LeanBalancer<J extends QueuedJob> {
  readonly #options: BalancerOptions;
  readonly #handlers: BalancerHandlers<J>;
  readonly #queue: PQueue;
  readonly #inFlight = new Map<string, number>();
  #closed = false;
  #aborting = false;

  constructor(options: BalancerOptions, handlers: BalancerHandlers<J>) {
    this.#options = options;
    this.#handlers = handlers;
    this.#queue = new PQueue({ concurrency: options.dispatchConcurrency });
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

  /**
   * Throws the 429 (or 503 after close) a new invocation would get, without enqueuing anything. Lets a caller that
   * fans out (a trigger, a sequence) refuse up front.
   */
  checkAdmission(namespace: string): void {
    if (this.#closed) throw ewError('EW_ENGINE_CLOSED', []);
    const count = this.inFlight(namespace);
    if (count >= this.#options.concurrentInvocations) {
      throw ewError('EW_THROTTLED_CONCURRENT', [count, this.#options.concurrentInvocations], { namespace });
    }
    if (this.#queue.size >= this.#options.maxQueued) {
      throw ewError('EW_QUEUE_FULL', [this.#queue.size, this.#options.maxQueued]);
    }
  }

  /**
   * Queues `job` and resolves with its record; never rejects once accepted. Throws a coded error if the job is
   * refused. `internal` jobs (sequence components) skip the namespace limit, which the sequence as a whole already
   * passed, but not the closed check.
   */
  submit(job: J, internal = false): Promise<StoredActivation> {
    if (internal) {
      if (this.#closed) throw ewError('EW_ENGINE_CLOSED', []);
    } else {
      this.checkAdmission(job.namespace);
    }
    this.#inFlight.set(job.namespace, this.inFlight(job.namespace) + 1);
    return this.#queue.add(() => this.#execute(job));
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

  async #execute(job: J): Promise<StoredActivation> {
    try {
      return await (this.#aborting ? this.#handlers.abort(job) : this.#handlers.run(job));
    } catch {
      return await this.#handlers.abort(job);
    } finally {
      const left = this.inFlight(job.namespace) - 1;
      if (left <= 0) this.#inFlight.delete(job.namespace);
      else this.#inFlight.set(job.namespace, left);
    }
  }
}
