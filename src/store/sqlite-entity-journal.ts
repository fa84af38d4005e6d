/**
 * Entities on disk: every create, update and delete the engine makes is written through to the engine database
 * (schema.ts) in its own transaction before the call returns, so an entity the API confirmed survives a kill -9 or a
 * power cut. Entities change at deploy time, not per invocation, so the fsync per write costs nothing that matters;
 * reads stay in memory (EntityStore).
 */
import type { StatementSync } from 'node:sqlite';
import type { EntityJournal, JournalEntry } from '../entities/entity-store';
import { storeError, type OpenedDatabase } from './sqlite-database';

export class SqliteEntityJournal implements EntityJournal {
  readonly #opened: OpenedDatabase;
  readonly #put: StatementSync;
  readonly #delete: StatementSync;

  constructor(opened: OpenedDatabase) {
    this.#opened = opened;
    this.#put = opened.db.prepare('INSERT OR REPLACE INTO entities (key, type, doc) VALUES (?, ?, ?)');
    this.#delete = opened.db.prepare('DELETE FROM entities WHERE key = ?');
  }

  load(): JournalEntry[] {
    const rows = this.#opened.db.prepare('SELECT key, type, doc FROM entities').all() as { key: string; type: string; doc: string }[];
    return rows.map((row) => ({ key: row.key, type: row.type as JournalEntry['type'], doc: JSON.parse(row.doc) as JournalEntry['doc'] }));
  }

  put(entry: JournalEntry): void {
    try {
      this.#put.run(entry.key, entry.type, JSON.stringify(entry.doc));
    } catch (error) {
      throw storeError(error, this.#opened.path);
    }
  }

  delete(key: string): void {
    try {
      this.#delete.run(key);
    } catch (error) {
      throw storeError(error, this.#opened.path);
    }
  }
}
