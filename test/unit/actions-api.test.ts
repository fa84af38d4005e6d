/**
 * `engine.actions` with the option shapes of the official `openwhisk` npm client (lib/actions.js, lib/resources.js)
 * and OpenWhisk's semantics (docs/semantics.md: #actions, #invocation, #limits, #rest-api).
 */
import { describe, expect, it, vi } from 'vitest';
import type { Engine } from '../../src/index';
import { annotationOf, rejection, sleep, testEngine, waitForActivation } from '../helpers/engine';
import { hostNodeKind } from '../../src/runtimes/node-kinds';

/** The kind `nodejs:default` resolves to on the worker runtime: the Node.js running the tests. */
const HOST_KIND = hostNodeKind();

const ECHO = 'function main(p) { return p; }';
const SLEEP_1S = 'async function main(p) { await new Promise(r => setTimeout(r, 1000)); return { done: true }; }';
const NOT_FOUND = 'The requested resource does not exist.';
const DEFAULT_LIMITS = { timeout: 60000, memory: 256, logs: 10, concurrency: 1 };

/** Collects the ids of every activation the engine accepts. */
function queuedIds(engine: Engine): string[] {
  const ids: string[] = [];
  engine.on('activation:queued', (info) => ids.push(info.activationId));
  return ids;
}

describe('actions.create and get', () => {
  it('creates from a code string with the client defaults: nodejs:default stored as the host kind (nodejs:24 on Node 24), version 0.0.1', async () => {
    const engine = testEngine();
    const created: any = await engine.actions.create({ name: 'hello', action: ECHO });
    const got: any = await engine.actions.get('hello');
    for (const a of [created, got]) {
      expect(a).toMatchObject({ namespace: 'guest', name: 'hello', version: '0.0.1', publish: false, parameters: [] });
      expect(a.exec).toEqual({ kind: HOST_KIND, code: ECHO, binary: false });
      expect(a.limits).toEqual(DEFAULT_LIMITS);
    }
  });

  it('adds the exec and provide-api-key: false annotations to a new action', async () => {
    const engine = testEngine();
    const a: any = await engine.actions.create({ name: 'a', action: ECHO, annotations: { description: 'greets' } });
    expect(a.annotations).toEqual(
      expect.arrayContaining([
        { key: 'description', value: 'greets' },
        { key: 'exec', value: HOST_KIND },
        { key: 'provide-api-key', value: false },
      ]),
    );
    expect(a.annotations).toHaveLength(3);
    // A provide-api-key the user set is kept, not overwritten.
    const b: any = await engine.actions.create({ name: 'b', action: ECHO, annotations: { 'provide-api-key': true } });
    expect(annotationOf(b, 'provide-api-key')).toBe(true);
    expect(b.annotations.filter((x: { key: string }) => x.key === 'provide-api-key')).toHaveLength(1);
  });

  it('accepts kind, exec and params like the client', async () => {
    const engine = testEngine();
    const a: any = await engine.actions.create({
      name: 'a',
      action: 'function niam(p) { return { who: p.who, n: p.n }; }',
      kind: HOST_KIND,
      exec: { main: 'niam' },
      params: { who: 'world', n: 1 },
    });
    expect(a.exec).toEqual({ kind: HOST_KIND, code: 'function niam(p) { return { who: p.who, n: p.n }; }', binary: false, main: 'niam' });
    expect(a.parameters).toEqual([
      { key: 'who', value: 'world' },
      { key: 'n', value: 1 },
    ]);
    expect(annotationOf(a, 'exec')).toBe(HOST_KIND);
    expect(await engine.actions.invoke({ name: 'a', blocking: true, result: true })).toEqual({ who: 'world', n: 1 });
  });

  it('lets exec override the code derived from `action`, as the client does', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: 'function main() { return { from: "action" }; }', exec: { code: 'function main() { return { from: "exec" }; }' } });
    expect(await engine.actions.invoke({ name: 'a', blocking: true, result: true })).toEqual({ from: 'exec' });
  });

  it('accepts a whole OpenWhisk action body as `action`', async () => {
    const engine = testEngine();
    const a: any = await engine.actions.create({
      name: 'a',
      action: {
        exec: { kind: 'nodejs:default', code: ECHO },
        parameters: [{ key: 'x', value: 1 }],
        annotations: [{ key: 'description', value: 'body form' }],
        limits: { timeout: 1000 },
      },
    });
    expect(a.exec).toEqual({ kind: HOST_KIND, code: ECHO, binary: false });
    expect(a.parameters).toEqual([{ key: 'x', value: 1 }]);
    expect(annotationOf(a, 'description')).toBe('body form');
    expect(annotationOf(a, 'exec')).toBe(HOST_KIND);
    expect(a.limits).toEqual({ ...DEFAULT_LIMITS, timeout: 1000 });
  });

  it('fills in missing limits from the defaults', async () => {
    const engine = testEngine();
    const a: any = await engine.actions.create({ name: 'a', action: ECHO, limits: { timeout: 5000, memory: 128 } });
    expect(a.limits).toEqual({ timeout: 5000, memory: 128, logs: 10, concurrency: 1 });
  });

  it('auto-detects base64 code as binary', async () => {
    const engine = testEngine();
    const a: any = await engine.actions.create({ name: 'a', action: Buffer.from('PK not really a zip') });
    expect(a.exec.binary).toBe(true);
    expect(a.exec.code).toBe(Buffer.from('PK not really a zip').toString('base64'));
  });

  it('refuses to create an existing action without overwrite: 409 resource already exists, nothing changed', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO, params: { v: 1 } });
    const err: any = await rejection(() => engine.actions.create({ name: 'a', action: 'function main() { return {}; }' }));
    expect(err.statusCode).toBe(409);
    expect(err.message).toBe('resource already exists');
    const a: any = await engine.actions.get('a');
    expect(a.exec.code).toBe(ECHO);
    expect(a.version).toBe('0.0.1');
    expect(a.parameters).toEqual([{ key: 'v', value: 1 }]);
  });

  it('replaces an existing action with overwrite: true and bumps the patch', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    const a: any = await engine.actions.create({ name: 'a', action: 'function main() { return { v: 2 }; }', overwrite: true });
    expect(a.version).toBe('0.0.2');
    expect(a.exec.code).toBe('function main() { return { v: 2 }; }');
  });

  it('leaves the code out of get with code: false', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    const a: any = await engine.actions.get({ name: 'a', code: false });
    expect(a.exec).toEqual({ kind: HOST_KIND, binary: false });
  });

  it('answers 404 for an action that does not exist', async () => {
    const engine = testEngine();
    for (const op of [() => engine.actions.get('nope'), () => engine.actions.invoke({ name: 'nope' }), () => engine.actions.delete('nope')]) {
      const err: any = await rejection(op);
      expect(err.statusCode).toBe(404);
      expect(err.message).toBe(NOT_FOUND);
    }
  });
});

