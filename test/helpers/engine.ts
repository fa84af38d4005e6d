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
export async function rejection(fn: () => Promise<unknown> | unknown): Promise<Error & Record<string, any>> {
  try {
    await fn();
  } catch (error) {
    return error as Error & Record<string, any>;
  }
  throw new Error('expected a rejection, got none');
}

export function annotationOf(record: { annotations: readonly { key: string; value: unknown }[] }, key: string): unknown {
  return record.annotations.find((a) => a.key === key)?.value;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
