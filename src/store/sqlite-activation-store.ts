/**
 * Activation records in SQLite (sqlite-database.ts), so the history survives a restart, a kill -9 or a power cut.
 *
 * Writes are grouped (group-commit.ts): records put during one event-loop turn are committed together on the next
 * turn, with the rest of the engine's writes, so one fsync covers a burst instead of one per record; until then they
 * are served from memory, so a reader never misses a
 * record the engine has announced. Bounded like the memory store: the newest `retention` records within `maxBytes`
 * (record-size.ts), oldest dropped first, checked every `PRUNE_EVERY` commits so a busy engine does not pay a
 * DELETE per record; the file is kept bounded by SQLite reusing the freed pages.
 */
import type { StatementSync } from 'node:sqlite';
import type { ActivationQuery, ActivationStore } from '../activations/activation-store';
import type { StoredActivation } from '../activations/record';
import { recordBytes } from '../activations/record-size';
import { DEFAULTS } from '../options';
import { ENGINE_MIGRATIONS } from './schema';
import { GroupCommit, type BatchPart } from './group-commit';
import { openDatabase, type OpenedDatabase } from './sqlite-database';

/** Commits between prunes. */
const PRUNE_EVERY = 64;

export interface SqliteActivationStoreOptions {
  /** The database file (opened here, closed with the store), or a database the caller opened and closes. */
  readonly path?: string;
  readonly database?: OpenedDatabase;
  /** The database's writer, shared with the engine's other durable parts; one is made when absent. */
  readonly writer?: GroupCommit;
  /** @default DEFAULTS.activationRetention */
  readonly retention?: number;
  /** @default DEFAULTS.activationRetentionBytes */
  readonly maxBytes?: number;
  /** Records that started more than this many ms ago are dropped. @default DEFAULTS.activationRetentionAge */
  readonly maxAge?: number;
}

export class SqliteActivationStore implements ActivationStore {
  readonly opened: OpenedDatabase;
  readonly writer: GroupCommit;
  readonly #retention: number;
  readonly #maxBytes: number;
  readonly #maxAge: number;
  /** Put but not yet committed, by id (served from here until then). */
  #pending = new Map<string, StoredActivation>();
  /** Records and their bytes on disk, kept as they are written, so a prune knows without scanning when it has work. */
  #count = 0;
  #bytes = 0;
  #commits = 0;
  #closed = false;
  readonly #ownsDatabase: boolean;
  readonly #insert: StatementSync;
  readonly #get: StatementSync;
  readonly #part: BatchPart;
  /** Statements by SQL text, prepared once (list and count build theirs from the query's filters). */
  readonly #statements = new Map<string, StatementSync>();