describe('actions.update and versions', () => {
  it('starts at 0.0.1 and bumps the patch on every update', async () => {
    const engine = testEngine();
    expect(((await engine.actions.create({ name: 'a', action: ECHO })) as any).version).toBe('0.0.1');
    expect(((await engine.actions.update({ name: 'a', action: ECHO })) as any).version).toBe('0.0.2');
    expect(((await engine.actions.update({ name: 'a', params: { x: 1 } })) as any).version).toBe('0.0.3');
    expect(((await engine.actions.get('a')) as any).version).toBe('0.0.3');
  });

  it('uses a supplied version instead of bumping, then bumps from it', async () => {
    const engine = testEngine();
    expect(((await engine.actions.create({ name: 'a', action: ECHO, version: '2.0.0' })) as any).version).toBe('2.0.0');
    expect(((await engine.actions.update({ name: 'a', action: ECHO, version: '1.2.3' })) as any).version).toBe('1.2.3');
    expect(((await engine.actions.update({ name: 'a', action: ECHO })) as any).version).toBe('1.2.4');
  });

  it('keeps what an update does not mention', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO, params: { p: 1 }, annotations: { description: 'd' }, limits: { timeout: 1000 } });
    const a: any = await engine.actions.update({ name: 'a', action: 'function main(p) { return { p: p.p, v: 2 }; }' });
    expect(a.parameters).toEqual([{ key: 'p', value: 1 }]);
    expect(annotationOf(a, 'description')).toBe('d');
    expect(a.limits).toEqual({ ...DEFAULT_LIMITS, timeout: 1000 });
    const b: any = await engine.actions.update({ name: 'a', params: { p: 7 } });
    expect(b.exec.code).toBe('function main(p) { return { p: p.p, v: 2 }; }');
    expect(await engine.actions.invoke({ name: 'a', blocking: true, result: true })).toEqual({ p: 7, v: 2 });
  });

  it('creates the action when update names one that does not exist (PUT with overwrite)', async () => {
    const engine = testEngine();
    const a: any = await engine.actions.update({ name: 'fresh', action: ECHO });
    expect(a.version).toBe('0.0.1');
    expect(annotationOf(a, 'provide-api-key')).toBe(false);
  });

  it('runs the new code on the next invocation after an update, never the warm old version', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: 'function main() { return { v: 1 }; }' });
    expect(await engine.actions.invoke({ name: 'a', blocking: true, result: true })).toEqual({ v: 1 });
    expect(engine.stats().pool.idle).toBe(1);
    await engine.actions.update({ name: 'a', action: 'function main() { return { v: 2 }; }' });
    const record: any = await engine.actions.invoke({ name: 'a', blocking: true });
    expect(record.response.result).toEqual({ v: 2 });
    expect(record.version).toBe('0.0.2');
    // A cold start for the new version: the old container was not reused.
    expect(annotationOf(record, 'initTime')).toBeTypeOf('number');
  });

  it('runs the new code after delete and re-create, even within the same millisecond', async () => {
    const engine = testEngine();
    const now = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now);
    await engine.actions.create({ name: 'a', action: 'function main() { return { v: "old" }; }' });
    clock.mockRestore();
    expect(await engine.actions.invoke({ name: 'a', blocking: true, result: true })).toEqual({ v: 'old' });
    await engine.actions.delete('a');
    // Both documents are version 0.0.1 and, here, carry the same timestamp; the code differs.
    const again = vi.spyOn(Date, 'now').mockReturnValue(now);
    await engine.actions.create({ name: 'a', action: 'function main() { return { v: "new" }; }' });
    again.mockRestore();
    expect(await engine.actions.invoke({ name: 'a', blocking: true, result: true })).toEqual({ v: 'new' });
  });
});

