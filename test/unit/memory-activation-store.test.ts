import { describe, expect, it } from 'vitest';
import { MemoryActivationStore, type StoredActivation } from '../../src/index';

/** These records start in 1970: no age bound, or the 30-day default would drop them all. */
const NO_AGE_BOUND = Number.MAX_SAFE_INTEGER;

function record(i: number, start = i): StoredActivation {
  return {
    namespace: 'guest',
    name: i % 2 === 0 ? 'even' : 'odd',
    subject: 'guest',
    activationId: i.toString(16).padStart(32, '0'),
    version: '0.0.1',
    publish: false,
    start,
    end: start + 1,
    response: { statusCode: 0, result: { i } },
    logs: [],
    annotations: [],
  };
}

describe('MemoryActivationStore', () => {
  it('keeps exactly the newest `retention` records through many wrap-arounds', () => {
    const store = new MemoryActivationStore(7, undefined, NO_AGE_BOUND);
    for (let i = 0; i < 1000; i++) store.put(record(i));
    expect(store.size).toBe(7);
    expect(store.get(record(992).activationId)).toBeUndefined();
    for (let i = 993; i < 1000; i++) expect(store.get(record(i).activationId)?.response.result).toEqual({ i });
    const listed = store.list({ namespace: 'guest', skip: 0, limit: 30 }).map((r) => (r.response.result as { i: number }).i);
    expect(listed).toEqual([999, 998, 997, 996, 995, 994, 993]);
    expect(store.count({ namespace: 'guest', name: 'odd' })).toBe(4);
  });

  it('lists by start time, newest first, whatever the completion order', () => {
    const store = new MemoryActivationStore(10, undefined, NO_AGE_BOUND);
    store.put(record(1, 500)); // started last, completed first
    store.put(record(2, 100));
    store.put(record(3, 300));
    expect(store.list({ namespace: 'guest', skip: 0, limit: 10 }).map((r) => r.start)).toEqual([500, 300, 100]);
    expect(store.list({ namespace: 'guest', skip: 1, limit: 1, since: 200 }).map((r) => r.start)).toEqual([300]);
  });

  it('keeps one entry when the same activation is stored twice', () => {
    const store = new MemoryActivationStore(3, undefined, NO_AGE_BOUND);
    store.put(record(1));
    store.put({ ...record(1), logs: ['again'] });
    store.put(record(2));
    store.put(record(3));
    expect(store.size).toBe(3);
    expect(store.get(record(1).activationId)?.logs).toEqual(['again']);
  });

  it('refuses a retention that is not a positive integer', () => {
    expect(() => new MemoryActivationStore(0)).toThrow(TypeError);
  });
});

describe('MemoryActivationStore age bound', () => {
  it('drops records that started longer ago than maxAge, never the newest', () => {
    const now = Date.now();
    const store = new MemoryActivationStore(100, undefined, 60_000);
    store.put(record(1, now - 120_000));
    store.put(record(2, now - 90_000));
    store.put(record(3, now - 1_000));
    expect(store.list({ namespace: 'guest', skip: 0, limit: 10 }).map((r) => r.activationId)).toEqual([record(3).activationId]);
    // A lone old record is the newest: it stays until a newer one arrives.
    const lone = new MemoryActivationStore(100, undefined, 60_000);
    lone.put(record(4, now - 120_000));
    expect(lone.get(record(4).activationId)).toBeDefined();
  });
});
