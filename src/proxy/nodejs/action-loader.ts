/**
 * Loading an action's code in the proxy process (docs/action-protocol.md#loading-plain-code and #archives).
 *
 * Plain code is a sloppy-mode script in the process's global scope, so `function main`, `var main`, undeclared
 * assignments and `global.main` all work, and `exports.main` / `module.exports.main` work as in a CommonJS module.
 * Archives are unpacked into a fresh directory that becomes the working directory; `main` is `fn`, `module.fn` or
 * `module.fn.nested`, resolved by `require` and property lookup, never by evaluating the name.
 */
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInThisContext } from 'node:vm';
import { isEntryPath, lookup, notAFunction } from './entry-point';

export type Entry = (params: unknown) => unknown;

function fail(message: string): never {
  throw new Error(message);
}

/**
 * A fixed expression appended to the action's script: the script's completion value is then the `main` binding
 * whatever declared it (`function`, `var`, `let`, `const`), which property lookup cannot see for `let`/`const`.
 * It is constant text: the `main` the user configured is never part of any source.
 */
const MAIN_PROBE = "\n;(typeof main === 'function' ? main : undefined);\n";

export function loadPlainCode(code: string, main: string, name: string): Entry {
  const filename = join(process.cwd(), `${(name || 'action').replace(/[^\w.-]/g, '_')}.js`);
  const module = { exports: {} as Record<string, unknown> };
  const globals = globalThis as Record<string, unknown>;
  Object.assign(globals, { module, exports: module.exports, require: createRequire(filename), __filename: filename, __dirname: process.cwd() });
  const path = main.split('.');
  const first = path[0] as string;
  // The global `main`'s first name had before the action runs (including what was just injected for it): a global
  // the action did not create or replace, such as `process` or `require`, is never its entry point. Only that one
  // name is read: reading every global's descriptor makes V8 materialize Node's lazily loaded globals (FormData
  // alone loads undici, ~40 ms on Node 22 and 24), a cost every container init would pay.
  const existed = Object.hasOwn(globalThis, first);
  const before: unknown = Object.getOwnPropertyDescriptor(globalThis, first)?.value;
  const probed: unknown = runInThisContext(code + MAIN_PROBE, { filename });
  let found: unknown = main === 'main' && typeof probed === 'function' ? probed : undefined;
  if (typeof found !== 'function') {
    const created = !existed || Object.getOwnPropertyDescriptor(globalThis, first)?.value !== before;
    if (created) found = lookup(globalThis, path);
  }
  if (typeof found !== 'function') found = lookup(module.exports, path);
  if (typeof found !== 'function' && typeof module.exports === 'function' && main === 'main') found = module.exports;
  if (typeof found !== 'function') fail(notAFunction(main));
  return found as Entry;
}

export async function loadArchive(data: Buffer, main: string): Promise<Entry> {
  const dir = await mkdtemp(join(tmpdir(), 'edgewhisk-action-'));
  // The folder lives as long as the process that runs the action.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  // Loaded on demand: plain-code actions (and worker threads) never pay for the archive libraries.
  const { extractArchive } = await import('./archive.js');
  await extractArchive(data, dir);
  // Relative file reads and bundled node_modules resolve from the unpacked folder, as in OpenWhisk.
  process.chdir(dir);
  const dot = main.indexOf('.');
  const modulePart = dot < 0 ? undefined : main.slice(0, dot);
  const propertyPath = (dot < 0 ? main : main.slice(dot + 1)).split('.');
  // Not named `require`: the compiled dynamic import above calls the module-scope `require`.
  const requireInDir = createRequire(join(dir, 'package.json'));
  let moduleExports: unknown;
  if (modulePart === undefined) {
    if (!existsSync(join(dir, 'package.json')) && !existsSync(join(dir, 'index.js'))) {
      fail('Zipped actions must contain either package.json or index.js at the root.');
    }
    moduleExports = requireInDir(dir);
  } else {
    moduleExports = requireInDir(join(dir, modulePart));
  }
  const found = lookup(moduleExports, propertyPath);
  if (typeof found !== 'function') fail(notAFunction(main));
  return found as Entry;
}

export async function loadAction(code: string, binary: boolean, main: string, name: string): Promise<Entry> {
  if (!isEntryPath(main)) fail(notAFunction(main));
  return binary ? loadArchive(Buffer.from(code, 'base64'), main) : loadPlainCode(code, main, name);
}
