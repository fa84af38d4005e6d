/** The pieces of Docker mode that need no daemon: the settings gate, instance names, runtime reports on the status. */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dockerGate, dockerInstance } from '../../src/nodes/lib/docker-gate';
import type { NodeEngine } from '../../src/nodes/lib/node-engine';
import type { NodeStatus } from '../../src/nodes/lib/red-types';
import { pullText, reportRuntime } from '../../src/nodes/lib/runtime-reports';

describe('the Docker gate', () => {
  const users = [{ username: 'admin', password: 'x', permissions: '*' }];

  it('allows Docker with adminAuth', () => {
    expect(dockerGate({ adminAuth: { type: 'credentials', users } })).toEqual({ allowed: true, via: 'adminAuth' });
    expect(dockerGate({ adminAuth: { type: 'credentials', users, default: { permissions: 'read' } } })).toEqual({ allowed: true, via: 'adminAuth' });
  });

  it('allows Docker without adminAuth only with the explicit acknowledgement, which must be exactly true', () => {
    expect(dockerGate({ edgewhisk: { allowDockerWithoutAdminAuth: true } })).toEqual({ allowed: true, via: 'acknowledged' });
    for (const value of ['true', 1, {}, false]) expect(dockerGate({ edgewhisk: { allowDockerWithoutAdminAuth: value } }).allowed).toBe(false);
    expect(dockerGate({ allowDockerWithoutAdminAuth: true }).allowed).toBe(false);
  });

  it('refuses Docker without either, and when anonymous users may write', () => {
    expect(dockerGate({})).toEqual({ allowed: false, reason: expect.stringMatching(/no adminAuth/) });
    expect(dockerGate(undefined).allowed).toBe(false);
    expect(dockerGate({ adminAuth: null }).allowed).toBe(false);
    for (const permissions of ['*', ['read', 'flows.write']]) {
      expect(dockerGate({ adminAuth: { type: 'credentials', users, default: { permissions } } })).toEqual({
        allowed: false,
        reason: expect.stringMatching(/anonymous users deploy/),
      });
    }
  });

  it('reads plain settings.js properties, not the runtime settings store behind get()', () => {
    const settings = { get: () => ({ allowDockerWithoutAdminAuth: true }) };
    expect(dockerGate(settings).allowed).toBe(false);
    const throwing = Object.defineProperty({}, 'adminAuth', { get: () => { throw new Error('no'); } });
    expect(dockerGate(throwing).allowed).toBe(false);
  });

  it('names an engine node\'s containers after its id, in the characters Docker allows', () => {
    expect(dockerInstance('a1b2c3d4e5f60718')).toBe('nr-a1b2c3d4e5f60718');
    expect(dockerInstance('a/b:c d')).toBe('nr-a_b_c_d');
    expect(dockerInstance('x'.repeat(100))).toHaveLength(63);
  });
});

describe('runtime reports on the engine node', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup(): { emitter: EventEmitter; shown: NodeStatus[]; warnings: unknown[]; stop: () => void } {
    const emitter = new EventEmitter();
    const shown: NodeStatus[] = [];
    const warnings: unknown[] = [];
    const engine = emitter as unknown as Pick<NodeEngine, 'on' | 'off'>;
    const stop = reportRuntime(engine, { status: (s) => shown.push(s), warn: (w) => warnings.push(w) }, () => ({ fill: 'yellow', shape: 'ring', text: 'base' }));
    return { emitter, shown, warnings, stop };
  }

  it('shows a pull as "pulling <image> n%", at most every 250 ms, then the base status again', () => {
    vi.useFakeTimers();
    const { emitter, shown } = setup();
    const image = 'edgewhisk/action-nodejs:24';
    emitter.emit('runtime:pull', { runtime: 'docker', image, status: 'Pulling from edgewhisk/action-nodejs' });
    emitter.emit('runtime:pull', { runtime: 'docker', image, status: 'Downloading', current: 45, total: 100 });
    vi.advanceTimersByTime(300);
    emitter.emit('runtime:pull', { runtime: 'docker', image, status: 'Downloading', current: 450, total: 1000 });
    emitter.emit('runtime:pull', { runtime: 'docker', image, status: 'Downloading', current: 999, total: 1000 });
    expect(shown).toEqual([
      { fill: 'blue', shape: 'dot', text: `pulling ${image}` },
      { fill: 'blue', shape: 'dot', text: `pulling ${image} 45%` },
    ]);
    emitter.emit('runtime:pull', { runtime: 'docker', image, status: `Status: Downloaded newer image for ${image}` });
    expect(shown.at(-1)).toEqual({ fill: 'yellow', shape: 'ring', text: 'base' });
  });

  it('returns to the base status when the pull fails or goes quiet', () => {
    vi.useFakeTimers();
    const { emitter, shown } = setup();
    emitter.emit('runtime:pull', { runtime: 'docker', image: 'a', status: 'Downloading', current: 1, total: 4 });
    emitter.emit('container:start-failed', { runtime: 'docker', kind: 'blackbox', error: new Error('pull failed') });
    expect(shown.map((s) => s.text)).toEqual(['pulling a 25%', 'base']);
    emitter.emit('runtime:pull', { runtime: 'docker', image: 'b', status: 'Downloading' });
    vi.advanceTimersByTime(30_000);
    expect(shown.map((s) => s.text)).toEqual(['pulling a 25%', 'base', 'pulling b', 'base']);
  });

  it('passes warnings on and unsubscribes everything when stopped', () => {
    const { emitter, warnings, stop } = setup();
    emitter.emit('runtime:warning', { runtime: 'docker', message: 'Docker hardening relaxed: the root filesystem is writable' });
    expect(warnings).toEqual(['docker runtime: Docker hardening relaxed: the root filesystem is writable']);
    stop();
    for (const event of ['runtime:pull', 'runtime:warning', 'container:start-failed']) expect(emitter.listenerCount(event)).toBe(0);
  });

  it('says how far a pull is once the sizes are known', () => {
    expect(pullText({ runtime: 'docker', image: 'x', status: '' })).toBe('pulling x');
    expect(pullText({ runtime: 'docker', image: 'x', status: '', current: 5, total: 0 })).toBe('pulling x');
    expect(pullText({ runtime: 'docker', image: 'x', status: '', current: 120, total: 100 })).toBe('pulling x 100%');
  });
});
