/**
 * Where activation records live. The engine depends only on this contract; the in-memory store is the default
 * and a persistent store can replace it later without touching the engine.
 */
import type { StoredActivation } from './record';

export interface ActivationQuery {
  readonly namespace: string;
  /** Entity name filter. */
  readonly name?: string;
  /** Only records that started at or after this epoch ms. */
  readonly since?: number;
  /** Only records that started at or before this epoch ms. */
  readonly upto?: number;
  readonly skip: number;
  readonly limit: number;
}

export interface ActivationStore {
  put(record: StoredActivation): void | Promise<void>;
  get(activationId: string): StoredActivation | undefined | Promise<StoredActivation | undefined>;
  /** Matching records, newest first. */
  list(query: ActivationQuery): StoredActivation[] | Promise<StoredActivation[]>;
  count(query: Omit<ActivationQuery, 'skip' | 'limit'>): number | Promise<number>;
  close?(): void | Promise<void>;
}
