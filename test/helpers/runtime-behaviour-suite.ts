/**
 * The behaviour required of every runtime that runs Node.js actions, as one case list: the worker runtime
 * (threads), the process runtime (child processes running the action proxy) and the docker runtime (containers
 * of EdgeWhisk's image running the same proxy). test/unit/runtime-behaviour.test.ts runs it for worker and process,
 * test/docker/runtime-behaviour.test.ts for docker.
 */
import { describe, expect, it } from 'vitest';
import type { Engine, EngineConfig } from '../../src/index';
import { annotationOf, rejection, testEngine } from './engine';

/** Makes an engine that is closed (and whose containers are gone) after the test. */
export type EngineFactory = (config: EngineConfig) => Engine;

/**
 * Registers the behaviour cases for `runtime`. Every engine gets `config` (e.g. the Docker runtime's options) under
 * what a case sets itself, and is made by `makeEngine` (`testEngine` unless given).
 */
export function describeRuntimeBehaviour(runtime: string, config: EngineConfig = {}, makeEngine: EngineFactory = testEngine): void {
  const engineWith = (extra: EngineConfig = {}): Engine => makeEngine({ ...config, ...extra });

  async function run(code: string, params: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
    const engine = engineWith();
    await engine.actions.create({ name: 'a', action: code, runtime, ...extra });
    const { activationId } = (await engine.actions.invoke({ name: 'a', params })) as { activationId: string };
    await new Promise<void>((resolve) => {
      const check = (rec: { activationId: string }) => {
        if (rec.activationId === activationId) {
          engine.off('activation:completed', check);
          resolve();
        }
      };
      engine.on('activation:completed', check);
    });
    return { engine, record: await engine.activations.get(activationId) };
  }

  describe(`${runtime} runtime`, () => {
    describe('entry points and results', () => {
      it('runs function main(params) and returns its result', async () => {
        const { record } = await run('function main(p) { return { sum: p.a + p.b }; }', { a: 2, b: 3 });
        expect(record.response).toMatchObject({ status: 'success', success: true, result: { sum: 5 } });
      });

      it('finds exports.main and module.exports.main', async () => {
        expect((await run('exports.main = (p) => ({ x: p.x })', { x: 1 })).record.response.result).toEqual({ x: 1 });
        expect((await run('module.exports.main = async (p) => ({ y: p.y })', { y: 2 })).record.response.result).toEqual({ y: 2 });
      });

      it('uses a custom main name', async () => {
        const { record } = await run('function niam() { return { which: "niam" }; }', {}, { exec: { main: 'niam' } });
        expect(record.response.result).toEqual({ which: 'niam' });
      });

      it('awaits async results and turns undefined into {}', async () => {
        expect((await run('async function main() { await new Promise(r => setTimeout(r, 5)); return { ok: 1 }; }')).record.response.result).toEqual({ ok: 1 });
        expect((await run('function main() { return; }')).record.response.result).toEqual({});
      });

      it('reports a rejection as an application error and keeps the container', async () => {
        const { engine, record } = await run('async function main() { throw new Error("app error"); }');
        expect(record.response.status).toBe('application error');
        expect(record.response.statusCode).toBe(1);
        expect(JSON.stringify(record.response.result)).toContain('app error');
        expect(engine.stats().pool.idle).toBe(1);
      });

      it('reports a synchronous throw as a developer error with the proxy message and drops the container', async () => {
        const { engine, record } = await run('function main() { throw "nooooo"; }');
        expect(record.response).toMatchObject({ status: 'action developer error', result: { error: 'An error has occurred: nooooo' } });
        expect(engine.stats().pool.containers).toBe(0);
      });

      it('rejects a non-object result as a developer error', async () => {
        const { record } = await run('function main() { return 42; }');
        expect(record.response).toMatchObject({ statusCode: 2, result: { error: 'The action did not return a dictionary.' } });
      });

      it('accepts array results and array payloads unchanged', async () => {
        const engine = engineWith();
        await engine.actions.create({ name: 'echo', action: 'function main(p) { return p; }', params: { d: 1 }, runtime });
        const out = await engine.actions.invoke({ name: 'echo', params: [1, 2, 3], blocking: true });
        expect(out).toEqual([1, 2, 3]);
      });

      it('fails init when the entry point is not a function', async () => {
        const { record } = await run('var x = 1;');
        expect(record.response.statusCode).toBe(2);
        expect(record.response.result).toEqual({ error: "Initialization has failed due to: Action entrypoint 'main' is not a function." });
      });

      it('fails init with the syntax error in result and logs', async () => {
        const { record } = await run('10 PRINT "HELLO"\n20 GOTO 10');
        expect(record.response.statusCode).toBe(2);
        expect(String((record.response.result as { error: string }).error)).toMatch(/^Initialization has failed due to: SyntaxError/);
        expect(record.logs.join('\n')).toMatch(/syntax/i);
        expect(annotationOf(record, 'initTime')).toBeTypeOf('number');
      });

      it('reports empty code with the proxy message', async () => {
        const { record } = await run('');
        expect(record.response).toMatchObject({ statusCode: 2, result: { error: 'Missing main/no code to execute.' } });
      });

      it('never treats a hostile main as code and finds no host built-ins through it', async () => {
        const engine = engineWith();
        const err = await rejection(() => engine.actions.create({ name: 'h', action: 'function main(){}', exec: { main: 'main; process.exit(1)' }, runtime }));
        expect(err.code).toBe('EW_MAIN_INVALID');
        expect((await rejection(() => engine.actions.create({ name: 'h2', action: 'function main(){}', exec: { main: 'constructor' } }))).code).toBe('EW_MAIN_INVALID');
        const { record } = await run('function main(){ return {}; }', {}, { exec: { main: 'process.exit' } });
        expect(record.response.result).toEqual({ error: "Initialization has failed due to: Action entrypoint 'process.exit' is not a function." });
      });

      it('exposes the activation context in process.env', async () => {
        const { record } = await run(
          'function main() { const e = process.env; return { id: e.__OW_ACTIVATION_ID, name: e.__OW_ACTION_NAME, ns: e.__OW_NAMESPACE, deadline: Number(e.__OW_DEADLINE), home: e.HOME ?? null }; }',
        );
        const r = record.response.result as Record<string, unknown>;
        expect(r['id']).toBe(record.activationId);
        expect(r['name']).toBe('/guest/a');
        expect(r['ns']).toBe('guest');
        // The run's start plus the time limit (60 s): the run started within the activation's start and end.
        expect(r['deadline']).toBeGreaterThanOrEqual(record.start + 60_000);
        expect(r['deadline']).toBeLessThanOrEqual(Number(record.end) + 60_000);
        // The action does not see the host's environment. A container has one of its own: Docker always sets HOME,
        // from the image's passwd entry for the user actions run as (65534, nobody: /nonexistent).
        expect(r['home']).toBe(runtime === 'docker' ? '/nonexistent' : null);
      });

      it('exports init parameters as environment variables and keeps them out of the arguments', async () => {
        const { record } = await run('function main(p) { return { env: process.env.SECRET, arg: p.SECRET ?? null, other: p.other }; }', {}, {
          params: [
            { key: 'SECRET', value: 's3', init: true },
            { key: 'other', value: 1 },
          ],
        });
        expect(record.response.result).toEqual({ env: 's3', arg: null, other: 1 });
      });
    });

    describe('logs', () => {
      it('captures console output in OpenWhisk log line format', async () => {
        const { record } = await run('function main() { console.log("hello", { a: 1 }); console.error("oops"); process.stdout.write("raw\\n"); return {}; }');
        expect(record.logs).toHaveLength(3);
        for (const line of record.logs) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {7}(stdout|stderr): /);
        // Order holds within a stream; across stdout and stderr only the worker runtime (one channel) can keep it.
        const stdout = record.logs.filter((l) => l.includes(' stdout: ')).map((l) => l.split(' stdout: ')[1]);
        const stderr = record.logs.filter((l) => l.includes(' stderr: ')).map((l) => l.split(' stderr: ')[1]);
        expect(stdout).toEqual(['hello { a: 1 }', 'raw']);
        expect(stderr).toEqual(['oops']);
        if (runtime === 'worker') expect(record.logs[1]).toMatch(/ stderr: oops$/);
      });

      it('truncates logs at the limit with OpenWhisk line', async () => {
        const { record } = await run('function main() { const s = "x".repeat(1024); for (let i = 0; i < 1100; i++) console.log(s); return {}; }', {}, { limits: { logs: 1 } });
        expect(record.response.success).toBe(true);
        expect(record.logs.at(-1)).toContain('Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes.');
        expect(record.logs.length).toBeLessThan(1100);
      });

      it('collects no logs when the log limit is 0', async () => {
        const { record } = await run('function main() { console.log("x"); return {}; }', {}, { limits: { logs: 0 } });
        expect(record.logs).toEqual([]);
      });
    });

    describe('limits enforced from outside the action', () => {
      it('ends a synchronous infinite loop at the time limit', async () => {
        const { engine, record } = await run('function main() { while (true) {} }', {}, { limits: { timeout: 300 } });
        expect(record.response).toMatchObject({ statusCode: 2, result: { error: 'The action exceeded its time limits of 300 milliseconds.' } });
        expect(annotationOf(record, 'timeout')).toBe(true);
        expect(record.duration).toBeGreaterThanOrEqual(300);
        expect(engine.stats().pool.containers).toBe(0);
      });

      it('ends an infinite loop that starts after an await', async () => {
        const { record } = await run('async function main() { await new Promise(r => setTimeout(r, 10)); for (;;) {} }', {}, { limits: { timeout: 300 } });
        expect(record.response.result).toEqual({ error: 'The action exceeded its time limits of 300 milliseconds.' });
      });

      it('keeps the host event loop responsive while an action spins', async () => {
        const engine = engineWith();
        await engine.actions.create({ name: 'spin', action: 'function main() { while (true) {} }', limits: { timeout: 1000 }, runtime });
        const done = engine.actions.invoke({ name: 'spin', blocking: true }).catch(() => undefined);
        const gaps: number[] = [];
        let last = Date.now();
        const timer = setInterval(() => {
          const now = Date.now();
          gaps.push(now - last);
          last = now;
        }, 10);
        await done;
        clearInterval(timer);
        expect(gaps.length).toBeGreaterThan(50);
        // A blocked host loop would show one gap as long as the 1 s time limit; a busy 2-core machine shows ~100 ms.
        expect(Math.max(...gaps)).toBeLessThan(600);
      });

      it('reports heap exhaustion with OpenWhisk message', async () => {
        const { engine, record } = await run('function main() { const a = []; for (;;) a.push(new Array(1e5).fill({ x: Math.random() })); }', {}, { limits: { memory: 128, timeout: 30000 } });
        expect(record.response).toMatchObject({ statusCode: 2, result: { error: 'The action exhausted its memory and was aborted.' } });
        expect(engine.stats().pool.containers).toBe(0);
      });

      it('turns process.exit() into a developer error', async () => {
        const { record } = await run('function main() { process.exit(3); }');
        expect(record.response).toMatchObject({ statusCode: 2, result: { error: 'The action did not produce a valid response and exited unexpectedly.' } });
      });

      it('turns an exception thrown from a timer into a developer error', async () => {
        const { record } = await run('function main() { return new Promise(() => { setTimeout(() => { throw new Error("late boom"); }, 5); }); }');
        expect(record.response).toMatchObject({ statusCode: 2, result: { error: 'The action did not produce a valid response and exited unexpectedly.' } });
        expect(record.logs.join('\n')).toContain('late boom');
      });

      it('turns an unhandled rejection inside the action into a developer error', async () => {
        const { record } = await run('function main() { Promise.reject(new Error("nobody catches me")); return new Promise(r => setTimeout(() => r({}), 200)); }');
        expect(record.response.statusCode).toBe(2);
        expect(record.logs.join('\n')).toContain('nobody catches me');
      });

      it('truncates oversized results into an application error', async () => {
        const engine = engineWith({ resultLimit: 1000 });
        await engine.actions.create({ name: 'big', action: 'function main() { return { s: "a".repeat(2000) }; }', runtime });
        const err = await rejection(() => engine.actions.invoke({ name: 'big', blocking: true }));
        expect(err.statusCode).toBe(502);
        const result = err.details.activation.response;
        expect(result.status).toBe('application error');
        expect(result.result.error).toMatch(/^The action produced a response that exceeded the allowed length: 2008 > 1000 bytes\. The truncated response was: \{"s":"a+$/);
      });
    });
  });

  describe(`${runtime} runtime: entry points declared any way`, () => {
    it.each([
      ['const', 'const main = async (p) => ({ via: "const", x: p.x });'],
      ['let', 'let main = function (p) { return { via: "let", x: p.x }; };'],
      ['var', 'var main = (p) => ({ via: "var", x: p.x });'],
    ])('finds a main declared with %s', async (_kind, code) => {
      const engine = engineWith();
      await engine.actions.create({ name: 'decl', action: code, runtime });
      const out = (await engine.actions.invoke({ name: 'decl', params: { x: 1 }, blocking: true, result: true })) as { via: string; x: number };
      expect(out.x).toBe(1);
      expect(code).toContain(out.via);
    });

    it('finds an action function named like a built-in global, but never the built-in itself', async () => {
      const engine = engineWith();
      await engine.actions.create({ name: 'f', action: 'function fetch(p) { return { mine: true }; }', exec: { main: 'fetch' }, runtime });
      expect(await engine.actions.invoke({ name: 'f', blocking: true, result: true })).toEqual({ mine: true });
      await engine.actions.create({ name: 'r', action: 'function main() { return {}; }', exec: { main: 'require' }, runtime });
      const err = (await engine.actions.invoke({ name: 'r', blocking: true }).catch((e) => e)) as { message: string };
      expect(err.message).toBe("Initialization has failed due to: Action entrypoint 'require' is not a function.");
    });
  });
}
