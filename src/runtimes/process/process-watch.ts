/**
 * One timer per process runtime that looks at every live container's process tree (process-tree.ts) four times a
 * second: one listing of /proc serves them all. The timer runs only while containers exist and never keeps the
 * engine's process alive.
 */
import { StartTimes } from './proc-fs';

export const WATCH_INTERVAL_MS = 250;

export interface Watched {
  /** Looks at the container's processes, as of this round's refresh of `starts`. Must not throw. */
  check(): void;
}

export class ProcessWatch {
  /** Start times of the host's processes, shared by every container's tree (see ProcessTree). */
  readonly starts = new StartTimes();
  readonly #watched = new Set<Watched>();
  #timer: NodeJS.Timeout | undefined;

  add(watched: Watched): void {
    this.#watched.add(watched);
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), WATCH_INTERVAL_MS);
    this.#timer.unref();
  }

  delete(watched: Watched): void {
    this.#watched.delete(watched);
    if (this.#watched.size > 0 || this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    this.starts.refresh();
    for (const watched of [...this.#watched]) {
      try {
        watched.check();
      } catch {
        // A timer callback that throws would crash the host (Node-RED); a failed look is retried next round.
      }
    }
  }
}
