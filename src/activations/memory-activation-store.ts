/**
 * Bounded in-memory activation store: keeps the newest `retention` records within `maxBytes` (see record-size.ts)
 * and drops the oldest first, so a busy flow cannot grow memory without bound (apache/openwhisk#2238 asks for
 * exactly this), nor can a few records with 10 MB of logs each.
 */
import { DEFAULTS } from '../options';
import type { ActivationQuery, ActivationStore } from './activation-store';
import type { StoredActivation } from './record';
import { recordBytes } from './record-size';

interface Entry {
  readonly record: StoredActivation;
  readonly bytes: number;
}

export class MemoryActivationStore implements ActivationStore {
  readonly #retention: number;
  readonly #maxBytes: number;
  readonly #byId = new Map<string, Entry>();
  // Ids in completion order, as a ring: the oldest is at #head. (Dropping a Map's first key looks O(1) but is not:
  // V8 skips every deleted slot to find it, so a full store got slower with each eviction.)
  readonly #order: (string | undefined)[];
  #head = 0;
  #count = 0;
  #bytes = 0;

  readonly #maxAge: number;

  constructor(retention: number, maxBytes: number = DEFAULTS.activationRetentionBytes, maxAge: number = DEFAULTS.activationRetentionAge) {
    if (!Number.isInteger(retention) || retention < 1) {
      throw new TypeError(`Expected \`retention\` to be a positive integer, got \`${String(retention)}\``);
    }
    if (!Number.isInteger(maxBytes) || maxBytes < 1) {
      throw new TypeError(`Expected \`maxBytes\` to be a positive integer, got \`${String(maxBytes)}\``);
    }
    this.#retention = retention;
    this.#maxBytes = maxBytes;
    this.#maxAge = maxAge;
    this.#order = new Array<string | undefined>(retention);
  }

  get size(): number {
    return this.#byId.size;
  }

  /** About how many bytes the kept records hold (see record-size.ts). */
  get bytes(): number {
    return this.#bytes;
  }

  put(record: StoredActivation): void {
    const id = record.activationId;
    const bytes = recordBytes(record);
    const existing = this.#byId.get(id);
    if (existing !== undefined) {
      // A rewrite keeps its place in the order; activation ids are unique, so this is rare.
      this.#byId.set(id, { record, bytes });
      this.#bytes += bytes - existing.bytes;
      this.#trim(id);
      return;
    }
    if (this.#count === this.#retention) this.#dropOldest();
    this.#order[(this.#head + this.#count) % this.#retention] = id;
    this.#count++;
    this.#byId.set(id, { record, bytes });
    this.#bytes += bytes;
    this.#trim(id);
  }

  get(activationId: string): StoredActivation | undefined {
    return this.#byId.get(activationId)?.record;
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
    for (const { record } of this.#byId.values()) if (matches(record, query)) n++;
    return n;
  }

  /**
   * Drops the oldest records while the store is over its bytes budget, and those that started more than `maxAge`
   * ago; the newest record (`keep`) always stays.
   */
  #trim(keep: string): void {
    while (this.#bytes > this.#maxBytes && this.#count > 0 && this.#order[this.#head] !== keep) this.#dropOldest();
    const cutoff = Date.now() - this.#maxAge;
    while (this.#count > 0 && this.#order[this.#head] !== keep && this.#oldestStart() < cutoff) this.#dropOldest();
  }

  #oldestStart(): number {
    const oldest = this.#order[this.#head];
    return oldest === undefined ? Number.NEGATIVE_INFINITY : (this.#byId.get(oldest)?.record.start ?? Number.NEGATIVE_INFINITY);
  }

  #dropOldest(): void {
    const oldest = this.#order[this.#head];
    this.#order[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#retention;
    this.#count--;
    if (oldest === undefined) return;
    const entry = this.#byId.get(oldest);
    this.#byId.delete(oldest);
    if (entry !== undefined) this.#bytes -= entry.bytes;
  }

  /** Newest start first, as OpenWhisk lists them; records arrive in completion order, so they are sorted here. */
  *#newestFirst(): Generator<StoredActivation> {
    const all = [...this.#byId.values()].map((entry) => entry.record);
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
