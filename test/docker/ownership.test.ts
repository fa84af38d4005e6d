/**
 * Which containers an engine may remove as leftovers, when several engines share one daemon and one
 * `docker.instance`: only those whose owner is provably dead (its process gone, in this pid namespace) or whose
 * owner's lease on the daemon has expired. A live engine's containers are never touched, whatever its hostname.
 * Engines "on another host" are engine processes with another hostname, or runtimes given another identity (a
 * hostname and pid namespace of their own), as a second Node-RED container sharing the daemon would have.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, type Engine } from '../../src/index';
import { DockerRuntime, type DockerRuntimeConfig } from '../../src/runtimes/docker/docker-runtime';
import { resolveDockerOptions } from '../../src/runtimes/docker/docker-options';
import { testEngine, waitForActivation } from '../helpers/engine';
import { requireDocker } from './docker-available';
import { containersOf, docker, dockerEngine, eventually, uniqueInstance } from './docker-engine';

const ROOT = join(__dirname, '..', '..');
const NODE_IMAGE = 'edgewhisk/action-nodejs:24';
const ELSEWHERE = { hostname: 'simulated-other-host', processNamespace: 'simulated-boot/pid:[1]' };

beforeAll(async () => {
  await requireDocker({ images: ['nodejs:24'] });
}, 600_000);

const children = new Set<ChildProcess>();
const volumes = new Set<string>();

afterEach(async () => {
  await Promise.all([...children].map(killed));
  children.clear();
  for (const name of volumes) await docker.getVolume(name).remove().catch(() => undefined);
  volumes.clear();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary record fields
async function activate(engine: Engine, name: string): Promise<any> {
  const { activationId } = (await engine.actions.invoke({ name })) as { activationId: string };
  return waitForActivation(engine, activationId, 40_000);
}

function runtime(instance: string, extra: Partial<DockerRuntimeConfig> = {}): DockerRuntime {
  return new DockerRuntime({ options: resolveDockerOptions(DEFAULTS.docker, { instance }), defaults: DEFAULTS.docker, memoryBudget: 1024, ...extra });
}

/**
 * An engine process (built code, dist/) that makes one warm container of `instance`, then waits to be killed.
 * `setup` is JavaScript run first, and `runtime` (JavaScript) an expression giving its Docker runtime, if not the default.
 */
