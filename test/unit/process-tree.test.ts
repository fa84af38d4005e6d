/**
 * What an action on the process runtime starts is the container's, whatever it does (issue 11, finding 6):
 * children started with `detached: true` (their own session, reparented to init once their parent dies) are
 * killed with the container, a fork bomb is stopped at the process limit, and the memory of the action's children
 * counts against its memory limit. Real child processes, found through /proc.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/index';
import { MEMORY_EXCEEDED, PIDS_EXCEEDED } from '../../src/runtimes/process/process-container';
import { rejection, sleep, testEngine } from '../helpers/engine';
import { alive } from '../helpers/child-pids';


/** The pids of `pids` still alive after up to `ms` (a loaded machine may take a while to reap a tree). */
async function survivors(pids: readonly number[], ms = 10_000): Promise<number[]> {
  const until = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < until) {
    await sleep(50);
    left = left.filter(alive);
  }
  return left;
}

/** Processes whose command line contains `token`. */
function processesWith(token: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(token);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Whatever a failing test left behind is killed here, so one failure cannot flood the machine. */
const tokens: string[] = [];
const pidLists: number[][] = [];
afterEach(() => {
  for (const pid of [...tokens.splice(0).flatMap(processesWith), ...pidLists.splice(0).flat()]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
});

const pidsOf = (logs: readonly string[], tag: string): number[] =>
  (new RegExp(`${tag} ([\\d,]+)`).exec(logs.join('\n'))?.[1] ?? '').split(',').filter(Boolean).map(Number);

describe('process runtime: everything the action starts', () => {
  it('kills 100 detached grandchildren when the action times out', async () => {
    // 100 children are more than the default process limit allows: the time limit is what ends this one.
    const engine = testEngine({ processPidsLimit: 200 });
    const code = `const { spawn } = require('child_process');
      function main() {
        const pids = [];
        for (let i = 0; i < 100; i++) {
          const child = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
          child.unref();
          pids.push(child.pid);
        }
        console.log('PIDS ' + pids.join(','));
        for (;;) {}
      }`;
    await engine.actions.create({ name: 'detach', runtime: 'process', action: code, limits: { timeout: 5000 } });
    const record = (await rejection(() => engine.actions.invoke({ name: 'detach', blocking: true }))).details.activation;
    expect(record.response.result).toEqual({ error: 'The action exceeded its time limits of 5000 milliseconds.' });
    const pids = pidsOf(record.logs, 'PIDS');
    pidLists.push(pids);
    expect(pids).toHaveLength(100);
    // Before: all 100 survived the process-group kill, reparented to init (parent pid 1).
    expect(await survivors(pids)).toEqual([]);
  });

  it('kills children detached twice (their parent gone before the timeout) with the container', async () => {
    const engine = testEngine();
    // `setsid sleep &` in a shell that exits at once: the sleeps are orphans in sessions of their own before the
    // action even returns; nothing but their inherited environment ties them to the container.
    const code = `const { execFileSync } = require('child_process');
      function main() {
        const out = execFileSync('sh', ['-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do setsid sleep 60 >/dev/null 2>&1 & echo $!; done'], { encoding: 'utf8' });
        console.log('PIDS ' + out.trim().split(/\\s+/).join(','));
        return {};
      }`;
    await engine.actions.create({ name: 'orphans', runtime: 'process', action: code });
    const record = (await engine.actions.invoke({ name: 'orphans', blocking: true })) as { logs: string[] };
    const pids = pidsOf(record.logs, 'PIDS');
    pidLists.push(pids);
    expect(pids).toHaveLength(10);
    expect(pids.filter(alive)).toHaveLength(10);
    expect(pids.map(parentOf).every((ppid) => ppid !== process.pid)).toBe(true);
    await engine.close(1000);
    expect(await survivors(pids)).toEqual([]);
  });

  it('stops a fork bomb at the process limit and ends the activation saying so', async () => {
    const engine = testEngine();
    // Digits only, so the sleeps carry it too (`sleep 60.<token>`): every process of the bomb can be found by it.
    const token = `${process.pid}${Date.now() % 1e6}`;
    tokens.push(token);
    const made = join(tmpdir(), `ew-bomb-${token}.log`);
    // Each shell records itself, forks two more and sleeps: 2^10 shells (plus a sleep each) if nothing stops it.
    // The pause per level keeps the full size out of reach of a stalled test, not of the runtime's watch.
    const script = `b() { echo x >> ${made}; sleep 0.2; if [ $1 -gt 0 ]; then b $(($1-1)) & b $(($1-1)) & fi; exec sleep 60.${token}; }; b 9 # ${token}`;
    const code = `const { spawn } = require('child_process');
      async function main() { spawn('sh', ['-c', ${JSON.stringify(script)}], { stdio: 'ignore' }); await new Promise((r) => setTimeout(r, 30000)); return {}; }`;
    await engine.actions.create({ name: 'bomb', runtime: 'process', action: code, limits: { timeout: 60000 } });
    try {
      const record = (await rejection(() => engine.actions.invoke({ name: 'bomb', blocking: true }))).details.activation;
      expect(record.response).toMatchObject({ status: 'action developer error', result: { error: 'The action did not produce a valid response and exited unexpectedly.' } });
      expect(record.logs.join('\n')).toContain(PIDS_EXCEEDED(DEFAULTS.processPidsLimit));
      // Before: all 1023 shells ran and the activation succeeded after 30 s.
      const shells = readFileSync(made, 'utf8').length / 2;
      expect(shells).toBeGreaterThan(DEFAULTS.processPidsLimit / 2);
      expect(shells).toBeLessThan(1023);
      expect(await survivors(processesWith(token))).toEqual([]);
    } finally {
      rmSync(made, { force: true });
    }
  });

  it('counts the memory of the action\'s children: a child allocating past the limit ends it as out of memory', async () => {
    const engine = testEngine();
    // The child holds 400 MB of buffers (private memory, not heap) and waits; the action waits for it.
    const child = 'const a = []; for (let i = 0; i < 40; i++) a.push(Buffer.alloc(1e7, 1)); console.log("allocated"); setTimeout(() => {}, 60000);';
    const code = `const { execFileSync } = require('child_process');
      function main() { execFileSync(process.execPath, ['-e', ${JSON.stringify(child)}], { stdio: 'inherit' }); return { ok: true }; }`;
    await engine.actions.create({ name: 'hog', runtime: 'process', action: code, limits: { memory: 128, timeout: 30000 } });
    const record = (await rejection(() => engine.actions.invoke({ name: 'hog', blocking: true }))).details.activation;
    // Before: the child's 400 MB were not counted, and the action ran into its time limit instead.
    expect(record.response).toMatchObject({ status: 'action developer error', result: { error: 'The action exhausted its memory and was aborted.' } });
    expect(record.logs.join('\n')).toMatch(new RegExp(MEMORY_EXCEEDED(999, 128).replace('999', '\\d+').replace(/[().]/g, '\\$&')));
  });

  it("takes the action's children (in its process group) along when the engine's process dies without closing", async () => {
    const host = spawn(process.execPath, [
      '-e',
      `const { createEngine } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'index.js'))});
       const engine = createEngine({ prewarmCount: 0 });
       const code = "const { spawn } = require('child_process'); function main() { const c = spawn('sleep', ['60'], { stdio: 'ignore' }); return { proxy: process.pid, child: c.pid }; }";
       engine.actions.create({ name: 'p', runtime: 'process', action: code })
         .then(() => engine.actions.invoke({ name: 'p', blocking: true, result: true }))
         .then((r) => console.log(JSON.stringify(r)));`,
    ], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => host.stdout?.once('data', (d: Buffer) => resolve(d.toString())));
    const { proxy, child } = JSON.parse(line) as { proxy: number; child: number };
    pidLists.push([proxy, child]);
    expect(alive(proxy) && alive(child)).toBe(true);
    host.kill('SIGKILL');
    // Before: the proxy exited by itself, but its child slept on.
    expect(await survivors([proxy, child])).toEqual([]);
  });

  it('honours processPidsLimit', async () => {
    const engine = testEngine({ processPidsLimit: 3 });
    const code = `const { spawn } = require('child_process');
      async function main(p) { for (let i = 0; i < p.n; i++) spawn('sleep', ['30'], { stdio: 'ignore' }); await new Promise((r) => setTimeout(r, 1500)); return { ok: true }; }`;
    await engine.actions.create({ name: 'few', runtime: 'process', action: code, limits: { timeout: 10000 } });
    expect(await engine.actions.invoke({ name: 'few', params: { n: 3 }, blocking: true, result: true })).toEqual({ ok: true });
    const record = (await rejection(() => engine.actions.invoke({ name: 'few', params: { n: 4 }, blocking: true }))).details.activation;
    expect(record.logs.join('\n')).toContain(PIDS_EXCEEDED(3));
    expect(() => testEngine({ processPidsLimit: 0 })).toThrow(/processPidsLimit/);
  });
});
