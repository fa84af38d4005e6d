/**
 * Loading an action's code in the proxy process (action-proxy-protocol §3.3-§3.4).
 *
 * Plain code is a sloppy-mode script in the process's global scope, so `function main`, `var main`, undeclared
 * assignments and `global.main` all work, and `exports.main` / `module.exports.main` work as in a CommonJS module.
 * Archives are unpacked into a fresh directory that becomes the working directory; `main` is `fn`, `module.fn` or
 * `module.fn.nested`, resolved by `require` and property lookup, never by evaluating the name.
 */
import { existsSync } from 'node:fs';
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

export function loadPlainCode(code: string, main: string, name: string): Entry {
  const filename = join(process.cwd(), `${(name || 'action').replace(/[^\w.-]/g, '_')}.js`);
  const module = { exports: {} as Record<string, unknown> };
  const globals = globalThis as Record<string, unknown>;
  const before = new Set(Object.getOwnPropertyNames(globalThis));
  Object.assign(globals, { module, exports: module.exports, require: createRequire(filename), __filename: filename, __dirname: process.cwd() });
  runInThisContext(code, { filename });
  const path = main.split('.');
  // Only globals the action created count: a `main` such as `process.exit` finds nothing.
  let found = before.has(path[0] as string) ? undefined : lookup(globalThis, path);
  if (typeof found !== 'function') found = lookup(module.exports, path);
  if (typeof found !== 'function' && typeof module.exports === 'function' && main === 'main') found = module.exports;
  if (typeof found !== 'function') fail(notAFunction(main));
  return found as Entry;
}

export async function loadArchive(data: Buffer, main: string): Promise<Entry> {
  const dir = await mkdtemp(join(tmpdir(), 'edgewhisk-action-'));
  // Loaded on demand: plain-code actions (and worker threads) never pay for the archive libraries.
  const { extractArchive } = await import('./archive');
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
