/**
 * The one writer of an engine database. Everything the engine writes during one event-loop turn (acceptances of
 * new invocations, start marks, finished records with the deletion of their accepted entries) is committed in one
 * transaction on the next turn: one fsync covers a burst, and a record and the end of its invocation's acceptance
 * become durable together or not at all.
 *
 * A part that cannot be committed (a full disk) is told so and may keep its data for the next commit; those waiting
 * on the commit are rejected with the engine's coded error.
 */
import { ewError } from '../errors';
import { storeError, type OpenedDatabase } from './sqlite-database';

export interface BatchPart {
  /** Runs its statements inside the batch's transaction; a throw rolls back the whole batch. */
  write(): void;
  /** The batch this part was in was rolled back. */
  failed?(error: unknown): void;
  /** The batch this part was in is durable. */
  committed?(): void;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommit {
  readonly opened: OpenedDatabase;
  #parts: BatchPart[] = [];
  #waiters: Waiter[] = [];
  #scheduled = false;
  #closed = false;
  /** Transactions committed so far (benchmarks divide bytes written by it). */
  commits = 0;

  constructor(opened: OpenedDatabase) {
    this.opened = opened;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Adds `part` to the next commit. */
  add(part: BatchPart): void {
    this.#parts.push(part);
    this.#schedule();
  }

  /** Resolves once everything added so far is durable; rejects if that commit failed. */
  committed(): Promise<void> {
    if (this.#parts.length === 0) return Promise.resolve();
    if (this.#closed) return Promise.reject(ewError('EW_ENGINE_CLOSED', []));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Commits what was added since the last commit, now, in one transaction. */
  flush(): void {
    this.#scheduled = false;
    if (this.#parts.length === 0 || this.#closed) return;
    const parts = this.#parts;
    const waiters = this.#waiters;
    this.#parts = [];
    this.#waiters = [];
    const { db, path } = this.opened;
    try {
      db.exec('BEGIN IMMEDIATE');
      for (const part of parts) part.write();
      db.exec('COMMIT');
    } catch (error) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // Nothing to roll back: the failure came before BEGIN took effect.
      }
      const coded = storeError(error, path);
      for (const part of parts) part.failed?.(coded);
      for (const waiter of waiters) waiter.reject(coded);
      return;
    }
    this.commits++;
    for (const part of parts) part.committed?.();
    for (const waiter of waiters) waiter.resolve();
  }

  /** Commits what is pending and accepts nothing more; the caller closes the database. */
  close(): void {
    this.flush();
    this.#closed = true;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }
}