describe('actions.delete and list', () => {
  it('deletes and returns the action; it is then gone', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    const deleted: any = await engine.actions.delete({ name: 'a' });
    expect(deleted).toMatchObject({ name: 'a', namespace: 'guest', version: '0.0.1' });
    expect(((await rejection(() => engine.actions.get('a'))) as any).statusCode).toBe(404);
    expect(await engine.actions.list()).toEqual([]);
    // The name is free again.
    expect(((await engine.actions.create({ name: 'a', action: ECHO })) as any).version).toBe('0.0.1');
  });

  it('lists the most recently updated first, without code, and pages with limit and skip', async () => {
    const engine = testEngine();
    for (const n of ['a1', 'a2', 'a3', 'a4', 'a5']) {
      await engine.actions.create({ name: n, action: ECHO });
      await sleep(2);
    }
    const all = await engine.actions.list();
    expect(all.map((a) => a['name'])).toEqual(['a5', 'a4', 'a3', 'a2', 'a1']);
    for (const a of all) expect((a as any).exec.code).toBeUndefined();
    expect((await engine.actions.list({ limit: 2 })).map((a) => a['name'])).toEqual(['a5', 'a4']);
    expect((await engine.actions.list({ limit: 2, skip: 1 })).map((a) => a['name'])).toEqual(['a4', 'a3']);
    expect((await engine.actions.list({ skip: 4 })).map((a) => a['name'])).toEqual(['a1']);
    expect(await engine.actions.list({ skip: 5 })).toEqual([]);
    // An update moves the action to the front.
    await engine.actions.update({ name: 'a2', params: { x: 1 } });
    expect((await engine.actions.list({ limit: 1 })).map((a) => a['name'])).toEqual(['a2']);
  });

  it('returns at most 30 by default and up to 200 on request', async () => {
    const engine = testEngine();
    for (let i = 0; i < 35; i++) await engine.actions.create({ name: `a${i}`, action: ECHO });
    expect(await engine.actions.list()).toHaveLength(30);
    expect(await engine.actions.list({ limit: 200 })).toHaveLength(35);
  });

  it.each([
    [{ limit: 201 }, "The value '201' is not in the range of 0 to 200 for actions."],
    [{ limit: -1 }, "The value '-1' is not in the range of 0 to 200 for actions."],
    [{ skip: -1 }, "The value '-1' is not greater than or equal to 0 for actions."],
    [{ limit: 1.5 }, "The value '1.5' is not an integer for actions."],
    [{ skip: 2.5 }, "The value '2.5' is not an integer for actions."],
    [{ limit: 'ten' }, "The value 'ten' is not an integer for actions."],
  ])('refuses the page %j with 400: %s', async (page, message) => {
    const engine = testEngine();
    const err: any = await rejection(() => engine.actions.list(page as { limit?: number; skip?: number }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe(message);
  });
});

describe('action limits', () => {
  it.each([
    [{ timeout: 99 }, 'duration 99 milliseconds below allowed threshold of 100 milliseconds'],
    [{ timeout: 0 }, 'duration 0 milliseconds below allowed threshold of 100 milliseconds'],
    [{ timeout: 300001 }, 'duration 300001 milliseconds exceeds allowed threshold of 300000 milliseconds'],
    [{ memory: 127 }, 'memory size 127 MB below allowed threshold of 128 MB'],
    [{ memory: 64 }, 'memory size 64 MB below allowed threshold of 128 MB'],
    [{ memory: 513 }, 'memory size 513 MB exceeds allowed threshold of 512 MB'],
    [{ logs: -1 }, 'log size -1 MB below allowed threshold of 0 MB'],
    [{ logs: 11 }, 'log size 11 MB exceeds allowed threshold of 10 MB'],
    [{ concurrency: 0 }, 'concurrency 0 below allowed threshold of 1'],
    [{ concurrency: 201 }, 'concurrency 201 exceeds allowed threshold of 200'],
  ])('refuses %j with 400: %s', async (limits, message) => {
    const engine = testEngine();
    const err: any = await rejection(() => engine.actions.create({ name: 'a', action: ECHO, limits }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe(message);
    expect(err.message).toContain('allowed threshold');
    expect(await engine.actions.list()).toEqual([]);
  });

  it('accepts every limit at the edges of its range', async () => {
    const engine = testEngine();
    const low: any = await engine.actions.create({ name: 'low', action: ECHO, limits: { timeout: 100, memory: 128, logs: 0, concurrency: 1 } });
    expect(low.limits).toEqual({ timeout: 100, memory: 128, logs: 0, concurrency: 1 });
    const high: any = await engine.actions.create({ name: 'high', action: ECHO, limits: { timeout: 300000, memory: 512, logs: 10, concurrency: 200 } });
    expect(high.limits).toEqual({ timeout: 300000, memory: 512, logs: 10, concurrency: 200 });
  });

  it('checks limits on update too and keeps the stored action', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO, limits: { memory: 128 } });
    const err: any = await rejection(() => engine.actions.update({ name: 'a', limits: { memory: 513 } }));
    expect(err.message).toBe('memory size 513 MB exceeds allowed threshold of 512 MB');
    expect(((await engine.actions.get('a')) as any).limits.memory).toBe(128);
    expect(((await engine.actions.get('a')) as any).version).toBe('0.0.1');
  });
});

