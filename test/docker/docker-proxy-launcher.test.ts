/**
 * The launcher the proxy conformance suites run EdgeWhisk's images through (docker-proxy-launcher.cjs): the
 * container it makes is the runtime's, its relay keeps HTTP's framing (half-close included), and it leaves nothing
 * behind on any way out: SIGTERM, the proxy exiting, its parent dying, EW_PARENT_PID gone, a failed start.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBody, sleep, startProxy, stopAll } from '../conformance/harness';
import { requireDocker } from './docker-available';
import { containersOf, docker, eventually } from './docker-engine';
import { LAUNCHER } from './proxy-launcher';

const IMAGE = 'edgewhisk/action-nodejs:24';
const instance = `launcher-test-${process.pid}`;
const socketBase = mkdtempSync(join(tmpdir(), 'ew-launcher-test-'));
const command = [process.execPath, LAUNCHER, '--instance', instance, '--socket-base', socketBase, IMAGE];

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Nothing of the launcher is left: no container, no socket directory. */
async function expectNothingLeft(): Promise<void> {
  await eventually('the container is removed', async () => (await containersOf(instance)).length === 0);
  expect(readdirSync(socketBase)).toEqual([]);
}

beforeAll(async () => {
  await requireDocker({ images: true });
}, 600_000);

afterEach(async () => {
  await stopAll();
  for (const c of await containersOf(instance)) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  for (const dir of readdirSync(socketBase)) rmSync(join(socketBase, dir), { recursive: true, force: true });
});

afterAll(() => {
  rmSync(socketBase, { recursive: true, force: true });
});

