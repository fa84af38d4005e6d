/**
 * One SQLite database file per engine, through Node's built-in `node:sqlite` (Node.js ≥ 22.13): no native build, so
 * it installs where the Home Assistant add-on has no compiler, and offline.
 *
 * - WAL journal with `synchronous = FULL`: a committed transaction survives a power cut, and writers append to the
 *   log instead of rewriting the file (SD cards wear by rewrites). Callers batch their writes per event-loop turn, so
 *   one fsync covers many records.
 * - The schema version is SQLite's `user_version`; migrations run in order, each in its own transaction.
 * - A damaged or truncated file is moved aside (with its WAL and shared-memory files) under a name that says so, and
 *   a fresh database is started: never silently overwritten, never a crash of the process that embeds the engine.
 */
import { existsSync, renameSync } from 'node:fs';
import type { DatabaseSync } from 'node:sqlite';
import { ewError } from '../errors';

/** SQLite's primary result codes this module tells apart (https://www.sqlite.org/rescode.html). */
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_NOTADB = 26;

export interface OpenedDatabase {
  readonly db: DatabaseSync;
  readonly path: string;
  /** Set when the file at `path` was damaged: where it was moved, and why. */
  readonly movedAside?: { readonly to: string; readonly reason: string };
}

function primaryCode(error: unknown): number | undefined {
  const code = (error as { errcode?: unknown }).errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

/** Whether `error` says the file is not a usable database (rather than, say, a permission problem). */
export function isDamage(error: unknown): boolean {
  const code = primaryCode(error);
  return code === SQLITE_CORRUPT || code === SQLITE_NOTADB;
}

/** Turns SQLite's "disk full" into the engine's coded error; anything else is returned as it is. */
export function storeError(error: unknown, path: string): unknown {
  return primaryCode(error) === SQLITE_FULL ? ewError('EW_STORE_FULL', [path]) : error;
}

function sqlite(): typeof import('node:sqlite') {
  // Required when a durable store is opened, not when the package loads: an engine with the memory store never
  // touches it (and Node.js 22 prints an experimental-feature warning on its first load).
  return require('node:sqlite') as typeof import('node:sqlite');
}

function openChecked(path: string, migrations: readonly string[]): DatabaseSync {
  const { DatabaseSync } = sqlite();
  const db = new DatabaseSync(path);
  try {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    // After each checkpoint (SQLite's default: every 1,000 pages) the WAL file is cut back to 4 MB, so a burst does
    // not leave a large log file behind on a small SD card.
    db.exec('PRAGMA journal_size_limit = 4194304');
    db.exec('PRAGMA busy_timeout = 5000');
    const check = db.prepare('PRAGMA quick_check').get() as { quick_check?: unknown } | undefined;
    if (check?.quick_check !== 'ok') {
      throw Object.assign(new Error(`quick_check: ${String(check?.quick_check)}`), { errcode: SQLITE_CORRUPT });
    }
    const version = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
    if (version > migrations.length) {
      throw new Error(`${path} has schema version ${version}, newer than this EdgeWhisk knows (${migrations.length}): it was written by a newer version`);
    }
    for (let v = version; v < migrations.length; v++) {
      db.exec('BEGIN IMMEDIATE');
      try {
        db.exec(migrations[v] as string);
        db.exec(`PRAGMA user_version = ${v + 1}`);
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Opens (or creates) the database at `path` with `migrations` applied; a damaged file is moved aside first. */
export function openDatabase(path: string, migrations: readonly string[]): OpenedDatabase {
  try {
    return { db: openChecked(path, migrations), path };
  } catch (error) {
    if (!isDamage(error)) throw storeError(error, path);
    const to = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(path + suffix)) renameSync(path + suffix, to + suffix);
    }
    const reason = error instanceof Error ? error.message : String(error);
    return { db: openChecked(path, migrations), path, movedAside: { to, reason } };
  }
}
