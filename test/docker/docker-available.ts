/**
 * Docker test files run against the real daemon, and only there. Call `requireDocker()` from the file's
 * `beforeAll` (with a generous timeout: it may build images):
 * - daemon reachable: resolves `true`; with `{ images: true }` EdgeWhisk's images are built first (offline, from
 *   this host's node and python3) unless they are there and hold this version's proxies;
 * - daemon unreachable, `EDGEWHISK_REQUIRE_DOCKER=1` (CI): throws, so every test of the file fails;
 * - daemon unreachable otherwise (a laptop without Docker): resolves `false`, and each test of the file is
 *   reported skipped with the reason, by the `beforeEach` this module adds to the file that imports it.
 * Nothing here marks tests skipped statically (CI refuses skip/only/todo modifiers in test files).
 */
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { beforeEach } from 'vitest';
import { BUILD_KINDS, buildImages, imageStatus, type BuildKind } from '../../src/runtimes/docker/image-builder';

let unavailable: string | undefined;

// Registered on the suite of the test file importing this module (as it is collected), so it runs before each of
// that file's tests. A skip here reports the test as skipped, with the note, and runs neither it nor its hooks.
beforeEach((context) => {
  if (unavailable !== undefined) context.skip(unavailable);
});

export interface RequireDockerOptions {
  /** Make sure EdgeWhisk's action images are built and current (builds offline what is missing or stale). */
  readonly images?: boolean;
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
  if (options.images === true) await ensureImages();
  return true;
}

/**
 * Builds the images that are missing or stale, one test process at a time: test files run in parallel, and two
 * builds of the same tag would only race. Never removes an image; a rebuilt tag leaves the old one untagged.
 */
async function ensureImages(): Promise<void> {
  const docker = new Dockerode();
  const release = await lock(join(tmpdir(), 'edgewhisk-test-image-build.lock'));
  try {
    const kinds: BuildKind[] = [];
    for (const kind of Object.keys(BUILD_KINDS) as BuildKind[]) {
      if ((await imageStatus(docker, kind)) !== 'current') kinds.push(kind);
    }
    if (kinds.length === 0) return;
    const log: string[] = [];
    try {
      await buildImages(docker, { offline: true, kinds, onProgress: (line) => log.push(line) });
    } catch (error) {
      throw new Error(`Building the EdgeWhisk images for the Docker tests failed: ${error instanceof Error ? error.message : String(error)}\n${log.slice(-30).join('\n')}`);
    }
  } finally {
    release();
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
