/**
 * One suite, written against the official `openwhisk` npm client's API, run twice:
 *
 *  (a) through the real client against `edgewhisk serve` started as a separate process (the REST API end to end:
 *      routing, auth, status codes, bodies, the client's own error mapping);
 *  (b) against the in-process engine, whose `actions/triggers/rules/activations` mirror the client's methods.
 *
 * Where the two differ in shape, the suite asserts what both share: errors carry `statusCode` and the message text
 * (the client's `message` is prefixed with `<METHOD> <url> Returned HTTP <n> (<text>) --> "…"`, so messages are
 * matched with `toContain`), and `error` holds the response body (the activation record for a failed blocking
 * invoke). Differences found while writing it are noted where they occur.
 */
import openwhisk from 'openwhisk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index';
import { rejection, sleep } from '../helpers/engine';
import { startServe } from '../helpers/serve-process';
import { hostNodeKind } from '../../src/runtimes/node-kinds';

/** The kind `nodejs:default` resolves to on the worker runtime: the Node.js running the tests. */
const HOST_KIND = hostNodeKind();

type Ow = Pick<openwhisk.Client, 'actions' | 'triggers' | 'rules' | 'activations'>;

interface Target {
  readonly ow: Ow;
  close(): Promise<void>;
}

const HEX32 = /^[0-9a-f]{32}$/;
const NOT_FOUND = 'The requested resource does not exist.';