describe('entity size limits', () => {
  it('refuses parameters over 1 MB with 413', async () => {
    const engine = testEngine();
    const err: any = await rejection(() => engine.actions.create({ name: 'a', action: ECHO, params: { big: 'x'.repeat(1_048_576) } }));
    expect(err.statusCode).toBe(413);
    const m = /^parameters larger than allowed: (\d+) > 1048576 bytes\.$/.exec(err.message);
    expect(m).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThan(1_048_576);
    expect(await engine.actions.list()).toEqual([]);
  });

  it('accepts parameters just under 1 MB', async () => {
    const engine = testEngine();
    const a: any = await engine.actions.create({ name: 'a', action: ECHO, params: { big: 'x'.repeat(1_000_000) } });
    expect(a.parameters[0].value).toHaveLength(1_000_000);
  });

  it('refuses annotations over 1 MB with 413', async () => {
    const engine = testEngine();
    const err: any = await rejection(() => engine.actions.create({ name: 'a', action: ECHO, annotations: { big: 'x'.repeat(1_048_576) } }));
    expect(err.statusCode).toBe(413);
    expect(err.message).toMatch(/^annotations larger than allowed: \d+ > 1048576 bytes\.$/);
  });

  it('refuses code over the code limit with 413 and accepts code at the limit', async () => {
    const engine = testEngine({ codeLimit: 100 });
    const base = 'function main() { return {}; }';
    const at = base + ' '.repeat(100 - base.length);
    const over = at + ' ';
    expect(Buffer.byteLength(at)).toBe(100);
    const err: any = await rejection(() => engine.actions.create({ name: 'a', action: over }));
    expect(err.statusCode).toBe(413);
    expect(err.message).toBe('exec larger than allowed: 101 > 100 bytes.');
    expect(((await engine.actions.create({ name: 'a', action: at })) as any).exec.code).toBe(at);
    // An update with oversized code is refused and leaves the action as it was.
    const upd: any = await rejection(() => engine.actions.update({ name: 'a', action: over }));
    expect(upd.message).toBe('exec larger than allowed: 101 > 100 bytes.');
    expect(((await engine.actions.get('a')) as any).version).toBe('0.0.1');
  });

  it('counts code size in UTF-8 bytes', async () => {
    const engine = testEngine({ codeLimit: 100 });
    const code = `function main() { return { s: "${'é'.repeat(40)}" }; }`; // 40 two-byte characters
    expect(code.length).toBeLessThanOrEqual(100);
    const err: any = await rejection(() => engine.actions.create({ name: 'a', action: code }));
    expect(err.message).toBe(`exec larger than allowed: ${Buffer.byteLength(code)} > 100 bytes.`);
  });
});