describe('docker-proxy-launcher', () => {
  it("runs the image as the runtime does, with the suite's environment but none of the host's", async () => {
    const proxy = await startProxy(command, { TMPDIR: socketBase, __OW_API_HOST: 'xyz', __OW_ALLOW_CONCURRENT: 'true' });
    const [info] = await containersOf(instance);
    expect(info).toBeDefined();
    const inspected = await docker.getContainer(info!.Id).inspect();
    expect(inspected.Config.User).toBe('65534:65534');
    expect(inspected.HostConfig).toMatchObject({
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      NetworkMode: 'none',
      Memory: 256 * 1024 * 1024,
      PidsLimit: 256,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=64m,mode=1777' },
    });
    expect(inspected.Mounts).toHaveLength(1);
    expect(inspected.Mounts[0]).toMatchObject({ Destination: '/run/edgewhisk', RW: true });
    expect(inspected.Mounts[0]?.Source.startsWith(`${socketBase}/`)).toBe(true);
    const env = inspected.Config.Env;
    expect(env).toEqual(expect.arrayContaining(['SOCKET=/run/edgewhisk/proxy.sock', '__OW_API_HOST=xyz', '__OW_ALLOW_CONCURRENT=true', 'TMPDIR=/tmp']));
    // The launcher's conventions and the host's paths stay outside.
    expect(env.filter((e) => /^(EW_READY_FD|EW_PARENT_PID)=/.test(e) || e === `TMPDIR=${socketBase}` || e === 'HOST=127.0.0.1' || e === 'PORT=0')).toEqual([]);
    expect((await proxy.post('/init', initBody('function main(a) { return { api: process.env.__OW_API_HOST }; }', 'main'))).status).toBe(200);
    expect((await proxy.run({})).body).toEqual({ api: 'xyz' });
  });

  it("passes SIGTERM to the proxy, forwards its output byte for byte, exits with the proxy's code, leaves nothing", async () => {
    // The same action on the local proxy says what the container's streams must hold, to the byte.
    const code = `function main() { process.stdout.write('in two ☃'); process.stdout.write(' writes\\n'); process.stderr.write('\\u0000\\r\\n' + 'y'.repeat(70000) + '\\n'); return {}; }`;
    const streamsOf = async (proxy: Awaited<ReturnType<typeof startProxy>>) => {
      expect((await proxy.post('/init', initBody(code, 'main'))).status).toBe(200);
      expect((await proxy.run({})).status).toBe(200);
      return proxy.waitForSentinels(1);
    };
    const local = await streamsOf(await startProxy([process.execPath, join(__dirname, '..', '..', 'dist', 'proxy', 'nodejs', 'server.js')]));
    const proxy = await startProxy(command);
    const remote = await streamsOf(proxy);
    expect(remote.rawStdout).toBe(local.rawStdout);
    expect(remote.rawStderr).toBe(local.rawStderr);
    expect(remote.rawStderr.length).toBeGreaterThan(70000);
    expect(await proxy.stop()).toEqual({ code: 0, signal: null });
    expect(proxy.streams().rawStderr).toContain('EdgeWhisk action proxy: stopped by SIGTERM');
    await expectNothingLeft();
  });

  it('exits with the code of a proxy that exits by itself, and leaves nothing', async () => {
    const proxy = await startProxy(command);
    await proxy.post('/init', initBody('function main() { process.exit(3); }', 'main'));
    await proxy.run({}).catch(() => undefined);
    expect(await proxy.exited).toEqual({ code: 3, signal: null });
    await expectNothingLeft();
  });

  it('relays a request whose client half-closes after sending it, and a response larger than a socket buffer', async () => {
    const proxy = await startProxy(command);
    await proxy.post('/init', initBody(`function main() { return { big: 'x'.repeat(3 * 1024 * 1024) }; }`, 'main'));
    const socket = connect(proxy.port, '127.0.0.1');
    await once(socket, 'connect');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const body = JSON.stringify({ value: {} });
    socket.end(`POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    await once(socket, 'close');
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.startsWith('HTTP/1.1 200')).toBe(true);
    const payload = text.slice(text.indexOf('\r\n\r\n') + 4);
    expect(Number(/content-length: (\d+)/i.exec(text)?.[1])).toBe(Buffer.byteLength(payload));
    expect(JSON.parse(payload).big).toHaveLength(3 * 1024 * 1024);
  });

  it('exits and leaves nothing when its parent dies', async () => {
    // A parent that starts the launcher, passes on its announcement and pid, and is then killed outright.
    const parentScript = `
      const { spawn } = require('node:child_process');
      const child = spawn(process.argv[1], JSON.parse(process.argv[2]), { stdio: ['ignore', 'ignore', 'inherit', 'pipe'], env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', EW_READY_FD: '3' } });
      child.stdio[3].on('data', (d) => process.stdout.write(JSON.stringify({ pid: child.pid, ready: String(d).trim() }) + '\\n'));
      setInterval(() => undefined, 1000);`;
    const parent = spawn(process.execPath, ['-e', parentScript, process.execPath, JSON.stringify(command.slice(1))], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
      const { pid } = JSON.parse(line.toString('utf8')) as { pid: number };
      expect(await containersOf(instance)).toHaveLength(1);
      parent.kill('SIGKILL');
      await once(parent, 'exit');
      await eventually('the launcher exits', () => !alive(pid));
      await expectNothingLeft();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('exits and leaves nothing once the process named by EW_PARENT_PID is gone', async () => {
    const watched = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const proxy = await startProxy(command, { EW_PARENT_PID: String(watched.pid) });
      // Two of the launcher's parent checks (every 200 ms) with the watched process alive: it must not leave early.
      await sleep(500);
      expect(proxy.gone).toBe(false);
      watched.kill('SIGKILL');
      await once(watched, 'exit');
      // The launcher notices at its next parent check and removes the container before it exits; polled, as that
      // can take seconds on a loaded machine.
      await eventually('the launcher exits', () => proxy.gone);
      expect(await proxy.exited).toEqual({ code: 0, signal: null });
      await expectNothingLeft();
    } finally {
      watched.kill('SIGKILL');
    }
  });

  it('reports a start that fails (no such image) on stderr, exits non-zero, and leaves nothing', async () => {
    const child = spawn(command[0]!, [...command.slice(1, -1), 'edgewhisk/no-such-image:0'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '', EW_READY_FD: '3' } });
    const stderr: Buffer[] = [];
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).not.toBe(0);
    expect(Buffer.concat(stderr).toString('utf8')).toMatch(/cannot start edgewhisk\/no-such-image:0: no image/);
    await expectNothingLeft();
  });
});
