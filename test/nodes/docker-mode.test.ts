/**
 * Docker mode in the Node-RED nodes, on the real daemon: the adminAuth gate, actions running in containers, and
 * containers removed with the flows. Without a daemon every test is reported skipped with the reason, or fails
 * with EDGEWHISK_REQUIRE_DOCKER=1 (CI).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SUPPORTED_NODE_MAJORS } from '../../src/runtimes/node-kinds';
import { requireDocker } from '../docker/docker-available';
import { helper, nextMessage, NODES, statuses, tab, useNodeRed } from '../helpers/node-red';

const docker = new Dockerode();
const used = new Set<string>();

beforeAll(async () => {
  await requireDocker({ images: true });
}, 600_000);

// Registered before useNodeRed's hooks, so it runs after the flows are unloaded (after-hooks run in reverse):
// whatever a failed test left behind goes, and the next test starts from Node-RED's default settings.
afterEach(async () => {
  helper.settings({});
  for (const instance of used) {
    for (const c of await containersOf(instance).catch(() => [])) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
  used.clear();
});

useNodeRed();

/** An engine node id of its own per test (and per test process): its containers are labelled `nr-<id>`. */
function engineId(): { id: string; instance: string } {
  const id = `eng${process.pid}${randomBytes(3).toString('hex')}`;
  const instance = `nr-${id}`;
  used.add(instance);
  return { id, instance };
}

async function containersOf(instance: string): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: JSON.stringify({ label: [`org.edgewhisk.instance=${instance}`] }) });
}

