/**
 * The pool on real containers: prewarmed containers per kind, pause after the idle grace and resume on the next
 * call, destroy after the idle timeout, LRU eviction under the memory budget, and the parallel-start cap.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/index';
import { annotationOf, waitForActivation } from '../helpers/engine';
import { requireDocker } from './docker-available';
import { containersOf, docker, dockerEngine, eventually } from './docker-engine';

beforeAll(async () => {
  await requireDocker({ images: true });
}, 600_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary record fields
async function activate(engine: Engine, name: string, params: Record<string, unknown> = {}): Promise<any> {
  const { activationId } = (await engine.actions.invoke({ name, params })) as { activationId: string };
  return waitForActivation(engine, activationId, 30_000);
}

const HOST = 'function main() { return { host: require("os").hostname() }; }';

async function paused(id: string): Promise<boolean> {
  return (await docker.getContainer(id).inspect()).State.Paused;
}

describe('Docker pool behaviour', () => {
  it('keeps prewarmed containers per kind and serves a cold start from one, then backfills', async () => {
    const { engine, instance } = dockerEngine({ prewarm: [{ kind: 'nodejs:24', count: 1 }, { kind: 'python:3', count: 1 }] });
    await eventually('two prewarmed containers', () => engine.stats().pool.prewarm === 2, 30_000);
    const prewarmed = (await containersOf(instance)).map((c) => c.Id);
    expect(prewarmed).toHaveLength(2);
    await engine.actions.create({ name: 'a', action: HOST });
    const record = await activate(engine, 'a');
    expect(record.response.statusCode).toBe(0);
    // The run used a prewarmed container: its hostname is one of theirs (Docker's hostname is the id's prefix).
    expect(prewarmed.some((id) => id.startsWith(record.response.result.host))).toBe(true);
    await eventually('the prewarm is backfilled', () => engine.stats().pool.prewarm === 2, 30_000);
  });

  it('pauses an idle container after the grace period and resumes it for the next run', async () => {
    const { engine, instance } = dockerEngine({ pauseGrace: 200 });
    await engine.actions.create({ name: 'a', action: HOST });
    const first = await activate(engine, 'a');
    const [info] = await containersOf(instance);
    await eventually('the container is paused', () => paused(info!.Id));
    expect(engine.stats().pool.paused).toBe(1);
    const second = await activate(engine, 'a');
    expect(second.response.result.host).toBe(first.response.result.host);
    expect(annotationOf(second, 'initTime')).toBeUndefined();
    expect(await paused(info!.Id)).toBe(false);
    // And it pauses again once idle.
    await eventually('paused again', () => paused(info!.Id));
  });

  it('destroys idle containers after the idle timeout, paused ones included', async () => {
    const { engine, instance } = dockerEngine({ pauseGrace: 100, idleTimeout: 1_500 });
    await engine.actions.create({ name: 'a', action: HOST });
    await activate(engine, 'a');
    expect(await containersOf(instance)).toHaveLength(1);
    await eventually('the idle container is removed', async () => (await containersOf(instance)).length === 0, 10_000);
    expect(engine.stats().pool.containers).toBe(0);
  });

  it('evicts the least recently used idle container when the memory budget is full', async () => {
    const { engine, instance } = dockerEngine({ memoryBudget: 512 });
    for (const name of ['a', 'b', 'c']) await engine.actions.create({ name, action: HOST });
    const a = (await activate(engine, 'a')).response.result.host;
    const b = (await activate(engine, 'b')).response.result.host;
    expect(await containersOf(instance)).toHaveLength(2);
    await activate(engine, 'a'); // b is now the least recently used
    await activate(engine, 'c');
    const hosts = (await containersOf(instance)).map((c) => c.Id.slice(0, 12));
    expect(hosts).toHaveLength(2);
    expect(hosts).toContain(a);
    expect(hosts).not.toContain(b);
  });

  it('starts at most maxParallelStarts containers at once', async () => {
    const { engine, instance } = dockerEngine({ maxParallelStarts: 2, memoryBudget: 2048 });
    await engine.actions.create({ name: 's', action: 'async function main() { await new Promise(r => setTimeout(r, 300)); return {}; }' });
    let most = 0;
    const timer = setInterval(() => (most = Math.max(most, engine.stats().pool.starting)), 5);
    const records = await Promise.all([0, 1, 2, 3, 4, 5].map(() => activate(engine, 's')));
    clearInterval(timer);
    expect(records.every((r) => r.response.statusCode === 0)).toBe(true);
    expect(most).toBe(2);
    expect((await containersOf(instance)).length).toBeGreaterThanOrEqual(2);
  });
});
