/**
 * Loading an action must not touch Node's lazily loaded globals. On Node.js 22 and 24, globals such as FormData,
 * fetch or WebSocket load their implementation (undici, web streams) the first time anything reads them — reading
 * their property descriptor is enough. A loader that snapshots every global did exactly that and added 40-70 ms to
 * every container init on Node 24. `process.moduleLoadList` lists the built-in modules a process or thread loaded,
 * so the tests see the cost itself, not a timing.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testEngine } from '../helpers/engine';

const loader = join(__dirname, '..', '..', 'dist', 'proxy', 'nodejs', 'action-loader.js');
// What reading FormData, fetch, WebSocket or EventSource loads. (Node 22 loads parts of web streams at start-up in
// every thread, so those are no sign of the loader; the fresh-process test compares before and after instead.)
const LAZY = /undici|websocket|eventsource/i;

describe('loading plain action code', () => {
  it.each([
    ['function main(p) { return p; }', 'main'],
    ['const main = async () => ({});', 'main'],
    ['var handler = function () {};', 'handler'],
    ['exports.main = () => 1;', 'main'],
    ['global.lib = { run: function () {} };', 'lib.run'],
  ])('loads no built-in module for %s (main %s)', (code, main) => {
    // A fresh process of the Node under test, so nothing the test runner loaded hides a module the loader loads.
    const script = `
      const { loadPlainCode } = require(${JSON.stringify(loader)});
      const before = new Set(process.moduleLoadList);
      const entry = loadPlainCode(${JSON.stringify(code)}, ${JSON.stringify(main)}, 'probe');
      console.log(JSON.stringify({ entry: typeof entry, loaded: process.moduleLoadList.filter((m) => !before.has(m)) }));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as { entry: string; loaded: string[] };
    expect(out.entry).toBe('function');
    expect(out.loaded).toEqual([]);
  });

  it.each(['worker', 'process'])('leaves undici (FormData, fetch, WebSocket) unloaded in a %s container after init', async (runtime) => {
    const engine = testEngine({ defaultRuntime: runtime });
    await engine.actions.create({
      name: 'lazy-probe',
      action: `function main() { return { lazy: process.moduleLoadList.filter((m) => ${LAZY.toString()}.test(m)), node: process.version }; }`,
    });
    const result = (await engine.actions.invoke({ name: 'lazy-probe', blocking: true, result: true })) as { lazy: string[]; node: string };
    expect(result.node).toBe(process.version);
    expect(result.lazy).toEqual([]);
  });
});
