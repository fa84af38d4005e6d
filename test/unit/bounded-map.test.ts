import { describe, expect, it } from 'vitest';
import { BoundedMap } from '../../src/util/bounded-map';

describe('BoundedMap', () => {
  it('keeps at most its capacity, forgetting the oldest-set key first', () => {
    const map = new BoundedMap<string, number>(3);
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) map.set(key, i);
    expect(map.has('a')).toBe(false);
    expect([...map.values()]).toEqual([1, 2, 3]);
    map.set('b', 10); // an update keeps its place: b is still the oldest
    map.set('e', 4);
    expect(map.has('b')).toBe(false);
    expect(map.get('c')).toBe(2);
    expect(map.size).toBe(3);
  });

  it('does not evict a key deleted and set again through its stale slot', () => {
    const map = new BoundedMap<string, number>(3);
    map.set('a', 1);
    map.delete('a');
    map.set('b', 2);
    map.set('a', 3); // a new slot; the first slot still names 'a'
    map.set('c', 4); // the ring comes round to the stale slot of 'a'...
    map.set('d', 5);
    expect(map.get('a')).toBe(3); // ...which does not evict the live 'a'
    expect(map.has('b')).toBe(false);
    expect(map.size).toBe(3);
  });

  it('holds its bound over 1,000,000 inserts into a map of 5,000, keeping the newest', () => {
    const map = new BoundedMap<number, number>(5_000);
    for (let i = 0; i < 1_000_000; i++) map.set(i, i);
    expect(map.size).toBe(5_000);
    expect(map.get(999_999)).toBe(999_999);
    expect(map.has(994_999)).toBe(false);
  });
});
