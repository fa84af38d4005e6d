/**
 * The engine database's schema: one file per engine holds activation records and entities (and, later, accepted
 * invocations). Migrations run in order and `user_version` counts those applied; never edit one that has shipped:
 * append another.
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
];
