/**
 * Accepted invocations with a durable store (docs/durability.md): on disk before their id is returned, ended in the
 * same commit as their record, run again after a crash with their own ids, retried after whisk internal errors,
 * dead-lettered when they cannot finish, and refused (not lost) by a full disk.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { ActionsApi } from '../../src/api/actions-api';
import { EngineCore } from '../../src/engine-core';
import { EntityStore } from '../../src/entities/entity-store';
import type { Engine } from '../../src/index';
import { resolveOptions } from '../../src/options';
import type { Runtime } from '../../src/runtimes/runtime';
import { WorkerRuntime } from '../../src/runtimes/worker/worker-runtime';
import { GroupCommit } from '../../src/store/group-commit';
import { ENGINE_MIGRATIONS } from '../../src/store/schema';
import { SqliteAcceptedLog } from '../../src/store/sqlite-accepted-log';
import { SqliteActivationStore } from '../../src/store/sqlite-activation-store';
import { openDatabase } from '../../src/store/sqlite-database';
import { SqliteEntityJournal } from '../../src/store/sqlite-entity-journal';
import { crashEngine, SLOW_ACTION } from '../helpers/crashed-engine';
import { annotationOf, rejection, sleep, testEngine } from '../helpers/engine';

const folders: string[] = [];
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function storeFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgewhisk-accepted-'));
  folders.push(dir);
  return join(dir, 'engine.db');
}

/** What another process reading the file would see: committed rows only. */
function acceptedOnDisk(store: string): string[] {
  const db = new DatabaseSync(store, { readOnly: true });
  try {
    return (db.prepare('SELECT id FROM accepted ORDER BY seq').all() as { id: string }[]).map((r) => r.id);
  } finally {
    db.close();
  }
}

