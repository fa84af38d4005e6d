/**
 * What the worker runtime isolates (issue 11, finding 5). A worker thread shares Node-RED's process: off-heap memory
 * escaped the heap limit (`Buffer.alloc(1e9)` succeeded under 128 MB) and `process.kill(process.pid, 'SIGKILL')`
 * killed the whole server. The accidental paths now end only the action or throw a clear error, and off-heap memory
 * counts against the action's memory limit.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testEngine } from '../helpers/engine';

const OOM = 'The action exhausted its memory and was aborted.';
const EXITED = 'The action did not produce a valid response and exited unexpectedly.';

async function runOnce(code: string, limits: Record<string, number> = {}): Promise<any> {
  const engine = testEngine();
  await engine.actions.create({ name: 'probe', action: code, limits });
  try {
    return await engine.actions.invoke({ name: 'probe', blocking: true });
  } catch (error) {
    const activation = (error as { details?: { activation?: unknown } }).details?.activation;
    if (activation === undefined) throw error;
    return activation;
  }
}

/** The host's largest RSS while `work` runs, minus the RSS before, in MB. */
async function rssGrowthMb<T>(work: () => Promise<T>): Promise<{ value: T; growth: number }> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  try {
    const value = await work();
    return { value, growth: (Math.max(peak, process.memoryUsage.rss()) - before) / 1024 / 1024 };
  } finally {
    clearInterval(sampler);
  }
}

describe('worker runtime: off-heap memory counts against limits.memory', () => {
  it.each([
    ['Buffer.alloc(1e9)', 'const b = Buffer.alloc(1e9); return { n: b.length };'],
    ['Buffer.alloc(1e9, 1)', 'const b = Buffer.alloc(1e9, 1); return { n: b.length };'],
    ['Buffer.allocUnsafe(1e9)', 'const b = Buffer.allocUnsafe(1e9); return { n: b.length };'],
    ['Buffer.allocUnsafeSlow(1e9)', 'const b = Buffer.allocUnsafeSlow(1e9); return { n: b.length };'],
    ['many 1 MB Buffer.allocUnsafe in a loop', 'const all = []; for (;;) all.push(Buffer.allocUnsafe(1e6).fill(1));'],
  ])('ends %s under 128 MB with the memory message, without growing the host by a GB', async (_name, body) => {
    const { value: record, growth } = await rssGrowthMb(() => runOnce(`function main() { ${body} }`, { memory: 128, timeout: 20000 }));
    expect(record.response).toMatchObject({ status: 'action developer error', result: { error: OOM } });
    expect(record.logs.join('\n')).toMatch(/off-heap memory/);
    expect(growth).toBeLessThan(300);
  });

  it.each([
    ['a typed array held across an await', 'const a = new Uint8Array(4e8); await new Promise((r) => setTimeout(r, 2000)); return { n: a.length };'],
    ['Buffer.from in a synchronous loop', "const all = []; for (let i = 0; ; i++) all.push(Buffer.from('x'.repeat(1e6) + i));"],
  ])('ends %s over 128 MB with the memory message', async (_name, body) => {
    const record = await runOnce(`async function main() { ${body} }`, { memory: 128, timeout: 20000 });
    expect(record.response).toMatchObject({ status: 'action developer error', result: { error: OOM } });
  });

  it('lets an action use Buffers within its limit, and reuses its container', async () => {
    const engine = testEngine();
    await engine.actions.create({
      name: 'fits',
      action: 'function main() { const keep = []; for (let i = 0; i < 40; i++) keep.push(Buffer.alloc(1e6, i)); return { n: keep.length }; }',
      limits: { memory: 128 },
    });
    for (let i = 0; i < 3; i++) expect(await engine.actions.invoke({ name: 'fits', blocking: true, result: true })).toEqual({ n: 40 });
    expect(engine.stats().pool.containers).toBe(1);
  });
});

