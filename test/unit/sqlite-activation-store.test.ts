/**
 * The durable activation store (src/store/sqlite-activation-store.ts): the same answers as the memory store,
 * records that survive a reopen and a SIGKILL, grouped commits, its bounds, and a damaged file moved aside.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ActivationQuery } from '../../src/activations/activation-store';
import { MemoryActivationStore } from '../../src/activations/memory-activation-store';
import type { StoredActivation } from '../../src/activations/record';
import { SqliteActivationStore } from '../../src/store/sqlite-activation-store';
import { testEngine } from '../helpers/engine';

/** These records start in 1970: no age bound, or the 30-day default would drop them all. */
const NO_AGE_BOUND = Number.MAX_SAFE_INTEGER;

const folders: string[] = [];
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgewhisk-store-'));
  folders.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function record(i: number, extra: Partial<StoredActivation> = {}): StoredActivation {
  return {
    namespace: i % 3 === 0 ? 'other' : 'guest',
    name: `a${i % 4}`,
    subject: 'guest',
    activationId: i.toString(16).padStart(32, '0'),
    version: '0.0.1',
    publish: false,
    start: 1_000_000 + (i % 7) * 10 + i,
    end: 1_000_500 + i,
    duration: 500,
    response: { statusCode: 0, result: { i } },
    logs: [`log ${i}`],
    annotations: [{ key: 'path', value: `guest/a${i % 4}` }],
    ...extra,
  };
}