async function finalRecord(engine: Engine, id: string, within = 20_000) {
  const deadline = Date.now() + within;
  for (;;) {
    try {
      return await engine.activations.get(id);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

/** A runtime whose containers cannot start while `failing` says so: a whisk internal error, as a lost daemon gives. */
function flakyRuntime(failing: () => boolean): Runtime {
  const inner = new WorkerRuntime();
  return {
    name: 'flaky',
    kinds: inner.kinds,
    create: (spec) => (failing() ? Promise.reject(new Error('the daemon is gone')) : inner.create(spec)),
  } as Runtime;
}

describe('accepted invocations', () => {
  it('are on disk before a non-blocking invoke returns their id, and leave it in the commit of their record', async () => {
    const store = storeFile();
    const engine = testEngine({ store });
    await engine.actions.create({ name: 'slow', action: SLOW_ACTION });
    const { activationId } = (await engine.actions.invoke({ name: 'slow', params: { ms: 300 } })) as { activationId: string };
    expect(acceptedOnDisk(store)).toEqual([activationId]);
    const record = await finalRecord(engine, activationId);
    expect(record.response.result).toEqual({});
    await sleep(50);
    expect(acceptedOnDisk(store)).toEqual([]);
  });

  it('writes a blocking invocation down only when its wait expires and it is demoted to an id', async () => {
    const store = storeFile();
    const engine = testEngine({ store });
    await engine.actions.create({ name: 'slow', action: SLOW_ACTION });
    await engine.actions.invoke({ name: 'slow', params: { ms: 10 }, blocking: true });
    expect(acceptedOnDisk(store)).toEqual([]);
    const demoted = (await engine.actions.invoke({ name: 'slow', params: { ms: 600 }, blocking: true, timeout: 50 })) as { activationId: string };
    expect(acceptedOnDisk(store)).toEqual([demoted.activationId]);
    await finalRecord(engine, demoted.activationId);
  });

  it('are all run once more after a kill -9, with their own ids; only those that were running carry attempt 2', async () => {
    const store = storeFile();
    const crash = crashEngine(store, { count: 20, running: 2 });
    expect(crash.ids).toHaveLength(20);
    expect(acceptedOnDisk(store)).toEqual(crash.ids);
    const engine = testEngine({ store, memoryBudget: 2048 });
    const records = await Promise.all(crash.ids.map((id) => finalRecord(engine, id)));
    records.forEach((record, i) => {
      expect(record.response.result).toEqual({ i });
      expect(annotationOf(record, 'attempt')).toBe(crash.started.includes(record.activationId) ? 2 : undefined);
    });
    expect(crash.started).toHaveLength(2);
    await sleep(50);
    expect(acceptedOnDisk(store)).toEqual([]);
    // Exactly one record per id: nothing else was run.
    expect(await engine.activations.list({ name: 'slow', count: true })).toEqual({ activations: 20 });
  });

  it('record what waited past maxReplayAge as expired dead letters, which can be inspected, re-driven and dropped', async () => {
    const store = storeFile();
    // Both containers busy: no third start can slip in before the kill.
    const crash = crashEngine(store, { count: 3, running: 2 });
    await sleep(30);
    const engine = testEngine({ store, maxReplayAge: 10, replay: 'manual' });
    expect(await engine.replay()).toMatchObject({ expired: 3, queued: 0, rerun: 0 });
    for (const id of crash.ids) {
      const record = await finalRecord(engine, id);
      expect(record.response.status).toBe('whisk internal error');
      expect(record.response.result).toEqual({ error: expect.stringMatching(/waited longer than maxReplayAge \(10 ms\)/) });
    }
    expect(await engine.deadLetters.list({ count: true })).toEqual({ deadLetters: 3 });
    // The one that was running at the kill had made one attempt; the others none.
    const running = crash.started[0] as string;
    expect(await engine.deadLetters.get(running)).toMatchObject({ activationId: running, target: '/guest/slow', attempts: 1 });
    const letter = await engine.deadLetters.get(crash.ids[0] as string);
    expect(letter).toMatchObject({ activationId: crash.ids[0], target: '/guest/slow', payload: { i: 0 }, attempts: crash.started.includes(crash.ids[0] as string) ? 1 : 0 });
    const redriven = await engine.deadLetters.redrive({ activationId: crash.ids[0] as string });
    expect(redriven.activationId).not.toBe(crash.ids[0]);
    expect((await finalRecord(engine, redriven.activationId)).response.result).toEqual({ i: 0 });
    await engine.deadLetters.delete(crash.ids[1] as string);
    expect((await engine.deadLetters.list()).map((l) => l.activationId)).toEqual([crash.ids[2]]);
    expect(await rejection(() => engine.deadLetters.get(crash.ids[1] as string))).toMatchObject({ code: 'EW_DEAD_LETTER_NOT_FOUND', statusCode: 404 });
    // The expired records stay the final ones: re-driving made a new activation, not a second record of the old id.
    expect((await engine.activations.get(crash.ids[0] as string)).response.status).toBe('whisk internal error');
  });

  it("give invocations whose action is gone after the restart a record saying so, and a dead letter", async () => {
    const store = storeFile();
    const crash = crashEngine(store, { count: 4, running: 2 });
    const engine = testEngine({ store, replay: 'manual' });
    await engine.actions.delete('slow');
    expect(await engine.replay()).toMatchObject({ gone: 4 });
    for (const id of crash.ids) {
      expect((await finalRecord(engine, id)).response.result).toEqual({ error: expect.stringMatching(/The action '\/guest\/slow' of the invocation accepted at .* no longer exists/) });
    }
    expect(await engine.deadLetters.list({ count: true })).toEqual({ deadLetters: 4 });
    // Replay is once: a second call changes nothing.
    expect(await engine.replay()).toMatchObject({ gone: 4 });
  });

  it('retry whisk internal errors with backoff and record the attempt that succeeded', async () => {
    let failures = 2;
    const engine = testEngine({ store: storeFile(), runtimes: [flakyRuntime(() => failures-- > 0)], defaultRuntime: 'flaky', retryBackoff: 20 });
    await engine.actions.create({ name: 'ok', action: 'function main(p) { return { ok: p.n }; }' });
    const began = Date.now();
    const { activationId } = (await engine.actions.invoke({ name: 'ok', params: { n: 7 } })) as { activationId: string };
    const record = await finalRecord(engine, activationId);
    expect(record.response.result).toEqual({ ok: 7 });
    expect(annotationOf(record, 'attempt')).toBe(3);
    // Backoff of 20 then 40 ms.
    expect(Date.now() - began).toBeGreaterThanOrEqual(60);
    expect(await engine.deadLetters.list()).toEqual([]);
  });

  it('dead-letter an invocation whose internal errors outlast retryLimit; a re-drive runs it once the cause is gone', async () => {
    let broken = true;
    const engine = testEngine({ store: storeFile(), runtimes: [flakyRuntime(() => broken)], defaultRuntime: 'flaky', retryBackoff: 5, retryLimit: 2 });
    await engine.actions.create({ name: 'ok', action: 'function main(p) { return { ok: p.n }; }' });
    const { activationId } = (await engine.actions.invoke({ name: 'ok', params: { n: 1 } })) as { activationId: string };
    const record = await finalRecord(engine, activationId);
    expect(record.response.status).toBe('whisk internal error');
    expect(annotationOf(record, 'attempt')).toBe(3);
    const [letter] = await engine.deadLetters.list();
    expect(letter).toMatchObject({ activationId, attempts: 3, payload: { n: 1 }, reason: record.response.result && (record.response.result as { error: string }).error });
    broken = false;
    const again = await engine.deadLetters.redrive(activationId);
    expect((await finalRecord(engine, again.activationId)).response.result).toEqual({ ok: 1 });
    expect(await engine.deadLetters.list()).toEqual([]);
  });

  it('do not retry application or developer errors', async () => {
    const engine = testEngine({ store: storeFile(), retryBackoff: 5 });
    await engine.actions.create({ name: 'app', action: 'function main() { return { error: "no" }; }' });
    await engine.actions.create({ name: 'dev', action: 'function main() { throw new Error("bug"); }' });
    for (const name of ['app', 'dev']) {
      const { activationId } = (await engine.actions.invoke({ name })) as { activationId: string };
      expect(annotationOf(await finalRecord(engine, activationId), 'attempt')).toBeUndefined();
    }
    expect(await engine.deadLetters.list()).toEqual([]);
  });

  it('stay accepted when the engine closes before they finish, and the next engine on the store finishes them', async () => {
    const store = storeFile();
    const first = testEngine({ store, memoryBudget: 256 });
    await first.actions.create({ name: 'slow', action: SLOW_ACTION });
    const ids = await Promise.all([0, 1, 2].map(async (i) => ((await first.actions.invoke({ name: 'slow', params: { i, ms: 400 } })) as { activationId: string }).activationId));
    await new Promise((r) => first.once('activation:started', r));
    await first.close(0);
    expect(acceptedOnDisk(store)).toEqual(ids);
    const second = testEngine({ store });
    const records = await Promise.all(ids.map((id) => finalRecord(second, id)));
    expect(records.map((r) => r.response.result)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    // The one that was running when the first engine closed runs as its second attempt.
    expect(records.map((r) => annotationOf(r, 'attempt'))).toEqual([2, undefined, undefined]);
  });

  it("accept a trigger's rule invocations before the fire is answered", async () => {
    const store = storeFile();
    const engine = testEngine({ store });
    await engine.actions.create({ name: 'slow', action: SLOW_ACTION });
    await engine.triggers.create({ name: 't' });
    await engine.rules.create({ name: 'r', trigger: 't', action: 'slow' });
    const fired = await engine.triggers.invoke({ name: 't', params: { ms: 300 } });
    const trigger = await finalRecord(engine, fired.activationId as string);
    const ruleRun = JSON.parse(trigger.logs[0] as string) as { activationId: string };
    expect(acceptedOnDisk(store)).toEqual([ruleRun.activationId]);
    await finalRecord(engine, ruleRun.activationId);
  });
});

describe('a sequence killed mid-way', () => {
  it('goes on from the step it was at: finished steps are not run again, the running one is, as attempt 2', async () => {
    const store = storeFile();
    const script = `
      const { createEngine } = require(${JSON.stringify(join(__dirname, '../../dist/index.js'))});
      (async () => {
        const engine = createEngine({ store: ${JSON.stringify('__STORE__')}, prewarmCount: 0 });
        await engine.actions.create({ name: 'first', action: 'function main(p) { return { n: p.n + 1 }; }' });
        await engine.actions.create({ name: 'slow', action: 'function main(p) { return new Promise((r) => setTimeout(() => r({ n: p.n * 10 }), 1500)); }' });
        await engine.actions.create({ name: 'last', action: 'function main(p) { return { n: p.n + 5 }; }' });
        await engine.actions.create({ name: 'seq', sequence: ['first', 'slow', 'last'] });
        engine.on('activation:started', (a) => {
          if (a.name === 'slow') setTimeout(() => process.stdout.write(JSON.stringify({ seq, slow: a.activationId }), () => process.kill(process.pid, 'SIGKILL')), 100);
        });
        const seq = (await engine.actions.invoke({ name: 'seq', params: { n: 1 } })).activationId;
      })().catch((error) => { console.error(error); process.exit(3); });
    `.replace('__STORE__', store);
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(run.signal).toBe('SIGKILL');
    const crash = JSON.parse(run.stdout) as { seq: string; slow: string };
    const engine = testEngine({ store });
    const record = await finalRecord(engine, crash.seq);
    // (1 + 1) * 10 + 5: the second step ran on the first step's result from before the kill.
    expect(record.response.result).toEqual({ n: 25 });
    expect(record.logs).toHaveLength(3);
    expect(record.logs[1]).toBe(crash.slow);
    expect(annotationOf(await engine.activations.get(crash.slow), 'attempt')).toBe(2);
    expect(await engine.activations.list({ name: 'first', count: true })).toEqual({ activations: 1 });
    expect(await engine.activations.list({ name: 'slow', count: true })).toEqual({ activations: 1 });
    expect(annotationOf(record, 'attempt')).toBe(2);
  });
});

describe('a full disk', () => {
  it('refuses a new invocation with EW_STORE_FULL (507), runs nothing of it, and keeps what was accepted before', async () => {
    const opened = openDatabase(storeFile(), ENGINE_MIGRATIONS);
    const writer = new GroupCommit(opened);
    const core = new EngineCore(
      resolveOptions({ prewarmCount: 0 }),
      new Map([['worker', new WorkerRuntime() as Runtime]]),
      new SqliteActivationStore({ writer }),
      new EntityStore(new SqliteEntityJournal(opened)),
      new SqliteAcceptedLog(writer, 100),
    );
    core.startPool();
    const actions = new ActionsApi(core);
    await actions.create({ name: 'slow', action: SLOW_ACTION });
    const before = (await actions.invoke({ name: 'slow', params: { ms: 5000, i: 1 } })) as { activationId: string };
    const pages = Number((opened.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count);
    opened.db.exec(`PRAGMA max_page_count = ${pages}`);
    const started: string[] = [];
    core.on('activation:started', (a) => started.push(a.activationId));
    const refused = await rejection(() => actions.invoke({ name: 'slow', params: { pad: 'x'.repeat(20_000) } }));
    expect(refused).toMatchObject({ code: 'EW_STORE_FULL', statusCode: 507 });
    await sleep(500);
    expect(started.filter((id) => id !== before.activationId)).toEqual([]);
    // What was accepted before is still on disk, to run after a restart if need be.
    expect((opened.db.prepare('SELECT id FROM accepted').all() as { id: string }[]).map((r) => r.id)).toContain(before.activationId);
    opened.db.exec('PRAGMA max_page_count = 1000000');
    await core.close(0);
    writer.close();
    opened.db.close();
  });
});

describe('an engine closed while it replays', () => {
  it('leaves what it did not start accepted on disk, not dead-lettered', async () => {
    const store = storeFile();
    const crash = crashEngine(store, { count: 30, running: 2 });
    const engine = testEngine({ store, replay: 'manual', memoryBudget: 256 });
    const replaying = engine.replay();
    const closing = engine.close(0);
    await replaying;
    await closing;
    const left = acceptedOnDisk(store);
    expect(left.length).toBeGreaterThan(0);
    const next = testEngine({ store });
    expect(await next.deadLetters.list({ count: true })).toEqual({ deadLetters: 0 });
    const records = await Promise.all(crash.ids.map((id) => finalRecord(next, id)));
    expect(records.every((r) => r.response.success)).toBe(true);
  });
});
