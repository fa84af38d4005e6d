/**
 * The npm packages the Node.js action proxy needs at run time, found the way `require` finds them on the host and
 * laid out in the image so that `require` finds the same ones there. The host tree may be hoisted (npm), nested
 * (a conflicting version under its dependent), or symlinked (pnpm, npm link): each package is taken from its real
 * directory, its dependencies are resolved from there, and the image gets a flat `node_modules/` wherever names
 * do not clash, nesting a package under its dependent only where another version already took the name.
 */
import { builtinModules } from 'node:module';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';

export interface BundledPackage {
  readonly name: string;
  readonly version: string;
  /** The package's real directory on the host. */
  readonly source: string;
  /** Where it goes in the image, POSIX and relative to the bundle root, e.g. `node_modules/tar`. */
  readonly target: string;
}

interface Manifest {
  readonly version?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

const BUILTINS = new Set(builtinModules);

/**
 * The npm packages a CommonJS file requires by bare name (`require("tar")`, `require("@scope/pkg/sub")` →
 * `@scope/pkg`), leaving out Node's own modules and relative paths. Compiled TypeScript writes every require
 * with a string literal, so a pattern is enough here.
 */
export function requiredPackages(source: string): string[] {
  const names = new Set<string>();
  for (const match of source.matchAll(/\brequire\(\s*["']([^"'./][^"']*)["']\s*\)/g)) {
    const specifier = match[1] ?? '';
    if (specifier.startsWith('node:') || BUILTINS.has(specifier)) continue;
    const parts = specifier.split('/');
    const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
    if (!BUILTINS.has(name)) names.add(name);
  }
  return [...names].sort();
}

/** The real directory of package `name` as `require` would find it from a file in `fromDir`, or `undefined`. */
export function resolvePackage(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    if (basename(dir) !== 'node_modules') {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/**
 * Every package that `names`, required from files in `fromDir` on the host, needs (their `dependencies`, and the
 * optional and peer dependencies that are installed, transitively), with where each goes in the image. `fromTarget` is
 * where the requiring files sit in the image, relative to the bundle root (e.g. `proxy/nodejs`); packages go
 * under `node_modules/` of that root or deeper. Throws when a package is not installed, or when no layout gives
 * every package the version it resolves on the host.
 */
export function bundleDependencies(names: readonly string[], fromDir: string, fromTarget: string): BundledPackage[] {
  const placed = new Map<string, string>(); // image target → host source
  const bundled: BundledPackage[] = [];
  const edges: { fromTarget: string; name: string; source: string }[] = [];

  // The target `require(name)` reaches from files in `target` (Node's lookup: each ancestor's node_modules).
  const visible = (target: string, name: string): string | undefined => {
    for (let dir = target; ; dir = posix.dirname(dir)) {
      if (posix.basename(dir) !== 'node_modules') {
        const candidate = posix.join(dir, 'node_modules', name);
        if (placed.has(candidate)) return candidate;
      }
      if (dir === '.' || dir === '' || dir === '/') return undefined;
    }
  };

  // Breadth first, like npm's hoisting: the packages nearest the proxy take the top-level names.
  const queue: { name: string; fromSource: string; fromTarget: string; optional: boolean; depth: number }[] = names.map((name) => ({
    name,
    fromSource: fromDir,
    fromTarget,
    optional: false,
    depth: 0,
  }));
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const source = resolvePackage(item.name, item.fromSource);
    if (source === undefined) {
      if (item.optional) continue;
      throw new Error(`Cannot find the npm package ${item.name} (needed by ${item.fromSource}): run \`npm install\` first.`);
    }
    if (item.depth > 64) throw new Error(`npm dependencies nest deeper than 64 levels at ${source}.`);
    edges.push({ fromTarget: item.fromTarget, name: item.name, source });
    const seen = visible(item.fromTarget, item.name);
    if (seen !== undefined && placed.get(seen) === source) continue;
    // Nothing visible means the top-level name is free (the top is on every lookup path); otherwise another version
    // holds the name, and this one goes into its dependent's own node_modules, which the dependent sees first.
    const target = seen === undefined ? posix.join('node_modules', item.name) : posix.join(item.fromTarget, 'node_modules', item.name);
    placed.set(target, source);
    const pkg = manifest(source);
    bundled.push({ name: item.name, version: pkg.version ?? '0.0.0', source, target });
    // npm lists an optional dependency in `dependencies` too; one that did not install is no error. Installed peers
    // come along: a package requires its peer like any dependency.
    const required = Object.keys(pkg.dependencies ?? {});
    const optional = new Set([...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
    for (const name of new Set([...required, ...optional])) {
      queue.push({ name, fromSource: source, fromTarget: target, optional: optional.has(name), depth: item.depth + 1 });
    }
  }
  // A package nested later can shadow a name for one placed earlier below it: check every lookup once more.
  for (const edge of edges) {
    const seen = visible(edge.fromTarget, edge.name);
    if (seen === undefined || placed.get(seen) !== edge.source) {
      throw new Error(`Cannot lay out node_modules for the image: ${edge.fromTarget} would not find ${edge.name} at ${edge.source}.`);
    }
  }
  return bundled.sort((a, b) => a.target.localeCompare(b.target));
}
