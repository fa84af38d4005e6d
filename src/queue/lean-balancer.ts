/**
 * The lean load balancer: one in-memory queue in front of the co-located invoker, as in Lean OpenWhisk, but
 * bounded. Admission refuses work with OpenWhisk's 429 messages instead of letting the backlog grow without bound,
 * and every accepted invocation settles with a record, including the ones still queued when the engine closes.
 */
import PQueue from 'p-queue';
import type { StoredActivation } from '../activations/record';
import { ewError } from '../errors';

export interface BalancerOptions {
  readonly maxQueued: number;
  readonly concurrentInvocations: number;
  readonly dispatchConcurrency: number;
}

export interface QueuedWork {
  readonly namespace: string;
  /** Runs the activation; must never reject. */
  readonly run: () => Promise<StoredActivation>;
  /** The record to settle with if the engine closes before the work starts. */
  readonly abort: () => StoredActivation;
}

interface Pending {
  readonly work: QueuedWork;
  readonly resolve: (record: StoredActivation) => void;
  started: boolean;
  settled: boolean;
}

export class LeanBalancer {
  readonly #options: BalancerOptions;
  readonly #queue: PQueue;
  readonly #inFlight = new Map<string, number>();
  readonly #pending = new Set<Pending>();
  #closed = false;

  constructor(options: BalancerOptions) {
    this.#options = options;
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
   * Queues `work`. Throws a coded error if it is refused. `internal` work (sequence components) skips the
   * namespace limit, which the sequence as a whole already passed, but not the backlog bound.
   */
  submit(work: QueuedWork, internal = false): Promise<StoredActivation> {
    if (internal) {
      if (this.#closed) throw ewError('EW_ENGINE_CLOSED', []);
    } else {
      this.checkAdmission(work.namespace);
    }
    this.#inFlight.set(work.namespace, this.inFlight(work.namespace) + 1);
    return new Promise<StoredActivation>((resolve) => {
      const pending: Pending = { work, resolve, started: false, settled: false };
      this.#pending.add(pending);
      const task = async (): Promise<void> => {
        if (pending.settled) return;
        pending.started = true;
        let record: StoredActivation;
        try {
          record = await work.run();
        } catch {
          record = work.abort();
        }
        this.#settle(pending, record);
      };
      // The task catches everything; the extra catch only keeps p-queue's own promise from ever going unhandled.
      this.#queue.add(task).catch(() => this.#settle(pending, work.abort()));
    });
  }

  /** Waits up to `ms` for all work to finish; returns whether it did. */
  async drain(ms: number): Promise<boolean> {
    this.#closed = true;
    if (this.#pending.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const idle = this.#queue.onIdle().then(() => true as const);
    try {
      return await Promise.race([idle, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Settles everything that has not started with its abort record and drops it from the queue. */
  abortQueued(): void {
    this.#closed = true;
    this.#queue.clear();
    for (const pending of [...this.#pending]) {
      if (!pending.started) this.#settle(pending, pending.work.abort());
    }
  }

  #settle(pending: Pending, record: StoredActivation): void {
    if (pending.settled) return;
    pending.settled = true;
    this.#pending.delete(pending);
    const left = this.inFlight(pending.work.namespace) - 1;
    if (left <= 0) this.#inFlight.delete(pending.work.namespace);
    else this.#inFlight.set(pending.work.namespace, left);
    pending.resolve(record);
  }
}
