/**
 * `edgewhisk serve` killed with SIGKILL and started again on the same EDGEWHISK_HOME: what the API confirmed before
 * the kill (entities, rule states, finished activation records) is there after it, through the official client.
 */
import openwhisk from 'openwhisk';
import { afterAll, describe, expect, it } from 'vitest';
import { startServe, type ServeProcess } from '../helpers/serve-process';

const servers: ServeProcess[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

describe('edgewhisk serve across a kill -9', () => {
  it('keeps actions, triggers, rules with their states, packages and activation records', async () => {
    const first = await startServe();
    servers.push(first);
    const ow = openwhisk({ apihost: first.url, api_key: first.auth });
    await ow.packages.create({ name: 'lights' });
    await ow.actions.create({ name: 'lights/on', action: 'function main(p) { return { on: p.room }; }' });
    await ow.actions.create({ name: 'hello', action: 'function main(p) { return { hi: p.who }; }', params: { who: 'pi' } });
    await ow.triggers.create({ name: 'motion' });
    await ow.rules.create({ name: 'motion-on', trigger: 'motion', action: 'lights/on' });
    await ow.rules.create({ name: 'motion-hello', trigger: 'motion', action: 'hello' });
    await ow.rules.disable({ name: 'motion-hello' });
    const run = (await ow.actions.invoke({ name: 'hello', blocking: true })) as { activationId: string };
    const before = await ow.actions.get({ name: 'hello' });
    // Records are committed on the event-loop turn after they complete: give that turn.
    await new Promise((r) => setTimeout(r, 100));
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    const second = await startServe({ home: first.home, auth: first.auth });
    servers.push(second);
    expect(second.output()).toContain(`store:     ${first.home}/engine.db`);
    const again = openwhisk({ apihost: second.url, api_key: second.auth });
    expect(await again.actions.get({ name: 'hello' })).toEqual(before);
    expect(((await again.rules.get({ name: 'motion-on' })) as { status: string }).status).toBe('active');
    expect(((await again.rules.get({ name: 'motion-hello' })) as { status: string }).status).toBe('inactive');
    expect(((await again.packages.get({ name: 'lights' })) as { actions: { name: string }[] }).actions.map((a) => a.name)).toEqual(['on']);
    const record = (await again.activations.get({ name: run.activationId })) as { response: { result: unknown } };
    expect(record.response.result).toEqual({ hi: 'pi' });
    // The restored rule works: the trigger fires the active rule's action.
    const fired = (await again.triggers.invoke({ name: 'motion', params: { room: 'hall' } })) as { activationId: string };
    const trigger = (await again.activations.get({ name: fired.activationId })) as { logs: string[] };
    const started = trigger.logs.map((l) => JSON.parse(l) as { rule: string; success: boolean }).filter((r) => r.success);
    expect(started.map((r) => r.rule)).toEqual(['guest/motion-on']);
  });

  it("keeps nothing with --store memory", async () => {
    const first = await startServe({ args: ['--store', 'memory'] });
    servers.push(first);
    expect(first.output()).toContain('store:     memory');
    await openwhisk({ apihost: first.url, api_key: first.auth }).actions.create({ name: 'gone', action: 'function main() { return {}; }' });
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const second = await startServe({ home: first.home, auth: first.auth, args: ['--store', 'memory'] });
    servers.push(second);
    expect(await openwhisk({ apihost: second.url, api_key: second.auth }).actions.list()).toEqual([]);
  });
});