async function eventually(what: string, check: () => Promise<boolean> | boolean, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The kind `nodejs:default` resolves to on the Docker runtime: its newest image. */
const NEWEST_DOCKER_KIND = `nodejs:${Math.max(...SUPPORTED_NODE_MAJORS)}`;
const PROBE = 'function main() { return { uid: process.getuid(), gid: process.getgid() }; }';
const ADMIN_AUTH = {
  type: 'credentials',
  // bcrypt of "password", as in Node-RED's settings.js example.
  users: [{ username: 'admin', password: '$2b$08$wuAqPiKJlVN27eF5qJp.RuQYuy6ZYONW7a/UWYxDTtwKFCdB8F19y', permissions: '*' }],
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function calls(node: any, method: 'error' | 'warn'): string[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return node[method].getCalls().filter((c: any) => c.thisValue === node).map((c: any) => String(c.args[0]));
}

function flow(engine: Record<string, unknown>, actions: Record<string, unknown>[]): Record<string, unknown>[] {
  return [
    { type: 'edgewhisk-engine', prewarmCount: 0, dockerPull: 'never', ...engine },
    tab,
    ...actions.map((a) => ({ type: 'edgewhisk-action', z: 'f1', engine: engine['id'], wires: [['out']], ...a })),
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'c1', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function invoke(id: string, payload: Record<string, unknown> = {}, ms = 60_000): Promise<any> {
  const got = nextMessage(helper.getNode('out'), ms);
  helper.getNode(id).receive({ payload });
  return got;
}

describe('Docker mode without adminAuth and without the acknowledgement', () => {
  it('is refused loudly: no Docker runtime, no container, and the flow\'s worker actions still run', async () => {
    const { id, instance } = engineId();
    await helper.load(
      NODES,
      flow({ id, defaultRuntime: 'worker', dockerEnabled: true }, [
        { id: 'w1', action: 'on-worker', runtime: 'worker', code: 'function main() { return { where: "worker" }; }' },
        { id: 'd1', action: 'on-docker', runtime: 'docker', code: PROBE },
      ]),
    );
    const engineNode = helper.getNode(id);
    expect(statuses(engineNode).at(-1)).toEqual({ fill: 'red', shape: 'ring', text: 'docker refused: no adminAuth' });
    const [error] = calls(engineNode, 'error');
    expect(error).toMatch(/Docker mode is refused: Node-RED has no adminAuth/);
    expect(error).toContain('root-equivalent');
    expect(error).toContain('adminAuth');
    expect(error).toContain('allowDockerWithoutAdminAuth: true');

    expect((await invoke('w1')).payload).toEqual({ where: 'worker' });

    // The docker action fails at deploy with the engine's own error, and says why Docker is missing.
    const d1 = helper.getNode('d1');
    await eventually('the docker action reports its failure', () => calls(d1, 'error').length > 0);
    expect(calls(d1, 'error')[0]).toMatch(/^Could not define action 'on-docker': The runtime 'docker' is not available in this engine; available runtimes: worker, process\. Docker mode is refused/);
    expect(statuses(d1).at(-1)).toMatchObject({ fill: 'red', shape: 'ring' });
    const caught = nextMessage(helper.getNode('caught'));
    d1.receive({ payload: {} });
    const failed = await caught;
    expect(failed.error.message).toMatch(/The runtime 'docker' is not available in this engine/);
    expect(failed.error.code).toBe('EW_RUNTIME_UNSUPPORTED');

    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await containersOf(instance)).toEqual([]);
  });

  it('as the default runtime: actions that name no runtime fail at deploy instead of running on a worker thread', async () => {
    const { id, instance } = engineId();
    await helper.load(
      NODES,
      flow({ id, defaultRuntime: 'docker', prewarmCount: 1 }, [
        { id: 'a1', action: 'by-default', runtime: '', code: PROBE },
        { id: 'w1', action: 'explicit-worker', runtime: 'worker', code: 'function main() { return { ok: true }; }' },
      ]),
    );
    expect(statuses(helper.getNode(id)).at(-1)).toMatchObject({ fill: 'red', text: 'docker refused: no adminAuth' });
    expect(calls(helper.getNode(id), 'error')[0]).toContain('action nodes that name no runtime or name docker fail at deploy');
    expect((await invoke('w1')).payload).toEqual({ ok: true });
    const a1 = helper.getNode('a1');
    const caught = nextMessage(helper.getNode('caught'));
    a1.receive({ payload: {} });
    expect((await caught).error.message).toMatch(/The runtime 'docker' is not available in this engine/);
    expect(calls(a1, 'error')[0]).toMatch(/Docker mode is refused/);
    expect(await containersOf(instance)).toEqual([]);
  });

  it('is refused when adminAuth lets anonymous users deploy', async () => {
    helper.settings({ adminAuth: { ...ADMIN_AUTH, default: { permissions: '*' } } });
    const { id } = engineId();
    await helper.load(NODES, flow({ id, dockerEnabled: true }, [{ id: 'd1', action: 'on-docker', runtime: 'docker', code: PROBE }]));
    expect(statuses(helper.getNode(id)).at(-1)).toMatchObject({ fill: 'red', text: 'docker refused: no adminAuth' });
    expect(calls(helper.getNode(id), 'error')[0]).toMatch(/adminAuth lets anonymous users deploy flows/);
  });
});

describe('Docker mode acknowledged in settings.js without adminAuth', () => {
  it('runs a docker action in a hardened container, warns once, and removes the containers on redeploy', async () => {
    helper.settings({ edgewhisk: { allowDockerWithoutAdminAuth: true } });
    const { id, instance } = engineId();
    const deployed = flow({ id, defaultRuntime: 'worker', dockerEnabled: true }, [
      { id: 'd1', action: 'in-docker', runtime: 'docker', code: PROBE },
      { id: 'w1', action: 'on-worker', code: 'function main() { return { uid: process.getuid() }; }' },
      // A blackbox action names its image: here EdgeWhisk's own, which runs the code it is given.
      { id: 'b1', action: 'boxed', kind: 'blackbox', image: 'edgewhisk/action-nodejs:24', code: 'function main() { return { boxed: process.getuid() }; }' },
    ]);
    await helper.load(NODES, deployed);
    const engineNode = helper.getNode(id);
    expect(statuses(engineNode).at(-1)).toEqual({ fill: 'yellow', shape: 'ring', text: 'docker without editor auth' });
    expect(calls(engineNode, 'warn').filter((w) => /without editor authentication/.test(w))).toHaveLength(1);
    expect(calls(engineNode, 'error')).toEqual([]);

    const msg = await invoke('d1');
    // uid 65534 (nobody) is the container's user; the worker action runs as this process.
    expect(process.getuid?.()).not.toBe(65534);
    expect(msg.payload).toEqual({ uid: 65534, gid: 65534 });
    expect(msg.activation.response.status).toBe('success');
    expect((await invoke('w1')).payload).toEqual({ uid: process.getuid?.() });
    const warm = await containersOf(instance);
    expect(warm).toHaveLength(1);
    expect(warm[0]?.Labels).toMatchObject({ 'org.edgewhisk.managed': 'true', 'org.edgewhisk.instance': instance, 'org.edgewhisk.kind': NEWEST_DOCKER_KIND });
    expect(calls(helper.getNode('d1'), 'error')).toEqual([]);
    expect((await invoke('b1')).payload).toEqual({ boxed: 65534 });
    const kinds = (await containersOf(instance)).map((c) => c.Labels['org.edgewhisk.kind']).sort();
    expect(kinds).toEqual(['blackbox', NEWEST_DOCKER_KIND]);

    // A redeploy without the engine node closes its engine: its containers go with it.
    await helper.setFlows([tab, { id: 'out', type: 'helper', z: 'f1' }], 'full');
    expect(await containersOf(instance)).toEqual([]);
  });
});

describe('Docker mode with adminAuth', () => {
  it('is allowed: Docker as the default runtime runs actions in containers, removed when the flows stop', async () => {
    helper.settings({ adminAuth: ADMIN_AUTH });
    const { id, instance } = engineId();
    await helper.load(NODES, flow({ id, defaultRuntime: 'docker' }, [{ id: 'a1', action: 'default-docker', code: PROBE, network: 'none' }]));
    const engineNode = helper.getNode(id);
    expect(calls(engineNode, 'error')).toEqual([]);
    expect(calls(engineNode, 'warn')).toEqual([]);
    expect(statuses(engineNode).every((s) => s.fill !== 'red' && s.fill !== 'yellow')).toBe(true);

    const msg = await invoke('a1');
    expect(msg.payload).toEqual({ uid: 65534, gid: 65534 });
    expect(await containersOf(instance)).toHaveLength(1);
    const { engine } = helper.getNode(id).acquire();
    expect((await engine.actions.get({ name: 'default-docker' })).annotations).toContainEqual({ key: 'edgewhisk-network', value: 'none' });

    // A modified engine node is a new engine: the old one's containers are removed before the new one starts.
    await helper.setFlows(flow({ id, defaultRuntime: 'docker', memoryBudget: 2048 }, [{ id: 'a1', action: 'default-docker', code: PROBE, network: 'none' }]), 'nodes');
    expect(await containersOf(instance)).toEqual([]);
    expect((await invoke('a1')).payload).toEqual({ uid: 65534, gid: 65534 });
    expect(await containersOf(instance)).toHaveLength(1);

    const current = helper.getNode(id).acquire().engine;
    expect(current.listenerCount('runtime:pull')).toBe(1);
    await helper.clearFlows();
    expect(await containersOf(instance)).toEqual([]);
    // The engine node let go of the engine's events when it closed.
    for (const event of ['runtime:pull', 'runtime:warning', 'container:start-failed'] as const) expect(current.listenerCount(event)).toBe(0);
  });
});

describe('the Docker example flow', () => {
  it('the Docker example (examples/basics/06) runs its probe in a hardened container when Docker mode is acknowledged', async () => {
    helper.settings({ edgewhisk: { allowDockerWithoutAdminAuth: true } });
    const file = join(__dirname, '..', '..', 'examples', 'basics', '06 - Untrusted code in Docker.json');
    const nodes = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
    const engineNode = nodes.find((n) => n['type'] === 'edgewhisk-engine') as Record<string, unknown>;
    used.add(`nr-${String(engineNode['id'])}`);
    const action = nodes.find((n) => n['type'] === 'edgewhisk-action') as Record<string, unknown>;
    const flowNodes = [
      { id: 'ex-tab', type: 'tab', label: 'example' },
      engineNode,
      { ...action, z: 'ex-tab', wires: [['ex-sink']] },
      { id: 'ex-sink', type: 'helper', z: 'ex-tab' },
    ];
    await helper.load(NODES, flowNodes);
    const got = nextMessage(helper.getNode('ex-sink'));
    helper.getNode(action['id'] as string).receive({ payload: {} });
    expect((await got).payload).toEqual({
      user: 'nobody',
      uid: 65534,
      capabilities: '0000000000000000',
      rootFilesystem: 'read-only (EROFS)',
      networkInterfaces: ['lo'],
    });
  });
});
