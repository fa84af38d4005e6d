import { afterEach } from 'vitest';
import { createEngine, type Engine, type EngineConfig } from '../../src/index';

const open = new Set<Engine>();

/** An engine closed automatically after the test; no prewarm unless asked, to keep tests quick and exact. */
export function testEngine(config: EngineConfig = {}): Engine {
  const engine = createEngine({ prewarmCount: 0, ...config });
  open.add(engine);
  return engine;
}

afterEach(async () => {
  const engines = [...open];
  open.clear();
  await Promise.all(engines.map((e) => e.close(1000)));
});

/** Resolves with the thrown error, failing if `fn` does not throw. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary error fields
export async function rejection(fn: () => Promise<unknown> | unknown): Promise<any> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, got none');
}

export function annotationOf(record: { annotations: readonly { key: string; value: unknown }[] }, key: string): unknown {
  return record.annotations.find((a) => a.key === key)?.value;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves with the API view of activation `activationId` once it is stored (polling, so there is no race with an
 * activation that finished before the call); rejects after `timeout` ms, which is generous because CI runs the suite
 * on a loaded machine and only a failing test ever waits that long.
 */
export async function waitForActivation(engine: Engine, activationId: string, timeout = 10_000): Promise<any> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await engine.activations.get(activationId);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404 || Date.now() > deadline) throw error;
    }
    await sleep(10);
  }
}
