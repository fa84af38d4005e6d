/**
 * Coalesces messages to a MessagePort. The first message after a quiet period goes out at once (no added latency);
 * messages that follow within the same turn of the event loop are sent together as one batch at the next
 * `setImmediate`. Under a burst this turns thousands of `postMessage` calls (each a copy and a cross-thread wakeup)
 * into a few, and keeps the order of all messages.
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

export class Batcher<T> {
  readonly #port: Port;
  readonly #onError: (error: unknown) => void;
  #pending: T[] = [];
  #window = false;

  /** `onError` gets what a deferred `postMessage` throws (it runs in a timer, where a throw would be uncaught). */
  constructor(port: Port, onError: (error: unknown) => void) {
    this.#port = port;
    this.#onError = onError;
  }

  send(message: T): void {
    if (!this.#window) {
      this.#window = true;
      this.#port.postMessage(message);
      setImmediate(() => this.#flush());
      return;
    }
    this.#pending.push(message);
  }

  #flush(): void {
    const items = this.#pending;
    if (items.length === 0) {
      this.#window = false;
      return;
    }
    this.#pending = [];
    try {
      this.#port.postMessage(items.length === 1 ? items[0] : ({ t: 'batch', items } satisfies Batch<T>));
    } catch (error) {
      this.#onError(error);
    }
    // Keep the window open one more turn: a burst usually continues.
    setImmediate(() => this.#flush());
  }
}
