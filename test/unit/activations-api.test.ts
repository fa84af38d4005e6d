/**
 * `engine.activations` (docs/semantics.md#activation-records, #lists): list, get, logs, result, retention and
 * lifecycle events.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Engine } from '../../src/index';
import { rejection, sleep, testEngine, waitForActivation } from '../helpers/engine';
import { hostNodeKind } from '../../src/runtimes/node-kinds';

/** The kind `nodejs:default` resolves to on the worker runtime: the Node.js running the tests. */
const HOST_KIND = hostNodeKind();

const ECHO = 'function main(p) { console.log("got", JSON.stringify(p)); return p; }';
const NOT_FOUND = 'The requested resource does not exist.';

/** Runs `name` blocking once per payload, a few ms apart so start times differ; returns the records in order. */
async function runAll(engine: Engine, name: string, payloads: Record<string, unknown>[]): Promise<any[]> {
  const out: any[] = [];
  for (const params of payloads) {
    out.push(await engine.actions.invoke({ name, params, blocking: true }));
    await sleep(3);
  }
  return out;
}

describe('activations.list', () => {
  it('lists newest first as summaries', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    const [r1, r2, r3] = await runAll(engine, 'a', [{ i: 1 }, { i: 2 }, { i: 3 }]);
    const list: any = await engine.activations.list();
    expect(list.map((s: any) => s.activationId)).toEqual([r3.activationId, r2.activationId, r1.activationId]);
    const summary = list[0];
    expect(summary).toMatchObject({
      activationId: r3.activationId,
      namespace: 'guest',
      name: 'a',
      version: '0.0.1',
      publish: false,
      start: r3.start,
      end: r3.end,
      duration: r3.duration,
      statusCode: 0,
    });
    expect(summary.annotations).toEqual(r3.annotations);
    // Summaries carry no response and no logs.
    expect(summary.response).toBeUndefined();
    expect(summary.logs).toBeUndefined();
  });

  it('orders by start time, not by completion time (OpenWhisk lists by start, descending)', async () => {
    const engine = testEngine();
    // Long enough for the fast one, with a cold start of its own, to finish first even on a loaded machine.
    await engine.actions.create({ name: 'slow', action: 'async function main() { await new Promise(r => setTimeout(r, 1000)); return {}; }' });
    await engine.actions.create({ name: 'fast', action: ECHO });
    const slowStarted = new Promise<void>((resolve) => {
      engine.on('activation:started', (info) => {
        if (info.name === 'slow') resolve();
      });
    });
    const slow = (await engine.actions.invoke({ name: 'slow' })) as { activationId: string };
    await slowStarted;
    await sleep(3); // start times are in milliseconds: the fast one's must be later, not equal
    const fast: any = await engine.actions.invoke({ name: 'fast', blocking: true });
    const slowRecord = await waitForActivation(engine, slow.activationId);
    // The fast one started later and finished first.
    expect(fast.start).toBeGreaterThan(slowRecord.start);
    expect(fast.end).toBeLessThan(slowRecord.end);
    const list = (await engine.activations.list()) as any[];
    expect(list.map((s) => s.name)).toEqual(['fast', 'slow']);
    const docs = (await engine.activations.list({ docs: true })) as any[];
    expect(docs.map((s) => s.name)).toEqual(['fast', 'slow']);
  });

  it('gives sequence components their cause in the summary', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    await engine.actions.create({ name: 's', sequence: ['a'] });
    const seq: any = await engine.actions.invoke({ name: 's', blocking: true });
    const [component] = (await engine.activations.list({ name: 'a' })) as any[];
    expect(component.cause).toBe(seq.activationId);
    const [sequence] = (await engine.activations.list({ name: 's' })) as any[];
    expect(sequence.cause).toBeUndefined();
    expect(sequence.duration).toBe(seq.duration);
  });

  it('returns full records with docs: true', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    const [r1, r2] = await runAll(engine, 'a', [{ i: 1 }, { i: 2 }]);
    const docs: any = await engine.activations.list({ docs: true });
    expect(docs).toEqual([r2, r1]);
    expect(docs[0].response).toMatchObject({ status: 'success', success: true, result: { i: 2 } });
    expect(docs[0].logs).toHaveLength(1);
  });

  it('counts with count: true and refuses docs with count', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    await engine.actions.create({ name: 'b', action: ECHO });
    await runAll(engine, 'a', [{}, {}, {}]);
    await runAll(engine, 'b', [{}]);
    expect(await engine.activations.list({ count: true })).toEqual({ activations: 4 });
    expect(await engine.activations.list({ count: true, name: 'a' })).toEqual({ activations: 3 });
    const err: any = await rejection(() => engine.activations.list({ docs: true, count: true }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe("The parameter 'docs' is not permitted with 'count'.");
  });

  it('filters by name (plain or fully qualified)', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    await engine.actions.create({ name: 'b', action: ECHO });
    const [a1] = await runAll(engine, 'a', [{ n: 1 }]);
    const [b1, b2] = await runAll(engine, 'b', [{ n: 1 }, { n: 2 }]);
    const [a2] = await runAll(engine, 'a', [{ n: 2 }]);
    expect(((await engine.activations.list({ name: 'a' })) as any[]).map((s) => s.activationId)).toEqual([a2.activationId, a1.activationId]);
    expect(((await engine.activations.list({ name: 'b' })) as any[]).map((s) => s.activationId)).toEqual([b2.activationId, b1.activationId]);
    expect(((await engine.activations.list({ name: '/_/b' })) as any[]).map((s) => s.activationId)).toEqual([b2.activationId, b1.activationId]);
    expect(await engine.activations.list({ name: 'c' })).toEqual([]);
  });

  it('filters by start time with since and upto (inclusive)', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    const [r1, r2, r3] = await runAll(engine, 'a', [{ i: 1 }, { i: 2 }, { i: 3 }]);
    expect(r1.start).toBeLessThan(r2.start);
    expect(r2.start).toBeLessThan(r3.start);
    const ids = async (q: Record<string, number>) => ((await engine.activations.list(q)) as any[]).map((s) => s.activationId);
    expect(await ids({ since: r2.start })).toEqual([r3.activationId, r2.activationId]);
    expect(await ids({ upto: r2.start })).toEqual([r2.activationId, r1.activationId]);
    expect(await ids({ since: r2.start, upto: r2.start })).toEqual([r2.activationId]);
    expect(await ids({ since: r3.start + 1 })).toEqual([]);
  });

  it('refuses an invalid epoch with 400', async () => {
    const engine = testEngine();
    const err: any = await rejection(() => engine.activations.list({ since: 'yesterday' }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe('Parameter is not a valid value for epoch seconds: yesterday');
  });

  it('pages with limit and skip, with the OpenWhisk messages', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    const rs = await runAll(engine, 'a', [{ i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }]);
    const newest = [...rs].reverse().map((r) => r.activationId);
    expect(((await engine.activations.list({ limit: 2 })) as any[]).map((s) => s.activationId)).toEqual(newest.slice(0, 2));
    expect(((await engine.activations.list({ limit: 2, skip: 1 })) as any[]).map((s) => s.activationId)).toEqual(newest.slice(1, 3));
    expect(((await engine.activations.list({ skip: 3 })) as any[]).map((s) => s.activationId)).toEqual(newest.slice(3));
    expect(((await rejection(() => engine.activations.list({ limit: 201 }))) as any).message).toBe(
      "The value '201' is not in the range of 0 to 200 for activations.",
    );
    expect(((await rejection(() => engine.activations.list({ skip: -2 }))) as any).message).toBe(
      "The value '-2' is not greater than or equal to 0 for activations.",
    );
  });
});

