/**
 * The host's watch on a worker's off-heap memory (Buffers, ArrayBuffers, typed arrays), which its heap limit does
 * not cover. `worker.getHeapStatistics()` runs as an interrupt in the worker, so it answers even while the action
 * spins in a synchronous loop, where no timer of the worker's own would run. The Buffer allocators are checked
 * inside the worker before they allocate (offheap-guard.ts); this catches every other way off-heap memory grows.
 *
 * `worker.getHeapStatistics()` exists from Node.js 22.16 on; on older 22.x only the allocator check applies.
 */
import type { Worker } from 'node:worker_threads';
import { describeOffHeap } from './offheap-guard';

/** How often the worker is asked, in ms: a loop allocating 1 GB/s gets ~100 MB past the limit at most. */
export const WATCH_INTERVAL_MS = 100;

export class OffHeapWatchdog {
  readonly #timer: NodeJS.Timeout | undefined;
  #asking = false;

  /** Starts watching; `exceeded` is called at most once, with the reason. */
  constructor(worker: Worker, limitBytes: number, exceeded: (detail: string) => void) {
    if (typeof worker.getHeapStatistics !== 'function') return;
    let fired = false;
    this.#timer = setInterval(() => {
      if (this.#asking || fired) return;
      this.#asking = true;
      worker.getHeapStatistics().then(
        (stats) => {
          this.#asking = false;
          if (fired || stats.external_memory <= limitBytes) return;
          fired = true;
          exceeded(describeOffHeap(stats.external_memory, limitBytes, 'reached'));
        },
        // The worker ended between two questions: nothing left to watch.
        () => {
          this.#asking = false;
        },
      );
    }, WATCH_INTERVAL_MS);
    // Never what keeps the host alive.
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }
}
