/**
 * Triggers, rules and fan-out (docs/semantics.md#triggers-and-rules, #firing-a-trigger).
 */
import { describe, expect, it, vi } from 'vitest';
import type { Engine } from '../../src/index';
import { rejection, sleep, testEngine, waitForActivation } from '../helpers/engine';

const ECHO = 'function main(p) { return p; }';

interface LogLine {
  rule: string;
  action: string;
  statusCode: number;
  success: boolean;
  activationId?: string;
  error?: string;
}

/** Records every completed activation, by name. */
function completions(engine: Engine): Map<string, any[]> {
  const byName = new Map<string, any[]>();
  engine.on('activation:completed', (record) => {
    byName.set(record.name, [...(byName.get(record.name) ?? []), record]);
  });
  return byName;
}

async function setup(engine: Engine, actions: string[] = ['a']): Promise<void> {
  for (const name of actions) await engine.actions.create({ name, action: ECHO });
}

function parseLogs(record: { logs: readonly string[] }): LogLine[] {
  return record.logs.map((line) => JSON.parse(line) as LogLine);
}

describe('triggers: create, get, list, update, delete', () => {
  it('creates a trigger with parameters and annotations in the client body form and reads it back', async () => {
    const engine = testEngine();
    const created: any = await engine.triggers.create({
      name: 't',
      trigger: { parameters: [{ key: 'p', value: 1 }], annotations: [{ key: 'feed', value: '/whisk.system/alarms/alarm' }] },
    });
    const got: any = await engine.triggers.get('t');
    for (const t of [created, got]) {
      expect(t).toMatchObject({ namespace: 'guest', name: 't', version: '0.0.1', publish: false, limits: {}, rules: {} });
      expect(t.parameters).toEqual([{ key: 'p', value: 1 }]);
      expect(t.annotations).toEqual([{ key: 'feed', value: '/whisk.system/alarms/alarm' }]);
    }
    expect((await engine.triggers.list()).map((t) => t['name'])).toEqual(['t']);
  });

  it('refuses a duplicate with 409, bumps the version on update, and deletes', async () => {
    const engine = testEngine();
    await engine.triggers.create({ name: 't' });
    const dup: any = await rejection(() => engine.triggers.create({ name: 't' }));
    expect(dup.statusCode).toBe(409);
    expect(dup.message).toBe('resource already exists');
    expect(((await engine.triggers.update({ name: 't', params: { x: 1 } })) as any).version).toBe('0.0.2');
    expect(((await engine.triggers.delete('t')) as any).name).toBe('t');
    expect(((await rejection(() => engine.triggers.get('t'))) as any).statusCode).toBe(404);
  });

  it('answers 404 when firing a trigger that does not exist', async () => {
    const engine = testEngine();
    const err: any = await rejection(() => engine.triggers.invoke({ name: 'nope' }));
    expect(err.statusCode).toBe(404);
    expect(err.message).toBe('The requested resource does not exist.');
  });

  it('pages the trigger and rule lists with OpenWhisk messages', async () => {
    const engine = testEngine();
    expect(((await rejection(() => engine.triggers.list({ limit: 201 }))) as any).message).toBe(
      "The value '201' is not in the range of 0 to 200 for triggers.",
    );
    expect(((await rejection(() => engine.rules.list({ skip: -1 }))) as any).message).toBe(
      "The value '-1' is not greater than or equal to 0 for rules.",
    );
  });
});

