/**
 * The one writer of an engine database. Writes are grouped: everything written while a commit is pending goes into
 * it, in one transaction, so one fsync covers a burst, and a record and the end of its invocation's acceptance
 * become durable together or not at all (docs/durability.md#group-commit).
 *
 * Two kinds of write. *Urgent* ones have a caller waiting (an acceptance, before its activation id is returned):
 * they are committed on the next event-loop turn. *Lazy* ones have nobody waiting (finished records, start marks):
 * they ride along with the next urgent commit, or are committed `LAZY_COMMIT_MS` later at the latest. `node:sqlite`
 * commits on the main thread, so every commit saved is time the engine gets back: under load, records cost almost
 * no commits of their own.
 *
 * A part that cannot be committed (a full disk) is told so and may keep its data for the next commit; those waiting
 * on the commit are rejected with the engine's coded error.
 */
import { ewError } from '../errors';
import { storeError, type OpenedDatabase } from './sqlite-database';

/** The longest a lazy write waits for a commit: what a power cut can lose of finished records. */
export const LAZY_COMMIT_MS = 10;

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
  /** Parts of the next commit; a part added twice is written once. */
  #parts = new Set<BatchPart>();
  #waiters: Waiter[] = [];
  #urgent: NodeJS.Immediate | undefined;
  #lazy: NodeJS.Timeout | undefined;
  #closed = false;
  /** Transactions committed so far. */
  commits = 0;

  constructor(opened: OpenedDatabase) {
    this.opened = opened;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Adds `part` to the next commit: on the next turn if `urgent`, else within `LAZY_COMMIT_MS`. */
  add(part: BatchPart, urgent = true): void {
    this.#parts.add(part);
    if (urgent) this.#scheduleUrgent();
    else if (this.#urgent === undefined && this.#lazy === undefined) this.#lazy = setTimeout(() => this.flush(), LAZY_COMMIT_MS);
  }

  /** Resolves once everything added so far is durable (committing on the next turn); rejects if that commit failed. */
  committed(): Promise<void> {
    if (this.#parts.size === 0) return Promise.resolve();
    if (this.#closed) return Promise.reject(ewError('EW_ENGINE_CLOSED', []));
    this.#scheduleUrgent();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Commits what was added since the last commit, now, in one transaction. */
  flush(): void {
    if (this.#urgent !== undefined) clearImmediate(this.#urgent);
    if (this.#lazy !== undefined) clearTimeout(this.#lazy);
    this.#urgent = undefined;
    this.#lazy = undefined;
    if (this.#parts.size === 0 || this.#closed) return;
    const parts = this.#parts;
    const waiters = this.#waiters;
    this.#parts = new Set();
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

  #scheduleUrgent(): void {
    if (this.#urgent !== undefined) return;
    if (this.#lazy !== undefined) clearTimeout(this.#lazy);
    this.#lazy = undefined;
    this.#urgent = setImmediate(() => this.flush());
  }
}
