/**
 * Engines on the real Docker daemon for the Docker test files: each gets an instance name of its own, so tests can
 * find exactly their containers by label, and everything an engine made is gone after the test.
 */
import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { afterEach } from 'vitest';
import type { Engine, EngineConfig } from '../../src/index';
import type { DockerOptionsInput } from '../../src/runtimes/docker/docker-options';
import { testEngine } from '../helpers/engine';

export const docker = new Dockerode();

const instances = new Set<string>();
const engines = new Set<Engine>();

export function uniqueInstance(prefix = 'test'): string {
  const name = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
  instances.add(name);
  return name;
}

/** An engine whose default runtime is Docker; closed (and its containers removed) after the test. */
export function dockerEngine(config: EngineConfig & { docker?: DockerOptionsInput } = {}): { engine: Engine; instance: string } {
  const instance = config.docker?.instance ?? uniqueInstance();
  instances.add(instance);
  const engine = testEngine({ defaultRuntime: 'docker', ...config, docker: { ...config.docker, instance } });
  engines.add(engine);
  return { engine, instance };
}

/** The containers (running or not) labelled with `instance`. */
export async function containersOf(instance: string): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: JSON.stringify({ label: [`org.edgewhisk.instance=${instance}`] }) });
}

/** Polls until `check` holds (or fails the test after `timeout` ms with `what`). */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Vitest runs after-hooks in reverse order, so this one runs before testEngine's: it closes the engines itself
// (closing is idempotent), then removes whatever a failed test left behind.
afterEach(async () => {
  await Promise.all([...engines].map((e) => e.close(1000)));
  engines.clear();
  for (const instance of instances) {
    for (const c of await containersOf(instance).catch(() => [])) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
  instances.clear();
});