/** Polls `fn` until `done` holds for its value; fails after `timeout` ms. */
async function until<T>(fn: () => Promise<T>, done: (value: T) => boolean, timeout = 5000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout} ms; last value: ${JSON.stringify(value)}`);
    await sleep(20);
  }
}

const names = (list: readonly { name?: string }[]): (string | undefined)[] => list.map((e) => e.name);

/** The shared suite: every `it` runs unchanged against whatever `makeClient` returns. */
function suite(makeClient: () => Promise<Target>): void {
  let target: Target;
  let ow: Ow;

  beforeAll(async () => {
    target = await makeClient();
    ow = target.ow;
  });

  afterAll(async () => {
    await target?.close();
  });

  it('actions: create, get with and without code, list with limit and skip, update bumps the version, delete', async () => {
    const code = 'function main(p) { return { echo: p }; }';
    const created = await ow.actions.create({ name: 'crud-1', action: code });
    expect(created).toMatchObject({ name: 'crud-1', namespace: 'guest', version: '0.0.1', exec: { kind: HOST_KIND, code } });
    await ow.actions.create({ name: 'crud-2', action: code });
    await ow.actions.create({ name: 'crud-3', action: code, params: { a: 1 } });

    const withCode = await ow.actions.get({ name: 'crud-1' });
    expect(withCode.exec).toMatchObject({ kind: HOST_KIND, code });
    // `code` is a real client option (sent as ?code=false) that the client's typings leave out.
    const noCodeOptions = { name: 'crud-1', code: false };
    const withoutCode = await ow.actions.get(noCodeOptions);
    expect(withoutCode).toMatchObject({ name: 'crud-1', exec: { kind: HOST_KIND } });
    expect(withoutCode.exec).not.toHaveProperty('code');
    const withParams = await ow.actions.get('crud-3');
    expect(withParams.parameters).toEqual([{ key: 'a', value: 1 }]);

    const all = await ow.actions.list({ limit: 200 });
    expect(names(all)).toEqual(expect.arrayContaining(['crud-1', 'crud-2', 'crud-3']));
    // Newest first, as OpenWhisk lists them.
    expect(names(all).slice(0, 3)).toEqual(['crud-3', 'crud-2', 'crud-1']);
    const firstTwo = await ow.actions.list({ limit: 2 });
    expect(names(firstTwo)).toEqual(names(all).slice(0, 2));
    const page = await ow.actions.list({ limit: 2, skip: 1 });
    expect(names(page)).toEqual(names(all).slice(1, 3));
    // The list view leaves the code out.
    for (const a of all) expect((a as openwhisk.Action).exec ?? {}).not.toHaveProperty('code');

    const newCode = 'function main() { return { v: 2 }; }';
    const updated = await ow.actions.update({ name: 'crud-1', action: newCode });
    expect(updated).toMatchObject({ name: 'crud-1', version: '0.0.2', exec: { code: newCode } });
    expect((await ow.actions.get('crud-1')).version).toBe('0.0.2');
    expect(await ow.actions.invoke({ name: 'crud-1', blocking: true, result: true })).toEqual({ v: 2 });

    const deleted = await ow.actions.delete({ name: 'crud-1' });
    expect(deleted).toMatchObject({ name: 'crud-1' });
    const gone = await rejection(() => ow.actions.get('crud-1'));
    expect(gone.statusCode).toBe(404);
    expect(names(await ow.actions.list({ limit: 200 }))).not.toContain('crud-1');
    await ow.actions.delete('crud-2');
    await ow.actions.delete({ name: 'crud-3' });
  });

  it('invoke: non-blocking gives {activationId}, blocking the full record, blocking+result only the result', async () => {
    await ow.actions.create({
      name: 'greet',
      action: 'function main(p) { console.log("greeting " + p.who); return { greeting: "Hello, " + p.who + "!" }; }',
      params: { who: 'world' },
    });

    const started = await ow.actions.invoke({ name: 'greet', params: { who: 'async' } });
    expect(Object.keys(started)).toEqual(['activationId']);
    expect(started.activationId).toMatch(HEX32);

    const record = await ow.actions.invoke({ name: 'greet', blocking: true, params: { who: 'edge' } });
    expect(record).toMatchObject({
      namespace: 'guest',
      name: 'greet',
      version: '0.0.1',
      activationId: expect.stringMatching(HEX32),
      response: { status: 'success', success: true, result: { greeting: 'Hello, edge!' } },
    });
    expect(record.activationId).not.toBe(started.activationId);
    expect(record.duration).toBeGreaterThanOrEqual(0);
    expect(record.end).toBeGreaterThanOrEqual(record.start);
    expect(record.logs.some((l) => l.includes('stdout: greeting edge'))).toBe(true);
    expect(record.annotations).toEqual(expect.arrayContaining([{ key: 'path', value: 'guest/greet' }]));

    // Defaults apply when the payload leaves the key out.
    expect(await ow.actions.invoke({ name: 'greet', blocking: true, result: true })).toEqual({ greeting: 'Hello, world!' });

    // The non-blocking one completes and is stored.
    const later = await until(
      () => ow.activations.get(started.activationId).catch(() => undefined),
      (a) => a !== undefined,
    );
    expect(later?.response).toMatchObject({ success: true, result: { greeting: 'Hello, async!' } });
  });

  it('an application error on a blocking invoke rejects with 502 and the record in `error`', async () => {
    await ow.actions.create({ name: 'fails', action: 'function main() { return { error: "boom" }; }' });
    const error = await rejection(() => ow.actions.invoke({ name: 'fails', blocking: true }));
    expect(error.statusCode).toBe(502);
    expect(error.message).toContain('boom');
    expect(error.error).toMatchObject({
      name: 'fails',
      activationId: expect.stringMatching(HEX32),
      response: { status: 'application error', success: false, result: { error: 'boom' } },
    });
    // The same with result=true: still a 502 with the record.
    const withResult = await rejection(() => ow.actions.invoke({ name: 'fails', blocking: true, result: true }));
    expect(withResult.statusCode).toBe(502);
    expect(withResult.message).toContain('boom');
    expect(withResult.error.response.result).toEqual({ error: 'boom' });
    // A non-blocking invoke of the same action is accepted regardless of the outcome.
    expect((await ow.actions.invoke({ name: 'fails' })).activationId).toMatch(HEX32);
  });

  it("a developer error (time limit of 300 ms) on a blocking invoke rejects with 502 and OpenWhisk's message", async () => {
    await ow.actions.create({
      name: 'slow-300',
      action: 'function main() { return new Promise((r) => setTimeout(() => r({ late: true }), 3000)); }',
      limits: { timeout: 300 },
    });
    expect((await ow.actions.get('slow-300')).limits).toMatchObject({ timeout: 300 });
    const error = await rejection(() => ow.actions.invoke({ name: 'slow-300', blocking: true }));
    expect(error.statusCode).toBe(502);
    expect(error.message).toContain('The action exceeded its time limits of 300 milliseconds.');
    expect(error.error).toMatchObject({
      name: 'slow-300',
      response: {
        status: 'action developer error',
        success: false,
        result: { error: 'The action exceeded its time limits of 300 milliseconds.' },
      },
    });
    expect(error.error.annotations).toEqual(expect.arrayContaining([{ key: 'timeout', value: true }]));
  });

  it("answers 404 'The requested resource does not exist.' for a missing action", async () => {
    for (const call of [
      () => ow.actions.get('no-such-action'),
      () => ow.actions.invoke({ name: 'no-such-action', blocking: true }),
      () => ow.actions.invoke({ name: 'no-such-action' }),
      () => ow.actions.delete('no-such-action'),
    ]) {
      const error = await rejection(call);
      expect(error.statusCode).toBe(404);
      expect(error.message).toContain(NOT_FOUND);
      // `error` is the error body on both sides: `{error, code}` from the server (`code` = its transaction id),
      // `{error}` from the engine. The message is what they share.
      expect(error.error.error).toBe(NOT_FOUND);
    }
  });

  it("answers 409 'resource already exists' to a create without overwrite, and overwrite replaces", async () => {
    await ow.actions.create({ name: 'twice', action: 'function main() { return { n: 1 }; }' });
    const error = await rejection(() => ow.actions.create({ name: 'twice', action: 'function main() { return { n: 2 }; }' }));
    expect(error.statusCode).toBe(409);
    expect(error.message).toContain('resource already exists');
    expect(error.error.error).toBe('resource already exists');
    expect(await ow.actions.invoke({ name: 'twice', blocking: true, result: true })).toEqual({ n: 1 });
    const replaced = await ow.actions.create({ name: 'twice', action: 'function main() { return { n: 3 }; }', overwrite: true });
    expect(replaced.version).toBe('0.0.2');
    expect(await ow.actions.invoke({ name: 'twice', blocking: true, result: true })).toEqual({ n: 3 });
  });

  it("answers 400 with OpenWhisk's 'allowed threshold' message to an invalid limit", async () => {
    const cases: [openwhisk.Limits, string][] = [
      [{ timeout: 50 }, 'duration 50 milliseconds below allowed threshold of 100 milliseconds'],
      [{ timeout: 300_001 }, 'duration 300001 milliseconds exceeds allowed threshold of 300000 milliseconds'],
      [{ memory: 64 }, 'memory size 64 MB below allowed threshold of 128 MB'],
      [{ memory: 513 }, 'memory size 513 MB exceeds allowed threshold of 512 MB'],
      [{ logs: 11 }, 'log size 11 MB exceeds allowed threshold of 10 MB'],
    ];
    for (const [limits, message] of cases) {
      const error = await rejection(() => ow.actions.create({ name: 'bad-limits', action: 'function main() { return {}; }', limits }));
      expect(error.statusCode, JSON.stringify(limits)).toBe(400);
      expect(error.message).toContain('allowed threshold');
      expect(error.message).toContain(message);
    }
    expect((await rejection(() => ow.actions.get('bad-limits'))).statusCode).toBe(404);
  });

  it('answers 413 to an invocation payload over the 1 MB limit, and runs nothing', async () => {
    await ow.actions.create({ name: 'big-payload', action: 'function main(p) { return { n: Object.keys(p).length }; }' });
    const params = { big: 'x'.repeat(1_100_000) };
    for (const blocking of [true, false]) {
      const error = await rejection(() => ow.actions.invoke({ name: 'big-payload', blocking, params }));
      expect(error.statusCode).toBe(413);
      expect(error.message).toContain('Request larger than allowed');
    }
    expect(await ow.activations.list({ name: 'big-payload', count: true })).toEqual({ activations: 0 });
    // Just under the limit is fine.
    expect(await ow.actions.invoke({ name: 'big-payload', blocking: true, result: true, params: { big: 'x'.repeat(1_000_000) } })).toEqual({ n: 1 });
  });

  it('triggers: create, get, list, delete', async () => {
    const created = await ow.triggers.create({ name: 'crud-trigger', trigger: { parameters: [{ key: 'from', value: 'trigger' }] } });
    expect(created).toMatchObject({ name: 'crud-trigger', namespace: 'guest', version: '0.0.1', parameters: [{ key: 'from', value: 'trigger' }] });
    await ow.triggers.create({ name: 'crud-trigger-2' });
    const got = await ow.triggers.get('crud-trigger');
    expect(got).toMatchObject({ name: 'crud-trigger', parameters: [{ key: 'from', value: 'trigger' }], rules: {} });
    expect(names(await ow.triggers.list())).toEqual(expect.arrayContaining(['crud-trigger', 'crud-trigger-2']));
    expect(await ow.triggers.list({ limit: 1 })).toHaveLength(1);
    const dup = await rejection(() => ow.triggers.create({ name: 'crud-trigger' }));
    expect(dup.statusCode).toBe(409);
    expect(dup.message).toContain('resource already exists');
    expect(await ow.triggers.delete('crud-trigger')).toMatchObject({ name: 'crud-trigger' });
    expect(await ow.triggers.delete({ name: 'crud-trigger-2' })).toMatchObject({ name: 'crud-trigger-2' });
    const gone = await rejection(() => ow.triggers.get('crud-trigger'));
    expect(gone.statusCode).toBe(404);
    expect(gone.message).toContain(NOT_FOUND);
    expect(names(await ow.triggers.list())).not.toContain('crud-trigger');
  });

  it('fire: an active rule gives an activationId and runs the action; no active rule gives the 204 answer and no record', async () => {
    await ow.actions.create({ name: 'on-fire', action: 'function main(p) { return { got: p.who, from: p.from }; }' });
    await ow.triggers.create({ name: 'bell', trigger: { parameters: [{ key: 'from', value: 'trigger' }, { key: 'who', value: 'nobody' }] } });

    // No rule at all: HTTP 204. The client hands back the empty body (an empty Buffer from needle), the engine `{}`;
    // what both share is that there is nothing in it, in particular no activation id.
    const silent = await ow.triggers.invoke({ name: 'bell', params: { who: 'x' } });
    expect(Object.keys(silent as object)).toEqual([]);
    expect((silent as { activationId?: string }).activationId).toBeUndefined();
    expect(await ow.activations.list({ name: 'bell', count: true })).toEqual({ activations: 0 });

    await ow.rules.create({ name: 'bell-rule', trigger: 'bell', action: 'on-fire' });
    const fired = await ow.triggers.invoke({ name: 'bell', params: { who: 'visitor' } });
    expect(fired.activationId).toMatch(HEX32);
    const runs = await until(
      () => ow.activations.list({ name: 'on-fire', docs: true }),
      (list) => list.length === 1,
    );
    expect((runs[0] as openwhisk.Activation<openwhisk.Dict>).response?.result).toEqual({ got: 'visitor', from: 'trigger' });
    const fire = await ow.activations.get(fired.activationId);
    expect(fire).toMatchObject({ name: 'bell', response: { success: true, result: { who: 'visitor' } } });
    expect(JSON.parse(fire.logs[0] as string)).toMatchObject({
      rule: 'guest/bell-rule',
      action: 'guest/on-fire',
      success: true,
      activationId: runs[0]?.activationId,
    });

    // An inactive rule is no active rule: 204 again, and nothing runs.
    await ow.rules.disable({ name: 'bell-rule' });
    const afterDisable = await ow.triggers.invoke({ name: 'bell', params: { who: 'late' } });
    expect(Object.keys(afterDisable as object)).toEqual([]);
    expect(await ow.activations.list({ name: 'bell', count: true })).toEqual({ activations: 1 });

    const missing = await rejection(() => ow.triggers.invoke({ name: 'no-such-trigger' }));
    expect(missing.statusCode).toBe(404);
    expect(missing.message).toContain(NOT_FOUND);
    await ow.rules.delete('bell-rule');
    await ow.triggers.delete('bell');
  });

  it('rules: create, get, list, disable, enable, update refused with 409 while active, delete', async () => {
    await ow.actions.create({ name: 'rule-action', action: 'function main() { return {}; }' });
    await ow.actions.create({ name: 'rule-action-2', action: 'function main() { return {}; }' });
    await ow.triggers.create({ name: 'rule-trigger' });

    const created = await ow.rules.create({ name: 'r1', trigger: 'rule-trigger', action: 'rule-action' });
    expect(created).toMatchObject({
      name: 'r1',
      namespace: 'guest',
      status: 'active',
      trigger: { path: 'guest', name: 'rule-trigger' },
      action: { path: 'guest', name: 'rule-action' },
    });
    expect(await ow.rules.get('r1')).toMatchObject({ name: 'r1', status: 'active', version: '0.0.1' });
    expect(names(await ow.rules.list())).toContain('r1');
    const ruleMap = (await ow.triggers.get('rule-trigger')).rules ?? {};
    expect(Object.values(ruleMap)).toEqual([{ action: { path: 'guest', name: 'rule-action' }, status: 'active' }]);

    await ow.rules.disable({ name: 'r1' });
    expect((await ow.rules.get('r1')).status).toBe('inactive');
    await ow.rules.enable({ name: 'r1' });
    expect((await ow.rules.get('r1')).status).toBe('active');

    const refused = await rejection(() => ow.rules.update({ name: 'r1', trigger: 'rule-trigger', action: 'rule-action-2' }));
    expect(refused.statusCode).toBe(409);
    expect((await ow.rules.get('r1')).action).toEqual({ path: 'guest', name: 'rule-action' });

    const dup = await rejection(() => ow.rules.create({ name: 'r1', trigger: 'rule-trigger', action: 'rule-action' }));
    expect(dup.statusCode).toBe(409);
    expect(dup.message).toContain('resource already exists');

    await ow.rules.disable({ name: 'r1' });
    const updated = await ow.rules.update({ name: 'r1', trigger: 'rule-trigger', action: 'rule-action-2' });
    expect(updated).toMatchObject({ name: 'r1', version: '0.0.2', status: 'inactive', action: { path: 'guest', name: 'rule-action-2' } });

    expect(await ow.rules.delete('r1')).toMatchObject({ name: 'r1' });
    const gone = await rejection(() => ow.rules.get('r1'));
    expect(gone.statusCode).toBe(404);
    expect(gone.message).toContain(NOT_FOUND);
    expect((await ow.triggers.get('rule-trigger')).rules).toEqual({});
    await ow.triggers.delete('rule-trigger');
    const toggleMissing = await rejection(() => ow.rules.enable({ name: 'r1' }));
    expect(toggleMissing.statusCode).toBe(404);
  });

  it('lists with count=true answer {<collection>: n} for actions, triggers and rules', async () => {
    // The client's typings declare `count` on actions/triggers/rules.list (sent as ?count=true); OpenWhisk's
    // controller then answers WhiskEntityQueries.countCollectionInNamespace: `{"actions": n}` (controller/Actions.scala
    // `list`, and the same for triggers and rules).
    await ow.actions.create({ name: 'count-action', action: 'function main() { return {}; }' });
    await ow.triggers.create({ name: 'count-trigger' });
    await ow.rules.create({ name: 'count-rule', trigger: 'count-trigger', action: 'count-action' });
    const actions = (await ow.actions.list({ limit: 200 })).length;
    const triggers = (await ow.triggers.list({ limit: 200 })).length;
    const rules = (await ow.rules.list({ limit: 200 })).length;
    expect(await ow.actions.list({ count: true })).toEqual({ actions });
    expect(await ow.triggers.list({ count: true })).toEqual({ triggers });
    expect(await ow.rules.list({ count: true })).toEqual({ rules });
  });

  it("keys the trigger's rule map by the rule's `namespace/name`, as OpenWhisk does", async () => {
    // OpenWhisk serializes WhiskTrigger.rules with FullyQualifiedEntityName.serdesAsDocId: the key is the rule's doc
    // id, `guest/r` (no leading slash); the value's action is `{path, name}` (entity/WhiskTrigger.scala).
    await ow.actions.create({ name: 'map-action', action: 'function main() { return {}; }' });
    await ow.triggers.create({ name: 'map-trigger' });
    await ow.rules.create({ name: 'map-rule', trigger: 'map-trigger', action: 'map-action' });
    expect((await ow.triggers.get('map-trigger')).rules).toEqual({
      'guest/map-rule': { action: { path: 'guest', name: 'map-action' }, status: 'active' },
    });
  });

  it('activations: list (name, limit, skip, docs, count), get, logs, result', async () => {
    await ow.actions.create({ name: 'counted', action: 'function main(p) { console.log("run " + p.i); return { i: p.i }; }' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const record = await ow.actions.invoke({ name: 'counted', blocking: true, params: { i } });
      ids.push(record.activationId);
      await sleep(2); // distinct start times, so the newest-first order is exact
    }
    const newestFirst = [...ids].reverse();

    const listed = await ow.activations.list({ name: 'counted' });
    expect(listed.map((a) => a.activationId)).toEqual(newestFirst);
    for (const a of listed) expect(a).toMatchObject({ name: 'counted', namespace: 'guest', activationId: expect.stringMatching(HEX32) });
    // Summaries by default: no response and no logs.
    expect(listed[0]).not.toHaveProperty('logs');

    expect((await ow.activations.list({ name: 'counted', limit: 2 })).map((a) => a.activationId)).toEqual(newestFirst.slice(0, 2));
    expect((await ow.activations.list({ name: 'counted', limit: 2, skip: 1 })).map((a) => a.activationId)).toEqual(newestFirst.slice(1, 3));
    expect(await ow.activations.list({ name: 'counted', skip: 3 })).toEqual([]);

    const docs = (await ow.activations.list({ name: 'counted', docs: true })) as openwhisk.Activation<openwhisk.Dict>[];
    expect(docs.map((a) => a.response?.result)).toEqual([{ i: 2 }, { i: 1 }, { i: 0 }]);
    expect(docs[0]?.logs.some((l) => l.includes('stdout: run 2'))).toBe(true);

    expect(await ow.activations.list({ name: 'counted', count: true })).toEqual({ activations: 3 });
    const both = await rejection(() => ow.activations.list({ name: 'counted', docs: true, count: true }));
    expect(both.statusCode).toBe(400);
    expect(both.message).toContain("The parameter 'docs' is not permitted with 'count'.");
    const badLimit = await rejection(() => ow.activations.list({ limit: 201 }));
    expect(badLimit.statusCode).toBe(400);
    expect(badLimit.message).toContain("The value '201' is not in the range of 0 to 200 for activations.");

    const id = ids[0] as string;
    const got = await ow.activations.get(id);
    expect(got).toMatchObject({ activationId: id, name: 'counted', response: { status: 'success', success: true, result: { i: 0 } } });
    expect(await ow.activations.get({ name: id })).toEqual(got);
    const logs = await ow.activations.logs({ name: id });
    expect(Object.keys(logs)).toEqual(['logs']);
    expect(logs.logs).toHaveLength(1);
    expect(logs.logs[0]).toContain('stdout: run 0');
    const result = await ow.activations.result({ name: id });
    expect(result).toMatchObject({ status: 'success', success: true, result: { i: 0 } });

    const missing = await rejection(() => ow.activations.get('0123456789abcdef0123456789abcdef'));
    expect(missing.statusCode).toBe(404);
    expect(missing.message).toContain(NOT_FOUND);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// (a) `edgewhisk serve` as a separate process, through the real client

describe('the openwhisk client against `edgewhisk serve` (separate process)', () => {
  suite(async () => {
    const server = await startServe();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ow = openwhisk({ apihost: server.url, api_key: server.auth });
    return {
      ow,
      close: async () => {
        await server.stop();
        expect(server.child.exitCode ?? server.child.signalCode).toBe(0); // SIGTERM closes the server cleanly
      },
    };
  });
});

// ---------------------------------------------------------------------------------------------------------------
// (b) the in-process engine, which mirrors the client's method names

describe('the in-process engine through the same calls', () => {
  suite(async () => {
    const engine = createEngine();
    return { ow: engine as unknown as Ow, close: () => engine.close(2000) };
  });
});
