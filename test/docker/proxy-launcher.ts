/**
 * Points a proxy conformance suite (test/conformance/*-proxy.test.ts) at one of EdgeWhisk's images: every case's
 * "proxy process" becomes test/docker/docker-proxy-launcher.cjs, which runs the image hardened as the Docker runtime
 * does and relays a loopback port to the proxy's Unix socket. Call `useDockerProxy()` at the top of a test file,
 * then import the suite (dynamically: the suite reads its command from the environment as it loads).
 *
 * After each case it checks that the launcher left nothing behind: no container with this file's instance label,
 * no socket directory. What a case left is removed, and the case fails saying so.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { requireDocker } from './docker-available';
import { containersOf, docker } from './docker-engine';

export const LAUNCHER = join(__dirname, 'docker-proxy-launcher.cjs');

/** The temp dir inside EdgeWhisk's images (their `TMPDIR`): where the proxies unpack archives. */
const IMAGE_TMPDIR = '/tmp';

export type ProxyCommandVariable = 'EW_NODE_PROXY_COMMAND' | 'EW_PYTHON_PROXY_COMMAND';

/** Sets the suite's environment so its proxy is `image` in a container, and checks each case's cleanup. */
export function useDockerProxy(variable: ProxyCommandVariable, image: string): { instance: string; command: readonly string[] } {
  // Not docker-engine's uniqueInstance: its sweep forgets an instance after the first test; this file's checks stay.
  const instance = `conformance-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  const socketBase = mkdtempSync(join(tmpdir(), 'ew-launcher-sockets-'));
  const command = [process.execPath, LAUNCHER, '--instance', instance, '--socket-base', socketBase, image];
  process.env[variable] = JSON.stringify(command);
  process.env['EW_PROXY_IS_REMOTE'] = '1';
  process.env['EW_PROXY_TMPDIR'] = IMAGE_TMPDIR;

  beforeAll(async () => {
    await requireDocker({ images: true });
  }, 600_000);

  // Registered before the suite's own afterEach (stopAll), so it runs after it: hooks after a test run in reverse.
  afterEach(async () => {
    const left = await containersOf(instance);
    for (const c of left) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    const dirs = readdirSync(socketBase);
    for (const dir of dirs) rmSync(join(socketBase, dir), { recursive: true, force: true });
    if (left.length > 0 || dirs.length > 0) {
      throw new Error(`the launcher left ${left.length} container(s) [${left.map((c) => c.Names.join(',')).join(' ')}] and ${dirs.length} socket dir(s) [${dirs.join(' ')}]`);
    }
  });

  afterAll(() => {
    rmSync(socketBase, { recursive: true, force: true });
  });
  return { instance, command };
}