describe('worker runtime: process methods that would reach the host', () => {
  it.each([
    ["process.kill(process.ppid, 'SIGCONT')", 'parent'],
    ["process.kill(0, 'SIGCONT')", '0'],
    ["process.kill(-1, 'SIGCONT')", '-1'],
    ["process.kill(-process.pid, 'SIGCONT')", 'group'],
    ["process.kill(String(process.pid), 'SIGCONT')", 'own pid as a string'],
    ['process._kill(process.pid, 18)', 'raw binding'],
    ['process.abort()', 'abort'],
  ])('%s (%s) ends only the action, with a developer error and the reason in its logs', async (call) => {
    // SIGCONT is harmless if it ever got through, so a regression fails the assertion, not the test run.
    const record = await runOnce(`function main() { ${call}; return { survived: true }; }`);
    expect(record.response).toMatchObject({ status: 'action developer error', result: { error: EXITED } });
    expect(record.logs.join('\n')).toMatch(/ended the action instead: actions on the worker runtime run inside Node-RED's process/);
  });

  it('ends the action at once on process.reallyExit()', async () => {
    const record = await runOnce('function main() { process.reallyExit(0); return { survived: true }; }');
    expect(record.response).toMatchObject({ status: 'action developer error', result: { error: EXITED } });
  });

  it('still lets an action probe or signal other processes', async () => {
    const result = await runOnce(`function main() {
      const child = require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
      const alive = process.kill(process.pid, 0);
      process.kill(child.pid, 'SIGTERM');
      return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ alive, signal })));
    }`);
    expect(result.response.result).toEqual({ alive: true, signal: 'SIGTERM' });
  });

  it.each([
    ["process.chdir('/')", 'process.chdir()'],
    ['process.setuid(0)', 'process.setuid()'],
    ['process.setgid(0)', 'process.setgid()'],
    ['process.seteuid(0)', 'process.seteuid()'],
    ['process.setegid(0)', 'process.setegid()'],
    ['process.setgroups([0])', 'process.setgroups()'],
    ["process.initgroups('root', 0)", 'process.initgroups()'],
    ["process.dlopen({ exports: {} }, '/nonexistent/addon.node')", 'process.dlopen()'],
    [
      "const f = require('node:path').join(require('node:os').tmpdir(), `ew-fake-${process.pid}.node`); require('node:fs').writeFileSync(f, 'not an addon'); try { require(f) } finally { require('node:fs').rmSync(f, { force: true }) }",
      'process.dlopen()',
    ],
  ])('%s throws a clear coded error', async (call, what) => {
    const code = `function main() { try { ${call}; return { called: true }; } catch (e) { return { code: e.code, message: e.message }; } }`;
    const record = await runOnce(code);
    expect(record.response.result).toEqual({
      code: 'EW_WORKER_UNSUPPORTED',
      message: `${what} is not available to actions on the worker runtime, which run inside Node-RED's process; run the action on the process or docker runtime.`,
    });
  });
});

describe('worker runtime: an action that SIGKILLs its own process', () => {
  it('ends only the action; the host keeps serving', async () => {
    // The engine runs in a child process, so a regression kills that child, not the test runner.
    const index = join(__dirname, '..', '..', 'dist', 'index.js');
    const script = `
      const { createEngine } = require(${JSON.stringify(index)});
      (async () => {
        const engine = createEngine({ prewarmCount: 0 });
        await engine.actions.create({ name: 'suicide', action: "function main() { process.kill(process.pid, 'SIGKILL'); return { survived: true }; }" });
        await engine.actions.create({ name: 'hello', action: 'function main() { return { hello: true }; }' });
        const first = await engine.actions.invoke({ name: 'suicide', blocking: true }).catch((e) => e.details.activation);
        const second = await engine.actions.invoke({ name: 'hello', blocking: true, result: true });
        console.log(JSON.stringify({ first: first.response, logs: first.logs, second }));
        await engine.close(1000);
      })();
    `;
    const { code, signal, stdout } = await new Promise<{ code: number | null; signal: string | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 }, (_error, out) =>
        resolve({ code: child.exitCode, signal: child.signalCode, stdout: out }),
      );
    });
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    const out = JSON.parse(stdout) as { first: { status: string; result: unknown }; logs: string[]; second: unknown };
    expect(out.first).toMatchObject({ status: 'action developer error', result: { error: EXITED } });
    expect(out.logs.join('\n')).toMatch(/process\.kill\(\d+, 'SIGKILL'\) ended the action instead/);
    expect(out.second).toEqual({ hello: true });
  });
});

describe('worker runtime: what the README says the action can still see', () => {
  it("keeps Node-RED's environment out of process.env, while /proc/self/environ still shows it", async () => {
    const record = await runOnce(`function main() {
      const environ = require('node:fs').readFileSync('/proc/self/environ', 'latin1');
      return { env: process.env.PATH ?? null, environ: environ.split('\\0').some((v) => v.startsWith('PATH=')) };
    }`);
    expect(record.response.result).toEqual({ env: null, environ: true });
  });
});