describe('actions.invoke: arguments', () => {
  it('merges invocation parameters over the action defaults', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO, params: { a: 'default', b: 'default' } });
    expect(await engine.actions.invoke({ name: 'a', params: { b: 'payload', c: 'payload' }, blocking: true, result: true })).toEqual({
      a: 'default',
      b: 'payload',
      c: 'payload',
    });
    expect(await engine.actions.invoke({ name: 'a', blocking: true, result: true })).toEqual({ a: 'default', b: 'default' });
  });

  it('refuses overriding a final parameter with 400 and starts nothing', async () => {
    const engine = testEngine();
    const queued = queuedIds(engine);
    await engine.actions.create({ name: 'a', action: ECHO, params: { a: 1, b: 2 }, annotations: { final: true } });
    const err: any = await rejection(() => engine.actions.invoke({ name: 'a', params: { a: 5 }, blocking: true }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe('Request defines parameters that are not allowed (e.g., reserved properties).');
    expect(queued).toEqual([]);
    // Keys that are not defined parameters are still accepted.
    expect(await engine.actions.invoke({ name: 'a', params: { c: 3 }, blocking: true, result: true })).toEqual({ a: 1, b: 2, c: 3 });
  });

  it('lets a final action take a parameter whose default is null (not a defined parameter)', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO, params: { fixed: 1, open: null }, annotations: { final: true } });
    expect(await engine.actions.invoke({ name: 'a', params: { open: 'given' }, blocking: true, result: true })).toEqual({ fixed: 1, open: 'given' });
  });

  it('refuses a payload over the payload limit, counting the curried parameters, with 413', async () => {
    const engine = testEngine({ payloadLimit: 100 });
    const queued = queuedIds(engine);
    await engine.actions.create({ name: 'a', action: ECHO, params: { d: 'y'.repeat(50) } });
    await engine.actions.create({ name: 'bare', action: ECHO });
    const payload = { s: 'x'.repeat(50) };
    // The payload alone fits.
    expect(await engine.actions.invoke({ name: 'bare', params: payload, blocking: true, result: true })).toEqual(payload);
    queued.length = 0;
    for (const blocking of [true, false]) {
      const err: any = await rejection(() => engine.actions.invoke({ name: 'a', params: payload, blocking }));
      expect(err.statusCode).toBe(413);
      const m = /^Request larger than allowed: (\d+) > 100 bytes\.$/.exec(err.message);
      expect(m).not.toBeNull();
      expect(Number(m?.[1])).toBeGreaterThan(100);
    }
    expect(queued).toEqual([]);
  });

  it('refuses a payload over the default 1 MB limit', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    const err: any = await rejection(() => engine.actions.invoke({ name: 'a', params: { s: 'x'.repeat(1_048_576) } }));
    expect(err.statusCode).toBe(413);
    expect(err.message).toMatch(/^Request larger than allowed: \d+ > 1048576 bytes\.$/);
  });
});

