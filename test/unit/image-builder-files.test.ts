/**
 * The parts of the image builder that need no Docker daemon: which npm packages the Node.js proxy takes along and
 * where they go in the image, the ELF loader lookup, the proxy digest, the image contract (one Node.js image per
 * supported major) and the kinds the Docker runtime offers for its images.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/index';
import { resolveDockerOptions } from '../../src/runtimes/docker/docker-options';
import { DOCKER_KINDS, DockerRuntime, dockerKinds } from '../../src/runtimes/docker/docker-runtime';
import { dockerfile } from '../../src/images/dockerfile';
import { elfInterpreter } from '../../src/images/host-files';
import { BASE_IMAGES, BUILD_KINDS, buildCommand, EDGEWHISK_IMAGES, imageKindOf, imageTag, notBuilt, proxyDigest } from '../../src/images/image-builder';
import { proxySource } from '../../src/runtimes/docker/proxy-source';
import { bundleDependencies, requiredPackages } from '../../src/runtimes/docker/node-modules';
import { SUPPORTED_NODE_MAJORS } from '../../src/runtimes/node-kinds';

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

  it("finds this repository's proxy packages: tar with its dependencies, and no zip library (zip-reader.ts reads zips)", () => {
    const root = join(__dirname, '..', '..');
    const names = proxySource('nodejs').packages.map((p) => p.name);
    // What tar depends on changes with its major (tar 8 has no dependencies at all): read from its manifest.
    const manifest = JSON.parse(readFileSync(join(root, 'node_modules', 'tar', 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    expect(names).toEqual(expect.arrayContaining(['tar', ...Object.keys(manifest.dependencies ?? {})]));
    expect(names).not.toContain('yauzl');
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
  it('is a stable SHA-256 per kind, the same for the language and the action kind of every Node.js major', () => {
    expect(proxyDigest('nodejs')).toMatch(/^[0-9a-f]{64}$/);
    expect(proxyDigest('nodejs:22')).toBe(proxyDigest('nodejs'));
    expect(proxyDigest('nodejs:24')).toBe(proxyDigest('nodejs'));
    expect(proxyDigest('python:3')).toBe(proxyDigest('python'));
    expect(proxyDigest('python')).not.toBe(proxyDigest('nodejs'));
    expect(() => proxyDigest('blackbox')).toThrow(/No EdgeWhisk image for kind blackbox/);
  });
});

describe('the image contract', () => {
  it('has one Node.js image per supported major, tagged and based on that major, and the Python image', () => {
    expect(SUPPORTED_NODE_MAJORS).toEqual([22, 24]);
    expect(EDGEWHISK_IMAGES).toEqual({
      'nodejs:22': 'edgewhisk/action-nodejs:22',
      'nodejs:24': 'edgewhisk/action-nodejs:24',
      'python:3': 'edgewhisk/action-python:3',
    });
    expect(BUILD_KINDS).toEqual({ nodejs: ['nodejs:22', 'nodejs:24'], python: ['python:3'] });
    expect(BASE_IMAGES).toEqual({ 'nodejs:22': 'node:22-bookworm-slim', 'nodejs:24': 'node:24-bookworm-slim', 'python:3': 'python:3.11-slim-bookworm' });
    expect(imageTag('nodejs:22')).toBe('edgewhisk/action-nodejs:22');
    expect(imageKindOf('edgewhisk/action-nodejs:24')).toBe('nodejs:24');
    expect(imageKindOf('edgewhisk/action-python:3')).toBe('python:3');
    expect(imageKindOf('edgewhisk/action-nodejs:20')).toBe('nodejs:20');
    expect(imageKindOf('edgewhisk/action-nodejs:latest')).toBeUndefined();
    expect(imageKindOf('node:24-bookworm-slim')).toBeUndefined();
  });

  it('labels a Node.js image with its real kind, checks its node is that major, and builds it from its own base online', () => {
    const source = proxySource('nodejs');
    const offline = dockerfile('nodejs:22', true, '22.23.5', source);
    expect(offline).toContain('org.edgewhisk.kind="nodejs:22"');
    expect(offline).toContain('org.edgewhisk.runtime-version="22.23.5"');
    expect(offline).toContain('FROM scratch');
    expect(offline).toContain("process.versions.node.split('.')[0] !== '22'");
    const online = dockerfile('nodejs:24', false, undefined, source);
    expect(online).toContain('FROM node:24-bookworm-slim');
    expect(online).toContain('org.edgewhisk.kind="nodejs:24"');
    expect(dockerfile('python:3', false, undefined, proxySource('python'))).toContain('FROM python:3.11-slim-bookworm');
  });

  it('names the command that builds exactly the image of a kind, with the node binary an offline build of another major needs', () => {
    const host = Number(process.versions.node.split('.')[0]);
    const other = SUPPORTED_NODE_MAJORS.find((major) => major !== host) ?? 0;
    expect(buildCommand(`nodejs:${host}`, false)).toBe('npx edgewhisk build-images --kind nodejs');
    expect(buildCommand(`nodejs:${host}`, true)).toBe('npx edgewhisk build-images --offline --kind nodejs');
    expect(buildCommand(`nodejs:${other}`, true)).toBe(`npx edgewhisk build-images --offline --kind nodejs --node <path of a Node.js ${other} binary>`);
    expect(buildCommand('python:3', true)).toBe('npx edgewhisk build-images --offline --kind python');
    // A retired major's image cannot be rebuilt: the advice points at the images EdgeWhisk does build.
    expect(buildCommand('nodejs:20', true)).toBeUndefined();
    expect(notBuilt('nodejs:20')).toBe(
      'EdgeWhisk no longer builds images for nodejs:20: its Node.js images are edgewhisk/action-nodejs:22, edgewhisk/action-nodejs:24 (point docker.images at one of them)',
    );
  });
});

describe('the Docker runtime', () => {
  it("runs the kinds of its configured images, and blackbox", () => {
    expect(DOCKER_KINDS).toEqual(['nodejs:22', 'nodejs:24', 'python:3', 'blackbox']);
    expect(new DockerRuntime({ options: DEFAULTS.docker, defaults: DEFAULTS.docker, memoryBudget: 1024 }).kinds).toEqual(DOCKER_KINDS);
    // Configured images are merged over the defaults: a new kind adds to the default ones.
    const options = resolveDockerOptions(DEFAULTS.docker, { images: { 'nodejs:24': 'my/node:24', 'nodejs:26': 'my/node:26' } });
    expect(new DockerRuntime({ options, defaults: DEFAULTS.docker, memoryBudget: 1024 }).kinds).toEqual(['nodejs:22', 'nodejs:24', 'python:3', 'nodejs:26', 'blackbox']);
    expect(dockerKinds({ blackbox: 'x/y:1' })).toEqual(['blackbox']);
  });
});
