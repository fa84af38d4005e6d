/**
 * Docker test files run against the real daemon, and only there. Call `requireDocker()` from the file's
 * `beforeAll` (with a generous timeout: it may build images):
 * - daemon reachable: resolves `true`; with `{ images: true }` the images most tests use (nodejs:24 and python:3)
 *   are built first (offline) unless they are there and hold this version's proxies, or with `{ images: [...] }`
 *   the images of those kinds. `requireImages()` does the same from inside a test, so only the tests that need an
 *   image fail when it cannot be built;
 * - daemon unreachable, `EDGEWHISK_REQUIRE_DOCKER=1` (CI): throws, so every test of the file fails;
 * - daemon unreachable otherwise (a laptop without Docker): resolves `false`, and each test of the file is
 *   reported skipped with the reason, by the `beforeEach` this module adds to the file that imports it.
 * Nothing here marks tests skipped statically (CI refuses skip/only/todo modifiers in test files).
 */
import { execFileSync } from 'node:child_process';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { beforeEach } from 'vitest';
import { buildImages, imageStatus, imageTag, kindOf, type BuildKind, type ImageKind } from '../../src/images/image-builder';
import { nodeMajorOf } from '../../src/runtimes/node-kinds';

/** The images most Docker tests run on: the newest Node.js major's (what `nodejs:default` becomes) and Python's. */
export const TEST_IMAGE_KINDS: readonly ImageKind[] = ['nodejs:24', 'python:3'];

/** The repository's own Node.js (the `node` devDependency): where the nodejs:24 image is built from. */
const REPOSITORY_NODE = join(__dirname, '..', '..', 'node_modules', '.bin', 'node');

let unavailable: string | undefined;

// Registered on the suite of the test file importing this module (as it is collected), so it runs before each of
// that file's tests. A skip here reports the test as skipped, with the note, and runs neither it nor its hooks.
beforeEach((context) => {
  if (unavailable !== undefined) context.skip(unavailable);
});

export interface RequireDockerOptions {
  /**
   * Make sure EdgeWhisk's action images are built and current (builds offline what is missing or stale): `true` for
   * `TEST_IMAGE_KINDS`, or the kinds whose images the file needs.
   */
  readonly images?: boolean | readonly ImageKind[];
}

/** Whether the daemon answers, and why not. A short timeout: an unreachable TCP DOCKER_HOST must not hang a test. */
export async function pingDocker(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await new Dockerode({ timeout: 5000 }).ping();
    return { ok: true };
  } catch (error) {
    const where = process.env['DOCKER_HOST'] ?? '/var/run/docker.sock';
    return { ok: false, reason: `no Docker daemon at ${where}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export async function requireDocker(options: RequireDockerOptions = {}): Promise<boolean> {
  const ping = await pingDocker();
  if (!ping.ok) {
    if (process.env['EDGEWHISK_REQUIRE_DOCKER'] === '1') {
      throw new Error(`EDGEWHISK_REQUIRE_DOCKER=1 but ${ping.reason}. The Docker tests must run here.`);
    }
    unavailable = `${ping.reason} (set EDGEWHISK_REQUIRE_DOCKER=1 to fail instead of skipping)`;
    return false;
  }
  unavailable = undefined;
  if (options.images !== undefined && options.images !== false) await requireImages(options.images === true ? TEST_IMAGE_KINDS : options.images);
  return true;
}

/**
 * Builds the images of `kinds` that are missing or stale, offline, one test process at a time: test files run in
 * parallel, and two builds of the same tag would only race. Never removes an image; a rebuilt tag leaves the old
 * one untagged. A Node.js image is built from a node binary of its major (see `nodeBinary`); when there is none,
 * this throws with the command that builds the image: the test needing it fails, it is never skipped.
 */
export async function requireImages(kinds: readonly ImageKind[]): Promise<void> {
  const docker = new Dockerode();
  const release = await lock(join(tmpdir(), 'edgewhisk-test-image-build.lock'));
  try {
    const stale: ImageKind[] = [];
    for (const kind of new Set(kinds)) if ((await imageStatus(docker, kind)) !== 'current') stale.push(kind);
    if (stale.length === 0) return;
    const nodeBinaries = stale.flatMap((kind) => {
      const major = nodeMajorOf(kind);
      return major === undefined ? [] : [nodeBinary(major, kind)];
    });
    const log: string[] = [];
    try {
      await buildImages(docker, {
        offline: true,
        kinds: [...new Set(stale.map((kind): BuildKind => kindOf(kind)))],
        ...(nodeBinaries.length === 0 ? {} : { nodeBinaries }),
        onProgress: (line) => log.push(line),
      });
    } catch (error) {
      throw new Error(`Building ${stale.map(imageTag).join(', ')} for the Docker tests failed: ${error instanceof Error ? error.message : String(error)}\n${log.slice(-30).join('\n')}`);
    }
  } finally {
    release();
  }
}

/**
 * A node binary of `major` to build its image from: the one named by `EDGEWHISK_NODE<major>` (CI sets
 * EDGEWHISK_NODE22), else the repository's own node or the one running the tests when it is of that major.
 */
function nodeBinary(major: number, kind: ImageKind): string {
  const variable = `EDGEWHISK_NODE${major}`;
  const named = process.env[variable];
  if (named !== undefined && named !== '') {
    const version = versionOf(named);
    if (version?.split('.')[0] !== String(major)) throw new Error(`${variable}=${named} is ${version === undefined ? 'not a node binary' : `Node.js ${version}`}, not Node.js ${major}.`);
    return named;
  }
  const found = [REPOSITORY_NODE, process.execPath].find((binary) => versionOf(binary)?.split('.')[0] === String(major));
  if (found !== undefined) return found;
  throw new Error(
    `The test needs ${imageTag(kind)}, which is missing or holds another version's proxy, and there is no Node.js ${major} to build it from ` +
      `(${variable} is not set; ${REPOSITORY_NODE} and ${process.execPath} are of other majors). Build it once with ` +
      `\`npm run build:images -- --offline --kind nodejs --node <path of a Node.js ${major} binary>\`, or set ${variable} to that path.`,
  );
}

function versionOf(binary: string): string | undefined {
  try {
    const env = { ...process.env };
    delete env['NODE_OPTIONS'];
    return execFileSync(binary, ['-p', 'process.versions.node'], { encoding: 'utf8', env, timeout: 30_000 }).trim();
  } catch {
    return undefined;
  }
}

/** A lock file holding the owner's pid; one left by a process that is gone is taken over. */
async function lock(path: string, timeout = 600_000): Promise<() => void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    // Written aside and linked into place: the lock never exists without its pid.
    const mine = `${path}.${process.pid}`;
    writeFileSync(mine, String(process.pid));
    try {
      linkSync(mine, path);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      rmSync(mine, { force: true });
    }
    if (!alive(Number(readOr(path, '')))) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`waited ${timeout} ms for ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
