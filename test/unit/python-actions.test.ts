import { describe, expect, it } from 'vitest';
import { childPids } from '../helpers/child-pids';
import { ProcessRuntime } from '../../src/index';
import { testEngine } from '../helpers/engine';

type Record = { response: { status: string; statusCode: number; result: any }; logs: string[]; duration?: number };

async function run(code: string, params: object = {}, extra: object = {}, engine = testEngine()): Promise<Record> {
  await engine.actions.create({ name: 'py', kind: 'python:3', action: code, ...extra });
  try {
    return (await engine.actions.invoke({ name: 'py', params, blocking: true })) as Record;
  } catch (error) {
    return (error as { details: { activation: Record } }).details.activation;
  }
}

describe('python:3 actions on the process runtime', () => {
  it('runs def main(args) and returns its dict, with print() in the logs', async () => {
    const record = await run('import sys\ndef main(args):\n    print("hello", args["name"])\n    print("careful", file=sys.stderr)\n    return {"greeting": "Hello, " + args["name"] + " ❄ ☃"}\n', { name: 'py' });
    expect(record.response).toMatchObject({ status: 'success', result: { greeting: 'Hello, py ❄ ☃' } });
    // Two pipes: each stream keeps its order, but not the order between them.
    expect(record.logs).toHaveLength(2);
    expect(record.logs.some((l) => / stdout: hello py$/.test(l))).toBe(true);
    expect(record.logs.some((l) => / stderr: careful$/.test(l))).toBe(true);
  });

  it('stores python:default as python:3 and runs on the process runtime without being told', async () => {
    const engine = testEngine();
    const created = await engine.actions.create({ name: 'd', kind: 'python:default', action: 'def main(a):\n    return {}' });
    expect((created['exec'] as { kind: string }).kind).toBe('python:3');
  });

  it('uses a custom main', async () => {
    const record = await run('def niam(args):\n    return {"which": "niam"}\n', {}, { exec: { main: 'niam' } });
    expect(record.response.result).toEqual({ which: 'niam' });
  });

  it('reports an exception as a developer error and {"error": …} as an application error', async () => {
    const thrown = await run('def main(args):\n    raise ValueError("bad value")\n');
    expect(thrown.response.statusCode).toBe(2);
    expect(thrown.response.result.error).toContain('bad value');
    expect(thrown.logs.join('\n')).toContain('ValueError');
    const app = await run('def main(args):\n    return {"error": "not today"}\n');
    expect(app.response).toMatchObject({ status: 'application error', result: { error: 'not today' } });
  });

  it('ends an infinite loop at the time limit', async () => {
    const record = await run('def main(args):\n    while True:\n        pass\n', {}, { limits: { timeout: 500 } });
    expect(record.response.result).toEqual({ error: 'The action exceeded its time limits of 500 milliseconds.' });
    expect(record.duration).toBeGreaterThanOrEqual(500);
  });

  it('turns a crash into a developer error', async () => {
    const record = await run('import os\ndef main(args):\n    os._exit(3)\n');
    expect(record.response.result).toEqual({ error: 'The action did not produce a valid response and exited unexpectedly.' });
  });

  it('reports memory beyond the limit as memory exhaustion', async () => {
    const record = await run('import time\ndef main(args):\n    big = b"x" * (400 * 1024 * 1024)\n    time.sleep(3)\n    return {"n": len(big)}\n', {}, { limits: { memory: 128, timeout: 20000 } });
    expect(record.response.result).toEqual({ error: 'The action exhausted its memory and was aborted.' });
  });

  it('says clearly when no Python interpreter is found', async () => {
    const engine = testEngine({ runtimes: [new ProcessRuntime({ pythonPath: '/nonexistent/python3' })] });
    const record = await run('def main(args):\n    return {}\n', {}, {}, engine);
    expect(record.response).toMatchObject({ statusCode: 3, result: { error: 'Failed to provision resources to run the action.' } });
    expect(record.logs.join('\n')).toContain('/nonexistent/python3 was not found');
  });
});

describe('prewarmed python:3 processes', () => {
  it('keeps the configured prewarmed python processes and serves a cold start from one', async () => {
    const engine = testEngine({ prewarm: [{ kind: 'python:3', count: 1 }] });
    for (let i = 0; i < 300 && engine.stats().pool.prewarm < 1; i++) await new Promise((r) => setTimeout(r, 20));
    expect(engine.stats().pool.prewarm).toBe(1);
    const prewarmed = childPids();
    expect(prewarmed).toHaveLength(1);
    await engine.actions.create({ name: 'p', kind: 'python:3', action: 'import os\ndef main(a):\n    return {"pid": os.getpid()}\n' });
    const record = (await engine.actions.invoke({ name: 'p', blocking: true })) as { response: { result: { pid: number } } };
    // It ran in the interpreter that was already waiting: only init, no interpreter start-up.
    expect(record.response.result.pid).toBe(prewarmed[0]);
  });

  it('refuses a prewarm entry no runtime can serve, naming it', async () => {
    const { createEngine } = await import('../../src/index.js');
    expect(() => createEngine({ prewarm: [{ kind: 'cobol:85', count: 1 }] })).toThrow(/prewarm.*cobol:85/);
    expect(() => createEngine({ prewarm: [{ kind: 'python:3', count: -1 }] })).toThrow(/prewarm\[0\]\.count/);
  });
});
