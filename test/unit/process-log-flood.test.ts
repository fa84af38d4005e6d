/**
 * Log floods on the process runtime (issue 11, findings 2 and 6). An action printing 2e6 lines used to lose ~95% of
 * them with no truncation note, end out of memory (Node.js queues every line written to a pipe in the proxy's
 * memory), and leave the next run on that container to be reported out of memory too. The proxies now bound an
 * activation's output at its log limit where it is produced, with OpenWhisk's truncation line, and hand the engine
 * its logs before its answer. Measured here on real proxy processes, with the test process's event loop watched.
 */
import { describe, expect, it } from 'vitest';
import { LOG_LINE_OVERHEAD, LOG_TRUNCATED } from '../../src/activations/log-collector';
import { rejection, testEngine } from '../helpers/engine';
import { maxLagMs, storedBytes } from '../helpers/flood';

const LIMIT = 10 * 1024 * 1024;


const FLAVOURS = [
  {
    kind: 'nodejs:default',
    flood: 'function main() { for (let i = 0; i < 2e6; i++) console.log(i); return { done: true }; }',
    forever: 'function main() { const line = "x".repeat(1000); for (;;) console.log(line); }',
    small: 'function main(p) { for (let i = 0; i < 3; i++) console.log("small " + i); return { small: true }; }',
  },
  {
    kind: 'python:3',
    flood: 'def main(args):\n    for i in range(2000000):\n        print(i)\n    return {"done": True}\n',
    forever: 'def main(args):\n    line = "x" * 1000\n    while True:\n        print(line)\n',
    small: 'def main(args):\n    for i in range(3):\n        print("small %d" % i)\n    return {"small": True}\n',
  },
];

describe('process runtime: log floods', () => {
  for (const { kind, flood, forever, small } of FLAVOURS) {
    it(`stores at most the limit plus one truncation line of a 2e6-line flood, keeps the host responsive, and the container healthy (${kind})`, async () => {
      const engine = testEngine();
      await engine.actions.create({ name: 'flood', runtime: 'process', kind, action: flood });
      const { value: record, lag } = await maxLagMs(() => engine.actions.invoke({ name: 'flood', blocking: true }) as Promise<any>);
      // Before (Node.js): "The action exhausted its memory and was aborted.", 583 of 2,000,000 lines stored.
      expect(record.response).toMatchObject({ status: 'success', result: { done: true } });
      expect(lag).toBeLessThan(200);
      const logs = record.logs as string[];
      expect(logs.filter((line) => line.includes('Logs were truncated'))).toHaveLength(1);
      expect(logs.at(-1)).toMatch(/^\S+Z {7}stderr: /);
      expect(logs.at(-1)).toContain(LOG_TRUNCATED(LIMIT));
      const kept = logs.slice(0, -1);
      expect(storedBytes(kept)).toBeLessThanOrEqual(LIMIT);
      // Nothing silently lost below the limit: the first lines, every one of them, in order, up to the limit.
      expect(storedBytes(kept)).toBeGreaterThan(LIMIT - 2 * (LOG_LINE_OVERHEAD + 10));
      kept.forEach((line, i) => {
        if (!line.endsWith(` stdout: ${i}`)) expect(line).toMatch(new RegExp(` stdout: ${i}$`));
      });
      // The next run, on a fresh container, is fine, with its own logs.
      await engine.actions.create({ name: 'small', runtime: 'process', kind, action: small });
      const next = (await engine.actions.invoke({ name: 'small', blocking: true })) as { response: { result: unknown }; logs: string[] };
      expect(next.response.result).toEqual({ small: true });
      expect(next.logs.map((line) => line.replace(/^\S+\s+/, ''))).toEqual(['stdout: small 0', 'stdout: small 1', 'stdout: small 2']);
    }, 60_000);

    it(`ends an endless flood at its time limit with OpenWhisk's message (${kind})`, async () => {
      const engine = testEngine();
      await engine.actions.create({ name: 'forever', runtime: 'process', kind, action: forever, limits: { timeout: 3000 } });
      const started = Date.now();
      const { value: error, lag } = await maxLagMs(() => rejection(() => engine.actions.invoke({ name: 'forever', blocking: true })));
      const record = error.details.activation;
      expect(record.response.result).toEqual({ error: 'The action exceeded its time limits of 3000 milliseconds.' });
      expect(record.logs.filter((line: string) => line.includes('Logs were truncated'))).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(lag).toBeLessThan(200);
    }, 60_000);
  }

  it('keeps what the other stream wrote before the flood reached the limit', async () => {
    const engine = testEngine();
    const code = 'function main() { console.error("before the flood"); for (let i = 0; i < 3e5; i++) console.log(i); console.error("after the limit"); return {}; }';
    await engine.actions.create({ name: 'both', runtime: 'process', action: code, limits: { logs: 1 } });
    const record = (await engine.actions.invoke({ name: 'both', blocking: true })) as { logs: string[] };
    const lines = record.logs.map((line) => line.replace(/^\S+\s+/, ''));
    expect(lines).toContain('stderr: before the flood');
    expect(lines).not.toContain('stderr: after the limit');
    expect(lines.at(-1)).toBe(`stderr: ${LOG_TRUNCATED(1024 * 1024)}`);
    expect(storedBytes(record.logs.slice(0, -1))).toBeLessThanOrEqual(1024 * 1024);
  });

  it('runs the next activation of a container that flooded without trouble (warm, same container)', async () => {
    const engine = testEngine();
    const code = 'function main(p) { const n = p.n ?? 3; for (let i = 0; i < n; i++) console.log(i); return { n, pid: process.pid }; }';
    await engine.actions.create({ name: 'twice', runtime: 'process', action: code });
    const first = (await engine.actions.invoke({ name: 'twice', params: { n: 2e6 }, blocking: true })) as { response: { result: { pid: number } } };
    // Before: this second run on the same container was reported out of memory.
    const second = (await engine.actions.invoke({ name: 'twice', blocking: true })) as { response: { status: string; result: { n: number; pid: number } }; logs: string[] };
    expect(second.response.status).toBe('success');
    expect(second.response.result.pid).toBe(first.response.result.pid);
    expect(second.logs.map((line) => line.replace(/^\S+\s+/, ''))).toEqual(['stdout: 0', 'stdout: 1', 'stdout: 2']);
  }, 60_000);
});
