/**
 * The engine database's schema: one file per engine holds activation records, entities, accepted invocations
 * with the dead letters, and feeds. Migrations run in order and `user_version` counts those applied; never edit one that has
 * shipped: append another.
 */
export const ENGINE_MIGRATIONS: readonly string[] = [
  // 1: activation records, newest by start first (as the memory store lists them)
  `CREATE TABLE activations (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     namespace TEXT NOT NULL,
     name TEXT NOT NULL,
     start INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     doc TEXT NOT NULL
   );
   CREATE INDEX activations_by_name ON activations (namespace, name, start);
   CREATE INDEX activations_by_start ON activations (namespace, start);`,
  // 2: entities (actions, triggers with their rule states, rules, packages), one key space per namespace
  `CREATE TABLE entities (
     key TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     doc TEXT NOT NULL
   );`,
  // 3: accepted invocations not yet finished, oldest first, and the dead letters among the finished
  `CREATE TABLE accepted (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     namespace TEXT NOT NULL,
     target TEXT NOT NULL,
     payload TEXT NOT NULL,
     accepted_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     progress TEXT
   );
   CREATE TABLE dead_letters (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     namespace TEXT NOT NULL,
     target TEXT NOT NULL,
     payload TEXT NOT NULL,
     accepted_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL,
     failed_at INTEGER NOT NULL,
     reason TEXT NOT NULL
   );
   CREATE INDEX dead_letters_by_namespace ON dead_letters (namespace, seq);`,
  // 4: feeds (docs/feeds.md): one per trigger, its provider's config and saved state
  `CREATE TABLE feeds (
     trigger TEXT PRIMARY KEY,
     feed TEXT NOT NULL,
     doc TEXT NOT NULL
   );`,
];
