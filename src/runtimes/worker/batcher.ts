/**
 * Coalesces messages to a MessagePort. The first message after a quiet period goes out at once (no added latency);
 * messages that follow within the same turn of the event loop are sent together as one batch at the next
 * `setImmediate`. Under a burst this turns thousands of `postMessage` calls (each a copy and a cross-thread wakeup)
 * into a few, and keeps the order of all messages.
 *
 * A batch is bounded: once the waiting messages weigh `maxWeight` (about their size in bytes) they go out at once,
 * even in the middle of a turn. Code that never yields (a loop printing millions of lines) would otherwise build one
 * batch of everything, which the receiving thread must then take in one piece, blocking its event loop for seconds.
 */
export interface Port {
  postMessage(message: unknown): void;
}

export interface Batch<T> {
  readonly t: 'batch';
  readonly items: T[];
}

export function isBatch<T>(message: unknown): message is Batch<T> {
  return typeof message === 'object' && message !== null && (message as { t?: unknown }).t === 'batch';
}

export interface BatcherOptions<T> {
  /** Gets what a deferred `postMessage` throws (it runs in a timer, where a throw would be uncaught). */
  readonly onError: (error: unknown) => void;
  /** About how many bytes a message carries. @default every message weighs 1 */
  readonly weigh?: (message: T) => number;
  /** A batch is sent as soon as it weighs this much. @default Infinity */
  readonly maxWeight?: number;
  /**
   * Folds `next` into `last`, the newest message still waiting, when they can travel as one (e.g. log lines of one
   * stream); returns whether it did.
   */
  readonly merge?: (last: T, next: T) => boolean;
}

export class Batcher<T> {
  readonly #port: Port;
  readonly #onError: (error: unknown) => void;
  readonly #weigh: (message: T) => number;
  readonly #maxWeight: number;
  readonly #merge: ((last: T, next: T) => boolean) | undefined;
  #pending: T[] = [];
  #weight = 0;
  #window = false;

  constructor(port: Port, options: BatcherOptions<T>) {
    this.#port = port;
    this.#onError = options.onError;
    this.#weigh = options.weigh ?? (() => 1);
    this.#maxWeight = options.maxWeight ?? Number.POSITIVE_INFINITY;
    this.#merge = options.merge;
  }

  send(message: T): void {
    if (!this.#window) {
      this.#window = true;
      this.#port.postMessage(message);
      setImmediate(() => this.#flush());
      return;
    }
    const last = this.#pending.at(-1);
    if (last === undefined || this.#merge === undefined || !this.#merge(last, message)) this.#pending.push(message);
    this.#weight += this.#weigh(message);
    if (this.#weight >= this.#maxWeight) this.flush();
  }

  /** Sends what waits now, in order (e.g. before the thread ends). */
  flush(): void {
    const items = this.#pending;
    if (items.length === 0) return;
    this.#pending = [];
    this.#weight = 0;
    this.#port.postMessage(items.length === 1 ? items[0] : ({ t: 'batch', items } satisfies Batch<T>));
  }

  #flush(): void {
    if (this.#pending.length === 0) {
      this.#window = false;
      return;
    }
    try {
      this.flush();
    } catch (error) {
      this.#onError(error);
    }
    // Keep the window open one more turn: a burst usually continues.
    setImmediate(() => this.#flush());
  }
}
