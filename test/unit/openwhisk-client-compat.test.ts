/**
 * Code written against the official `openwhisk` npm client runs against the engine unchanged.
 *
 * `scenario` is typed with the client's own declarations (openwhisk/lib/main.d.ts), so the type check proves every
 * call is valid client code. It runs once against the engine, and once against the real client with its transport
 * replaced by a recorder (there is no REST server yet), which shows the same calls are the requests OpenWhisk's REST
 * API expects.
 */
import openwhisk from 'openwhisk';
import { describe, expect, it } from 'vitest';
import { testEngine } from '../helpers/engine';
import { hostNodeKind } from '../../src/runtimes/node-kinds';

/** The kind `nodejs:default` resolves to on the worker runtime: the Node.js running the tests. */
const HOST_KIND = hostNodeKind();

type Ow = Pick<openwhisk.Client, 'actions' | 'triggers' | 'rules' | 'activations'>;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function scenario(ow: Ow) {
  const name = 'hello';
  const created = await ow.actions.create({
    name,
    action: 'function main(p) { return { greeting: `Hello, ${p.who}!`, from: p.from }; }',
    params: { who: 'world', from: 'default' },
  });
  const direct = await ow.actions.invoke({ name, params: { who: 'edge' }, blocking: true, result: true });
  await ow.triggers.create({ name: 'doorbell' });
  await ow.rules.create({ name: 'ring', trigger: 'doorbell', action: name });
  const fired = await ow.triggers.invoke({ name: 'doorbell', params: { who: 'visitor', from: 'trigger' } });
  // Wait until the rule's activation is stored next to the direct one.
  let activations = await ow.activations.list({ name, limit: 10 });
  for (let i = 0; i < 200 && activations.length < 2; i++) {
    await pause(20);
    activations = await ow.activations.list({ name, limit: 10 });
  }
  const deleted = await ow.actions.delete({ name });
  return { created, direct, fired, activations, deleted };
}

describe('openwhisk client compatibility', () => {
  it('runs the scenario against the engine', async () => {
    const engine = testEngine();
    const out = await scenario(engine as unknown as Ow);

    expect(out.created).toMatchObject({ name: 'hello', namespace: 'guest', version: '0.0.1', exec: { kind: HOST_KIND } });
    expect(out.direct).toEqual({ greeting: 'Hello, edge!', from: 'default' });
    expect(out.fired.activationId).toMatch(/^[0-9a-f]{32}$/);
    expect(out.activations).toHaveLength(2);
    for (const a of out.activations) expect(a).toMatchObject({ name: 'hello', namespace: 'guest', activationId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(out.deleted).toMatchObject({ name: 'hello' });

    // The newest activation is the rule's: payload over trigger parameter over action default.
    const ruleRun: any = await engine.activations.get(out.activations[0]?.activationId as string);
    expect(ruleRun.response.result).toEqual({ greeting: 'Hello, visitor!', from: 'trigger' });
    const fire: any = await engine.activations.get(out.fired.activationId);
    expect(JSON.parse(fire.logs[0])).toMatchObject({ rule: 'guest/ring', action: 'guest/hello', success: true, activationId: ruleRun.activationId });
    expect((await engine.actions.list()).length).toBe(0);
  });

  it('issues the OpenWhisk REST requests for the same scenario through the real client', async () => {
    const ow = openwhisk({ apihost: 'https://openwhisk.invalid', api_key: 'user:key' });
    const requests: { method: string; path: string; qs: unknown; body: unknown }[] = [];
    const client = (ow.actions as unknown as { client: { request: (method: string, path: string, options: any) => Promise<unknown> } }).client;
    client.request = async (method, path, options) => {
      requests.push({ method, path, qs: options.qs, body: options.body });
      if (method === 'POST' && path.endsWith('/actions/hello')) return { activationId: 'a1', response: { result: { greeting: 'Hello, edge!' } } };
      if (method === 'POST' && path.endsWith('/triggers/doorbell')) return { activationId: 't1' };
      if (method === 'GET' && path.endsWith('/activations')) return [{ activationId: 'x1' }, { activationId: 'x2' }];
      return { name: path.split('/').pop() };
    };
    const out = await scenario(ow);
    expect(out.direct).toEqual({ greeting: 'Hello, edge!' });

    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT namespaces/_/actions/hello',
      'POST namespaces/_/actions/hello',
      'PUT namespaces/_/triggers/doorbell',
      'PUT namespaces/_/rules/ring',
      'POST namespaces/_/triggers/doorbell',
      'GET namespaces/_/activations',
      'DELETE namespaces/_/actions/hello',
    ]);
    const [createAction, invoke, createTrigger, createRule, fire, list] = requests;
    expect(createAction?.body).toEqual({
      exec: { kind: 'nodejs:default', code: 'function main(p) { return { greeting: `Hello, ${p.who}!`, from: p.from }; }' },
      parameters: [
        { key: 'who', value: 'world' },
        { key: 'from', value: 'default' },
      ],
    });
    expect(invoke?.qs).toEqual({ blocking: true });
    expect(invoke?.body).toEqual({ who: 'edge' });
    expect(createTrigger?.body).toEqual({});
    expect(createRule?.body).toEqual({ action: '/_/hello', trigger: '/_/doorbell' });
    expect(fire?.body).toEqual({ who: 'visitor', from: 'trigger' });
    expect(list?.qs).toEqual({ name: 'hello', limit: 10 });

    // The engine accepts those very bodies too: the action body as `action`, the rule's fully qualified names.
    const engine = testEngine();
    await engine.actions.create({ name: 'hello', action: createAction?.body as Record<string, unknown> });
    expect(await engine.actions.invoke({ name: 'hello', params: invoke?.body, blocking: true, result: true })).toEqual({
      greeting: 'Hello, edge!',
      from: 'default',
    });
    await engine.triggers.create({ name: 'doorbell', trigger: createTrigger?.body as Record<string, unknown> });
    const rule = createRule?.body as { action: string; trigger: string };
    expect(await engine.rules.create({ name: 'ring', ...rule })).toMatchObject({
      status: 'active',
      action: { path: 'guest', name: 'hello' },
      trigger: { path: 'guest', name: 'doorbell' },
    });
  });
});