describe('firing a trigger', () => {
  it('returns {} and records no activation when the trigger has no rule', async () => {
    const engine = testEngine();
    const done = completions(engine);
    await engine.triggers.create({ name: 't' });
    expect(await engine.triggers.invoke({ name: 't', params: { x: 1 } })).toEqual({});
    await sleep(50);
    expect(await engine.activations.list()).toEqual([]);
    expect(await engine.activations.list({ count: true })).toEqual({ activations: 0 });
    expect(done.size).toBe(0);
  });

  it('returns {activationId} and records the trigger activation when a rule is active', async () => {
    const engine = testEngine();
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    const fired: any = await engine.triggers.invoke({ name: 't', params: { x: 1 } });
    expect(Object.keys(fired)).toEqual(['activationId']);
    expect(fired.activationId).toMatch(/^[0-9a-f]{32}$/);

    const record = await waitForActivation(engine, fired.activationId);
    expect(record).toMatchObject({ namespace: 'guest', name: 't', subject: 'guest', version: '0.0.1', activationId: fired.activationId });
    // A trigger activation ends at the epoch: the API view has neither end nor duration.
    expect('end' in record).toBe(false);
    expect('duration' in record).toBe(false);
    expect(record.start).toBeTypeOf('number');
    expect(record.response).toMatchObject({ status: 'success', success: true, result: { x: 1 } });
    const lines = parseLogs(record);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toEqual({ rule: 'guest/r', action: 'guest/a', statusCode: 0, success: true, activationId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    // Each log line is compact JSON.
    expect(record.logs[0]).toBe(JSON.stringify(lines[0]));

    const action = await waitForActivation(engine, lines[0]?.activationId as string);
    expect(action.name).toBe('a');
    expect(action.response.result).toEqual({ x: 1 });
    // The rule's action activation carries no cause link back to the trigger.
    expect(action.cause).toBeUndefined();
  });

  it('records only the fired payload as the trigger result, not the trigger parameters', async () => {
    const engine = testEngine();
    await setup(engine);
    await engine.triggers.create({ name: 't', params: { fromTrigger: 1 } });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    const withPayload: any = await engine.triggers.invoke({ name: 't', params: { fromPayload: 2 } });
    expect((await waitForActivation(engine, withPayload.activationId)).response.result).toEqual({ fromPayload: 2 });
    const without: any = await engine.triggers.invoke('t');
    expect((await waitForActivation(engine, without.activationId)).response.result).toEqual({});
    // Let the two rule activations finish.
    for (const id of [withPayload.activationId, without.activationId]) {
      const line = parseLogs(await waitForActivation(engine, id))[0];
      await waitForActivation(engine, line?.activationId as string);
    }
  });

  it('runs each active rule action exactly once, with trigger parameters overridden by the payload', async () => {
    const engine = testEngine();
    const done = completions(engine);
    await setup(engine, ['x', 'y']);
    await engine.triggers.create({ name: 't', trigger: { parameters: [{ key: 'a', value: 'trigger' }, { key: 'b', value: 'trigger' }] } });
    await engine.rules.create({ name: 'rx', trigger: 't', action: 'x' });
    await engine.rules.create({ name: 'ry', trigger: 't', action: 'y' });
    const fired: any = await engine.triggers.invoke({ name: 't', params: { b: 'payload', c: 'payload' } });
    const lines = parseLogs(await waitForActivation(engine, fired.activationId));
    expect(lines.map((l) => [l.rule, l.action, l.statusCode, l.success])).toEqual(
      expect.arrayContaining([
        ['guest/rx', 'guest/x', 0, true],
        ['guest/ry', 'guest/y', 0, true],
      ]),
    );
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const record = await waitForActivation(engine, line.activationId as string);
      expect(record.name).toBe(line.action.split('/')[1]);
      expect(record.response.result).toEqual({ a: 'trigger', b: 'payload', c: 'payload' });
    }
    // Announced (polled: the test does not rely on that preceding the store), then time for a second run to show.
    await vi.waitFor(() => expect([...done.keys()].sort()).toEqual(['t', 'x', 'y']), { timeout: 10_000, interval: 20 });
    await sleep(100);
    expect(done.get('x')).toHaveLength(1);
    expect(done.get('y')).toHaveLength(1);
    expect(done.get('t')).toHaveLength(1);
    expect((await engine.activations.list({ name: 'x' })) as unknown[]).toHaveLength(1);
    expect((await engine.activations.list({ name: 'y' })) as unknown[]).toHaveLength(1);
  });

  it('logs a rule whose action was deleted as a failed line (statusCode 1) and still records the fire', async () => {
    const engine = testEngine();
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    await engine.actions.delete('a');
    const fired: any = await engine.triggers.invoke({ name: 't' });
    expect(fired.activationId).toMatch(/^[0-9a-f]{32}$/);
    const lines = parseLogs(await waitForActivation(engine, fired.activationId));
    expect(lines).toEqual([{ rule: 'guest/r', action: 'guest/a', statusCode: 1, success: false, error: 'The requested resource does not exist.' }]);
  });

  it('logs a refused rule invoke (413: payload plus action defaults too large) as statusCode 1', async () => {
    const engine = testEngine({ payloadLimit: 100 });
    await engine.actions.create({ name: 'a', action: ECHO, params: { d: 'y'.repeat(60) } });
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    const fired: any = await engine.triggers.invoke({ name: 't', params: { s: 'x'.repeat(40) } });
    const [line] = parseLogs(await waitForActivation(engine, fired.activationId));
    expect(line).toMatchObject({ rule: 'guest/r', action: 'guest/a', statusCode: 1, success: false });
    expect(line?.error).toMatch(/^Request larger than allowed: \d+ > 100 bytes\.$/);
    expect(line?.activationId).toBeUndefined();
  });

  it('refuses a fire payload over the payload limit with 413 and records nothing', async () => {
    const engine = testEngine({ payloadLimit: 100 });
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    const err: any = await rejection(() => engine.triggers.invoke({ name: 't', params: { s: 'x'.repeat(200) } }));
    expect(err.statusCode).toBe(413);
    expect(err.message).toMatch(/^Request larger than allowed: \d+ > 100 bytes\.$/);
    await sleep(50);
    expect(await engine.activations.list()).toEqual([]);
  });

  it('fans one trigger out to two rules on the same action: two activations of it', async () => {
    const engine = testEngine();
    const done = completions(engine);
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r1', trigger: 't', action: 'a' });
    await engine.rules.create({ name: 'r2', trigger: 't', action: 'a' });
    const fired: any = await engine.triggers.invoke({ name: 't', params: { n: 1 } });
    const lines = parseLogs(await waitForActivation(engine, fired.activationId));
    expect(lines.map((l) => l.rule).sort()).toEqual(['guest/r1', 'guest/r2']);
    expect(new Set(lines.map((l) => l.activationId)).size).toBe(2);
    for (const line of lines) await waitForActivation(engine, line.activationId as string);
    // Both announced (polled), then time for a surplus run to show.
    await vi.waitFor(() => expect(done.get('a')).toHaveLength(2), { timeout: 10_000, interval: 20 });
    await sleep(50);
    expect(done.get('a')).toHaveLength(2);
  });
});

describe('rules: status, enable, disable', () => {
  it('creates rules active and shows the status in rules.get and in the trigger', async () => {
    const engine = testEngine();
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    const created: any = await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    expect(created).toMatchObject({
      namespace: 'guest',
      name: 'r',
      version: '0.0.1',
      status: 'active',
      trigger: { path: 'guest', name: 't' },
      action: { path: 'guest', name: 'a' },
    });
    expect(await engine.rules.get('r')).toMatchObject({ status: 'active' });
    expect(((await engine.triggers.get('t')) as any).rules).toEqual({ 'guest/r': { action: { path: 'guest', name: 'a' }, status: 'active' } });
    await engine.rules.disable('r');
    expect(await engine.rules.get({ name: 'r' })).toMatchObject({ status: 'inactive' });
    expect(((await engine.triggers.get('t')) as any).rules['guest/r'].status).toBe('inactive');
  });

  it('still records the trigger activation when another rule is active, logging the inactive rule as a failure', async () => {
    const engine = testEngine();
    const done = completions(engine);
    await setup(engine, ['a', 'b']);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    await engine.rules.create({ name: 'r2', trigger: 't', action: 'b' });
    await engine.rules.disable({ name: 'r' });
    const fired: any = await engine.triggers.invoke({ name: 't', params: { k: 1 } });
    expect(fired.activationId).toMatch(/^[0-9a-f]{32}$/);
    const record = await waitForActivation(engine, fired.activationId);
    const lines = parseLogs(record);
    expect(lines).toHaveLength(2);
    const inactive = lines.find((l) => l.rule === 'guest/r');
    expect(inactive).toEqual({
      rule: 'guest/r',
      action: 'guest/a',
      statusCode: 1,
      success: false,
      error: "Rule 'guest/r' is inactive, action 'guest/a' was not activated.",
    });
    const active = lines.find((l) => l.rule === 'guest/r2');
    expect(active).toMatchObject({ action: 'guest/b', statusCode: 0, success: true });
    await waitForActivation(engine, active?.activationId as string);
    // The active rule's run is announced (polled), then time for the inactive rule's action to run wrongly.
    await vi.waitFor(() => expect(done.get('b')).toBeDefined(), { timeout: 10_000, interval: 20 });
    await sleep(50);
    expect(done.get('a')).toBeUndefined();
    expect(done.get('b')).toHaveLength(1);
  });

  it('returns {} and records nothing when the trigger has only inactive rules', async () => {
    const engine = testEngine();
    const done = completions(engine);
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    await engine.rules.disable('r');
    expect(await engine.triggers.invoke({ name: 't', params: { x: 1 } })).toEqual({});
    await sleep(50);
    expect(await engine.activations.list()).toEqual([]);
    expect(done.size).toBe(0);
  });

  it('creates a rule inactive on request', async () => {
    const engine = testEngine();
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a', status: 'inactive' });
    expect(await engine.rules.get('r')).toMatchObject({ status: 'inactive' });
    expect(await engine.triggers.invoke('t')).toEqual({});
  });

  it('enable restores firing', async () => {
    const engine = testEngine();
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    await engine.rules.disable('r');
    expect(await engine.triggers.invoke('t')).toEqual({});
    await engine.rules.enable('r');
    expect(await engine.rules.get('r')).toMatchObject({ status: 'active' });
    const fired: any = await engine.triggers.invoke({ name: 't', params: { back: true } });
    const lines = parseLogs(await waitForActivation(engine, fired.activationId));
    expect(lines).toEqual([{ rule: 'guest/r', action: 'guest/a', statusCode: 0, success: true, activationId: expect.any(String) }]);
    expect((await waitForActivation(engine, lines[0]?.activationId as string)).response.result).toEqual({ back: true });
  });
});

describe('rules: create, update, delete', () => {
  it('refuses to update an active rule with 409 and allows it once disabled', async () => {
    const engine = testEngine();
    await setup(engine, ['a', 'b']);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    const err: any = await rejection(() => engine.rules.update({ name: 'r', trigger: 't', action: 'b' }));
    expect(err.statusCode).toBe(409);
    const overwrite: any = await rejection(() => engine.rules.create({ name: 'r', trigger: 't', action: 'b', overwrite: true }));
    expect(overwrite.statusCode).toBe(409);
    expect(await engine.rules.get('r')).toMatchObject({ action: { path: 'guest', name: 'a' }, version: '0.0.1' });

    await engine.rules.disable('r');
    const updated: any = await engine.rules.update({ name: 'r', trigger: 't', action: 'b' });
    expect(updated).toMatchObject({ action: { path: 'guest', name: 'b' }, version: '0.0.2' });
    expect(((await engine.triggers.get('t')) as any).rules['guest/r'].action).toEqual({ path: 'guest', name: 'b' });
  });

  it('keeps an inactive rule inactive when it is updated', async () => {
    // OpenWhisk's Rules.update re-links the rule with the status it had (ReducedRule(action, status)).
    const engine = testEngine();
    await setup(engine, ['a', 'b']);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    await engine.rules.disable('r');
    const updated: any = await engine.rules.update({ name: 'r', trigger: 't', action: 'b' });
    expect(updated.status).toBe('inactive');
    expect(await engine.rules.get('r')).toMatchObject({ status: 'inactive', action: { path: 'guest', name: 'b' } });
    expect(await engine.triggers.invoke('t')).toEqual({});
  });

  it('moves the rule to another trigger on update', async () => {
    const engine = testEngine();
    await setup(engine);
    await engine.triggers.create({ name: 't1' });
    await engine.triggers.create({ name: 't2' });
    await engine.rules.create({ name: 'r', trigger: 't1', action: 'a' });
    await engine.rules.disable('r');
    await engine.rules.update({ name: 'r', trigger: 't2', action: 'a' });
    expect(((await engine.triggers.get('t1')) as any).rules).toEqual({});
    expect(Object.keys(((await engine.triggers.get('t2')) as any).rules)).toEqual(['guest/r']);
    expect(await engine.rules.get('r')).toMatchObject({ trigger: { path: 'guest', name: 't2' } });
  });

  it('refuses to enable a rule whose trigger no longer exists with 404', async () => {
    // OpenWhisk's Rules.activate: "Only rules with existing triggers can be activated" (404).
    const engine = testEngine();
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    await engine.rules.disable('r');
    await engine.triggers.delete('t');
    const err: any = await rejection(() => engine.rules.enable('r'));
    expect(err.statusCode).toBe(404);
    expect(await engine.rules.get('r')).toMatchObject({ status: 'inactive' });
  });

  it('refuses a duplicate rule with 409', async () => {
    const engine = testEngine();
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    const err: any = await rejection(() => engine.rules.create({ name: 'r', trigger: 't', action: 'a' }));
    expect(err.statusCode).toBe(409);
  });

  it('refuses a rule whose trigger or action does not exist and creates nothing', async () => {
    const engine = testEngine();
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    const noTrigger: any = await rejection(() => engine.rules.create({ name: 'r', trigger: 'missing', action: 'a' }));
    expect(noTrigger.statusCode).toBe(400);
    const noAction: any = await rejection(() => engine.rules.create({ name: 'r', trigger: 't', action: 'missing' }));
    expect(noAction.statusCode).toBe(400);
    expect(((await rejection(() => engine.rules.get('r'))) as any).statusCode).toBe(404);
    expect(await engine.rules.list()).toEqual([]);
    expect(((await engine.triggers.get('t')) as any).rules).toEqual({});
  });

  it('accepts fully qualified trigger and action names', async () => {
    const engine = testEngine();
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    const rule: any = await engine.rules.create({ name: 'r', trigger: '/_/t', action: '/guest/a' });
    expect(rule).toMatchObject({ trigger: { path: 'guest', name: 't' }, action: { path: 'guest', name: 'a' } });
  });

  it('removes a deleted rule from its trigger, after which firing does nothing', async () => {
    const engine = testEngine();
    const done = completions(engine);
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'a' });
    const deleted: any = await engine.rules.delete('r');
    expect(deleted).toMatchObject({ name: 'r' });
    expect(((await engine.triggers.get('t')) as any).rules).toEqual({});
    expect(((await rejection(() => engine.rules.get('r'))) as any).statusCode).toBe(404);
    expect(await engine.triggers.invoke({ name: 't', params: { x: 1 } })).toEqual({});
    await sleep(50);
    expect(done.size).toBe(0);
  });

  it('lists rules', async () => {
    const engine = testEngine();
    await setup(engine);
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r1', trigger: 't', action: 'a' });
    await sleep(2);
    await engine.rules.create({ name: 'r2', trigger: 't', action: 'a' });
    expect((await engine.rules.list()).map((r) => r['name'])).toEqual(['r2', 'r1']);
  });
});
