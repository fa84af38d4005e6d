/**
 * The Docker runtime when Docker misbehaves: no daemon, a daemon that stalls, a real daemon stopped mid-run and
 * started again, leftovers of crashed engines, missing images under each pull policy, stock (TCP) images, gVisor
 * asked for where there is none, and relaxed hardening. Each time: a clear error per invocation, the engine keeps
 * serving, and it recovers when Docker does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, type Engine } from '../../src/index';
import { DockerRuntime } from '../../src/runtimes/docker/docker-runtime';
import { resolveDockerOptions } from '../../src/runtimes/docker/docker-options';
import { waitForActivation } from '../helpers/engine';
import { requireDocker } from './docker-available';
import { containersOf, docker, dockerEngine, eventually, uniqueInstance } from './docker-engine';
import { PrivateDaemon } from './private-daemon';

const ROOT = join(__dirname, '..', '..');
const NODE_IMAGE = 'edgewhisk/action-nodejs:24';

let ready = false;
beforeAll(async () => {
  ready = await requireDocker({ images: true });
}, 600_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary record fields
async function activate(engine: Engine, name: string, params: Record<string, unknown> = {}, timeout = 40_000): Promise<any> {
  const { activationId } = (await engine.actions.invoke({ name, params })) as { activationId: string };
  return waitForActivation(engine, activationId, timeout);
}

const text = (record: { logs: string[] }): string => record.logs.join('\n');

/** Builds `tag` from EdgeWhisk's Node.js image plus one Dockerfile line (the caller removes it). */
async function buildDerived(tag: string, line: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ew-derived-image-'));
  try {
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${NODE_IMAGE}\n${line}\n`);
    // tar's web stream as the Node stream dockerode sends.
    const stream = await docker.buildImage(Readable.fromWeb(tar.c({ cwd: dir }, ['Dockerfile'])), { t: tag });
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (e: Error | null) => (e ? reject(e) : resolve())));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A Unix socket in front of the shared daemon that can forward, stall (accept and never answer), or refuse. */
class DaemonFront {
  readonly path: string;
  mode: 'forward' | 'stall' = 'forward';
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor() {
    this.path = join(mkdtempSync(join(tmpdir(), 'ew-front-')), 'docker.sock');
    this.#server = createServer((client) => {
      this.#sockets.add(client);
      client.on('close', () => this.#sockets.delete(client));
      client.on('error', () => undefined);
      if (this.mode === 'stall') return;
      const upstream = connect('/var/run/docker.sock');
      this.#sockets.add(upstream);
      upstream.on('close', () => this.#sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.#server.listen(this.path, resolve));
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

describe('no daemon, a stalling daemon', () => {
  it('without a daemon each invocation fails with a clear whisk error, and the engine keeps serving', async () => {
    const { engine } = dockerEngine({ docker: { host: join(tmpdir(), 'ew-no-such-daemon.sock') } });
    await engine.actions.create({ name: 'd', action: 'function main() { return {}; }' });
    await engine.actions.create({ name: 'w', action: 'function main() { return { w: 1 }; }', runtime: 'worker' });
    for (let i = 0; i < 2; i++) {
      const record = await activate(engine, 'd');
      expect(record.response).toMatchObject({ statusCode: 3, result: { error: 'Failed to provision resources to run the action.' } });
      expect(text(record)).toContain(`cannot reach the Docker daemon at ${join(tmpdir(), 'ew-no-such-daemon.sock')}`);
    }
    expect((await activate(engine, 'w')).response.result).toEqual({ w: 1 });
  });

  it('a daemon that stops answering fails invocations after apiTimeout, and they succeed once it answers again', async () => {
    const front = new DaemonFront();
    await front.listen();
    try {
      front.mode = 'stall';
      // Long enough for a real create and start on a busy machine, short enough for the test.
      const { engine } = dockerEngine({ docker: { host: front.path, apiTimeout: 3_000 } });
      await engine.actions.create({ name: 'd', action: 'function main() { return { ok: true }; }' });
      const record = await activate(engine, 'd');
      expect(record.response.statusCode).toBe(3);
      expect(text(record)).toMatch(/the Docker daemon did not answer '\w+' within 3000 ms/);
      front.mode = 'forward';
      const recovered = await activate(engine, 'd');
      expect(recovered.response.result, text(recovered)).toEqual({ ok: true });
    } finally {
      await front.close();
    }
  });
});

describe('a real daemon stopped mid-run and started again', () => {
  const daemon = new PrivateDaemon();

  beforeAll(async () => {
    if (!ready) return;
    await daemon.start();
    await daemon.load(docker, NODE_IMAGE);
  }, 120_000);

  afterAll(async () => {
    await daemon.destroy();
  }, 60_000);

  it('fails the running and the new invocations with clear errors, keeps serving other runtimes, and recovers', async () => {
    const { engine } = dockerEngine({ docker: { host: daemon.socket, apiTimeout: 5_000 } });
    await engine.actions.create({ name: 'slow', action: 'async function main(p) { await new Promise(r => setTimeout(r, p.ms || 0)); return { ok: true }; }' });
    await engine.actions.create({ name: 'w', action: 'function main() { return { w: 1 }; }', runtime: 'worker' });
    expect((await activate(engine, 'slow')).response.result).toEqual({ ok: true });
    const before = (await daemon.client.listContainers({ all: true })).map((c) => c.Id);
    expect(before).toHaveLength(1);

    const { activationId } = (await engine.actions.invoke({ name: 'slow', params: { ms: 20_000 } })) as { activationId: string };
    await eventually('the long run started', () => engine.stats().pool.busy === 1);
    await daemon.stop();
    const during = await waitForActivation(engine, activationId, 30_000);
    expect(during.response).toMatchObject({ statusCode: 3, result: { error: 'The activation failed because its container was lost: the container runtime became unavailable.' } });
    expect(text(during)).toMatch(/The container was lost: /);

    const down = await activate(engine, 'slow');
    expect(down.response.statusCode).toBe(3);
    expect(text(down)).toContain(`cannot reach the Docker daemon at ${daemon.socket}`);
    expect((await activate(engine, 'w')).response.result).toEqual({ w: 1 });

    await daemon.start();
    expect((await activate(engine, 'slow')).response.result).toEqual({ ok: true });
    // What the stop left behind is gone: only the new container remains.
    const after = (await daemon.client.listContainers({ all: true })).map((c) => c.Id);
    expect(after).toHaveLength(1);
    expect(before).not.toContain(after[0]);
  }, 120_000);
});

/** Runs an engine in a child process that makes one warm container of `instance`, then waits to be killed. */
function engineProcess(instance: string): Promise<ChildProcess> {
  const script = `
    const { createEngine } = require(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});
    const engine = createEngine({ defaultRuntime: 'docker', prewarmCount: 0, docker: { instance: ${JSON.stringify(instance)} } });
    engine.actions.create({ name: 'a', action: 'function main() { return {}; }' })
      .then(() => engine.actions.invoke({ name: 'a', blocking: true }))
      .then(() => process.stdout.write('ready\\n'), (e) => { console.error(e); process.exit(1); });
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => c.toString().includes('ready') && resolve(child));
    child.on('exit', (code) => reject(new Error(`the engine process exited with ${String(code)}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('leftovers of crashed engines', () => {
  it('an engine starting removes containers whose engine process died, and never those of a live engine', async () => {
    const crashed = uniqueInstance('crashed');
    const live = uniqueInstance('live');
    const dead = await engineProcess(crashed);
    const alive = await engineProcess(live);
    try {
      await killed(dead);
      expect(await containersOf(crashed)).toHaveLength(1);
      expect(await containersOf(live)).toHaveLength(1);
      const { engine } = dockerEngine({ docker: { enabled: true }, defaultRuntime: 'worker' });
      expect(engine.closed).toBe(false);
      await eventually('the crashed engine\'s container is swept', async () => (await containersOf(crashed)).length === 0, 15_000);
      expect(await containersOf(live)).toHaveLength(1);
    } finally {
      if (alive.exitCode === null) await killed(alive);
    }
    // Now that one is dead too, the next sweep takes its container.
    const runtime = new DockerRuntime({ options: resolveDockerOptions(DEFAULTS.docker, { instance: uniqueInstance() }), defaults: DEFAULTS.docker, memoryBudget: 1024 });
    expect(await runtime.sweep()).toBeGreaterThanOrEqual(1);
    expect(await containersOf(live)).toHaveLength(0);
  }, 90_000);

  // Engines on other hosts, their leases, and older versions' containers: ownership.test.ts.
});

describe('images and pull policies', () => {
  it("pull 'never': a missing image is a clear error naming it and the policy", async () => {
    const { engine } = dockerEngine({ docker: { pull: 'never' } });
    await engine.actions.create({ name: 'b', action: { exec: { kind: 'blackbox', image: 'edgewhisk-test/not-there:1' } } });
    const record = await activate(engine, 'b');
    expect(record.response.statusCode).toBe(3);
    expect(text(record)).toContain("Docker image edgewhisk-test/not-there:1 is not on the daemon and the pull policy is 'never'");
  });

  it("pull 'if-missing': an image no registry has is a clear error with the registry's reason", async () => {
    const { engine } = dockerEngine();
    // A registry on a loopback port nobody listens on: the daemon's pull fails at once, and nothing leaves the host.
    await engine.actions.create({ name: 'b', action: { exec: { kind: 'blackbox', image: '127.0.0.1:9/edgewhisk-test/not-there:1' } } });
    const record = await activate(engine, 'b');
    expect(record.response.statusCode).toBe(3);
    expect(text(record)).toMatch(/Docker image 127\.0\.0\.1:9\/edgewhisk-test\/not-there:1 is not on the daemon and could not be pulled: .*(refused|connect)/);
  });

  it('missing EdgeWhisk images come with the command that builds them', async () => {
    const { engine } = dockerEngine({ docker: { pull: 'never', images: { 'nodejs:24': 'edgewhisk/action-nodejs:does-not-exist' } } });
    await engine.actions.create({ name: 'n', action: 'function main() { return {}; }' });
    expect(text(await activate(engine, 'n'))).toContain('npx edgewhisk build-images');
  });

  it('an EdgeWhisk image built from another version\'s proxy works, with a warning to rebuild that image', async () => {
    const tag = `edgewhisk-test/stale-proxy:${process.pid}`;
    await buildDerived(tag, 'LABEL org.edgewhisk.proxy-digest=0000');
    try {
      const { engine } = dockerEngine({ docker: { images: { 'nodejs:24': tag, 'python:3': 'edgewhisk/action-python:3' } } });
      const warnings: string[] = [];
      engine.on('runtime:warning', (w) => warnings.push(w.message));
      await engine.actions.create({ name: 'n', kind: 'nodejs:24', action: 'function main() { return { ok: 1 }; }' });
      await engine.actions.create({ name: 'p', kind: 'python:3', action: 'def main(args):\n    return {"ok": 2}\n' });
      expect((await activate(engine, 'n')).response.result).toEqual({ ok: 1 });
      expect((await activate(engine, 'p')).response.result).toEqual({ ok: 2 });
      expect((await activate(engine, 'n', { again: true })).response.result).toEqual({ ok: 1 });
      // Judged per image: the current Python image is not mentioned; the stale one once, with the command that
      // rebuilds it (built offline, as the tests build; another major's node binary named on a Node.js 22 host).
      const stale = warnings.filter((w) => w.includes('action proxy of another EdgeWhisk version'));
      expect(stale).toHaveLength(1);
      expect(stale[0]).toMatch(
        new RegExp(`^Docker image ${tag.replace(/[.:/]/g, '\\$&')} holds the action proxy of another EdgeWhisk version: rebuild it with \`npx edgewhisk build-images --offline --kind nodejs( --node <path of a Node\\.js 24 binary>)?\`$`),
      );
    } finally {
      await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    }
  });

  describe('a stock-style image speaking TCP on 8080', () => {
    const tag = `edgewhisk-test/tcp-proxy:${process.pid}`;

    beforeAll(async () => {
      // EdgeWhisk's Node.js image without its Unix-socket label: the runtime must treat it like an OpenWhisk image.
      if (ready) await buildDerived(tag, 'LABEL org.edgewhisk.transport=tcp');
    }, 120_000);

    afterAll(async () => {
      await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    });

    it('runs a blackbox action through a port published on 127.0.0.1 only', async () => {
      const { engine, instance } = dockerEngine();
      await engine.actions.create({ name: 'bb', action: { exec: { kind: 'blackbox', image: tag, code: 'function main(p) { return { hi: p.name }; }' } } });
      expect((await activate(engine, 'bb', { name: 'tcp' })).response.result).toEqual({ hi: 'tcp' });
      const [info] = await containersOf(instance);
      const inspected = await docker.getContainer(info!.Id).inspect();
      expect(inspected.HostConfig.PortBindings).toEqual({ '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
      expect(inspected.HostConfig.NetworkMode).toBe('bridge');
      expect(inspected.Mounts).toHaveLength(0);
      expect(inspected.HostConfig.ReadonlyRootfs).toBe(true);
    });

    it('refuses network none for it with a message that says why', async () => {
      const { engine } = dockerEngine();
      await engine.actions.create({ name: 'bb', action: { exec: { kind: 'blackbox', image: tag, code: 'function main() { return {}; }' } }, annotations: { 'edgewhisk-network': 'none' } });
      const record = await activate(engine, 'bb');
      expect(record.response.statusCode).toBe(3);
      expect(text(record)).toContain('is reached over TCP port 8080');
    });
  });
});

