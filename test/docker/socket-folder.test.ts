/**
 * The per-container socket folder (`/run/edgewhisk`, bind-mounted from the host) against hostile actions: it must
 * not let a container write to the host's disk, nor make the engine connect anywhere but the proxy it started.
 * The engine runs these tests as root, as it did in the security review: a symlink it followed would reach
 * anything, so the stand-in for the Docker socket is a socket this test listens on (never the real one).
 */
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/index';
import { SocketFolder } from '../../src/runtimes/docker/socket-folder';
import { waitForActivation } from '../helpers/engine';
import { requireDocker } from './docker-available';
import { containersOf, docker, dockerEngine, eventually } from './docker-engine';

const NODE_IMAGE = 'edgewhisk/action-nodejs:24';
/** What the host may hold for a container beyond its socket: nothing but directory entries. */
const HOST_BOUND = 64 * 1024;

beforeAll(async () => {
  await requireDocker({ images: ['nodejs:24'] });
}, 600_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary record fields
async function activate(engine: Engine, name: string, params: Record<string, unknown> = {}, timeout = 60_000): Promise<any> {
  const { activationId } = (await engine.actions.invoke({ name, params })) as { activationId: string };
  return waitForActivation(engine, activationId, timeout);
}

/** Bytes of regular files under `dir` on the host (links are not followed): what a container stored there. */
function bytesUnder(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (stat.isDirectory()) total += bytesUnder(path);
    else if (stat.isFile()) total += stat.size;
  }
  return total;
}

/** This process's open descriptors of files in `dir`. */
function descriptorsOf(dir: string): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(`${dir}/`) ? [target] : [];
    } catch {
      return [];
    }
  });
}

/** The host folders of `instance`'s containers (label `org.edgewhisk.socket-dir`). */
async function socketDirsOf(instance: string): Promise<string[]> {
  return (await containersOf(instance)).flatMap((c) => (c.Labels['org.edgewhisk.socket-dir'] === undefined ? [] : [c.Labels['org.edgewhisk.socket-dir']]));
}

/** A Unix socket standing in for the Docker socket: records every connection and every byte sent to it. */
class FakeDockerSocket {
  readonly dir = mkdtempSync(join(tmpdir(), 'ew-fake-docker-'));
  readonly path = join(this.dir, 'docker.sock');
  connections = 0;
  received = '';
  readonly #server: Server;

  constructor() {
    this.#server = createServer((socket) => {
      this.connections++;
      socket.on('data', (chunk: Buffer) => {
        this.received += chunk.toString('latin1');
      });
      socket.on('error', () => undefined);
      // Never answers: the engine would wait for its time limit, as on a real daemon that does not speak /run.
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.#server.listen(this.path, resolve));
  }

