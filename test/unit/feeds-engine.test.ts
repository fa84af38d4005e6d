/**
 * Feeds inside the engine: the feed actions leave activation records like any action, an alarm fires a real
 * trigger's rules, a durable store keeps the feed (and never the built-in packages) so the next engine resumes it,
 * deleting the trigger ends the feed, and the system namespace cannot be written.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/index';
import { annotationOf, rejection, sleep, testEngine } from '../helpers/engine';

const dir = mkdtempSync(join(tmpdir(), 'edgewhisk-feeds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ALARM = '/whisk.system/alarms/alarm';

async function ticking(engine: Engine, trigger = 'clock'): Promise<string[]> {
  const ran: string[] = [];
  engine.on('activation:completed', (a) => {
    if (a.name === 'tick' && a.response.success) ran.push(a.activationId);
  });
  await engine.actions.create({ name: 'tick', action: 'function main(p) { return { n: p.n }; }' });
  await engine.triggers.create({ name: trigger });
  await engine.rules.create({ name: `${trigger}-rule`, trigger, action: 'tick' });
  return ran;
}

describe('feeds in the engine', () => {
  it('records each feed action call as an activation: success with the result, refusal as an application error', async () => {
    const engine = testEngine();
    await engine.triggers.create({ name: 'clock' });
    const created = (await engine.feeds.create({ name: ALARM, trigger: 'clock', params: { cron: '0 3 * * *' } })) as {
      activationId: string;
      name: string;
      response: { status: string; result: Record<string, unknown> };
    };
    expect(created.name).toBe('alarm');
    expect(created.response.status).toBe('success');
    expect(annotationOf(created as never, 'path')).toBe('whisk.system/alarms/alarm');
    expect(annotationOf(created as never, 'kind')).toBe('builtin');
    expect((await engine.activations.get(created.activationId)).response.result).toMatchObject({ status: 'success' });
    const refused = await rejection(() => engine.feeds.update({ name: ALARM, trigger: 'clock', params: { cron: '0 3 * * * * *' } }));
    expect(refused.code).toBe('EW_ACTIVATION_FAILED');
    expect(refused.statusCode).toBe(502);
    expect(refused.details.activation.response).toMatchObject({ status: 'application error', result: { error: expect.stringMatching(/it has 7 fields/) } });
    // The refused update left the feed as it was.
    expect(engine.feeds.status('clock')).toMatchObject({ trigger: '/guest/clock', feed: ALARM, state: 'scheduled' });
  });

  it("fires the trigger's rules on the schedule and reports each next fire time as a feed:status event", async () => {
    const engine = testEngine();
    const ran = await ticking(engine);
    const statuses: { state: string; nextFire?: number }[] = [];
    engine.on('feed:status', (s) => statuses.push(s));
    await engine.feeds.create({ name: ALARM, trigger: 'clock', params: { cron: '* * * * * *', trigger_payload: { n: 3 } } });
    await sleep(2_600);
    expect(ran.length).toBeGreaterThanOrEqual(2);
    const records = await Promise.all(ran.map((id) => engine.activations.get(id)));
    expect(records.every((r) => (r.response.result as { n: number }).n === 3)).toBe(true);
    const scheduled = statuses.filter((s) => s.state === 'scheduled');
    expect(scheduled.length).toBeGreaterThanOrEqual(3);
    expect(scheduled.every((s) => typeof s.nextFire === 'number' && s.nextFire % 1000 === 0)).toBe(true);
  });

  it('deleting the trigger ends its feed: no fire after, no status', async () => {
    const engine = testEngine();
    const ran = await ticking(engine);
    await engine.feeds.create({ name: ALARM, trigger: 'clock', params: { cron: '* * * * * *' } });
    await engine.triggers.delete({ name: 'clock' });
    expect(engine.feeds.status('clock')).toBeUndefined();
    await sleep(2_200);
    expect(ran).toEqual([]);
  });

  it('keeps the feed in a durable store, never the system packages, and the next engine on the store resumes it', async () => {
    const store = join(dir, 'resume.db');
    const first = testEngine({ store });
    await ticking(first);
    await first.feeds.create({ name: ALARM, trigger: 'clock', params: { cron: '* * * * * *', trigger_payload: { n: 1 } } });
    await first.close();
    const db = new DatabaseSync(store, { readOnly: true });
    const feeds = db.prepare('SELECT trigger, feed, doc FROM feeds').all() as { trigger: string; feed: string; doc: string }[];
    const system = db.prepare("SELECT count(*) AS n FROM entities WHERE key LIKE 'whisk.system/%'").get() as { n: number };
    db.close();
    expect(feeds.map((f) => [f.trigger, f.feed])).toEqual([['/guest/clock', ALARM]]);
    expect(JSON.parse(feeds[0]?.doc ?? '{}')).toMatchObject({ config: { cron: '* * * * * *', payload: { n: 1 } }, paused: false });
    expect(system.n).toBe(0);

    const second = testEngine({ store });
    const ran: string[] = [];
    second.on('activation:completed', (a) => a.name === 'tick' && ran.push(a.activationId));
    await second.replay();
    expect(second.feeds.status('clock')).toMatchObject({ state: 'scheduled' });
    await sleep(2_300);
    expect(ran.length).toBeGreaterThanOrEqual(1);
  });

  it("with replay: 'manual', stored feeds wait for replay() (Node-RED defines its triggers first)", async () => {
    const store = join(dir, 'manual.db');
    const first = testEngine({ store });
    await ticking(first);
    await first.feeds.create({ name: ALARM, trigger: 'clock', params: { cron: '* * * * * *' } });
    await first.close();
    const second = testEngine({ store, replay: 'manual' });
    const ran: string[] = [];
    second.on('activation:completed', (a) => a.name === 'tick' && ran.push(a.activationId));
    await sleep(1_500);
    expect(ran).toEqual([]);
    await second.replay();
    await sleep(1_500);
    expect(ran.length).toBeGreaterThanOrEqual(1);
  });

  it('refuses writes to the system namespace with 403 and lists its packages', async () => {
    const engine = testEngine();
    for (const write of [
      () => engine.actions.delete({ name: ALARM }),
      () => engine.actions.update({ name: ALARM, action: 'function main() { return {}; }' }),
      () => engine.packages.delete({ name: '/whisk.system/alarms', force: true }),
      () => engine.packages.update({ name: '/whisk.system/alarms', package: {} }),
    ]) {
      const error = await rejection(write);
      expect(error.statusCode).toBe(403);
    }
    const listed = await engine.packages.list({ namespace: 'whisk.system' });
    expect(listed.map((p) => p.name)).toContain('alarms');
    expect((await engine.actions.get({ name: ALARM })).annotations).toContainEqual({ key: 'feed', value: true });
    // The user's own namespace does not show them.
    expect(await engine.packages.list()).toEqual([]);
  });

  it('an oversize trigger_payload is refused at CREATE with 413, before anything is kept', async () => {
    const engine = testEngine({ payloadLimit: 2_048 });
    await engine.triggers.create({ name: 'clock' });
    const error = await rejection(() => engine.feeds.create({ name: ALARM, trigger: 'clock', params: { cron: '* * * * *', trigger_payload: { blob: 'x'.repeat(4_096) } } }));
    expect(error.statusCode).toBe(413);
    expect(engine.feeds.status('clock')).toBeUndefined();
  });
});
