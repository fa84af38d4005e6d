/**
 * Bounded in-memory activation store: keeps the newest `retention` records and drops the oldest first, so a busy
 * flow cannot grow memory without bound (apache/openwhisk#2238 asks for exactly this).
 */
import type { ActivationQuery, ActivationStore } from './activation-store';
import type { StoredActivation } from './record';

export class MemoryActivationStore implements ActivationStore {
  readonly #retention: number;
  readonly #byId = new Map<string, StoredActivation>();
  // Ids in completion order, as a ring: the oldest is at #head. (Dropping a Map's first key looks O(1) but is not:
  // V8 skips every deleted slot to find it, so a full store got slower with each eviction.)
  readonly #order: (string | undefined)[];
  #head = 0;
  #count = 0;

  constructor(retention: number) {
    if (!Number.isInteger(retention) || retention < 1) {
      throw new TypeError(`Expected \`retention\` to be a positive integer, got \`${String(retention)}\``);
    }
    this.#retention = retention;
    this.#order = new Array<string | undefined>(retention);
  }

  get size(): number {
    return this.#byId.size;
  }

  put(record: StoredActivation): void {
    const id = record.activationId;
    if (this.#byId.has(id)) {
      // A rewrite keeps its place in the order; activation ids are unique, so this is rare.
      this.#byId.set(id, record);
      return;
    }
    if (this.#count === this.#retention) {
      const oldest = this.#order[this.#head];
      if (oldest !== undefined) this.#byId.delete(oldest);
      this.#order[this.#head] = id;
      this.#head = (this.#head + 1) % this.#retention;
    } else {
      this.#order[(this.#head + this.#count) % this.#retention] = id;
      this.#count++;
    }
    this.#byId.set(id, record);
  }

  get(activationId: string): StoredActivation | undefined {
    return this.#byId.get(activationId);
  }

  list(query: ActivationQuery): StoredActivation[] {
    const out: StoredActivation[] = [];
    let skipped = 0;
    for (const record of this.#newestFirst()) {
      if (!matches(record, query)) continue;
      if (skipped < query.skip) {
        skipped++;
        continue;
      }
      out.push(record);
      if (out.length >= query.limit) break;
    }
    return out;
  }

  count(query: Omit<ActivationQuery, 'skip' | 'limit'>): number {
    let n = 0;
    for (const record of this.#byId.values()) if (matches(record, query)) n++;
    return n;
  }

  /** Newest start first, as OpenWhisk lists them; records arrive in completion order, so they are sorted here. */
  *#newestFirst(): Generator<StoredActivation> {
    const all = [...this.#byId.values()];
    all.sort((a, b) => b.start - a.start);
    yield* all;
  }
}

function matches(record: StoredActivation, query: Omit<ActivationQuery, 'skip' | 'limit'>): boolean {
  if (record.namespace !== query.namespace) return false;
  if (query.name !== undefined && record.name !== query.name) return false;
  if (query.since !== undefined && record.start < query.since) return false;
  if (query.upto !== undefined && record.start > query.upto) return false;
  return true;
}