describe('SqliteActivationStore', () => {
  it('answers get, list and count exactly as the memory store does', () => {
    const sqlite = new SqliteActivationStore({ path: join(folder(), 'engine.db'), retention: 1000, maxAge: NO_AGE_BOUND });
    const memory = new MemoryActivationStore(1000, undefined, NO_AGE_BOUND);
    for (let i = 0; i < 60; i++) {
      sqlite.put(record(i));
      memory.put(record(i));
    }
    const queries: ActivationQuery[] = [
      { namespace: 'guest', skip: 0, limit: 200 },
      { namespace: 'guest', name: 'a1', skip: 2, limit: 5 },
      { namespace: 'other', since: 1_000_020, upto: 1_000_080, skip: 0, limit: 30 },
      { namespace: 'nobody', skip: 0, limit: 10 },
    ];
    for (const q of queries) {
      expect(sqlite.list(q), JSON.stringify(q)).toEqual(memory.list(q));
      expect(sqlite.count(q)).toBe(memory.count(q));
    }
    expect(sqlite.get(record(7).activationId)).toEqual(record(7));
    expect(sqlite.get('f'.repeat(32))).toBeUndefined();
    sqlite.close();
  });

  it('serves a record at once, commits a burst together on the next turn, and keeps it across a reopen', async () => {
    const path = join(folder(), 'engine.db');
    const store = new SqliteActivationStore({ path });
    for (let i = 0; i < 500; i++) store.put(record(i));
    // Readable before the commit: the engine announces a record as soon as it is put.
    expect(store.get(record(499).activationId)).toEqual(record(499));
    await new Promise((r) => setImmediate(r));
    store.close();
    const again = new SqliteActivationStore({ path });
    expect(again.count({ namespace: 'guest' }) + again.count({ namespace: 'other' })).toBe(500);
    expect(again.get(record(123).activationId)).toEqual(record(123));
    again.close();
  });

  it('keeps what it committed when its process is killed with SIGKILL', () => {
    const path = join(folder(), 'engine.db');
    const script = `
      const { SqliteActivationStore } = require(${JSON.stringify(join(__dirname, '../../dist/store/sqlite-activation-store.js'))});
      const store = new SqliteActivationStore({ path: ${JSON.stringify(path)} });
      for (let i = 0; i < 1000; i++) store.put({ namespace: 'guest', name: 'k', subject: 'guest', activationId: String(i).padStart(32, '0'), version: '0.0.1', publish: false, start: i, end: i, response: { statusCode: 0, result: {} }, logs: [], annotations: [] });
      store.flush();
      process.kill(process.pid, 'SIGKILL');
    `;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(run.signal).toBe('SIGKILL');
    const store = new SqliteActivationStore({ path });
    expect(store.opened.movedAside).toBeUndefined();
    expect(store.count({ namespace: 'guest' })).toBe(1000);
    store.close();
  });

  it('keeps the newest records within its count and byte bounds, the newest always', () => {
    const byCount = new SqliteActivationStore({ path: join(folder(), 'count.db'), retention: 10, maxAge: NO_AGE_BOUND });
    for (let i = 0; i < 200; i++) byCount.put(record(i));
    byCount.flush();
    byCount.prune();
    expect(byCount.count({ namespace: 'guest' }) + byCount.count({ namespace: 'other' })).toBe(10);
    expect(byCount.get(record(199).activationId)).toBeDefined();
    expect(byCount.get(record(189).activationId)).toBeUndefined();
    byCount.close();

    const big = (i: number): StoredActivation => record(i, { namespace: 'guest', logs: ['x'.repeat(10_000)] });
    const byBytes = new SqliteActivationStore({ path: join(folder(), 'bytes.db'), maxBytes: 35_000, maxAge: NO_AGE_BOUND });
    for (let i = 0; i < 10; i++) byBytes.put(big(i));
    byBytes.flush();
    byBytes.prune();
    expect(byBytes.count({ namespace: 'guest' })).toBe(3);
    byBytes.put(record(99, { namespace: 'guest', logs: ['y'.repeat(100_000)] }));
    byBytes.flush();
    byBytes.prune();
    expect(byBytes.list({ namespace: 'guest', skip: 0, limit: 10 }).map((r) => r.activationId)).toEqual([record(99).activationId]);
    byBytes.close();
  });

  it('moves a damaged or foreign file aside, says so, and starts fresh without touching it', () => {
    const dir = folder();
    const path = join(dir, 'engine.db');
    writeFileSync(path, 'this is not a database, but someone cares about it'.repeat(200));
    const store = new SqliteActivationStore({ path });
    expect(store.opened.movedAside?.reason).toMatch(/not a database/);
    expect(existsSync(store.opened.movedAside!.to)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('.damaged-'))).toHaveLength(1);
    store.put(record(1));
    store.flush();
    expect(store.get(record(1).activationId)).toEqual(record(1));
    store.close();
  });

  it('is an engine activation store: the records of a closed engine are there for the next one on the same file', async () => {
    const path = join(folder(), 'engine.db');
    const first = testEngine({ activationStore: new SqliteActivationStore({ path }) });
    await first.actions.create({ name: 'hello', action: 'function main(p) { return { hi: p.who }; }' });
    const done = (await first.actions.invoke({ name: 'hello', params: { who: 'pi' }, blocking: true })) as { activationId: string };
    await first.close();
    const second = testEngine({ activationStore: new SqliteActivationStore({ path }) });
    const again = await second.activations.get(done.activationId);
    expect(again.response.result).toEqual({ hi: 'pi' });
    expect(again.name).toBe('hello');
    await second.close();
  });
});

describe('SqliteActivationStore age bound', () => {
  it('drops records that started longer ago than maxAge when it prunes, never the newest', () => {
    const store = new SqliteActivationStore({ path: join(folder(), 'age.db'), maxAge: 60_000 });
    const now = Date.now();
    const at = (i: number, start: number) => ({ ...record(i), start, end: start + 1 });
    store.put(at(1, now - 120_000));
    store.put(at(2, now - 90_000));
    store.put(at(4, now - 1_000));
    store.flush();
    store.prune();
    expect(store.list({ namespace: 'guest', skip: 0, limit: 10 }).map((r) => r.activationId)).toEqual([record(4).activationId]);
    // A lone old record is the newest: it stays.
    const lone = new SqliteActivationStore({ path: join(folder(), 'lone.db'), maxAge: 60_000 });
    lone.put(at(5, now - 120_000));
    lone.flush();
    lone.prune();
    expect(lone.get(record(5).activationId)).toBeDefined();
    lone.close();
    store.close();
  });
});