  close(): void {
    this.#server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An action that tries every way to replace its proxy socket with a symlink to `target`. */
const TAMPER = `
  const fs = require('fs');
  function main(p) {
    if (!p.target) return { ok: true };
    const dir = '/run/edgewhisk';
    const out = {};
    const attempt = (name, f) => { try { f(); out[name] = 'ok'; } catch (e) { out[name] = e.code; } };
    attempt('chmod', () => fs.chmodSync(dir, 0o777));
    attempt('replace', () => { fs.unlinkSync(dir + '/proxy.sock'); fs.symlinkSync(p.target, dir + '/proxy.sock'); });
    attempt('rename', () => { fs.symlinkSync(p.target, dir + '/evil'); fs.renameSync(dir + '/evil', dir + '/proxy.sock'); });
    // The proxy runs in this process: from now on it answers with Connection: close, so the engine's next request
    // connects anew (through whatever proxy.sock now is) instead of reusing its keep-alive connection.
    const http = require('http');
    const writeHead = http.ServerResponse.prototype.writeHead;
    http.ServerResponse.prototype.writeHead = function (status, headers) { return writeHead.call(this, status, { ...headers, Connection: 'close' }); };
    return out;
  }`;

let fake: FakeDockerSocket;

afterEach(() => fake?.close());

describe('an action cannot write to the host through its socket folder', () => {
  it('300 MB written into /run/edgewhisk: refused, and the host holds nothing of it', async () => {
    const { engine, instance } = dockerEngine();
    await engine.actions.create({
      name: 'fill',
      action: `
        const fs = require('fs');
        function main() {
          let written = 0;
          const chunk = Buffer.alloc(1024 * 1024, 1);
          const attempt = (path) => {
            try {
              const fd = fs.openSync(path, 'w');
              try { for (let i = 0; i < 300; i++) { fs.writeSync(fd, chunk); written += chunk.length; } } finally { fs.closeSync(fd); }
              return 'ok';
            } catch (e) { return e.code; }
          };
          const file = attempt('/run/edgewhisk/fill');
          let dir;
          try { fs.mkdirSync('/run/edgewhisk/d'); dir = attempt('/run/edgewhisk/d/fill'); } catch (e) { dir = e.code; }
          return { written, file, dir };
        }`,
      limits: { memory: 128, timeout: 60_000 },
    });
    const record = await activate(engine, 'fill');
    const [dir] = await socketDirsOf(instance);
    expect(dir, 'the container is warm, its folder still there').toBeDefined();
    const stored = bytesUnder(dir!);
    expect({ stored: stored <= HOST_BOUND, result: record.response.result }).toEqual({
      stored: true,
      result: { written: 0, file: 'EACCES', dir: 'EACCES' },
    });
    // The folder is the engine's, read-only to everyone else, and holds the proxy's socket only.
    expect(statSync(dir!).mode & 0o7777).toBe(0o555);
    expect(readdirSync(dir!)).toEqual(['proxy.sock']);
    // The engine still serves, in the same container.
    await engine.actions.create({ name: 'ok', action: 'function main() { return { ok: true }; }' });
    expect((await activate(engine, 'ok')).response.result).toEqual({ ok: true });
    // Closed, the engine holds no descriptor of the socket it connected through, and the folder is gone.
    expect(descriptorsOf(dir!)).toHaveLength(1);
    await engine.close();
    expect(descriptorsOf(dir!)).toEqual([]);
    expect(() => statSync(dir!)).toThrow();
  }, 120_000);

  it('an image an action names is reached over TCP: code that runs before the proxy listens never sees a host folder', async () => {
    // What a hostile blackbox image does: fill /run/edgewhisk before its proxy listens (nothing to lock yet).
    const tag = `edgewhisk-test/fills-first:${process.pid}`;
    const fill =
      "try{const fs=require('fs');const fd=fs.openSync('/run/edgewhisk/fill','w');const b=Buffer.alloc(1<<20,1);" +
      "for(let i=0;i<300;i++)fs.writeSync(fd,b);fs.closeSync(fd)}catch(e){console.error('fill: '+e.code)}" +
      "require('/opt/edgewhisk/proxy/nodejs/server.js').startServer()";
    const dir = mkdtempSync(join(tmpdir(), 'ew-fills-first-'));
    try {
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${NODE_IMAGE}\nCMD ${JSON.stringify(['/usr/local/bin/node', '-e', fill])}\n`);
      const stream = await docker.buildImage(Readable.fromWeb(tar.c({ cwd: dir }, ['Dockerfile'])), { t: tag });
      await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (e: Error | null) => (e ? reject(e) : resolve())));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    try {
      const { engine, instance } = dockerEngine();
      await engine.actions.create({ name: 'bb', action: { exec: { kind: 'blackbox', image: tag, code: 'function main() { return { hi: 1 }; }' } } });
      const record = await activate(engine, 'bb');
      const [info] = await containersOf(instance);
      const inspected = await docker.getContainer(info!.Id).inspect();
      const stored = (await socketDirsOf(instance)).reduce((sum, d) => sum + bytesUnder(d), 0);
      expect({ stored, mounts: inspected.Mounts.length, result: record.response.result }).toEqual({ stored: 0, mounts: 0, result: { hi: 1 } });
      expect(inspected.HostConfig.PortBindings).toEqual({ '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
      await engine.close();
    } finally {
      await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    }
  }, 120_000);
});

describe('an action cannot redirect the engine by replacing its socket', () => {
  it('as nobody (the default): the folder refuses the replacement; nothing reaches the stand-in socket; the engine keeps serving', async () => {
    fake = new FakeDockerSocket();
    await fake.listen();
    const { engine } = dockerEngine();
    await engine.actions.create({ name: 'tamper', action: TAMPER, limits: { timeout: 10_000 } });
    const first = await activate(engine, 'tamper', { target: fake.path });
    const second = await activate(engine, 'tamper');
    expect({ connections: fake.connections, received: fake.received }).toEqual({ connections: 0, received: '' });
    expect(first.response.result).toEqual({ chmod: 'EPERM', replace: 'EACCES', rename: 'EACCES' });
    expect(second.response).toMatchObject({ statusCode: 0, result: { ok: true } });
  }, 120_000);

  it('as root (allowRoot, who owns the folder when the engine is root): the replacement is found, refused with a clear error, the container removed; nothing reaches the stand-in socket', async () => {
    fake = new FakeDockerSocket();
    await fake.listen();
    const { engine, instance } = dockerEngine({ docker: { user: '0:0', allowRoot: true } });
    await engine.actions.create({ name: 'tamper', action: TAMPER, limits: { timeout: 10_000 } });
    const first = await activate(engine, 'tamper', { target: fake.path });
    expect(first.response.result).toEqual({ chmod: 'ok', replace: 'ok', rename: 'ok' });
    const [tampered] = await containersOf(instance);
    const refused = await activate(engine, 'tamper');
    expect({ connections: fake.connections, received: fake.received }).toEqual({ connections: 0, received: '' });
    expect(refused.response.statusCode).toBe(2);
    expect(refused.response.result.error).toBe(
      "The action changed its container's socket folder (its mode was changed to 0777): the engine does not connect to what the container put there, and has removed the container.",
    );
    await eventually('the tampered container is removed', async () => !(await containersOf(instance)).some((c) => c.Id === tampered!.Id));
    // A new container serves the next activation.
    expect((await activate(engine, 'tamper')).response).toMatchObject({ statusCode: 0, result: { ok: true } });
    expect({ connections: fake.connections, received: fake.received }).toEqual({ connections: 0, received: '' });
  }, 120_000);
});

/** What a server on `path` says to a new connection. */
function greeting(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(path);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('the engine connects only to the socket it verified', () => {
  it('a proxy.sock replaced by someone who could undo the lock is noticed, and connections still reach the verified socket', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ew-socket-folder-'));
    const proxy = createServer((socket) => socket.end('the proxy'));
    fake = new FakeDockerSocket();
    try {
      await fake.listen();
      const folder = SocketFolder.create(base, 'c');
      expect(folder.bound()).toBe(false);
      await new Promise<void>((resolve) => proxy.listen(folder.socketPath, resolve));
      expect(folder.bound()).toBe(true);
      const path = folder.lock();
      expect(path).toMatch(/^\/proc\/self\/fd\/\d+$/);
      expect(statSync(folder.dir).mode & 0o7777).toBe(0o555);
      expect(folder.tampered()).toBeUndefined();
      // This process owns the folder, as a container's root does when the engine runs as root: it can undo the lock.
      chmodSync(folder.dir, 0o777);
      expect(folder.tampered()).toBe('its mode was changed to 0777');
      unlinkSync(folder.socketPath);
      symlinkSync(fake.path, folder.socketPath);
      chmodSync(folder.dir, 0o555);
      expect(folder.tampered()).toBe('proxy.sock was replaced by a symbolic link');
      expect(await greeting(path)).toBe('the proxy');
      expect({ connections: fake.connections, received: fake.received }).toEqual({ connections: 0, received: '' });
      folder.close();
    } finally {
      proxy.close();
      await SocketFolder.remove(join(base, 'c'));
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('a folder that holds more than the socket, or a symlink at proxy.sock, is refused before the first connection', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ew-socket-folder-'));
    const proxy = createServer((socket) => socket.end());
    try {
      const extra = SocketFolder.create(base, 'extra');
      await new Promise<void>((resolve) => proxy.listen(extra.socketPath, resolve));
      writeFileSync(join(extra.dir, 'fill'), 'x');
      expect(extra.bound()).toBe(true);
      expect(() => extra.lock()).toThrow("the container's socket folder holds fill besides proxy.sock");
      const linked = SocketFolder.create(base, 'linked');
      symlinkSync(extra.socketPath, linked.socketPath);
      expect(() => linked.bound()).toThrow('the container put a symbolic link at proxy.sock instead of its proxy\'s socket');
    } finally {
      proxy.close();
      for (const name of ['extra', 'linked']) await SocketFolder.remove(join(base, name));
      rmSync(base, { recursive: true, force: true });
    }
  });
});
