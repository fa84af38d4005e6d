/**
 * Bad input gets a clear error and loses nothing, and no promise rejection escapes anywhere: Node-RED exits on the
 * first unhandled one. These scenarios run with a process-level listener that records any that does.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEngine } from '../../src/index';
import { rejection, sleep, testEngine, waitForActivation } from '../helpers/engine';

const escaped: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  escaped.push(reason);
};

beforeEach(() => {
  escaped.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

describe('robustness', () => {
  it('lets no rejection escape from hostile and failing invocations, and keeps serving', async () => {
    const engine = testEngine({ concurrentInvocations: 50 });
    await engine.actions.create({ name: 'ok', action: 'function main(p) { return { ok: true, p }; }' });
    await engine.actions.create({ name: 'crash', action: 'function main() { setTimeout(() => { throw new Error("x"); }); return new Promise(() => {}); }', limits: { timeout: 500 } });
    await engine.actions.create({ name: 'reject', action: 'function main() { Promise.reject(new Error("loose")); return new Promise((r) => setTimeout(() => r({}), 200)); }' });
    await engine.actions.create({ name: 'spin', action: 'function main() { for(;;){} }', limits: { timeout: 200 } });
    await engine.actions.create({ name: 'exit', action: 'function main() { process.exit(1); }' });
    await engine.actions.create({ name: 'bad', action: 'this is not javascript' });
    const refusals = [
      () => engine.actions.invoke({ name: 'nope/x?' }),
      () => engine.actions.invoke({ name: 'missing' }),
      () => engine.actions.invoke({ name: 'ok', params: 'string' as never }),
      () => engine.actions.invoke({ name: 'ok', params: { big: 'x'.repeat(1_100_000) } }),
      () => engine.actions.invoke({ name: 'ok', blocking: true, timeout: 0 }),
      () => engine.actions.create({ name: 'h', action: 'function main(){}', exec: { main: 'require("child_process")' } }),
      () => engine.actions.create({ name: 'l', action: 'x', limits: { memory: 1e9 } }),
      () => engine.triggers.invoke({ name: 'no-such-trigger' }),
      () => engine.rules.enable({ name: 'no-such-rule' }),
    ];
    for (const refuse of refusals) {
      const err = await rejection(refuse);
      expect(err.code, String(err.message)).toMatch(/^EW_/);
      expect(err.statusCode).toBeGreaterThanOrEqual(400);
    }
    // Non-blocking failures: nobody awaits them, and nothing may escape either.
    const unawaited: string[] = [];
    for (const name of ['crash', 'reject', 'spin', 'exit', 'bad']) {
      for (let i = 0; i < 3; i++) unawaited.push(((await engine.actions.invoke({ name })) as { activationId: string }).activationId);
    }
    const blocking = await Promise.allSettled(['crash', 'reject', 'spin', 'exit', 'bad'].map((name) => engine.actions.invoke({ name, blocking: true })));
    for (const outcome of blocking) expect(outcome.status).toBe('rejected');
    // Every failure has played out (and is recorded: nothing is lost) before the engine is asked to serve again.
    for (const id of unawaited) await waitForActivation(engine, id);
    expect(await engine.actions.invoke({ name: 'ok', params: { n: 1 }, blocking: true, result: true })).toEqual({ ok: true, p: { n: 1 } });
    await sleep(100); // time for a late rejection from the torn-down containers to show
    expect(escaped).toEqual([]);
  });

  it('lets no rejection escape when the engine closes with work queued and running', async () => {
    const engine = createEngine({ prewarmCount: 0, memoryBudget: 256, dispatchConcurrency: 2 });
    await engine.actions.create({ name: 'slow', action: 'async function main() { await new Promise(r => setTimeout(r, 2000)); return {}; }' });
    for (let i = 0; i < 20; i++) await engine.actions.invoke({ name: 'slow' });
    const blocked = engine.actions.invoke({ name: 'slow', blocking: true }).catch((e: { code?: string }) => e);
    await engine.close(100);
    expect((await blocked as { code?: string }).code).toBe('EW_ACTIVATION_FAILED');
    await rejection(() => engine.actions.invoke({ name: 'slow' }));
    await rejection(() => engine.triggers.invoke({ name: 't' }));
    await sleep(50);
    expect(escaped).toEqual([]);
  });

  it('isolates a throwing activation listener from the activation and the caller', async () => {
    const engine = testEngine();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    engine.on('activation:completed', () => {
      throw new Error('listener bug');
    });
    await engine.actions.create({ name: 'ok', action: 'function main() { return { fine: true }; }' });
    expect(await engine.actions.invoke({ name: 'ok', blocking: true, result: true })).toEqual({ fine: true });
    // Node emits warnings asynchronously.
    await vi.waitFor(() => expect(warnings.some((w) => w.includes('listener bug'))).toBe(true), { timeout: 10_000, interval: 20 });
    process.off('warning', onWarning);
    await sleep(20); // time for the throw to escape as a rejection, too
    expect(escaped).toEqual([]);
  });
});
