/**
 * Feeds on disk (schema.ts migration 4): written through in their own transaction, like entities. A feed changes at
 * its lifecycle events and, for schedules, once per fire, so one small commit each costs nothing that matters.
 */
import type { StatementSync } from 'node:sqlite';
import type { FeedJournal, FeedRecord } from '../feeds/feed-journal';
import { storeError, type OpenedDatabase } from './sqlite-database';

export class SqliteFeedJournal implements FeedJournal {
  readonly #opened: OpenedDatabase;
  readonly #put: StatementSync;
  readonly #delete: StatementSync;

  constructor(opened: OpenedDatabase) {
    this.#opened = opened;
    this.#put = opened.db.prepare('INSERT OR REPLACE INTO feeds (trigger, feed, doc) VALUES (?, ?, ?)');
    this.#delete = opened.db.prepare('DELETE FROM feeds WHERE trigger = ?');
  }

  load(): FeedRecord[] {
    const rows = this.#opened.db.prepare('SELECT doc FROM feeds ORDER BY trigger').all() as { doc: string }[];
    return rows.map((row) => JSON.parse(row.doc) as FeedRecord);
  }

  put(record: FeedRecord): void {
    try {
      this.#put.run(record.trigger, record.feed, JSON.stringify(record));
    } catch (error) {
      throw storeError(error, this.#opened.path);
    }
  }

  delete(trigger: string): void {
    try {
      this.#delete.run(trigger);
    } catch (error) {
      throw storeError(error, this.#opened.path);
    }
  }
}
