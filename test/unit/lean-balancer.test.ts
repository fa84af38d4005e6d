import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index';
import { rejection, testEngine } from '../helpers/engine';

const SLOW = 'async function main(p) { await new Promise(r => setTimeout(r, p.ms ?? 200)); return { done: true }; }';

describe('lean balancer: admission', () => {
  it('refuses invocations beyond the namespace concurrency limit with OpenWhisk 429 message', async () => {
    const engine = testEngine({ concurrentInvocations: 2 });
    await engine.actions.create({ name: 's', action: SLOW });
    await engine.actions.invoke({ name: 's' });
    await engine.actions.invoke({ name: 's' });
    const err = await rejection(() => engine.actions.invoke({ name: 's' }));
    expect(err.code).toBe('EW_THROTTLED_CONCURRENT');
    expect(err.statusCode).toBe(429);
    expect(err.message).toBe('Too many concurrent requests in flight (count: 2, allowed: 2).');
  });

  it('refuses everything with allowed: 0 when the limit is 0, and bad limits are a TypeError', async () => {
    const engine = testEngine({ concurrentInvocations: 0 });
    await engine.actions.create({ name: 's', action: SLOW });
    const err = await rejection(() => engine.actions.invoke({ name: 's' }));
    expect(err.message).toBe('Too many concurrent requests in flight (count: 0, allowed: 0).');
    expect(() => createEngine({ concurrentInvocations: -1 })).toThrow(TypeError);
    expect(() => createEngine({ concurrentInvocations: -1 })).toThrow(/concurrentInvocations/);
  });

  it('bounds the backlog and refuses with a clear 429 when it is full, losing nothing it accepted', async () => {
    const engine = testEngine({ maxQueued: 3, dispatchConcurrency: 1, memoryBudget: 256 });
    await engine.actions.create({ name: 's', action: SLOW });
    const accepted: string[] = [];
    const done = new Set<string>();
    engine.on('activation:completed', (a) => done.add(a.activationId));
    // One runs (dispatch concurrency 1) and three wait: the fifth is refused.
    for (let i = 0; i < 4; i++) accepted.push(((await engine.actions.invoke({ name: 's', params: { ms: 50 } })) as any).activationId);
    const err = await rejection(() => engine.actions.invoke({ name: 's' }));
    expect(err.code).toBe('EW_QUEUE_FULL');
    expect(err.statusCode).toBe(429);
    expect(err.message).toBe('Too many requests queued: the invocation backlog is full (count: 3, allowed: 3).');
    while (done.size < 4) await new Promise((r) => setTimeout(r, 20));
    expect([...done].sort()).toEqual([...accepted].sort());
    // The engine keeps serving once the backlog drains.
    expect(await engine.actions.invoke({ name: 's', params: { ms: 1 }, blocking: true, result: true })).toEqual({ done: true });
  });
});

describe('engine.close()', () => {
  it('lets running activations finish within the timeout', async () => {
    const engine = createEngine({ prewarmCount: 0 });
    await engine.actions.create({ name: 's', action: SLOW });
    const pending = engine.actions.invoke({ name: 's', params: { ms: 100 }, blocking: true, result: true });
    await new Promise((r) => setTimeout(r, 20));
    await engine.close(2000);
    expect(await pending).toEqual({ done: true });
    const err = await rejection(() => engine.actions.invoke({ name: 's' }));
    expect(err.code).toBe('EW_ENGINE_CLOSED');
    expect(err.statusCode).toBe(503);
  });

  it('aborts what is left after the timeout, settles every accepted invocation, and returns in bounded time', async () => {
    const engine = createEngine({ prewarmCount: 0, memoryBudget: 256, dispatchConcurrency: 1 });
    await engine.actions.create({ name: 'spin', action: 'function main() { for (;;) {} }', limits: { timeout: 60000 } });
    const calls = [0, 1, 2].map(() => engine.actions.invoke({ name: 'spin', blocking: true }).catch((e) => e));
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await engine.close(300);
    // Bounded: the spinning runs (60 s limit) are aborted, not waited for; the margin is for a loaded machine.
    expect(Date.now() - started).toBeLessThan(10_000);
    const outcomes = (await Promise.all(calls)) as any[];
    for (const o of outcomes) {
      expect(o.code).toBe('EW_ACTIVATION_FAILED');
      expect(o.details.activation.response.status).toBe('whisk internal error');
    }
    const messages = outcomes.map((o) => o.details.activation.response.result.error).sort();
    expect(messages).toEqual([
      'The engine shut down before the activation could complete.',
      'The engine shut down before the activation could run.',
      'The engine shut down before the activation could run.',
    ]);
    expect(engine.stats().pool.containers).toBe(0);
  });

  it('is idempotent', async () => {
    const engine = createEngine({ prewarmCount: 1 });
    await Promise.all([engine.close(), engine.close()]);
    await engine.close();
    expect(engine.closed).toBe(true);
  });
});
