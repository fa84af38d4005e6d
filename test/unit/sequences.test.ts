/**
 * Sequences (docs/semantics.md#sequences): data flow, short-circuit, records and create-time checks.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Engine } from '../../src/index';
import { annotationOf, rejection, sleep, testEngine, waitForActivation } from '../helpers/engine';

const ECHO = 'function main(p) { return p; }';

function completions(engine: Engine): Map<string, any[]> {
  const byName = new Map<string, any[]>();
  engine.on('activation:completed', (record) => {
    byName.set(record.name, [...(byName.get(record.name) ?? []), record]);
  });
  return byName;
}

async function actions(engine: Engine, defs: Record<string, string>): Promise<void> {
  for (const [name, action] of Object.entries(defs)) await engine.actions.create({ name, action });
}

describe('sequences: running', () => {
  it('feeds each result to the next component', async () => {
    const engine = testEngine();
    await actions(engine, {
      inc: 'function main(p) { return { n: p.n + 1, trail: [...(p.trail || []), "inc"] }; }',
      dbl: 'function main(p) { return { n: p.n * 2, trail: [...p.trail, "dbl"] }; }',
    });
    await engine.actions.create({ name: 's', sequence: ['inc', 'dbl', '/_/inc'] });
    expect(await engine.actions.invoke({ name: 's', params: { n: 1 }, blocking: true, result: true })).toEqual({ n: 5, trail: ['inc', 'dbl', 'inc'] });
  });

  it('stores the sequence with kind sequence and fully qualified components', async () => {
    const engine = testEngine();
    await actions(engine, { a: ECHO, b: ECHO });
    const created: any = await engine.actions.create({ name: 's', sequence: ['a', '/_/b'] });
    expect(created.exec).toEqual({ kind: 'sequence', components: ['/guest/a', '/guest/b'] });
    expect(annotationOf(created, 'exec')).toBe('sequence');
    expect(created.version).toBe('0.0.1');
    // The OpenWhisk exec form works as well.
    const viaExec: any = await engine.actions.create({ name: 's2', exec: { kind: 'sequence', components: ['a'] } });
    expect(viaExec.exec).toEqual({ kind: 'sequence', components: ['/guest/a'] });
  });

  it('stops at the first error; the sequence response is that component response', async () => {
    const engine = testEngine();
    const done = completions(engine);
    await actions(engine, {
      first: 'function main(p) { return { step: 1 }; }',
      fail: 'function main(p) { return { error: "stop here", step: p.step }; }',
      never: 'function main(p) { return { reached: true }; }',
    });
    await engine.actions.create({ name: 's', sequence: ['first', 'fail', 'never'] });
    const err: any = await rejection(() => engine.actions.invoke({ name: 's', blocking: true }));
    expect(err.code).toBe('EW_ACTIVATION_FAILED');
    expect(err.statusCode).toBe(502);
    const record = err.details.activation;
    expect(record.name).toBe('s');
    expect(record.response).toMatchObject({ status: 'application error', success: false, result: { error: 'stop here', step: 1 } });
    expect(record.logs).toHaveLength(2);
    // The components that ran are announced (polled: the test does not rely on that preceding the caller's answer).
    await vi.waitFor(() => {
      expect(done.get('first')).toBeDefined();
      expect(done.get('fail')).toBeDefined();
    }, { timeout: 10_000, interval: 20 });
    await sleep(50); // time for a wrongly started 'never' to complete
    expect(done.get('never')).toBeUndefined();
    expect(done.get('first')).toHaveLength(1);
    expect(done.get('fail')).toHaveLength(1);
  });

  it('stops at a developer error too', async () => {
    const engine = testEngine();
    const done = completions(engine);
    await actions(engine, { scalar: 'function main() { return 42; }', never: ECHO });
    await engine.actions.create({ name: 's', sequence: ['scalar', 'never'] });
    const err: any = await rejection(() => engine.actions.invoke({ name: 's', blocking: true }));
    expect(err.details.activation.response).toMatchObject({ status: 'action developer error', result: { error: 'The action did not return a dictionary.' } });
    expect(err.details.activation.logs).toHaveLength(1);
    await sleep(50);
    expect(done.get('never')).toBeUndefined();
  });

  it('writes a sequence record: logs = component ids, duration = sum, topmost, kind sequence', async () => {
    const engine = testEngine();
    await actions(engine, {
      a: 'async function main(p) { await new Promise(r => setTimeout(r, 30)); return { a: 1 }; }',
      b: 'async function main(p) { await new Promise(r => setTimeout(r, 30)); return { b: p.a }; }',
    });
    await engine.actions.create({ name: 's', sequence: ['a', 'b'] });
    const record: any = await engine.actions.invoke({ name: 's', blocking: true });
    expect(record).toMatchObject({ namespace: 'guest', name: 's', version: '0.0.1' });
    expect(record.response).toMatchObject({ success: true, result: { b: 1 } });
    expect(annotationOf(record, 'topmost')).toBe(true);
    expect(annotationOf(record, 'kind')).toBe('sequence');
    expect(annotationOf(record, 'path')).toBe('guest/s');
    expect(annotationOf(record, 'causedBy')).toBeUndefined();
    expect(record.cause).toBeUndefined();

    expect(record.logs).toHaveLength(2);
    const components = await Promise.all(record.logs.map((id: string) => engine.activations.get(id)));
    expect(components.map((c: any) => c.name)).toEqual(['a', 'b']);
    for (const c of components as any[]) {
      expect(c.cause).toBe(record.activationId);
      expect(annotationOf(c, 'causedBy')).toBe('sequence');
      expect(c.duration).toBeGreaterThanOrEqual(30);
    }
    const sum = (components as any[]).reduce((n, c) => n + c.duration, 0);
    expect(record.duration).toBe(sum);
    expect(await engine.activations.get(record.activationId)).toEqual(record);
  });

  it('annotates the sequence record with limits whose memory is the largest of its components, and waitTime', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'small', action: ECHO, limits: { memory: 128 } });
    await engine.actions.create({ name: 'big', action: ECHO, limits: { memory: 512 } });
    await engine.actions.create({ name: 's', sequence: ['small', 'big'] });
    const record: any = await engine.actions.invoke({ name: 's', blocking: true });
    expect((annotationOf(record, 'limits') as { memory: number }).memory).toBe(512);
    expect(annotationOf(record, 'waitTime')).toBeTypeOf('number');
  });

  it('passes the sequence parameters (defaults and payload) to the first component only', async () => {
    const engine = testEngine();
    await actions(engine, {
      first: 'function main(p) { return { first: p }; }',
      second: 'function main(p) { return { second: p }; }',
    });
    await engine.actions.create({ name: 's', sequence: ['first', 'second'], params: { fromSequence: 1 } });
    const result = await engine.actions.invoke({ name: 's', params: { fromPayload: 2 }, blocking: true, result: true });
    expect(result).toEqual({ second: { first: { fromSequence: 1, fromPayload: 2 } } });
  });

  it("merges each later component's own defaults under the previous result", async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'first', action: 'function main(p) { return { x: "result" }; }' });
    await engine.actions.create({ name: 'second', action: ECHO, params: { x: 'default', y: 'default' } });
    await engine.actions.create({ name: 's', sequence: ['first', 'second'] });
    expect(await engine.actions.invoke({ name: 's', blocking: true, result: true })).toEqual({ x: 'result', y: 'default' });
  });

  it('passes an array result on unchanged', async () => {
    const engine = testEngine();
    await actions(engine, {
      list: 'function main() { return [1, 2, 3]; }',
      count: 'function main(p) { return { isArray: Array.isArray(p), length: p.length }; }',
    });
    await engine.actions.create({ name: 's', sequence: ['list', 'count'] });
    expect(await engine.actions.invoke({ name: 's', blocking: true, result: true })).toEqual({ isArray: true, length: 3 });
  });

  it('never passes a non-object result on: a scalar result is judged before it could reach the next component', async () => {
    // OpenWhisk passes only a JSON object or array on ("anything else becomes an empty payload"). The engine
    // judges every scalar result a developer error first, so the next component never sees one.
    const engine = testEngine();
    const done = completions(engine);
    await actions(engine, { str: 'function main() { return "text"; }', next: ECHO });
    await engine.actions.create({ name: 's', sequence: ['str', 'next'] });
    const err: any = await rejection(() => engine.actions.invoke({ name: 's', blocking: true }));
    expect(err.details.activation.response.statusCode).toBe(2);
    await sleep(50);
    expect(done.get('next')).toBeUndefined();
  });

  it('runs nested sequences inline: the inner record is a component of the outer one', async () => {
    const engine = testEngine();
    await actions(engine, {
      inc: 'function main(p) { return { n: p.n + 1 }; }',
      dbl: 'function main(p) { return { n: p.n * 2 }; }',
    });
    await engine.actions.create({ name: 'inner', sequence: ['inc', 'dbl'] });
    await engine.actions.create({ name: 'outer', sequence: ['inner', 'inc'] });
    const outer: any = await engine.actions.invoke({ name: 'outer', params: { n: 1 }, blocking: true });
    expect(outer.response.result).toEqual({ n: 5 });
    expect(outer.logs).toHaveLength(2);
    const inner: any = await engine.activations.get(outer.logs[0]);
    expect(inner.name).toBe('inner');
    expect(inner.cause).toBe(outer.activationId);
    expect(annotationOf(inner, 'topmost')).toBe(false);
    expect(annotationOf(inner, 'kind')).toBe('sequence');
    expect(annotationOf(inner, 'causedBy')).toBe('sequence');
    expect(inner.logs).toHaveLength(2);
    for (const id of inner.logs) expect(((await engine.activations.get(id)) as any).cause).toBe(inner.activationId);
    const last: any = await engine.activations.get(outer.logs[1]);
    expect(last).toMatchObject({ name: 'inc', cause: outer.activationId });
  });

  it('returns {activationId} at once when invoked without blocking, and records the sequence later', async () => {
    const engine = testEngine();
    await actions(engine, { a: ECHO });
    await engine.actions.create({ name: 's', sequence: ['a'] });
    const out: any = await engine.actions.invoke({ name: 's', params: { v: 1 } });
    expect(Object.keys(out)).toEqual(['activationId']);
    const record = await waitForActivation(engine, out.activationId);
    expect(record.response.result).toEqual({ v: 1 });
  });

  it('fails at run time with "Sequence component does not exist." when a component was deleted, running none', async () => {
    const engine = testEngine();
    const done = completions(engine);
    await actions(engine, { a: ECHO, b: ECHO });
    await engine.actions.create({ name: 's', sequence: ['a', 'b'] });
    await engine.actions.delete('b');
    const err: any = await rejection(() => engine.actions.invoke({ name: 's', blocking: true }));
    expect(err.details.activation.response).toMatchObject({ status: 'application error', result: { error: 'Sequence component does not exist.' } });
    await sleep(50);
    expect(done.get('a')).toBeUndefined();
  });
});

describe('sequences: create-time checks', () => {
  it("refuses an empty sequence: 'No component specified for the sequence.'", async () => {
    const engine = testEngine();
    for (const options of [{ name: 's', sequence: [] }, { name: 's', exec: { kind: 'sequence', components: [] } }]) {
      const err: any = await rejection(() => engine.actions.create(options));
      expect(err.statusCode).toBe(400);
      expect(err.message).toBe('No component specified for the sequence.');
    }
  });

  it("refuses a sequence that names itself: 'Sequence may not refer to itself.'", async () => {
    const engine = testEngine();
    await actions(engine, { a: ECHO });
    const err: any = await rejection(() => engine.actions.create({ name: 's', sequence: ['a', 's'] }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe('Sequence may not refer to itself.');
    const fq: any = await rejection(() => engine.actions.create({ name: 's', sequence: ['/_/s'] }));
    expect(fq.message).toBe('Sequence may not refer to itself.');
    expect(await engine.actions.list()).toHaveLength(1);
  });

  it('refuses an update that would make a cycle through a nested sequence', async () => {
    const engine = testEngine();
    await actions(engine, { a: ECHO });
    await engine.actions.create({ name: 's1', sequence: ['a'] });
    await engine.actions.create({ name: 's2', sequence: ['s1'] });
    const err: any = await rejection(() => engine.actions.update({ name: 's1', sequence: ['s2'] }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe('Sequence may not refer to itself.');
    // Two levels deep as well.
    await engine.actions.create({ name: 's3', sequence: ['s2'] });
    const deep: any = await rejection(() => engine.actions.update({ name: 's1', sequence: ['a', 's3'] }));
    expect(deep.message).toBe('Sequence may not refer to itself.');
    expect(((await engine.actions.get('s1')) as any).exec.components).toEqual(['/guest/a']);
  });

  it("refuses a missing component: 'Sequence component does not exist.'", async () => {
    const engine = testEngine();
    await actions(engine, { a: ECHO });
    const err: any = await rejection(() => engine.actions.create({ name: 's', sequence: ['a', 'ghost'] }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe('Sequence component does not exist.');
    expect(((await rejection(() => engine.actions.get('s'))) as any).statusCode).toBe(404);
  });

  it("refuses 51 atomic actions after inlining nested sequences: 'Too many actions in the sequence.'", async () => {
    const engine = testEngine();
    await actions(engine, { x: ECHO });
    const ten = Array.from({ length: 10 }, () => 'x');
    await engine.actions.create({ name: 's10', sequence: ten });
    await engine.actions.create({ name: 's20', sequence: ['s10', 's10'] });
    // 20 + 20 + 10 = 50: allowed.
    const fifty: any = await engine.actions.create({ name: 'fifty', sequence: ['s20', 's20', 's10'] });
    expect(fifty.exec.components).toEqual(['/guest/s20', '/guest/s20', '/guest/s10']);
    // 50 + 1 = 51: refused, although the sequence itself lists only four components.
    const err: any = await rejection(() => engine.actions.create({ name: 'fiftyone', sequence: ['s20', 's20', 's10', 'x'] }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe('Too many actions in the sequence.');
    const nested: any = await rejection(() => engine.actions.create({ name: 'wrap', sequence: ['fifty', 'x'] }));
    expect(nested.message).toBe('Too many actions in the sequence.');
    // 51 listed directly.
    const flat: any = await rejection(() => engine.actions.create({ name: 'flat', sequence: Array.from({ length: 51 }, () => 'x') }));
    expect(flat.message).toBe('Too many actions in the sequence.');
  });

  it('runs a sequence of exactly 50 atomic actions', async () => {
    const engine = testEngine();
    await actions(engine, { inc: 'function main(p) { return { n: (p.n || 0) + 1 }; }' });
    await engine.actions.create({ name: 's10', sequence: Array.from({ length: 10 }, () => 'inc') });
    await engine.actions.create({ name: 's50', sequence: ['s10', 's10', 's10', 's10', 's10'] });
    expect(await engine.actions.invoke({ name: 's50', blocking: true, result: true })).toEqual({ n: 50 });
  });
});
