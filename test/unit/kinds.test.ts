/**
 * Action kinds name the Node.js that really runs the action: the worker and process runtimes run the host's Node,
 * so they offer `nodejs:<host major>`; `nodejs:default` resolves to the newest Node kind of the runtime an action
 * lands on; `nodejs:20` (retired, what flows saved before Node 22 named) keeps working as that kind.
 */
import { describe, expect, it } from 'vitest';
import type { Container, ContainerSpec, Runtime } from '../../src/runtimes/runtime';
import { hostNodeKind, newestNodeKind, nodeMajorOf, SUPPORTED_NODE_MAJORS } from '../../src/runtimes/node-kinds';
import { rejection, testEngine } from '../helpers/engine';

const HOST_KIND = hostNodeKind();
const HOST_MAJOR = Number(process.versions.node.split('.')[0]);
const VERSION_PROBE = 'function main() { return { node: process.versions.node }; }';

/** A runtime that offers kinds but never starts anything: enough to see which kind and runtime an action gets. */
function offering(name: string, kinds: readonly string[]): Runtime {
  return { name, kinds, create: (_spec: ContainerSpec): Promise<Container> => Promise.reject(new Error('not started in this test')) };
}

describe('action kinds', () => {
  it.each(['worker', 'process'])('the %s runtime offers exactly the host kind, and its actions run on that Node.js', async (runtime) => {
    const engine = testEngine({ defaultRuntime: runtime });
    expect(engine.kinds().filter((k) => k.startsWith('nodejs:'))).toEqual([HOST_KIND]);
    await engine.actions.create({ name: 'v', action: VERSION_PROBE, kind: HOST_KIND });
    const { node } = (await engine.actions.invoke({ name: 'v', blocking: true, result: true })) as { node: string };
    expect(`nodejs:${node.split('.')[0]}`).toBe(HOST_KIND);
  });

  it('runs on a supported Node.js major', () => {
    expect(SUPPORTED_NODE_MAJORS).toContain(HOST_MAJOR);
  });

  it('stores nodejs:default as the host kind, and the record says so', async () => {
    const engine = testEngine();
    const created = (await engine.actions.create({ name: 'd', action: VERSION_PROBE, kind: 'nodejs:default' })) as { exec: { kind: string } };
    expect(created.exec.kind).toBe(HOST_KIND);
    expect(engine.resolveKind('nodejs:default')).toBe(HOST_KIND);
    expect(engine.resolveKind('python:default')).toBe('python:3');
  });

  it('refuses a Node.js kind no runtime runs with EW_KIND_UNSUPPORTED (400) listing the available kinds', async () => {
    const engine = testEngine();
    const other = SUPPORTED_NODE_MAJORS.find((m) => m !== HOST_MAJOR) ?? HOST_MAJOR + 2;
    for (const kind of ['nodejs:18', `nodejs:${other}`, 'nodejs:latest']) {
      const error = await rejection(() => engine.actions.create({ name: 'k', action: VERSION_PROBE, kind }));
      expect(error.code).toBe('EW_KIND_UNSUPPORTED');
      expect(error.statusCode).toBe(400);
      expect(error.message).toBe(`The action kind '${kind}' is not supported; supported kinds: ${HOST_KIND}, python:3, sequence.`);
    }
    // Nothing was stored, and the engine still serves.
    await expect(engine.actions.list()).resolves.toEqual([]);
    await engine.actions.create({ name: 'k', action: VERSION_PROBE });
    await expect(engine.actions.invoke({ name: 'k', blocking: true, result: true })).resolves.toHaveProperty('node', process.versions.node);
  });

  it('keeps nodejs:20 actions working: stored and run as the host kind when no runtime offers Node.js 20', async () => {
    const engine = testEngine();
    const created = (await engine.actions.create({ name: 'old', action: VERSION_PROBE, kind: 'nodejs:20' })) as { exec: { kind: string } };
    expect(created.exec.kind).toBe(HOST_KIND);
    const { node } = (await engine.actions.invoke({ name: 'old', blocking: true, result: true })) as { node: string };
    expect(node).toBe(process.versions.node);
  });

  it('keeps nodejs:20 where a runtime really provides it', async () => {
    const engine = testEngine({ runtimes: [offering('legacy', ['nodejs:20'])] });
    expect(engine.resolveKind('nodejs:20')).toBe('nodejs:20');
    const created = await engine.actions.create({ name: 'old', action: VERSION_PROBE, kind: 'nodejs:20' });
    expect(created.exec.kind).toBe('nodejs:20');
  });

  it('resolves nodejs:default to the newest Node.js kind of the runtime the action runs on', async () => {
    const engine = testEngine({ runtimes: [offering('many', ['nodejs:22', 'nodejs:26', 'nodejs:24'])] });
    expect(engine.resolveKind('nodejs:default', 'many')).toBe('nodejs:26');
    expect(engine.resolveKind('nodejs:default')).toBe(HOST_KIND);
    const created = (await engine.actions.create({ name: 'm', action: VERSION_PROBE, runtime: 'many' })) as { exec: { kind: string } };
    expect(created.exec.kind).toBe('nodejs:26');
  });

  it('prewarms containers of the host kind on the default runtime', async () => {
    const engine = testEngine({ prewarmCount: 1 });
    for (let i = 0; i < 200 && engine.stats().pool.prewarm === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(engine.stats().pool.prewarm).toBe(1);
  });

  it('finds the newest Node.js kind and the major of a kind', () => {
    expect(newestNodeKind(['python:3', 'nodejs:22', 'nodejs:24', 'blackbox'])).toBe('nodejs:24');
    expect(newestNodeKind(['python:3'])).toBeUndefined();
    expect(nodeMajorOf('nodejs:22')).toBe(22);
    expect(nodeMajorOf('nodejs:default')).toBeUndefined();
    expect(nodeMajorOf('python:3')).toBeUndefined();
  });
});
