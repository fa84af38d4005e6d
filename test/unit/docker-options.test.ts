/** The Docker runtime's options: defaults, and what is refused with a TypeError naming the option (no daemon needed). */
import { describe, expect, it } from 'vitest';
import { createEngine, DEFAULTS } from '../../src/index';
import { relaxations, resolveDockerOptions } from '../../src/runtimes/docker/docker-options';

describe('docker options', () => {
  it("defaults to EdgeWhisk's images: one per supported Node.js major, and Python's", () => {
    expect(DEFAULTS.docker.images).toEqual({
      'nodejs:22': 'edgewhisk/action-nodejs:22',
      'nodejs:24': 'edgewhisk/action-nodejs:24',
      'python:3': 'edgewhisk/action-python:3',
    });
    // Given images are merged over the defaults: replacing one kind's image keeps the other kinds; a new key adds a kind.
    expect(resolveDockerOptions(DEFAULTS.docker, { images: { 'nodejs:24': 'my/node:24', 'nodejs:26': 'my/node:26' } }).images).toEqual({
      'nodejs:22': 'edgewhisk/action-nodejs:22',
      'nodejs:24': 'my/node:24',
      'nodejs:26': 'my/node:26',
      'python:3': 'edgewhisk/action-python:3',
    });
    expect(() => resolveDockerOptions(DEFAULTS.docker, { images: { 'nodejs:22': '' } })).toThrow(/`docker.images` to be an object of kind → image name/);
    for (const kind of ['nodejs', 'nodejs:default', 'Node:24', 'nodejs:24 ']) {
      expect(() => resolveDockerOptions(DEFAULTS.docker, { images: { [kind]: 'my/image' } })).toThrow(/`docker.images` to be kinds such as 'nodejs:24' as keys/);
    }
  });

  it('refuses options that would give the host away', () => {
    expect(() => resolveDockerOptions(DEFAULTS.docker, { user: 'root' })).toThrow(/non-root user/);
    expect(() => resolveDockerOptions(DEFAULTS.docker, { user: '0:0' })).toThrow(/non-root user/);
    expect(() => resolveDockerOptions(DEFAULTS.docker, { network: 'host' })).toThrow(/never `host`/);
    expect(() => resolveDockerOptions(DEFAULTS.docker, { network: 'container:abc' })).toThrow(/never `host` or another container's/);
    expect(() => resolveDockerOptions(DEFAULTS.docker, { capAdd: ['SYS_ADMIN'] })).toThrow(/short of ALL and SYS_ADMIN/);
    expect(() => resolveDockerOptions(DEFAULTS.docker, { capAdd: ['ALL'] })).toThrow(/short of ALL and SYS_ADMIN/);
    expect(() => resolveDockerOptions(DEFAULTS.docker, { privileged: true } as never)).toThrow(/Unknown Docker option `docker.privileged`/);
  });

  it('accepts the Docker host forms dockerode understands and names the option for anything else', () => {
    for (const host of ['', '/var/run/docker.sock', 'unix:///run/user/1000/docker.sock', 'tcp://127.0.0.1:2375', 'tcp://socket-proxy:2375', 'https://docker.lan:2376/']) {
      expect(resolveDockerOptions(DEFAULTS.docker, { host }).host).toBe(host);
    }
    for (const host of ['docker.sock', 'tcp://', 'ftp://x:1', 'tcp://a b:1', 'unix://relative']) {
      expect(() => resolveDockerOptions(DEFAULTS.docker, { host }), host).toThrow(/Expected `docker.host` to be '' \(DOCKER_HOST or the default socket\)/);
    }
  });

  it('checks types and ranges, and the engine validates its docker section at construction', () => {
    expect(() => resolveDockerOptions(DEFAULTS.docker, { pull: 'sometimes' } as never)).toThrow(/`docker.pull`/);
    expect(() => resolveDockerOptions(DEFAULTS.docker, { sandbox: 'kata' } as never)).toThrow(/`docker.sandbox`/);
    expect(() => resolveDockerOptions(DEFAULTS.docker, { pidsLimit: 0 })).toThrow(/`docker.pidsLimit` to be a positive integer/);
    expect(() => resolveDockerOptions(DEFAULTS.docker, { instance: 'has space' })).toThrow(/`docker.instance`/);
    expect(() => createEngine({ prewarmCount: 0, docker: { tmpSize: -1 } })).toThrow(TypeError);
  });

  it('lists every relaxation of the defaults, and none for the defaults themselves', () => {
    expect(relaxations(DEFAULTS.docker, DEFAULTS.docker)).toEqual([]);
    const relaxed = resolveDockerOptions(DEFAULTS.docker, { readOnlyRootfs: false, capAdd: ['CHOWN'], pidsLimit: 1024, nofile: 4096, cpus: 0, network: 'bridge', user: 'root', allowRoot: true });
    expect(relaxations(relaxed, DEFAULTS.docker)).toEqual([
      'actions run as root (user root)',
      'the root filesystem is writable',
      'capabilities added back: CHOWN',
      'pids limit raised to 1024',
      'nofile raised to 4096',
      'no CPU cap per container',
      "actions without an edgewhisk-network annotation get network 'bridge'",
    ]);
  });
});
