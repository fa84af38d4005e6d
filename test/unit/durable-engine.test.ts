/**
 * An engine with a store (`store: <file>`): what it created is there for the next engine on the same file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testEngine } from '../helpers/engine';

const folders: string[] = [];
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function storeFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgewhisk-durable-'));
  folders.push(dir);
  return join(dir, 'engine.db');
}

describe('an engine with a store', () => {
  it('finds the actions, triggers, rules with their states, packages and records of the engine before it', async () => {
    const store = storeFile();
    const first = testEngine({ store });
    await first.packages.create({ name: 'lights', params: { brightness: 80 } });
    await first.actions.create({ name: 'lights/on', action: 'function main(p) { return { on: true, b: p.brightness }; }' });
    await first.actions.create({ name: 'hello', action: 'function main(p) { return { hi: p.who }; }', params: { who: 'pi' }, limits: { timeout: 5000 } });
    await first.actions.create({ name: 'both', sequence: ['hello', 'lights/on'] });
    await first.triggers.create({ name: 'motion' });
    await first.rules.create({ name: 'motion-on', trigger: 'motion', action: 'lights/on' });
    await first.rules.create({ name: 'motion-hello', trigger: 'motion', action: 'hello' });
    await first.rules.disable({ name: 'motion-hello' });
    await first.actions.delete({ name: 'both' });
    const run = (await first.actions.invoke({ name: 'hello', blocking: true })) as { activationId: string };
    const hello = await first.actions.get({ name: 'hello' });
    await first.close();

    const second = testEngine({ store });
    expect(await second.actions.get({ name: 'hello' })).toEqual(hello);
    expect((await second.actions.list()).map((a) => a.name).sort()).toEqual(['hello', 'on']);
    expect((await second.rules.get('motion-on')).status).toBe('active');
    expect((await second.rules.get('motion-hello')).status).toBe('inactive');
    expect((await second.packages.get('lights')).parameters).toEqual([{ key: 'brightness', value: 80 }]);
    expect((await second.activations.get(run.activationId)).response.result).toEqual({ hi: 'pi' });
    // And they work: the trigger fires the active rule only, through the stored package binding of parameters.
    const fired = await second.triggers.invoke({ name: 'motion' });
    const trigger = await second.activations.get(fired.activationId as string);
    expect(trigger.logs.map((l) => JSON.parse(l).rule).sort()).toEqual(['guest/motion-hello', 'guest/motion-on']);
    await second.close();
  });

  it("keeps 'memory' stores in memory", async () => {
    const engine = testEngine({ store: 'memory' });
    await engine.actions.create({ name: 'a', action: 'function main() { return {}; }' });
    await engine.close();
    const next = testEngine({ store: 'memory' });
    expect(await next.actions.list()).toEqual([]);
    await next.close();
  });
});