describe('activations.get, logs and result', () => {
  it('gets the API view of a record', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    const { activationId } = (await engine.actions.invoke({ name: 'a', params: { x: 1 } })) as { activationId: string };
    const record = await waitForActivation(engine, activationId);
    for (const got of [record, await engine.activations.get({ activationId }), await engine.activations.get({ name: activationId })]) {
      expect(got).toMatchObject({ activationId, namespace: 'guest', name: 'a', subject: 'guest', version: '0.0.1', publish: false });
      expect(got.response).toEqual({ status: 'success', statusCode: 0, success: true, result: { x: 1 }, size: 7 });
      expect(got.duration).toBe(got.end - got.start);
      expect(Array.isArray(got.annotations)).toBe(true);
    }
  });

  it('returns {logs} for logs and the response for result', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    const record: any = await engine.actions.invoke({ name: 'a', params: { x: 1 }, blocking: true });
    const logs = await engine.activations.logs({ activationId: record.activationId });
    expect(Object.keys(logs)).toEqual(['logs']);
    expect(logs.logs).toEqual(record.logs);
    expect(logs.logs[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z +stdout: got \{"x":1\}$/);
    const result = await engine.activations.result(record.activationId);
    expect(result).toMatchObject({ status: 'success', success: true, result: { x: 1 } });
    expect(result).toEqual(record.response);
  });

  it('shows failures with the OpenWhisk status strings', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'bad', action: 'function main() { return { error: "nope" }; }' });
    const { activationId } = (await engine.actions.invoke({ name: 'bad' })) as { activationId: string };
    const record = await waitForActivation(engine, activationId);
    expect(record.response).toMatchObject({ status: 'application error', success: false, result: { error: 'nope' } });
    expect(((await engine.activations.list()) as any[])[0].statusCode).toBe(1);
  });

  it('answers 404 for an unknown id on get, logs and result', async () => {
    const engine = testEngine();
    const unknown = '0123456789abcdef0123456789abcdef';
    for (const op of [() => engine.activations.get(unknown), () => engine.activations.logs(unknown), () => engine.activations.result({ activationId: unknown })]) {
      const err: any = await rejection(op);
      expect(err.statusCode).toBe(404);
      expect(err.message).toBe(NOT_FOUND);
    }
  });
});

