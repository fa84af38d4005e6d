import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const src = join(__dirname, '..', '..', 'src');

/** The bare module specifiers a file imports (static, dynamic, type-only, require), as TypeScript's scanner reads
 *  them: a specifier inside a string (src/cli.ts prints `require('openwhisk')` as advice) is not an import. */
function packageImports(file: string): string[] {
  return ts
    .preProcessFile(readFileSync(file, 'utf8'), true, true)
    .importedFiles.map((i) => i.fileName)
    .filter((specifier) => !specifier.startsWith('.') && !isBuiltin(specifier));
}

/** `@scope/pkg/sub` → `@scope/pkg`, `pkg/sub` → `pkg`. */
function packageOf(specifier: string): string {
  return specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('architecture', () => {
  it('keeps Node-RED out of the engine: nothing under src/ outside src/nodes imports node-red', () => {
    const offenders = files(src)
      .filter((f) => !relative(src, f).startsWith('nodes'))
      .filter((f) => /(from|require\()\s*['"](node-red|@node-red\/[^'"]*)['"]/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('speaks OpenWhisk\'s REST API itself: nothing under src/ imports the `openwhisk` npm client (a devDependency, for tests)', () => {
    // Remote mode has its own client (src/remote/whisk-rest-client.ts), so the package needs one runtime dependency less.
    const offenders = files(src).flatMap((f) => packageImports(f).filter((s) => packageOf(s) === 'openwhisk').map((s) => `${relative(src, f)}: ${s}`));
    expect(offenders).toEqual([]);
  });

  it('imports at run time only Node.js built-ins and the runtime dependencies package.json lists', () => {
    // A devDependency imported by src/ works in this checkout and fails for every user (npm does not install it).
    const root = join(__dirname, '..', '..');
    const dependencies = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {});
    const offenders = files(src).flatMap((f) => packageImports(f).filter((s) => !dependencies.includes(packageOf(s))).map((s) => `${relative(src, f)}: ${s}`));
    expect(offenders).toEqual([]);
  });

  it('keeps the Node.js action proxy self-contained: src/proxy/nodejs imports nothing outside its folder', () => {
    // An image or a child process gets dist/proxy/nodejs and its npm packages only (src/runtimes/docker/proxy-source.ts).
    const proxy = join(src, 'proxy', 'nodejs');
    const outside = files(proxy).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/(?:from\s*|import\(\s*|require\(\s*)['"]([^'"]+)['"]/g)]
        .map((m) => m[1] as string)
        .filter((specifier) => specifier.startsWith('.') && !specifier.startsWith('./'))
        .map((specifier) => `${relative(src, f)}: ${specifier}`),
    );
    expect(outside).toEqual([]);
  });

  it('has no import cycles under src/ (type-only imports and re-exports included)', () => {
    // Each file's relative imports (static, dynamic, require), resolved to the .ts file they name (`./x`, `./x.js`, `./x/index`).
    const target = (from: string, specifier: string): string | undefined => {
      const base = resolve(dirname(from), specifier);
      return [`${base}.ts`, base.replace(/\.js$/, '.ts'), join(base, 'index.ts')].find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
    };
    const graph = new Map(
      files(src).map((f) => [
        f,
        [...readFileSync(f, 'utf8').matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)]
          .map((m) => target(f, m[1] as string))
          .filter((t): t is string => t !== undefined),
      ]),
    );
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      path.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].map((f) => relative(src, f)).join(' → '));
        else if (!state.has(next)) visit(next);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });

  it('names every source file in kebab-case', () => {
    const bad = files(src).filter((f) => !/^[a-z0-9]+(-[a-z0-9]+)*\.ts$/.test(f.split('/').pop() ?? ''));
    expect(bad).toEqual([]);
  });

  it('loads from plain Node after the build: require("node-red-contrib-edgewhisk") exposes createEngine', async () => {
    const { execFileSync } = await import('node:child_process');
    const root = join(__dirname, '..', '..');
    const out = execFileSync(
      process.execPath,
      ['-e', "const { createEngine } = require(process.argv[1]); const e = createEngine({ prewarmCount: 0 }); e.close().then(() => console.log(typeof createEngine))", root],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe('function');
  });

  it('loads Docker support only for an engine that uses Docker: the package and its nodes load neither dockerode nor the image builder', async () => {
    const { execFileSync } = await import('node:child_process');
    const root = join(__dirname, '..', '..');
    const script = `
      const root = process.argv[1];
      const loaded = (re) => Object.keys(require.cache).filter((k) => re.test(k)).length;
      const { createEngine } = require(root);
      for (const node of ['edgewhisk-engine', 'edgewhisk-action', 'edgewhisk-trigger', 'edgewhisk-rule', 'edgewhisk-activations']) require(root + '/dist/nodes/' + node + '.js');
      const plain = createEngine({ prewarmCount: 0 });
      const before = { dockerode: loaded(/node_modules[\\/]dockerode[\\/]/), builder: loaded(/dist[\\/]images[\\/]/) };
      const docker = createEngine({ prewarmCount: 0, docker: { enabled: true } });
      const after = { dockerode: loaded(/node_modules[\\/]dockerode[\\/]/) };
      Promise.all([plain.close(), docker.close(500)]).then(() => console.log(JSON.stringify({ before, after })));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script, root], { encoding: 'utf8' })) as { before: { dockerode: number; builder: number }; after: { dockerode: number } };
    expect(out.before).toEqual({ dockerode: 0, builder: 0 });
    expect(out.after.dockerode).toBeGreaterThan(0);
  });

  it('keeps the image builder (a command-line subsystem) out of the engine: only the CLI imports src/images', () => {
    const offenders = files(src)
      .filter((f) => !relative(src, f).startsWith('images') && relative(src, f) !== 'cli.ts')
      .filter((f) => /from\s*['"][./]*images\//.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
