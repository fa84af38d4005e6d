/**
 * A node's status while activations are in flight: "queued n", "running n", then the last outcome.
 *
 * Updates are coalesced to at most one every 100 ms: a burst of thousands of messages would otherwise send
 * thousands of status events to the editor, and counting is O(1) per activation.
 */
import type { NodeStatus } from './red-types';

const INTERVAL_MS = 100;

export class ProgressStatus {
  readonly #show: (status: NodeStatus) => void;
  readonly #running = new Set<string>();
  readonly #queued = new Set<string>();
  #last: NodeStatus = {};
  #shown = '';
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(show: (status: NodeStatus) => void) {
    this.#show = show;
  }

  queued(activationId: string): void {
    this.#queued.add(activationId);
    this.#schedule();
  }

  started(activationId: string): void {
    if (!this.#queued.delete(activationId)) return;
    this.#running.add(activationId);
    this.#schedule();
  }

  /** An activation ended; `outcome` becomes the status once nothing is in flight. */
  finished(activationId: string, outcome: NodeStatus): void {
    this.#queued.delete(activationId);
    this.#running.delete(activationId);
    this.#last = outcome;
    this.#schedule();
  }

  /** Shows `status` at once, even while activations run (deploy-time problems, refusals), and keeps it as the last outcome. */
  now(status: NodeStatus): void {
    if (this.#closed) return;
    this.#last = status;
    this.#shown = JSON.stringify(status);
    this.#show(status);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    // The first change shows at once; later ones within the interval are folded into one update.
    this.#render();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#render();
    }, INTERVAL_MS);
    this.#timer.unref();
  }

  #render(): void {
    if (this.#closed) return;
    const running = this.#running.size;
    const queued = this.#queued.size;
    let status: NodeStatus;
    if (running > 0) status = { fill: 'blue', shape: 'dot', text: queued > 0 ? `running ${running}, queued ${queued}` : `running ${running}` };
    else if (queued > 0) status = { fill: 'yellow', shape: 'ring', text: `queued ${queued}` };
    else status = this.#last;
    const key = JSON.stringify(status);
    if (key === this.#shown) return;
    this.#shown = key;
    this.#show(status);
  }
}