describe('actions.invoke: modes', () => {
  it('returns {activationId} at once when not blocking', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'slow', action: 'async function main() { await new Promise(r => setTimeout(r, 5000)); return { ok: true }; }' });
    const out: any = await engine.actions.invoke({ name: 'slow', params: { x: 1 } });
    expect(Object.keys(out)).toEqual(['activationId']);
    expect(out.activationId).toMatch(/^[0-9a-f]{32}$/);
    // Not finished yet: no record.
    const early: any = await rejection(() => engine.activations.get(out.activationId));
    expect(early.statusCode).toBe(404);
    const record = await waitForActivation(engine, out.activationId, 10_000);
    expect(record.response.result).toEqual({ ok: true });
  });

  it('accepts a bare name as a non-blocking invoke', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    const out: any = await engine.actions.invoke('a');
    expect(out.activationId).toMatch(/^[0-9a-f]{32}$/);
    expect((await waitForActivation(engine, out.activationId)).response.success).toBe(true);
  });

  it('returns the full activation record when blocking', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: 'function main(p) { console.log("hi"); return { twice: p.n * 2 }; }' });
    const record: any = await engine.actions.invoke({ name: 'a', params: { n: 21 }, blocking: true });
    expect(record).toMatchObject({ namespace: 'guest', name: 'a', subject: 'guest', version: '0.0.1', publish: false });
    expect(record.activationId).toMatch(/^[0-9a-f]{32}$/);
    expect(record.response).toMatchObject({ status: 'success', success: true, result: { twice: 42 } });
    expect(record.end).toBeGreaterThanOrEqual(record.start);
    expect(record.duration).toBe(record.end - record.start);
    expect(record.logs).toHaveLength(1);
    expect(record.logs[0]).toMatch(/ stdout: hi$/);
    expect(annotationOf(record, 'path')).toBe('guest/a');
    expect(annotationOf(record, 'kind')).toBe(HOST_KIND);
    expect(annotationOf(record, 'limits')).toEqual(DEFAULT_LIMITS);
    expect(annotationOf(record, 'timeout')).toBe(false);
    expect(annotationOf(record, 'waitTime')).toBeTypeOf('number');
    expect(annotationOf(record, 'initTime')).toBeTypeOf('number');
    expect(await engine.activations.get(record.activationId)).toEqual(record);
  });

  it('returns only the result with result: true', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: 'function main(p) { return { twice: p.n * 2 }; }' });
    expect(await engine.actions.invoke({ name: 'a', params: { n: 4 }, blocking: true, result: true })).toEqual({ twice: 8 });
  });

  it('ignores result: true without blocking', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    const out: any = await engine.actions.invoke({ name: 'a', result: true });
    expect(Object.keys(out)).toEqual(['activationId']);
    await waitForActivation(engine, out.activationId);
  });

  it('demotes a blocking wait that expires to {activationId}; the action keeps running', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'slow', action: SLEEP_1S });
    const started = Date.now();
    const out: any = await engine.actions.invoke({ name: 'slow', blocking: true, timeout: 200 });
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(190);
    expect(Object.keys(out)).toEqual(['activationId']);
    expect(out.activationId).toMatch(/^[0-9a-f]{32}$/);
    const record = await waitForActivation(engine, out.activationId);
    expect(record.response).toMatchObject({ success: true, result: { done: true } });
  });

  it('demotes with result: true as well (no result, the id)', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'slow', action: SLEEP_1S });
    const out: any = await engine.actions.invoke({ name: 'slow', blocking: true, result: true, timeout: 200 });
    expect(Object.keys(out)).toEqual(['activationId']);
    await waitForActivation(engine, out.activationId);
  });

  it("throws EW_ACTIVATION_WAIT_EXPIRED instead of demoting with onWaitTimeout: 'fail'", async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'slow', action: SLEEP_1S });
    const err: any = await rejection(() => engine.actions.invoke({ name: 'slow', blocking: true, timeout: 200, onWaitTimeout: 'fail' }));
    expect(err.code).toBe('EW_ACTIVATION_WAIT_EXPIRED');
    expect(err.details.activationId).toMatch(/^[0-9a-f]{32}$/);
    // The action still completes.
    const record = await waitForActivation(engine, err.details.activationId);
    expect(record.response.success).toBe(true);
  });

  it.each([0, 60001, -5, 1.5])('refuses the wait timeout %s with 400 before starting anything', async (timeout) => {
    const engine = testEngine();
    const queued = queuedIds(engine);
    await engine.actions.create({ name: 'a', action: ECHO });
    const err: any = await rejection(() => engine.actions.invoke({ name: 'a', blocking: true, timeout }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe('Timeout must be number of milliseconds up to 60000.');
    // A refused request invokes nothing.
    await sleep(50);
    expect(queued).toEqual([]);
    expect(await engine.activations.list()).toEqual([]);
  });

  it('accepts the wait timeouts 1 and 60000', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    expect(await engine.actions.invoke({ name: 'a', params: { x: 1 }, blocking: true, result: true, timeout: 60000 })).toEqual({ x: 1 });
    await engine.actions.create({ name: 'slow', action: 'async function main() { await new Promise(r => setTimeout(r, 300)); return {}; }' });
    const out: any = await engine.actions.invoke({ name: 'slow', blocking: true, timeout: 1 });
    expect(Object.keys(out)).toEqual(['activationId']);
    await waitForActivation(engine, out.activationId);
  });

  it('rejects a failed blocking activation with EW_ACTIVATION_FAILED, 502 and the record', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'bad', action: 'function main() { return { error: "boom" }; }' });
    for (const result of [false, true]) {
      const err: any = await rejection(() => engine.actions.invoke({ name: 'bad', blocking: true, result }));
      expect(err.code).toBe('EW_ACTIVATION_FAILED');
      expect(err.statusCode).toBe(502);
      expect(err.message).toBe('boom');
      expect(err.error).toBe(err.details.activation);
      expect(err.error.activationId).toMatch(/^[0-9a-f]{32}$/);
      expect(err.error.name).toBe('bad');
      expect(err.error.response).toMatchObject({ status: 'application error', success: false, result: { error: 'boom' } });
      expect(await engine.activations.get(err.error.activationId)).toEqual(err.error);
    }
  });

  it('rejects a developer error with 502 too', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'spin', action: 'function main() { while (true) {} }', limits: { timeout: 200 } });
    const err: any = await rejection(() => engine.actions.invoke({ name: 'spin', blocking: true }));
    expect(err.code).toBe('EW_ACTIVATION_FAILED');
    expect(err.statusCode).toBe(502);
    expect(err.details.activation.response).toMatchObject({
      status: 'action developer error',
      success: false,
      result: { error: 'The action exceeded its time limits of 200 milliseconds.' },
    });
  });

  it('does not reject a failed non-blocking activation', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'bad', action: 'function main() { return { error: "boom" }; }' });
    const out: any = await engine.actions.invoke({ name: 'bad' });
    const record = await waitForActivation(engine, out.activationId);
    expect(record.response).toMatchObject({ success: false, result: { error: 'boom' } });
  });
});

