import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createEngine, ProcessRuntime } from '../../src/index';
import { alive, childPids } from '../helpers/child-pids';
import { CountingRuntime } from '../helpers/counting-runtime';
import { annotationOf, sleep, testEngine } from '../helpers/engine';
import { zip } from '../conformance/zip';
import { describeProxyExit } from '../helpers/proxy-exit-suite';


/** Whether `pid` is gone within `ms` (generous: a loaded machine may take seconds to reap a process tree). */
async function gone(pid: number, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await sleep(50);
  }
  return !alive(pid);
}

const SPAWNER = `
const { spawn } = require('child_process');
function main() {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  return { proxy: process.pid, grandchild: child.pid };
}`;

describe('process runtime', () => {
  it('leaves no process behind after engine.close(), including ones the action started', async () => {
    const engine = createEngine({ prewarmCount: 0 });
    await engine.actions.create({ name: 's', runtime: 'process', action: SPAWNER });
    const { proxy, grandchild } = (await engine.actions.invoke({ name: 's', blocking: true, result: true })) as { proxy: number; grandchild: number };
    expect(proxy).not.toBe(process.pid);
    expect(alive(proxy) && alive(grandchild)).toBe(true);
    await engine.close(1000);
    expect(await gone(proxy)).toBe(true);
    expect(await gone(grandchild)).toBe(true);
  });

  it('kills the whole process tree at the time limit', async () => {
    const engine = testEngine();
    const code = `const { spawn } = require('child_process');
      async function main() {
        const child = spawn('sleep', ['30'], { stdio: 'ignore' });
        console.log('grandchild ' + child.pid);
        await new Promise((r) => setTimeout(r, 50));
        for (;;) {}
      }`;
    await engine.actions.create({ name: 'spin', runtime: 'process', action: code, limits: { timeout: 500 } });
    const record = (await engine.actions.invoke({ name: 'spin', blocking: true }).catch((e) => e.details.activation)) as { response: { result: unknown }; logs: string[] };
    expect(record.response.result).toEqual({ error: 'The action exceeded its time limits of 500 milliseconds.' });
    const pid = Number(/grandchild (\d+)/.exec(record.logs.join('\n'))?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(await gone(pid)).toBe(true);
  });

  it('stops its proxies when the engine process dies without closing', async () => {
    const host = spawn(process.execPath, [
      '-e',
      `const { createEngine } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'index.js'))});
       const engine = createEngine({ prewarmCount: 0 });
       engine.actions.create({ name: 'p', runtime: 'process', action: 'function main() { return { pid: process.pid }; }' })
         .then(() => engine.actions.invoke({ name: 'p', blocking: true, result: true }))
         .then((r) => console.log(JSON.stringify(r)));`,
    ], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => host.stdout?.once('data', (d: Buffer) => resolve(d.toString())));
    const { pid } = JSON.parse(line) as { pid: number };
    expect(alive(pid)).toBe(true);
    host.kill('SIGKILL');
    expect(await gone(pid)).toBe(true);
  });

  it('reports memory exhaustion for off-heap growth beyond the limit', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'buf', runtime: 'process', action: 'function main() { const a = []; for (;;) a.push(Buffer.alloc(8e6, 1)); }', limits: { memory: 128, timeout: 30000 } });
    const record = (await engine.actions.invoke({ name: 'buf', blocking: true }).catch((e) => e.details.activation)) as { response: { result: unknown } };
    expect(record.response.result).toEqual({ error: 'The action exhausted its memory and was aborted.' });
  });

  it('runs concurrent activations in one process with limits.concurrency', async () => {
    const runtime = new CountingRuntime('process', new ProcessRuntime());
    const engine = testEngine({ runtimes: [runtime], memoryBudget: 256 });
    await engine.actions.create({ name: 'c', runtime: 'process', action: 'async function main(p) { const start = Date.now(); await new Promise(r => setTimeout(r, 200)); return { i: p.i, pid: process.pid, start, end: Date.now() }; }', limits: { concurrency: 4 } });
    const results = (await Promise.all([0, 1, 2, 3].map((i) => engine.actions.invoke({ name: 'c', params: { i }, blocking: true, result: true })))) as { i: number; pid: number; start: number; end: number }[];
    // Side by side: every run started before any of them ended.
    expect(Math.max(...results.map((r) => r.start))).toBeLessThan(Math.min(...results.map((r) => r.end)));
    expect(results.map((r) => r.i)).toEqual([0, 1, 2, 3]);
    expect(new Set(results.map((r) => r.pid)).size).toBe(1);
    expect(runtime.created).toHaveLength(1);
  });

  it('serves a cold start from a prewarmed process when it is the default runtime', async () => {
    const runtime = new CountingRuntime('process', new ProcessRuntime());
    const engine = testEngine({ runtimes: [runtime], defaultRuntime: 'process', prewarmCount: 1 });
    while (engine.stats().pool.prewarm < 1) await sleep(10);
    const prewarmed = childPids();
    expect(prewarmed).toHaveLength(1);
    await engine.actions.create({ name: 'p', action: 'function main() { return { pid: process.pid }; }' });
    const record = (await engine.actions.invoke({ name: 'p', blocking: true })) as { response: { result: { pid: number } }; annotations: { key: string; value: unknown }[] };
    // It ran in the process that was already waiting, and the pool started another to take its place.
    expect(record.response.result.pid).toBe(prewarmed[0]);
    expect(annotationOf(record, 'initTime')).toBeTypeOf('number');
    while (runtime.created.length < 2) await sleep(10);
  });

  it('runs zip actions with their bundled modules', async () => {
    const archive = zip({
      'package.json': JSON.stringify({ main: 'lib/entry.js' }),
      'lib/entry.js': "const greet = require('greeter'); exports.main = (p) => ({ text: greet(p.name), cwd: process.cwd() });",
      'node_modules/greeter/index.js': "module.exports = (n) => 'hello ' + n;",
    });
    const engine = testEngine();
    await engine.actions.create({ name: 'z', runtime: 'process', action: archive });
    const out = (await engine.actions.invoke({ name: 'z', params: { name: 'zip' }, blocking: true, result: true })) as { text: string; cwd: string };
    expect(out.text).toBe('hello zip');
    expect(out.cwd).toMatch(/edgewhisk-action-/);
    // The unpacked folder lives in the container's own TMPDIR, which is removed with the container.
    expect(existsSync(out.cwd)).toBe(true);
    await engine.close(1000);
    await vi.waitFor(() => expect(existsSync(out.cwd)).toBe(false), { timeout: 10_000, interval: 20 });
  });
});

describeProxyExit('process');
