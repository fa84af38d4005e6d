/**
 * The Docker runtime against the real daemon: hardening as Docker sees it and as the action sees it, time limits,
 * OOM from `State.OOMKilled`, crashes, containers killed from outside, logs, intra-container concurrency, Python.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/index';
import { waitForActivation } from '../helpers/engine';
import { requireDocker } from './docker-available';
import { containersOf, docker, dockerEngine, eventually, uniqueInstance } from './docker-engine';

beforeAll(async () => {
  await requireDocker({ images: true });
}, 600_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary record fields
async function activate(engine: Engine, name: string, params: Record<string, unknown> = {}, timeout = 30_000): Promise<any> {
  const { activationId } = (await engine.actions.invoke({ name, params })) as { activationId: string };
  return waitForActivation(engine, activationId, timeout);
}

describe('a Docker action container is hardened', () => {
  it('as Docker reports it: every default of docs/docker-hardening.md', async () => {
    const { engine, instance } = dockerEngine();
    await engine.actions.create({ name: 'a', action: 'function main() { return { ok: true }; }' });
    expect((await activate(engine, 'a')).response.result).toEqual({ ok: true });
    const [info] = await containersOf(instance);
    expect(info, 'a warm container').toBeDefined();
    const inspected = await docker.getContainer(info!.Id).inspect();
    const host = inspected.HostConfig;
    expect(inspected.Config.User).toBe('65534:65534');
    expect(host.Memory).toBe(256 * 1024 * 1024);
    expect(host.MemorySwap).toBe(host.Memory);
    expect(host.CpuShares).toBe(256);
    expect(host.NanoCpus).toBe(1e9);
    expect(host.PidsLimit).toBe(256);
    expect(host.Ulimits).toEqual([{ Name: 'nofile', Soft: 1024, Hard: 1024 }]);
    expect(host.CapDrop).toEqual(['ALL']);
    expect(host.CapAdd ?? []).toEqual([]);
    expect(host.SecurityOpt).toEqual(['no-new-privileges']);
    expect(host.Privileged).toBe(false);
    expect(host.ReadonlyRootfs).toBe(true);
    expect(host.Tmpfs).toEqual({ '/tmp': 'rw,noexec,nosuid,nodev,size=64m,mode=1777' });
    expect(host.NetworkMode).toBe('none');
    expect(host.PortBindings ?? {}).toEqual({});
    expect(host.RestartPolicy?.Name).toBe('no');
    // One mount: the container's own socket directory. Never the Docker socket, nothing else of the host.
    expect(inspected.Mounts).toHaveLength(1);
    expect(inspected.Mounts[0]).toMatchObject({ Destination: '/run/edgewhisk', RW: true });
    expect(JSON.stringify(inspected.Mounts)).not.toContain('docker.sock');
    expect(inspected.Config.Labels).toMatchObject({ 'org.edgewhisk.managed': 'true', 'org.edgewhisk.instance': instance, 'org.edgewhisk.kind': 'nodejs:24' });
  });

  it('as the action sees it: nobody, no capabilities, no new privileges, read-only root, small /tmp, no network', async () => {
    const { engine } = dockerEngine();
    await engine.actions.create({
      name: 'probe',
      action: `
        const fs = require('fs');
        function main() {
          const status = fs.readFileSync('/proc/self/status', 'utf8');
          const field = (k) => (status.match(new RegExp('^' + k + ':\\\\s*(.*)$', 'm')) || [])[1];
          let rootWritable = true;
          try { fs.writeFileSync('/probe', 'x'); } catch (e) { rootWritable = e.code; }
          fs.writeFileSync('/tmp/probe', 'x');
          return {
            uid: process.getuid(), gid: process.getgid(),
            capEff: field('CapEff'), noNewPrivs: field('NoNewPrivs'),
            rootWritable, tmpWritable: fs.readFileSync('/tmp/probe', 'utf8') === 'x',
            interfaces: Object.keys(require('os').networkInterfaces()),
            dockerSocket: fs.existsSync('/var/run/docker.sock'),
          };
        }`,
    });
    const result = (await activate(engine, 'probe')).response.result;
    expect(result).toEqual({
      uid: 65534,
      gid: 65534,
      capEff: '0000000000000000',
      noNewPrivs: '1',
      rootWritable: 'EROFS',
      tmpWritable: true,
      interfaces: ['lo'],
      dockerSocket: false,
    });
  });
});

describe('time limits, memory, crashes', () => {
  it('a run over its time limit is stopped, its container removed, and the action serves again', async () => {
    const { engine, instance } = dockerEngine();
    await engine.actions.create({ name: 'spin', action: 'async function main(p) { if (p.spin) { await null; for (;;) {} } return { ok: 1 }; }', limits: { timeout: 1_000 } });
    expect((await activate(engine, 'spin')).response.result).toEqual({ ok: 1 });
    const before = (await containersOf(instance)).map((c) => c.Id);
    const record = await activate(engine, 'spin', { spin: true });
    expect(record.response).toMatchObject({ statusCode: 2, result: { error: 'The action exceeded its time limits of 1000 milliseconds.' } });
    expect(record.annotations).toContainEqual({ key: 'timeout', value: true });
    await eventually('the spinning container is removed', async () => (await containersOf(instance)).every((c) => !before.includes(c.Id)));
    expect((await activate(engine, 'spin')).response.result).toEqual({ ok: 1 });
  });

  it('memory beyond limits.memory is reported with OpenWhisk\'s OOM message (off-heap: the kernel kills it)', async () => {
    const { engine } = dockerEngine();
    await engine.actions.create({
      name: 'hog',
      action: 'function main() { const keep = []; for (;;) keep.push(Buffer.alloc(8 * 1024 * 1024, 1)); }',
      limits: { memory: 128, timeout: 20_000 },
    });
    const record = await activate(engine, 'hog');
    expect(record.response).toMatchObject({ statusCode: 2, result: { error: 'The action exhausted its memory and was aborted.' } });
  });

  it('a heap that outgrows the limit is OOM as well (V8 gives up before the kernel steps in)', async () => {
    const { engine } = dockerEngine();
    await engine.actions.create({ name: 'heap', action: 'function main() { const keep = []; for (;;) keep.push({ a: [1, 2, 3], s: "x".repeat(64) + Math.random() }); }', limits: { memory: 128, timeout: 30_000 } });
    const record = await activate(engine, 'heap');
    expect(record.response.result).toEqual({ error: 'The action exhausted its memory and was aborted.' });
  });

  it('a container whose process exits mid-run is a developer error, and the next run gets a new container', async () => {
    const { engine, instance } = dockerEngine();
    await engine.actions.create({ name: 'crash', action: 'function main(p) { if (p.exit) process.exit(3); return { host: require("os").hostname() }; }' });
    const first = (await activate(engine, 'crash')).response.result.host;
    const record = await activate(engine, 'crash', { exit: true });
    expect(record.response).toMatchObject({ statusCode: 2 });
    expect(record.response.result.error).toMatch(/exited unexpectedly|did not produce a valid response/);
    const second = (await activate(engine, 'crash')).response.result.host;
    expect(second).not.toBe(first);
    expect(await containersOf(instance)).toHaveLength(1);
  });

  it('a warm container killed from outside is noticed and replaced', async () => {
    const { engine, instance } = dockerEngine();
    const exits: unknown[] = [];
    engine.on('container:exit', (info) => exits.push(info));
    await engine.actions.create({ name: 'who', action: 'function main() { return { host: require("os").hostname() }; }' });
    const first = (await activate(engine, 'who')).response.result.host;
    const [info] = await containersOf(instance);
    await docker.getContainer(info!.Id).kill();
    await eventually('the engine saw the exit', () => exits.length === 1);
    expect(engine.stats().pool.containers).toBe(0);
    const record = await activate(engine, 'who');
    expect(record.response.statusCode).toBe(0);
    expect(record.response.result.host).not.toBe(first);
  });

  it('a container killed from outside during a run fails that run only', async () => {
    const { engine, instance } = dockerEngine();
    await engine.actions.create({ name: 'slow', action: 'async function main(p) { await new Promise(r => setTimeout(r, p.ms || 0)); return { ok: true }; }' });
    await activate(engine, 'slow');
    const { activationId } = (await engine.actions.invoke({ name: 'slow', params: { ms: 5_000 } })) as { activationId: string };
    await eventually('the run started', () => engine.stats().pool.busy === 1);
    const [info] = await containersOf(instance);
    await docker.getContainer(info!.Id).remove({ force: true });
    const record = await waitForActivation(engine, activationId, 10_000);
    expect(record.response.statusCode).toBe(2);
    expect((await activate(engine, 'slow')).response.result).toEqual({ ok: true });
  });
});

describe('engines and their containers', () => {
  it('two engines in one process with the same instance name run side by side', async () => {
    const instance = uniqueInstance('shared');
    const one = dockerEngine({ docker: { instance } }).engine;
    const two = dockerEngine({ docker: { instance } }).engine;
    for (const engine of [one, two]) await engine.actions.create({ name: 'a', action: 'function main() { return { ok: true }; }' });
    const records = await Promise.all([activate(one, 'a'), activate(two, 'a')]);
    expect(records.map((r) => r.response.result)).toEqual([{ ok: true }, { ok: true }]);
    expect(await containersOf(instance)).toHaveLength(2);
  });

  it('close() resolves only once every container is gone, including one being removed after a developer error', async () => {
    const { engine, instance } = dockerEngine();
    await engine.actions.create({ name: 'bad', action: 'function main(p) { if (p.fail) throw new Error("boom"); return {}; }' });
    await engine.actions.create({ name: 'good', action: 'function main() { return {}; }' });
    await activate(engine, 'good');
    expect((await activate(engine, 'bad', { fail: true })).response.statusCode).toBe(2);
    await engine.close();
    expect(await containersOf(instance)).toEqual([]);
  });
});

describe('logs and concurrency', () => {
  it('collects stdout and stderr per activation up to the sentinels, without the sentinels', async () => {
    const { engine } = dockerEngine();
    await engine.actions.create({ name: 'talk', action: 'function main(p) { console.log("out " + p.n); console.error("err " + p.n); return {}; }' });
    for (const n of [1, 2]) {
      const logs: string[] = (await activate(engine, 'talk', { n })).logs;
      expect(logs.map((l) => l.replace(/^\S+\s+/, ''))).toEqual(expect.arrayContaining([`stdout: out ${n}`, `stderr: err ${n}`]));
      expect(logs).toHaveLength(2);
      expect(logs.join('\n')).not.toContain('XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX');
    }
  });

  it('cuts logs at limits.logs with OpenWhisk\'s truncation line', async () => {
    const { engine } = dockerEngine();
    await engine.actions.create({ name: 'chatty', action: 'function main() { const line = "y".repeat(1023); for (let i = 0; i < 2048; i++) console.log(line); return {}; }', limits: { logs: 1 } });
    const logs: string[] = (await activate(engine, 'chatty')).logs;
    expect(logs.at(-1)).toMatch(/Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes\./);
    expect(logs.length).toBeLessThan(1100);
  });

  it('runs limits.concurrency activations at once in one container', async () => {
    const { engine, instance } = dockerEngine();
    await engine.actions.create({
      name: 'together',
      action: 'async function main() { const start = Date.now(); await new Promise(r => setTimeout(r, 600)); return { host: require("os").hostname(), start, end: Date.now() }; }',
      limits: { concurrency: 4 },
    });
    const results = (await Promise.all([0, 1, 2, 3].map(() => activate(engine, 'together')))).map((r) => r.response.result);
    expect(new Set(results.map((r) => r.host)).size).toBe(1);
    expect(await containersOf(instance)).toHaveLength(1);
    // All four ran side by side: each started before any of them ended.
    expect(Math.max(...results.map((r) => r.start))).toBeLessThan(Math.min(...results.map((r) => r.end)));
  });

  it('runs python:3 actions on EdgeWhisk\'s Python image', async () => {
    const { engine } = dockerEngine();
    await engine.actions.create({ name: 'py', kind: 'python:3', action: 'import os\ndef main(args):\n    print("from python")\n    return {"uid": os.getuid(), "x": args.get("x", 0) * 2}\n' });
    const record = await activate(engine, 'py', { x: 21 });
    expect(record.response.result).toEqual({ uid: 65534, x: 42 });
    expect(record.logs.map((l: string) => l.replace(/^\S+\s+/, ''))).toEqual(['stdout: from python']);
  });
});
