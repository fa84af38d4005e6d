import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CountingRuntime } from '../helpers/counting-runtime';
import { annotationOf, sleep, testEngine } from '../helpers/engine';

const NOOP = 'function main(p) { return { pid: globalThis.__id ??= Math.random() }; }';

async function invoke(engine: ReturnType<typeof testEngine>, name: string, params: Record<string, unknown> = {}) {
  const record = (await engine.actions.invoke({ name, params, blocking: true })) as any;
  return record;
}

describe('container pool', () => {
  it('reuses a warm container for the same action version, without init', async () => {
    const runtime = new CountingRuntime();
    const engine = testEngine({ runtimes: [runtime] });
    await engine.actions.create({ name: 'a', action: NOOP });
    const first = await invoke(engine, 'a');
    const second = await invoke(engine, 'a');
    expect(runtime.created).toHaveLength(1);
    expect(first.response.result.pid).toBe(second.response.result.pid);
    expect(annotationOf(first, 'initTime')).toBeTypeOf('number');
    expect(annotationOf(second, 'initTime')).toBeUndefined();
  });

  it('never reuses a warm container after the action is updated', async () => {
    const runtime = new CountingRuntime();
    const engine = testEngine({ runtimes: [runtime] });
    await engine.actions.create({ name: 'a', action: 'function main() { return { v: 1 }; }' });
    expect((await invoke(engine, 'a')).response.result).toEqual({ v: 1 });
    await engine.actions.update({ name: 'a', action: 'function main() { return { v: 2 }; }' });
    const after = await invoke(engine, 'a');
    expect(after.response.result).toEqual({ v: 2 });
    expect(after.version).toBe('0.0.2');
    expect(runtime.created).toHaveLength(2);
  });

  it('serves a cold start from a prewarmed container of the same kind and memory, then backfills', async () => {
    const runtime = new CountingRuntime();
    const engine = testEngine({ runtimes: [runtime], prewarmCount: 1 });
    while (engine.stats().pool.prewarm < 1) await sleep(5);
    await engine.actions.create({ name: 'a', action: NOOP });
    const record = await invoke(engine, 'a');
    expect(annotationOf(record, 'initTime')).toBeTypeOf('number');
    // The prewarm was used (no extra container for the run) and a replacement was started.
    expect(runtime.created.length).toBe(2);
    while (engine.stats().pool.prewarm < 1) await sleep(5);
    expect(engine.stats().pool).toMatchObject({ prewarm: 1, idle: 1 });
  });

  it("hands a runtime's placement (read from the action's annotations) to its containers, and keeps placed actions off unplaced prewarms", async () => {
    // A runtime with one setting of its own, as Docker has its network: the engine carries it without knowing it.
    const runtime = new (class extends CountingRuntime {
      placementOf(annotations: readonly { key: string; value: unknown }[]) {
        const zone = annotations.find((a) => a.key === 'test-zone')?.value;
        return typeof zone === 'string' ? { zone } : undefined;
      }
    })();
    const engine = testEngine({ runtimes: [runtime], prewarmCount: 1 });
    while (engine.stats().pool.prewarm < 1) await sleep(5);
    await engine.actions.create({ name: 'placed', action: NOOP, annotations: { 'test-zone': 'garden' } });
    await invoke(engine, 'placed');
    // A cold start with the placement; the prewarm (no placement) is still there.
    expect(runtime.created.map((s) => s.placement)).toEqual([undefined, { zone: 'garden' }]);
    expect(engine.stats().pool.prewarm).toBe(1);
    await engine.actions.create({ name: 'plain', action: NOOP });
    await invoke(engine, 'plain');
    expect(runtime.created.filter((s) => s.placement === undefined).length).toBe(2);
    await engine.close();
  });

  it('does not use a prewarm of another memory size', async () => {
    const runtime = new CountingRuntime();
    const engine = testEngine({ runtimes: [runtime], prewarmCount: 1 });
    while (engine.stats().pool.prewarm < 1) await sleep(5);
    await engine.actions.create({ name: 'a', action: NOOP, limits: { memory: 128 } });
    await invoke(engine, 'a');
    expect(engine.stats().pool.prewarm).toBe(1);
    expect(runtime.created.map((s) => s.memory)).toEqual([256, 128]);
  });

  it('destroys idle containers after the idle timeout', async () => {
    const runtime = new CountingRuntime();
    const engine = testEngine({ runtimes: [runtime], idleTimeout: 200 });
    await engine.actions.create({ name: 'a', action: NOOP });
    await invoke(engine, 'a');
    expect(engine.stats().pool.idle).toBe(1);
    // 200 ms idle, then reaped by a timer: polled, as a loaded machine runs timers late.
    await vi.waitFor(() => {
      expect(engine.stats().pool.containers).toBe(0);
      expect(runtime.destroyed).toHaveLength(1);
    }, { timeout: 10_000, interval: 20 });
  });

  it('evicts the least recently used idle container when the memory budget is full', async () => {
    const runtime = new CountingRuntime();
    const engine = testEngine({ runtimes: [runtime], memoryBudget: 512 });
    for (const name of ['a', 'b', 'c']) await engine.actions.create({ name, action: NOOP });
    await invoke(engine, 'a');
    await invoke(engine, 'b');
    await invoke(engine, 'a'); // a is now more recently used than b
    const aPid = (await invoke(engine, 'a')).response.result.pid;
    await invoke(engine, 'c'); // needs room: b goes
    expect(engine.stats().pool.memoryUsed).toBe(512);
    expect((await invoke(engine, 'a')).response.result.pid).toBe(aPid);
    expect(runtime.created).toHaveLength(3);
    await invoke(engine, 'b'); // b comes back cold
    expect(runtime.created).toHaveLength(4);
  });

  it('queues work beyond the memory budget instead of failing it', async () => {
    const engine = testEngine({ memoryBudget: 256 });
    await engine.actions.create({ name: 's', action: 'async function main(p) { await new Promise(r => setTimeout(r, 100)); return { i: p.i }; }' });
    const started = Date.now();
    const results = await Promise.all([0, 1, 2].map((i) => engine.actions.invoke({ name: 's', params: { i }, blocking: true, result: true })));
    expect(results).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    // One 256 MB container at a time: the three runs are serialised.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(engine.stats().pool.containers).toBe(1);
  });

  it('runs concurrent activations in one container with limits.concurrency', async () => {
    const runtime = new CountingRuntime();
    const engine = testEngine({ runtimes: [runtime], memoryBudget: 256 });
    await engine.actions.create({
      name: 'c',
      action: 'async function main() { const start = Date.now(); await new Promise(r => setTimeout(r, 150)); console.log(process.env.__OW_ACTIVATION_ID); return { start, end: Date.now() }; }',
      limits: { concurrency: 4 },
    });
    const records = (await Promise.all([0, 1, 2, 3].map(() => engine.actions.invoke({ name: 'c', blocking: true })))) as any[];
    // Side by side: every run started before any of them ended.
    expect(Math.max(...records.map((r) => r.response.result.start))).toBeLessThan(Math.min(...records.map((r) => r.response.result.end)));
    expect(runtime.created).toHaveLength(1);
    // Each activation's logs hold its own line, even though the runs overlapped in one thread.
    for (const r of records) expect(r.logs).toHaveLength(1);
  });

  it('sends a cold burst of a concurrent action to the one container being started, not one container each', async () => {
    const runtime = new CountingRuntime();
    const engine = testEngine({ runtimes: [runtime], memoryBudget: 2048 });
    await engine.actions.create({ name: 'c', action: 'async function main() { await new Promise(r => setTimeout(r, 100)); return { id: globalThis.__id ??= Math.random() }; }', limits: { concurrency: 8 } });
    const records = (await Promise.all([0, 1, 2, 3, 4, 5].map(() => engine.actions.invoke({ name: 'c', blocking: true })))) as any[];
    expect(runtime.created).toHaveLength(1);
    expect(new Set(records.map((r) => r.response.result.id)).size).toBe(1);
    // Only the first activation initialized the container; the others waited for that init and ran on it.
    expect(records.filter((r) => annotationOf(r, 'initTime') !== undefined)).toHaveLength(1);
  });

  it('lets runs that waited on a failed init find another container (each gets the init error or a result, none hangs)', async () => {
    const runtime = new CountingRuntime();
    const engine = testEngine({ runtimes: [runtime], memoryBudget: 2048 });
    // Only the first init of this action fails: a marker file remembers it across containers.
    const marker = join(mkdtempSync(join(tmpdir(), 'ew-pool-')), 'tried');
    await engine.actions.create({
      name: 'f',
      action: `const fs = require('fs'); if (!fs.existsSync(${JSON.stringify(marker)})) { fs.writeFileSync(${JSON.stringify(marker)}, '1'); throw new Error('first init fails'); } async function main() { await new Promise(r => setTimeout(r, 50)); return { ok: true }; }`,
      limits: { concurrency: 4 },
    });
    const records = (await Promise.all([0, 1, 2].map(() => engine.actions.invoke({ name: 'f', blocking: true }).catch((e) => e.error)))) as any[];
    expect(records.map((r) => r.response.statusCode).sort()).toEqual([0, 0, 2]);
    expect(runtime.created).toHaveLength(2);
  });

  it('replaces a container that dies while idle', async () => {
    const runtime = new CountingRuntime();
    const engine = testEngine({ runtimes: [runtime] });
    await engine.actions.create({ name: 'late', action: 'function main() { setTimeout(() => { throw new Error("after the fact"); }, 50); return {}; }' });
    const first = await invoke(engine, 'late');
    expect(first.response.success).toBe(true);
    // The container dies 50 ms after the run; the pool hears of it asynchronously.
    await vi.waitFor(() => expect(engine.stats().pool.containers).toBe(0), { timeout: 10_000, interval: 20 });
    const second = await invoke(engine, 'late');
    expect(second.response.success).toBe(true);
    expect(runtime.created).toHaveLength(2);
  });

  it('settles runs that waited to share a container that never started (limits.concurrency > 1), none hangs', async () => {
    const broken = { name: 'worker', kinds: ['nodejs:20'], create: () => new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no threads today')), 50)) };
    const engine = testEngine({ runtimes: [broken], memoryBudget: 2048 });
    await engine.actions.create({ name: 'c', action: NOOP, limits: { concurrency: 4 } });
    const records = (await Promise.all([0, 1, 2].map(() => engine.actions.invoke({ name: 'c', blocking: true }).catch((e) => e.details.activation)))) as any[];
    expect(records.map((r) => r.response.statusCode)).toEqual([3, 3, 3]);
  });

  it('reports a runtime that cannot start containers as a whisk internal error', async () => {
    const broken = { name: 'worker', kinds: ['nodejs:20'], create: () => Promise.reject(new Error('no threads today')) };
    const engine = testEngine({ runtimes: [broken] });
    const failures: unknown[] = [];
    engine.on('container:start-failed', (e) => failures.push(e));
    await engine.actions.create({ name: 'a', action: NOOP });
    const record = (await engine.actions.invoke({ name: 'a', blocking: true }).catch((e) => e.details.activation)) as any;
    expect(record.response).toMatchObject({ statusCode: 3, status: 'whisk internal error', result: { error: 'Failed to provision resources to run the action.' } });
    expect(failures).toHaveLength(1);
    // The engine keeps serving: the next call fails the same clear way instead of hanging.
    const again = (await engine.actions.invoke({ name: 'a', blocking: true }).catch((e) => e.details.activation)) as any;
    expect(again.response.statusCode).toBe(3);
  });
});
