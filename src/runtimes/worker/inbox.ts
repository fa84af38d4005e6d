/**
 * Takes the messages of worker threads in slices of the host's event loop. Node.js hands a MessagePort's queued
 * messages over in one go; when a flooding action has queued a hundred batches of log lines, storing them all would
 * hold the host's event loop for a few hundred milliseconds, and every other flow, timer and HTTP request with it.
 *
 * So handling shares a budget per turn of the event loop, across all workers: past `SLICE_MS`, what arrives waits
 * (in order, per worker) and is handled in the following turns. An answer waits behind the log lines sent before it,
 * so a record still gets all its lines. Normal traffic never reaches the budget and is handled at once.
 */
import { performance } from 'node:perf_hooks';

/** Handling time per turn of the event loop, in ms. */
export const SLICE_MS = 10;

/** The current turn's start, shared by every inbox; NaN between turns. */
let turnStart = Number.NaN;

function beginTurn(): number {
  if (Number.isNaN(turnStart)) {
    turnStart = performance.now();
    // Cleared after this turn's I/O callbacks, where MessagePorts deliver.
    setImmediate(() => {
      turnStart = Number.NaN;
    });
  }
  return turnStart;
}

function overBudget(): boolean {
  return performance.now() - beginTurn() > SLICE_MS;
}

export class Inbox<T> {
  readonly #handle: (message: T) => void;
  #queue: T[] = [];
  #head = 0;
  #scheduled = false;

  constructor(handle: (message: T) => void) {
    this.#handle = handle;
  }

  push(messages: readonly T[]): void {
    if (this.#head < this.#queue.length) {
      // Earlier messages still wait: these go behind them.
      for (const message of messages) this.#queue.push(message);
      return;
    }
    beginTurn();
    for (let i = 0; i < messages.length; i++) {
      if (overBudget()) {
        this.#queue = messages.slice(i);
        this.#head = 0;
        this.#schedule();
        return;
      }
      this.#handle(messages[i] as T);
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#drain();
    });
  }

  #drain(): void {
    beginTurn();
    while (this.#head < this.#queue.length) {
      if (overBudget()) {
        this.#schedule();
        return;
      }
      const message = this.#queue[this.#head] as T;
      this.#queue[this.#head] = undefined as T;
      this.#head++;
      this.#handle(message);
    }
    this.#queue = [];
    this.#head = 0;
  }
}
