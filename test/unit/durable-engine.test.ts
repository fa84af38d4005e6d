/**
 * An engine with a store (`store: <file>`): what it created is there for the next engine on the same file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EntityStore } from '../../src/entities/entity-store';
import { ENGINE_MIGRATIONS } from '../../src/store/schema';
import { SqliteActivationStore } from '../../src/store/sqlite-activation-store';
import { openDatabase } from '../../src/store/sqlite-database';
import { SqliteEntityJournal } from '../../src/store/sqlite-entity-journal';
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

describe('a full disk', () => {
  it('refuses an entity write with EW_STORE_FULL (507) and changes nothing; activation records wait in memory', async () => {
    const opened = openDatabase(storeFile(), ENGINE_MIGRATIONS);
    // SQLite answers "database or disk is full" (SQLITE_FULL) past max_page_count, as it does on a full disk.
    const pages = Number((opened.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count);
    opened.db.exec(`PRAGMA max_page_count = ${pages + 2}`);
    const entities = new EntityStore(new SqliteEntityJournal(opened));
    const doc = (i: number) => ({ namespace: 'guest', name: `t${i}`, version: '0.0.1', publish: false, annotations: [], updated: i, parameters: [{ key: 'pad', value: 'x'.repeat(3000) }], limits: {}, rules: {} });
    let refused: unknown;
    let stored = 0;
    for (let i = 0; i < 50 && refused === undefined; i++) {
      try {
        entities.put('trigger', doc(i));
        stored++;
      } catch (error) {
        refused = error;
      }
    }
    expect(refused).toMatchObject({ code: 'EW_STORE_FULL', statusCode: 507 });
    // The refused entity is not in memory either: what the engine serves is what is on disk.
    expect(entities.list('trigger', 'guest')).toHaveLength(stored);
    expect(entities.find('trigger', { namespace: 'guest', name: `t${stored}` })).toBeUndefined();

    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    const records = new SqliteActivationStore({ database: opened });
    const record = { namespace: 'guest', name: 'a', subject: 'guest', activationId: 'f'.repeat(32), version: '0.0.1', publish: false, start: 1, end: 2, response: { statusCode: 0 as const, result: {} }, logs: ['y'.repeat(20_000)], annotations: [] };
    records.put(record);
    records.flush();
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(warnings.join('\n')).toMatch(/store at .* is full/);
    // Not lost: still served, and committed once there is room.
    expect(records.get(record.activationId)).toEqual(record);
    opened.db.exec('PRAGMA max_page_count = 1000000');
    records.flush();
    records.close();
    const reopened = new SqliteActivationStore({ path: opened.path });
    expect(reopened.get(record.activationId)).toEqual(record);
    reopened.close();
    opened.db.close();
  });
});
