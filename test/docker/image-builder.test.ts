/**
 * EdgeWhisk's action images on the real daemon: labels the runtime reads, the user they run as, and a proxy that
 * answers over the Unix socket in a container as hardened as the Docker runtime makes it. The images are built
 * (offline) by `requireDocker` when missing or stale; this file removes the containers it starts, never an image.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IMAGE_LABELS,
  IMAGE_USER,
  SOCKET_DIR,
  SOCKET_PATH,
  imageTag,
  proxyDigest,
  type ImageKind,
} from '../../src/images/image-builder';
import { zip } from '../conformance/zip';
import { requireDocker } from './docker-available';

const docker = new Dockerode();

beforeAll(async () => {
  await requireDocker({ images: true });
}, 600_000);

const containers = new Set<string>();
const dirs = new Set<string>();

afterAll(async () => {
  for (const id of containers) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary result fields
  readonly body: any;
}

function post(socketPath: string, path: string, body: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = request({ socketPath, path, method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': data.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** Starts `image` the way the Docker runtime does (no network, read-only, nobody, no capabilities); its socket. */
async function startHardened(image: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'edgewhisk-image-test-'));
  dirs.add(dir);
  // The proxy runs as nobody and creates its socket here.
  chmodSync(dir, 0o777);
  const container = await docker.createContainer({
    Image: image,
    Env: [`SOCKET=${SOCKET_PATH}`],
    User: IMAGE_USER,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=64m' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Binds: [`${dir}:${SOCKET_DIR}`],
    },
  });
  containers.add(container.id);
  await container.start();
  const socket = join(dir, 'proxy.sock');
  const deadline = Date.now() + 15_000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline) {
      const logs = await container.logs({ stdout: true, stderr: true });
      throw new Error(`${image} made no socket in 15 s:\n${logs.toString('utf8')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return socket;
}

const KINDS: readonly { kind: ImageKind; code: string }[] = [
  { kind: 'nodejs:24', code: 'function main(a) { return { x: a.x + 1 }; }' },
  { kind: 'python:3', code: 'def main(a):\n    return {"x": a["x"] + 1}\n' },
];

describe.each(KINDS)('the $kind image', ({ kind, code }) => {
  const image = imageTag(kind);

  it('carries the labels the runtime reads, with this version\'s proxy digest', async () => {
    const labels = (await docker.getImage(image).inspect()).Config.Labels;
    expect(labels).toMatchObject({
      [IMAGE_LABELS.image]: 'true',
      [IMAGE_LABELS.kind]: kind,
      [IMAGE_LABELS.transport]: 'unix',
      [IMAGE_LABELS.proxyDigest]: proxyDigest(kind),
    });
    expect(['offline', 'online']).toContain(labels[IMAGE_LABELS.build]);
    expect(proxyDigest(kind)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('runs as nobody, from /tmp, with the proxy as its command', async () => {
    const config = (await docker.getImage(image).inspect()).Config;
    expect(config.User).toBe('65534:65534');
    expect(config.WorkingDir).toBe('/tmp');
    expect(config.Env).toEqual(expect.arrayContaining(['LANG=C.UTF-8', 'TMPDIR=/tmp', 'PORT=8080', 'HOST=0.0.0.0']));
    expect(config.Cmd).toEqual(
      kind === 'nodejs:24'
        ? ['/usr/local/bin/node', '/opt/edgewhisk/proxy/nodejs/server.js']
        : ['/usr/local/bin/python3', '-u', '/opt/edgewhisk/proxy/python/proxy.py'],
    );
  });

  it('answers /init and /run over the Unix socket in a hardened container', async () => {
    const socket = await startHardened(image);
    expect(await post(socket, '/init', { value: { code, main: 'main' } })).toEqual({ status: 200, body: expect.objectContaining({}) });
    expect(await post(socket, '/run', { value: { x: 1 } })).toEqual({ status: 200, body: { x: 2 } });
  });
});

describe('the nodejs:24 image', () => {
  it('runs a zip action: the proxy unpacks it with its own zip reader', async () => {
    const socket = await startHardened(imageTag('nodejs:24'));
    const archive = zip({
      'package.json': JSON.stringify({ main: 'lib/entry.js' }),
      'lib/entry.js': "const { double } = require('./double');\nexports.main = (a) => ({ y: double(a.y), tmp: require('os').tmpdir() });\n",
      'lib/double.js': 'exports.double = (n) => n * 2;\n',
    });
    const init = await post(socket, '/init', { value: { code: archive.toString('base64'), binary: true, main: 'main' } });
    expect(init.status).toBe(200);
    expect(await post(socket, '/run', { value: { y: 21 } })).toEqual({ status: 200, body: { y: 42, tmp: '/tmp' } });
  });
});
