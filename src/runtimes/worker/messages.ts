/** Messages between the worker runtime (host side) and its bootstrap inside the worker thread. */
import type { InitPayload, RunPayload } from '../runtime';

export type ToWorker =
  | { readonly t: 'init'; readonly payload: InitPayload }
  | { readonly t: 'run'; readonly payload: RunPayload };

export type FromWorker =
  /** The bootstrap has loaded and listens: the container is ready for init. */
  | { readonly t: 'ready' }
  | { readonly t: 'init'; readonly status: number; readonly body: string }
  | { readonly t: 'run'; readonly id: string; readonly status: number; readonly body: string }
  /** Output of the activation `id` (empty when it cannot be attributed, e.g. during init). */
  | { readonly t: 'log'; readonly id: string; readonly s: 'stdout' | 'stderr'; readonly x: string; readonly ts: number };
