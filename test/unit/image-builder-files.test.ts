/**
 * The parts of the image builder that need no Docker daemon: which npm packages the Node.js proxy takes along and
 * where they go in the image, the ELF loader lookup, and the proxy digest.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { elfInterpreter } from '../../src/runtimes/docker/host-files';
import { proxyDigest } from '../../src/runtimes/docker/image-builder';
import { bundleDependencies, requiredPackages } from '../../src/runtimes/docker/node-modules';

const roots: string[] = [];

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** Writes a package.json (and an index.js) for each `path → {version, dependencies}` under a fresh directory. */
function tree(packages: Record<string, { version: string; dependencies?: Record<string, string> }>): string {
  const root = mkdtempSync(join(tmpdir(), 'edgewhisk-modules-'));
  roots.push(root);
  for (const [path, manifest] of Object.entries(packages)) {
    mkdirSync(join(root, path), { recursive: true });
    writeFileSync(join(root, path, 'package.json'), JSON.stringify(manifest));
    writeFileSync(join(root, path, 'index.js'), 'module.exports = {};\n');
  }
  mkdirSync(join(root, 'dist', 'proxy', 'nodejs'), { recursive: true });
  return root;
}

describe('requiredPackages', () => {
  it('names the npm packages of bare requires, not Node modules or relative files', () => {
    const source = `const a = require("tar"); const b = require('@scope/pkg/sub/path'); require("node:fs"); require("fs");
      require("./local"); require("../up"); require("yauzl/lib/x"); require("fs/promises");`;
    expect(requiredPackages(source)).toEqual(['@scope/pkg', 'tar', 'yauzl']);
  });
});

describe('bundleDependencies', () => {
  it('hoists what does not clash and nests another version under the package that needs it', () => {
    const root = tree({
      'node_modules/a': { version: '1.0.0', dependencies: { b: '^2' } },
      'node_modules/a/node_modules/b': { version: '2.0.0' },
      'node_modules/b': { version: '1.0.0' },
      'node_modules/c': { version: '1.0.0', dependencies: { b: '^1' } },
    });
    const bundled = bundleDependencies(['a', 'c'], join(root, 'dist', 'proxy', 'nodejs'), 'proxy/nodejs');
    expect(bundled.map((p) => [p.target, p.version, p.source.slice(root.length)])).toEqual([
      ['node_modules/a', '1.0.0', '/node_modules/a'],
      ['node_modules/b', '2.0.0', '/node_modules/a/node_modules/b'],
      ['node_modules/c', '1.0.0', '/node_modules/c'],
      ['node_modules/c/node_modules/b', '1.0.0', '/node_modules/b'],
    ]);
  });

  it('follows symlinked packages to their real directory and resolves their dependencies from there (pnpm)', () => {
    const root = tree({
      'node_modules/.pnpm/x@1.0.0/node_modules/x': { version: '1.0.0', dependencies: { y: '^1' } },
      'node_modules/.pnpm/x@1.0.0/node_modules/y': { version: '1.2.0' },
    });
    symlinkSync(join(root, 'node_modules/.pnpm/x@1.0.0/node_modules/x'), join(root, 'node_modules/x'), 'dir');
    const bundled = bundleDependencies(['x'], join(root, 'dist', 'proxy', 'nodejs'), 'proxy/nodejs');
    expect(bundled.map((p) => [p.target, p.version])).toEqual([
      ['node_modules/x', '1.0.0'],
      ['node_modules/y', '1.2.0'],
    ]);
  });

  it('refuses a package that is not installed, and skips a missing optional one', () => {
    const root = tree({ 'node_modules/a': { version: '1.0.0', dependencies: { gone: '^1' } } });
    expect(() => bundleDependencies(['a'], join(root, 'dist', 'proxy', 'nodejs'), 'proxy/nodejs')).toThrow(/Cannot find the npm package gone/);
    writeFileSync(join(root, 'node_modules/a/package.json'), JSON.stringify({ version: '1.0.0', dependencies: { gone: '^1' }, optionalDependencies: { gone: '^1' } }));
    expect(bundleDependencies(['a'], join(root, 'dist', 'proxy', 'nodejs'), 'proxy/nodejs').map((p) => p.name)).toEqual(['a']);
  });

  it("finds this repository's proxy packages: tar and yauzl with their dependencies", () => {
    const names = bundleDependencies(['tar', 'yauzl'], join(__dirname, '..', '..', 'dist', 'proxy', 'nodejs'), 'proxy/nodejs').map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['tar', 'yauzl', 'minipass', 'minizlib', 'pend']));
  });
});

describe('elfInterpreter', () => {
  it("names the loader of this Node.js, which exists on the host; none for a file that is not ELF", () => {
    const loader = elfInterpreter(process.execPath);
    if (loader !== undefined) {
      expect(loader).toMatch(/^\//);
      expect(existsSync(loader)).toBe(true);
    }
    expect(elfInterpreter(join(__dirname, '..', '..', 'package.json'))).toBeUndefined();
  });
});

describe('proxyDigest', () => {
  it('is a stable SHA-256 per kind, the same for the language and the action kind', () => {
    expect(proxyDigest('nodejs')).toMatch(/^[0-9a-f]{64}$/);
    expect(proxyDigest('nodejs:20')).toBe(proxyDigest('nodejs'));
    expect(proxyDigest('python:3')).toBe(proxyDigest('python'));
    expect(proxyDigest('python')).not.toBe(proxyDigest('nodejs'));
  });
});