describe('actions.create with keepIfUnchanged (how a redeployed node keeps its action)', () => {
  const definition = { name: 'lamp', kind: 'nodejs:default', action: ECHO, params: { room: 'hall' }, limits: { timeout: 5000 }, annotations: { 'edgewhisk-node': 'n1' }, overwrite: true, keepIfUnchanged: true };

  it('keeps an action the definition would not change: same version, same document', async () => {
    const engine = testEngine();
    const first: any = await engine.actions.create(definition);
    // The alias resolves to the host's kind: the stored kind differs from the one asked for, and that is no change.
    expect(first.exec.kind).toBe(HOST_KIND);
    const again: any = await engine.actions.create(definition);
    expect(again.version).toBe(first.version);
    const asStored: any = await engine.actions.create({ ...definition, kind: HOST_KIND });
    expect(asStored.version).toBe(first.version);
  });

  it.each([
    ['code', { action: 'function main() { return {}; }' }],
    ['a parameter', { params: { room: 'attic' } }],
    ['a limit', { limits: { timeout: 6000 } }],
    ['an annotation', { annotations: { 'edgewhisk-node': 'n2' } }],
    ['main', { exec: { main: 'other' } }],
  ])('updates the action when %s changes', async (_what, change) => {
    const engine = testEngine();
    const first: any = await engine.actions.create(definition);
    const changed: any = await engine.actions.create({ ...definition, ...change });
    expect(changed.version).not.toBe(first.version);
  });

  it('compares sequences by their resolved components, however they are named', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    await engine.actions.create({ name: 'b', action: ECHO });
    const first: any = await engine.actions.create({ name: 'ab', sequence: ['a', 'b'], overwrite: true, keepIfUnchanged: true });
    const same: any = await engine.actions.create({ name: 'ab', sequence: ['/_/a', '/guest/b'], overwrite: true, keepIfUnchanged: true });
    expect(same.version).toBe(first.version);
    const reordered: any = await engine.actions.create({ name: 'ab', sequence: ['b', 'a'], overwrite: true, keepIfUnchanged: true });
    expect(reordered.version).not.toBe(first.version);
  });
});
