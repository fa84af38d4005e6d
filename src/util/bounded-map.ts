/**
 * A map that keeps at most `capacity` entries, forgetting the oldest-set first. The order is a ring of keys beside
 * the map: dropping a Map's first key looks O(1) but is not, since V8 walks every deleted slot to find it, so a full
 * map that evicts on every insert gets slower with each eviction (see memory-activation-store.ts).
 */
export class BoundedMap<K, V> {
  /** Each value with its slot in the ring: a key deleted and set again has a new slot, and the stale one is skipped. */
  readonly #map = new Map<K, { value: V; slot: number }>();
  readonly #ring: (K | undefined)[];
  #next = 0;

  constructor(readonly capacity: number) {
    this.#ring = new Array<K | undefined>(capacity);
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key)?.value;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Sets `key`; a key set again keeps its first place in the order (it is forgotten with its first setting). */
  set(key: K, value: V): void {
    const held = this.#map.get(key);
    if (held !== undefined) {
      held.value = value;
      return;
    }
    const slot = this.#next;
    const evicted = this.#ring[slot];
    if (evicted !== undefined && this.#map.get(evicted)?.slot === slot) this.#map.delete(evicted);
    this.#ring[slot] = key;
    this.#next = (slot + 1) % this.capacity;
    this.#map.set(key, { value, slot });
  }

  /** Forgets `key` now; its slot in the ring is reused when the ring comes round. */
  delete(key: K): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
    this.#ring.fill(undefined);
    this.#next = 0;
  }

  *values(): IterableIterator<V> {
    for (const held of this.#map.values()) yield held.value;
  }
}