describe('activation retention', () => {
  it('keeps only the newest activationRetention records', async () => {
    const engine = testEngine({ activationRetention: 5 });
    await engine.actions.create({ name: 'a', action: ECHO });
    const rs = await runAll(engine, 'a', Array.from({ length: 7 }, (_, i) => ({ i })));
    expect(await engine.activations.list({ count: true })).toEqual({ activations: 5 });
    expect(((await engine.activations.list()) as any[]).map((s) => s.activationId)).toEqual(
      rs
        .slice(2)
        .reverse()
        .map((r) => r.activationId),
    );
    for (const dropped of rs.slice(0, 2)) {
      expect(((await rejection(() => engine.activations.get(dropped.activationId))) as any).statusCode).toBe(404);
    }
    for (const kept of rs.slice(2)) expect(await engine.activations.get(kept.activationId)).toEqual(kept);
  });
});

describe('activation events', () => {
  it("emits 'activation:queued', 'activation:started', 'activation:completed' in that order for one invocation", async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    const events: [string, any][] = [];
    engine.on('activation:queued', (info) => events.push(['queued', info]));
    engine.on('activation:started', (info) => events.push(['started', info]));
    engine.on('activation:completed', (record) => events.push(['completed', record]));
    const record: any = await engine.actions.invoke({ name: 'a', params: { x: 1 }, blocking: true });
    await vi.waitFor(() => expect(events.map(([kind]) => kind)).toContain('completed'), { timeout: 10_000, interval: 20 });
    await sleep(20); // time for a duplicate or stray event to show
    expect(events.map(([kind]) => kind)).toEqual(['queued', 'started', 'completed']);
    const [[, queued], [, started], [, completed]] = events as [[string, any], [string, any], [string, any]];
    expect(queued).toEqual({ activationId: record.activationId, namespace: 'guest', name: 'a', kind: HOST_KIND });
    expect(started).toEqual(queued);
    expect(completed).toEqual(record);
  });

  it('emits the events for every component of a sequence, and completed once for the sequence', async () => {
    const engine = testEngine();
    await engine.actions.create({ name: 'a', action: ECHO });
    await engine.actions.create({ name: 's', sequence: ['a', 'a'] });
    const events: string[] = [];
    engine.on('activation:queued', (info) => events.push(`queued ${info.name} ${info.cause ? 'caused' : ''}`.trim()));
    engine.on('activation:started', (info) => events.push(`started ${info.name}`));
    engine.on('activation:completed', (record) => events.push(`completed ${record.name}`));
    await engine.actions.invoke({ name: 's', blocking: true });
    await vi.waitFor(() => expect(events).toContain('completed s'), { timeout: 10_000, interval: 20 });
    await sleep(20); // time for a duplicate or stray event to show
    expect(events).toEqual(['queued a caused', 'started a', 'completed a', 'queued a caused', 'started a', 'completed a', 'completed s']);
  });
});