  constructor(options: SqliteActivationStoreOptions) {
    this.#retention = options.retention ?? DEFAULTS.activationRetention;
    this.#maxBytes = options.maxBytes ?? DEFAULTS.activationRetentionBytes;
    this.#maxAge = options.maxAge ?? DEFAULTS.activationRetentionAge;
    const given = options.writer?.opened ?? options.database;
    if (given === undefined && options.path === undefined) throw new TypeError('Expected `path`, `database` or `writer`');
    this.#ownsDatabase = given === undefined;
    this.opened = given ?? openDatabase(options.path as string, ENGINE_MIGRATIONS);
    this.writer = options.writer ?? new GroupCommit(this.opened);
    const { db } = this.opened;
    this.#insert = db.prepare('INSERT OR REPLACE INTO activations (id, namespace, name, start, bytes, doc) VALUES (?, ?, ?, ?, ?, ?)');
    this.#get = db.prepare('SELECT doc FROM activations WHERE id = ?');
    this.#recount();
    let batch = new Map<string, StoredActivation>();
    this.#part = {
      write: () => {
        batch = this.#pending;
        this.#pending = new Map();
        for (const r of batch.values()) {
          const bytes = recordBytes(r);
          this.#insert.run(r.activationId, r.namespace, r.name, r.start, bytes, JSON.stringify(r));
          this.#count++;
          this.#bytes += bytes;
        }
      },
      failed: (error) => {
        this.#recount();
        // Kept in memory, newest winning, for the next commit; a full disk is reported, never thrown at the engine.
        for (const [id, r] of batch) if (!this.#pending.has(id)) this.#pending.set(id, r);
        batch = new Map();
        process.emitWarning(`EdgeWhisk could not store activation records: ${String(error)}`, 'EdgeWhiskWarning');
      },
      committed: () => {
        batch = new Map();
        if (++this.#commits % PRUNE_EVERY === 0) this.prune();
      },
    };
  }

  put(record: StoredActivation): void {
    if (this.#closed) return;
    this.#pending.set(record.activationId, record);
    // Nobody waits for a record to be durable: it rides along with the next commit (group-commit.ts).
    if (!this.writer.closed) this.writer.add(this.#part, false);
  }

  /** Commits what was put since the last commit (with everything else the writer holds), in one transaction. */
  flush(): void {
    if (this.#pending.size > 0 && !this.writer.closed) this.writer.add(this.#part, false);
    this.writer.flush();
  }

  /**
   * Drops the oldest records beyond `retention` or `maxBytes`, and those older than `maxAge`; the newest record always
   * stays, however large or old, as in the memory store. Costs a lookup of the oldest record unless a bound is passed.
   */
  prune(): void {
    let deleted = false;
    const cutoff = Date.now() - this.#maxAge;
    // Records are written about in start order: the first by seq says whether any is past the age bound.
    const oldest = this.#statement('SELECT start FROM activations ORDER BY seq LIMIT 1').get() as { start: number } | undefined;
    if (oldest !== undefined && oldest.start < cutoff) {
      this.#statement('DELETE FROM activations WHERE start < ? AND seq < (SELECT MAX(seq) FROM activations)').run(cutoff);
      deleted = true;
    }
    if (this.#count > this.#retention) {
      this.#statement('DELETE FROM activations WHERE seq IN (SELECT seq FROM activations ORDER BY seq DESC LIMIT -1 OFFSET ?)').run(this.#retention);
      deleted = true;
    }
    if (deleted) this.#recount();
    if (this.#bytes <= this.#maxBytes) return;
    // The newest records that fit in maxBytes stay: cut at the first (newest-first) running total over the bound.
    const cut = this.#statement(
      'SELECT seq FROM (SELECT seq, SUM(bytes) OVER (ORDER BY seq DESC) AS total FROM activations) WHERE total > ? ORDER BY seq DESC LIMIT 1',
    ).get(this.#maxBytes) as { seq: number } | undefined;
    if (cut !== undefined) this.#statement('DELETE FROM activations WHERE seq <= ? AND seq < (SELECT MAX(seq) FROM activations)').run(cut.seq);
    this.#recount();
  }

  #recount(): void {
    const row = this.#statement('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM activations').get() as { n: number; b: number };
    this.#count = Number(row.n);
    this.#bytes = Number(row.b);
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.opened.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  get(activationId: string): StoredActivation | undefined {
    const pending = this.#pending.get(activationId);
    if (pending !== undefined) return pending;
    if (this.#closed) return undefined;
    const row = this.#get.get(activationId) as { doc: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.doc) as StoredActivation);
  }

  /** Newest start first; records that started together in the order they were put (as the memory store). */
  list(query: ActivationQuery): StoredActivation[] {
    this.flush();
    if (this.#closed) return [];
    const { sql, args } = where(query);
    const rows = this.#statement(`SELECT doc FROM activations ${sql} ORDER BY start DESC, seq ASC LIMIT ? OFFSET ?`).all(...args, query.limit, query.skip) as { doc: string }[];
    return rows.map((row) => JSON.parse(row.doc) as StoredActivation);
  }

  count(query: Omit<ActivationQuery, 'skip' | 'limit'>): number {
    this.flush();
    if (this.#closed) return 0;
    const { sql, args } = where(query);
    return Number((this.#statement(`SELECT COUNT(*) AS n FROM activations ${sql}`).get(...args) as { n: number }).n);
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    if (this.#ownsDatabase) {
      this.writer.close();
      this.opened.db.close();
    }
  }
}

function where(query: Omit<ActivationQuery, 'skip' | 'limit'>): { sql: string; args: (string | number)[] } {
  const clauses = ['namespace = ?'];
  const args: (string | number)[] = [query.namespace];
  if (query.name !== undefined) {
    clauses.push('name = ?');
    args.push(query.name);
  }
  if (query.since !== undefined) {
    clauses.push('start >= ?');
    args.push(query.since);
  }
  if (query.upto !== undefined) {
    clauses.push('start <= ?');
    args.push(query.upto);
  }
  return { sql: `WHERE ${clauses.join(' AND ')}`, args };
}