function engineProcess(instance: string, setup: string, runtimeExpression?: string): Promise<ChildProcess> {
  const dist = (path: string): string => JSON.stringify(join(ROOT, 'dist', path));
  const script = `
    ${setup}
    const { createEngine, DEFAULTS } = require(${dist('index.js')});
    const { DockerRuntime } = require(${dist('runtimes/docker/docker-runtime.js')});
    const { resolveDockerOptions } = require(${dist('runtimes/docker/docker-options.js')});
    const instance = ${JSON.stringify(instance)};
    const runtimes = ${runtimeExpression === undefined ? '[]' : `[${runtimeExpression}]`};
    const engine = createEngine({ defaultRuntime: 'docker', prewarmCount: 0, docker: { instance }, runtimes });
    engine.actions.create({ name: 'a', action: 'function main() { return { child: true }; }' })
      .then(() => engine.actions.invoke({ name: 'a', blocking: true }))
      .then((r) => process.stdout.write(r.response.success ? 'ready\\n' : 'failed ' + JSON.stringify(r) + '\\n'), (e) => { console.error(e); process.exit(1); });
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('ready')) resolve(child);
      else if (out.includes('failed')) reject(new Error(`the engine process could not run its action: ${out}`));
    });
    child.on('exit', (code) => reject(new Error(`the engine process exited with ${String(code)}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const ids = async (instance: string): Promise<string[]> => (await containersOf(instance)).map((c) => c.Id).sort();

describe('two live engines sharing a daemon and docker.instance', () => {
  it('an engine process with another hostname starting never removes the first engine\'s live container, nor the reverse', async () => {
    const shared = uniqueInstance('shared');
    const { engine: first } = dockerEngine({ docker: { instance: shared } });
    await first.actions.create({ name: 'a', action: 'function main() { return { first: true }; }' });
    expect((await activate(first, 'a')).response.result).toEqual({ first: true });
    const [firsts] = await containersOf(shared);
    // A second Node-RED container sharing the daemon: same instance name, another hostname.
    await engineProcess(shared, "require('node:os').hostname = () => 'simulated-other-host';");
    const both = await ids(shared);
    expect(both).toHaveLength(2);
    expect(both).toContain(firsts!.Id);
    // And the reverse: a runtime of this host sweeping now leaves the other engine's container alone.
    await runtime(shared).sweep();
    expect(await ids(shared)).toEqual(both);
    // The first engine still has its warm container.
    expect((await activate(first, 'a')).response.result).toEqual({ first: true });
    expect(await ids(shared)).toEqual(both);
  }, 90_000);

  it('engines in other pid namespaces (other hosts) are told apart by their leases: neither removes the other\'s containers', async () => {
    const shared = uniqueInstance('shared');
    const { engine: first } = dockerEngine({ docker: { instance: shared } });
    await first.actions.create({ name: 'a', action: 'function main() { return { first: true }; }' });
    await activate(first, 'a');
    const [firsts] = await containersOf(shared);
    const elsewhere = runtime(shared, { identity: ELSEWHERE });
    const second = testEngine({ defaultRuntime: 'docker', runtimes: [elsewhere], docker: { instance: shared } });
    await second.actions.create({ name: 'b', action: 'function main() { return { second: true }; }' });
    expect((await activate(second, 'b')).response.result).toEqual({ second: true });
    const both = await ids(shared);
    expect(both).toHaveLength(2);
    expect(both).toContain(firsts!.Id);
    // Each one's sweep (the second's from its own pid namespace: it cannot see the first's process), and a third
    // host's, keep both.
    await elsewhere.sweep();
    await runtime(shared).sweep();
    await runtime(shared, { identity: { hostname: 'a-third-host', processNamespace: 'third-boot/pid:[2]' } }).sweep();
    expect(await ids(shared)).toEqual(both);
    expect((await activate(first, 'a')).response.result).toEqual({ first: true });
    expect((await activate(second, 'b')).response.result).toEqual({ second: true });
  }, 90_000);
});

describe('a dead owner\'s leftovers are still swept', () => {
  it('from another host: once its lease has expired (and its lease goes with them)', async () => {
    const crashed = uniqueInstance('crashed-elsewhere');
    const child = await engineProcess(
      crashed,
      '',
      `new DockerRuntime({ options: resolveDockerOptions(DEFAULTS.docker, { instance }), defaults: DEFAULTS.docker, memoryBudget: 1024, identity: ${JSON.stringify(ELSEWHERE)}, leaseTtl: 6000 })`,
    );
    const [left] = await containersOf(crashed);
    const engineId = left!.Labels['org.edgewhisk.engine'];
    expect(engineId).toMatch(/^[0-9a-f]{32}$/);
    const leases = async (): Promise<number> =>
      ((await docker.listVolumes({ filters: JSON.stringify({ label: [`org.edgewhisk.engine=${engineId}`] }) })).Volumes ?? []).length;
    expect(await leases()).toBeGreaterThanOrEqual(1);
    await killed(child);
    // Its process is not in this pid namespace, so only its lease can say it is gone: until it expires, it stays.
    const sweeper = runtime(uniqueInstance());
    await sweeper.sweep();
    expect(await ids(crashed)).toEqual([left!.Id]);
    await eventually('the dead engine\'s container is swept once its lease expired', async () => {
      await sweeper.sweep();
      return (await containersOf(crashed)).length === 0;
    }, 20_000);
    expect(await leases()).toBe(0);
  }, 90_000);

  it('on this host: as soon as its process is gone (and its lease goes with them)', async () => {
    const crashed = uniqueInstance('crashed-here');
    const child = await engineProcess(crashed, '');
    const [left] = await containersOf(crashed);
    const engineId = left!.Labels['org.edgewhisk.engine'];
    const leases = async (): Promise<number> =>
      ((await docker.listVolumes({ filters: JSON.stringify({ label: [`org.edgewhisk.engine=${engineId}`] }) })).Volumes ?? []).length;
    expect(await leases()).toBeGreaterThanOrEqual(1);
    await killed(child);
    expect(await runtime(uniqueInstance()).sweep()).toBeGreaterThanOrEqual(1);
    expect(await containersOf(crashed)).toHaveLength(0);
    expect(await leases()).toBe(0);
  }, 90_000);

  it('by their labels and leases alone: expired lease swept; live lease, no lease and an older version\'s container from another host kept', async () => {
    const instance = uniqueInstance('labels');
    const lease = async (engine: string, ttl: number): Promise<void> => {
      const name = `edgewhisk-lease-${engine}-test`;
      volumes.add(name);
      await docker.createVolume({ Name: name, Labels: { 'org.edgewhisk.lease': 'true', 'org.edgewhisk.engine': engine, 'org.edgewhisk.lease-ttl': String(ttl) } });
    };
    const make = async (labels: Record<string, string>): Promise<string> =>
      (
        await docker.createContainer({
          Image: NODE_IMAGE,
          Labels: { 'org.edgewhisk.managed': 'true', 'org.edgewhisk.instance': instance, 'org.edgewhisk.owner': 'simulated-other-host:7:123', ...labels },
          HostConfig: { NetworkMode: 'none' },
        })
      ).id;
    const other = { 'org.edgewhisk.process-namespace': ELSEWHERE.processNamespace };
    const expiredEngine = 'e'.repeat(32);
    const liveEngine = 'a'.repeat(32);
    await lease(expiredEngine, 1);
    await lease(liveEngine, 600_000);
    // The daemon's clock reads volume creation times in whole seconds: let the 1 ms lease be past for sure.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const expired = await make({ ...other, 'org.edgewhisk.engine': expiredEngine });
    const live = await make({ ...other, 'org.edgewhisk.engine': liveEngine });
    const unleased = await make({ ...other, 'org.edgewhisk.engine': 'f'.repeat(32) });
    const older = await make({});
    // (Other leftovers on the daemon may go too: the sweep is the daemon's, not the instance's.)
    expect(await runtime(instance).sweep()).toBeGreaterThanOrEqual(1);
    expect(await ids(instance)).toEqual([live, unleased, older].sort());
    expect(expired).not.toBe(live);
    const left = (await docker.listVolumes({ filters: JSON.stringify({ label: ['org.edgewhisk.lease=true'] }) })).Volumes ?? [];
    expect(left.map((v) => v.Labels?.['org.edgewhisk.engine'])).not.toContain(expiredEngine);
    expect(left.map((v) => v.Labels?.['org.edgewhisk.engine'])).toContain(liveEngine);
    for (const id of [live, unleased, older]) await docker.getContainer(id).remove({ force: true });
  }, 60_000);
});
