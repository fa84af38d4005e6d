/**
 * A real crash: a child Node.js process makes an engine on `store`, defines `slow` (sleeps `p.ms`, default 1500 ms,
 * and returns `{i}`), accepts `count` non-blocking invocations of it, and kills itself with SIGKILL once all are accepted
 * and `running` of them have started (their code got them). The store is then what a kill -9 left. Runs against dist/ (built by the
 * test command).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const SLOW_ACTION = 'function main(p) { return new Promise((r) => setTimeout(() => r({ i: p.i }), p.ms || 1500)); }';

export interface Crash {
  /** Activation ids of every accepted invocation, in order. */
  readonly ids: string[];
  /** The ones that had started when the process was killed. */
  readonly started: string[];
}

/** `running` should be 2, the pool's size here: with fewer, another start can happen before the kill. */
export function crashEngine(store: string, options: { count: number; running: number; extra?: string }): Crash {
  const script = `
    const { createEngine } = require(${JSON.stringify(join(__dirname, '../../dist/index.js'))});
    (async () => {
      // Two 256 MB containers: two invocations run, the rest wait in the queue.
      const engine = createEngine({ store: ${JSON.stringify(store)}, prewarmCount: 0, memoryBudget: 512 });
      await engine.actions.create({ name: 'slow', action: ${JSON.stringify(SLOW_ACTION)}, limits: { memory: 256 } });
      ${options.extra ?? ''}
      const started = [];
      engine.on('activation:started', (a) => started.push(a.activationId));
      const ids = (await Promise.all(Array.from({ length: ${options.count} }, (_, i) => engine.actions.invoke({ name: 'slow', params: { i } })))).map((r) => r.activationId);
      while (started.length < ${options.running}) await new Promise((r) => setTimeout(r, 5));
      // A start is written with the next commit, within 10 ms (docs/durability.md): past that, a kill finds it.
      await new Promise((r) => setTimeout(r, 50));
      process.stdout.write(JSON.stringify({ ids, started }), () => process.kill(process.pid, 'SIGKILL'));
    })().catch((error) => { console.error(error); process.exit(3); });
  `;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  if (run.signal !== 'SIGKILL') throw new Error(`the engine process was to kill itself, it ended with ${String(run.status)}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Crash;
}
