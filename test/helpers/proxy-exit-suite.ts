/**
 * How runtimes that run the action proxy out of the engine's process (process, docker) tell an out-of-memory end
 * from a crash when all they see is an exit: by the runtime's dying words on stderr (proxy-markers.ts). Run by
 * test/unit/process-runtime.test.ts and test/docker/runtime-behaviour.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { EngineConfig } from '../../src/index';
import { rejection, testEngine } from './engine';

import type { EngineFactory } from './runtime-behaviour-suite';

/** What V8 writes when the heap is exhausted, then a native stack trace of `frames` lines (Node 20 writes 15–30). */
function dyingWords(frames: number): string {
  const frame = (i: number) => `${String(i).padStart(2)}: 0x10e91f1 v8::internal::HeapAllocator::AllocateRawWithRetryOrFailSlowPath(int, v8::internal::AllocationType) [/usr/local/bin/node]`;
  return [
    '<--- JS stacktrace --->',
    'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    '----- Native stack trace -----',
    ...Array.from({ length: frames }, (_, i) => frame(i + 1)),
  ].join('\n');
}

export function describeProxyExit(runtime: string, config: EngineConfig = {}, makeEngine: EngineFactory = testEngine): void {
  describe(`${runtime} runtime: how a proxy ended`, () => {
    it("reads the runtime's heap message even when kilobytes of native stack trace follow it", async () => {
      const words = dyingWords(40);
      expect(words.length).toBeGreaterThan(4_000);
      const engine = makeEngine(config);
      await engine.actions.create({ name: 'oom', action: `function main() { process.stderr.write(${JSON.stringify(`${words}\n`)}); process.exit(134); }`, runtime });
      const record = (await rejection(() => engine.actions.invoke({ name: 'oom', blocking: true }))).details.activation;
      expect(record.response).toMatchObject({ statusCode: 2, result: { error: 'The action exhausted its memory and was aborted.' } });
      // All of the dying words are in the activation's logs: the exit was judged after they had been read.
      expect(record.logs.join('\n')).toContain(' 40: 0x10e91f1');
    });

    it('does not blame a later crash on a memory error an earlier activation logged', async () => {
      const engine = makeEngine(config);
      await engine.actions.create({
        name: 'crash',
        action: 'function main(p) { if (p.crash) process.exit(3); console.error("MemoryError: a buffer was too large, handled"); return {}; }',
        runtime,
      });
      await engine.actions.invoke({ name: 'crash', blocking: true });
      const record = (await rejection(() => engine.actions.invoke({ name: 'crash', params: { crash: true }, blocking: true }))).details.activation;
      expect(record.response).toMatchObject({ statusCode: 2, result: { error: 'The action did not produce a valid response and exited unexpectedly.' } });
      expect(engine.stats().pool.containers).toBe(0);
    });
  });
}
