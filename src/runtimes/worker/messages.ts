/** Messages between the worker runtime (host side) and its bootstrap inside the worker thread. */
import type { InitPayload, RunPayload } from '../runtime';

/** What the host passes when it starts the thread (`workerData`). */
export interface WorkerData {
  /** The action's memory limit in bytes: the heap's, and the off-heap memory's. */
  readonly memoryLimit: number;
}

export type ToWorker =
  | { readonly t: 'init'; readonly payload: InitPayload }
  | { readonly t: 'run'; readonly payload: RunPayload };

/** Output of the activation `id` (empty during init): whole lines of one stream, written in the same millisecond. */
export interface LogMessage {
  readonly t: 'log';
  readonly id: string;
  readonly s: 'stdout' | 'stderr';
  readonly ts: number;
  /**
   * The lines joined by newlines (`x.split('\n')` gives them back); one string however many lines it carries, so
   * a batch costs the host one string, not one per line. The worker appends while the message waits to be sent.
   */
  x: string;
}

export type FromWorker =
  /** The bootstrap has loaded and listens: the container is ready for init. */
  | { readonly t: 'ready' }
  | { readonly t: 'init'; readonly status: number; readonly body: string }
  | { readonly t: 'run'; readonly id: string; readonly status: number; readonly body: string }
  | LogMessage
  /** The action's off-heap memory went past its memory limit: the thread ends next, as out of memory. */
  | { readonly t: 'oom'; readonly detail: string };
