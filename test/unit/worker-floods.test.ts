/**
 * Log floods on the worker runtime (issue 11, finding 2). A worker action printing millions of lines used to stall
 * the host's event loop for seconds (one message carried every line), store ~8x the log limit (only the text was
 * counted, not the 40 bytes of timestamp and stream each stored line carries), hold a GB of host memory per record,
 * and record a "success" long past its time limit. Logs are now bounded inside the worker and sent in bounded
 * batches, so these tests measure the host while real worker threads flood it.
 */
import { describe, expect, it } from 'vitest';
import { LOG_TRUNCATED } from '../../src/activations/log-collector';
import { rejection, testEngine } from '../helpers/engine';
import { maxLagMs, storedBytes } from '../helpers/flood';

const LIMIT = 10 * 1024 * 1024;
const FLOOD = 'function main() { for (let i = 0; i < 2e6; i++) console.log(i); return { ok: true }; }';


describe('worker runtime: log floods', () => {
  it('keeps the host responsive through a 2e6-line flood and stores at most the limit plus one truncation line', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'flood', action: FLOOD });
    const { value: record, lag } = await maxLagMs(() => engine.actions.invoke({ name: 'flood', blocking: true }) as Promise<any>);
    expect(record.response).toMatchObject({ status: 'success', result: { ok: true } });
    // Measured before the fix: one 8.8 s block; a loaded 2-core CI machine stays well under this bound now.
    expect(lag).toBeLessThan(200);
    const logs = record.logs as string[];
    expect(logs.at(-1)).toMatch(/^\S+Z {7}stderr: /);
    expect(logs.at(-1)).toContain(LOG_TRUNCATED(LIMIT));
    expect(logs.filter((line) => line.includes('Logs were truncated'))).toHaveLength(1);
    // Before: 1,656,696 lines, 76.8 MB stored.
    const kept = logs.slice(0, -1);
    expect(storedBytes(kept)).toBeLessThanOrEqual(LIMIT);
    expect(storedBytes(kept)).toBeGreaterThan(LIMIT - 100);
    // The lines kept are the first ones, in order.
    expect(kept[0]).toMatch(/ stdout: 0$/);
    expect(kept.at(-1)).toMatch(new RegExp(` stdout: ${kept.length - 1}$`));
  }, 60_000);

  it('ends a flood past its time limit with the timeout message in bounded time, the host responsive', async () => {
    const engine = testEngine();
    // Yields now and then, so the batches the worker sends reach the host while the flood goes on.
    const code = `async function main() {
      for (let i = 0; ; i++) { console.log('line', i); if (i % 200000 === 0) await new Promise((r) => setImmediate(r)); }
    }`;
    await engine.actions.create({ name: 'endless', action: code, limits: { timeout: 3000 } });
    const { value: error, lag } = await maxLagMs(() => rejection(() => engine.actions.invoke({ name: 'endless', blocking: true })));
    const record = error.details.activation;
    expect(record.response).toMatchObject({
      status: 'action developer error',
      result: { error: 'The action exceeded its time limits of 3000 milliseconds.' },
    });
    expect(record.duration).toBeLessThan(3000 + 2000);
    expect(lag).toBeLessThan(200);
    expect(storedBytes(record.logs.filter((l: string) => !l.includes('Logs were truncated') && !l.includes('Log data might be missing')))).toBeLessThanOrEqual(LIMIT);
  }, 60_000);

  it('holds five flooding records without growing the host by more than a bound', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'flood', action: FLOOD });
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 20);
    try {
      for (let i = 0; i < 5; i++) {
        const record = (await engine.actions.invoke({ name: 'flood', blocking: true })) as { response: { success: boolean } };
        expect(record.response.success).toBe(true);
      }
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage.rss());
    // Five records of 10 MB of log lines each (~20 MB of heap each), kept in the store, and the heap's growth
    // around them: ~300 MB measured. Before: 815 MB sampled here (the sampler stalled with the host), 2.7 GB reported.
    expect((peak - before) / 1024 / 1024).toBeLessThan(500);
    expect(await engine.activations.list({ name: 'flood', count: true })).toEqual({ activations: 5 });
  }, 120_000);

  it('evicts the oldest records beyond the activations bytes budget', async () => {
    // A flooded record holds about 20 MB (10 MB of lines and a string per line): two fit in 45 MB, three do not.
    const engine = testEngine({ activationRetentionBytes: 45 * 1024 * 1024 });
    await engine.actions.create({ name: 'flood', action: FLOOD });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(((await engine.actions.invoke({ name: 'flood', blocking: true })) as { activationId: string }).activationId);
    expect((await rejection(() => engine.activations.get(ids[0] as string))).statusCode).toBe(404);
    expect((await rejection(() => engine.activations.get(ids[1] as string))).statusCode).toBe(404);
    expect((await engine.activations.get(ids[2] as string)).logs.length).toBeGreaterThan(1000);
    expect((await engine.activations.get(ids[3] as string)).logs.length).toBeGreaterThan(1000);
  }, 120_000);

  it('keeps every line of a small log, in order, across streams and calls', async () => {
    const engine = testEngine();
    const code = `function main() {
      for (let i = 0; i < 3000; i++) console.log('out', i);
      console.error('err'); console.log(''); process.stdout.write('a\\nb\\n'); console.log('x\\n');
      return {};
    }`;
    await engine.actions.create({ name: 'small', action: code });
    const record = (await engine.actions.invoke({ name: 'small', blocking: true })) as { logs: string[] };
    const texts = record.logs.map((line) => line.slice(31));
    expect(texts.slice(0, 3000)).toEqual(Array.from({ length: 3000 }, (_, i) => `stdout: out ${i}`));
    expect(texts.slice(3000)).toEqual(['stderr: err', 'stdout: ', 'stdout: a', 'stdout: b', 'stdout: x']);
  });
});

describe('memory floods', () => {
  it.each([
    ['worker', 'heap', 'const keep = []; for (;;) keep.push(new Array(1e5).fill(1));'],
    ['worker', 'off-heap', 'const keep = []; for (;;) keep.push(new Uint8Array(8 * 1024 * 1024).fill(1));'],
    ['process', 'heap', 'const keep = []; for (;;) keep.push(new Array(1e5).fill(1));'],
  ])('end a %s action filling its %s memory with the memory message, the host responsive throughout', async (runtime, _what, body) => {
    const engine = testEngine({ defaultRuntime: runtime });
    await engine.actions.create({ name: 'hog', action: `function main() { ${body} }`, limits: { memory: 128, timeout: 30_000 } });
    const { value: error, lag } = await maxLagMs(() => rejection(() => engine.actions.invoke({ name: 'hog', blocking: true })));
    expect(error.details.activation.response).toMatchObject({ status: 'action developer error', result: { error: 'The action exhausted its memory and was aborted.' } });
    expect(lag).toBeLessThan(200);
    // And the engine keeps serving.
    await engine.actions.create({ name: 'after', action: 'function main() { return { ok: true }; }' });
    await expect(engine.actions.invoke({ name: 'after', blocking: true, result: true })).resolves.toEqual({ ok: true });
  }, 60_000);
});
