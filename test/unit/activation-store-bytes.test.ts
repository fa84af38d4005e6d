/**
 * The in-memory activation store bounds its records by bytes as well as by count (issue 11, finding 2): ten
 * thousand records of 10 MB of logs each would otherwise be 100 GB.
 */
import { describe, expect, it } from 'vitest';
import { MemoryActivationStore, type StoredActivation } from '../../src/index';
import { recordBytes } from '../../src/activations/record-size';

/** These records start in 1970: no age bound, or the 30-day default would drop them all. */
const NO_AGE_BOUND = Number.MAX_SAFE_INTEGER;

function record(i: number, logLines = 0, lineLength = 100): StoredActivation {
  return {
    namespace: 'guest',
    name: 'a',
    subject: 'guest',
    activationId: i.toString(16).padStart(32, '0'),
    version: '0.0.1',
    publish: false,
    start: i,
    end: i + 1,
    response: { statusCode: 0, result: { i } },
    logs: Array.from({ length: logLines }, () => 'x'.repeat(lineLength)),
    annotations: [],
  };
}

const MB = 1024 * 1024;

describe('MemoryActivationStore bytes budget', () => {
  it('counts a record by its logs and result', () => {
    const small = recordBytes(record(1));
    const big = recordBytes(record(2, 10_000, 100));
    expect(big - small).toBeGreaterThanOrEqual(10_000 * 101);
    expect(big - small).toBeLessThan(10_000 * 200);
    const withResult = recordBytes({ ...record(3), response: { statusCode: 0, result: { s: 'y'.repeat(50_000) } } });
    expect(withResult - small).toBeGreaterThanOrEqual(50_000);
  });

  it('evicts the oldest records beyond the budget, keeping the newest', () => {
    const store = new MemoryActivationStore(1000, 3 * MB, NO_AGE_BOUND);
    // Each about 1 MB of logs: three fit (with their overhead, just barely not), the rest push out the oldest.
    for (let i = 0; i < 10; i++) store.put(record(i, 10_000, 99));
    expect(store.size).toBeGreaterThanOrEqual(2);
    expect(store.size).toBeLessThanOrEqual(3);
    expect(store.bytes).toBeLessThanOrEqual(3 * MB);
    expect(store.get(record(9).activationId)).toBeDefined();
    expect(store.get(record(0).activationId)).toBeUndefined();
    const listed = store.list({ namespace: 'guest', skip: 0, limit: 100 }).map((r) => r.start);
    expect(listed[0]).toBe(9);
    expect(listed).toEqual([...listed].sort((a, b) => b - a));
  });

  it('keeps a single record larger than the budget until the next one arrives', () => {
    const store = new MemoryActivationStore(10, 1 * MB, NO_AGE_BOUND);
    store.put(record(1, 20_000, 100));
    expect(store.size).toBe(1);
    store.put(record(2));
    expect(store.size).toBe(1);
    expect(store.get(record(2).activationId)).toBeDefined();
    expect(store.bytes).toBe(recordBytes(record(2)));
  });

  it('still keeps at most `retention` records, and accounts rewrites', () => {
    const store = new MemoryActivationStore(3, 100 * MB, NO_AGE_BOUND);
    for (let i = 0; i < 7; i++) store.put(record(i));
    expect(store.size).toBe(3);
    store.put({ ...record(6), logs: ['x'.repeat(2 * MB)] });
    expect(store.bytes).toBe(recordBytes(record(4)) + recordBytes(record(5)) + recordBytes({ ...record(6), logs: ['x'.repeat(2 * MB)] }));
    for (let i = 7; i < 12; i++) store.put(record(i));
    expect(store.bytes).toBe(recordBytes(record(9)) + recordBytes(record(10)) + recordBytes(record(11)));
  });

  it('refuses a budget that is not a positive integer', () => {
    expect(() => new MemoryActivationStore(10, 0)).toThrow(TypeError);
    expect(() => new MemoryActivationStore(10, 1.5)).toThrow(TypeError);
  });
});