describe('sandbox and relaxed hardening', () => {
  it("sandbox 'runsc' where the daemon has no gVisor is a clear error; 'auto' warns and runs on runc", async () => {
    const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
    // This check is about daemons without gVisor; CI's has none (Debian's docker.io does not ship runsc).
    expect(info.Runtimes?.['runsc']).toBeUndefined();
    const strict = dockerEngine({ docker: { sandbox: 'runsc' } }).engine;
    await strict.actions.create({ name: 'a', action: 'function main() { return {}; }' });
    expect(text(await activate(strict, 'a'))).toContain("docker.sandbox is 'runsc' but the daemon has no runsc runtime");
    const warnings: string[] = [];
    const auto = dockerEngine({ docker: { sandbox: 'auto' } }).engine;
    auto.on('runtime:warning', (w) => warnings.push(w.message));
    await auto.actions.create({ name: 'a', action: 'function main() { return { ok: 1 }; }' });
    expect((await activate(auto, 'a')).response.result).toEqual({ ok: 1 });
    expect(warnings).toContain("docker.sandbox is 'auto' and the daemon has no runsc runtime: containers run on runc");
  });

  it('relaxed hardening is applied and announced, never silent', async () => {
    const { engine, instance } = dockerEngine({ docker: { capAdd: ['CHOWN'], readOnlyRootfs: false, pidsLimit: 512 } });
    const warnings: string[] = [];
    engine.on('runtime:warning', (w) => warnings.push(w.message));
    await engine.actions.create({ name: 'a', action: 'function main() { return {}; }' });
    await activate(engine, 'a');
    expect(warnings).toEqual(
      expect.arrayContaining([
        'Docker hardening relaxed: the root filesystem is writable',
        'Docker hardening relaxed: capabilities added back: CHOWN',
        'Docker hardening relaxed: pids limit raised to 512',
      ]),
    );
    const [c] = await containersOf(instance);
    const host = (await docker.getContainer(c!.Id).inspect()).HostConfig;
    expect(host.CapAdd).toEqual(['CHOWN']);
    expect(host.ReadonlyRootfs).toBe(false);
    expect(host.PidsLimit).toBe(512);
  });
});
