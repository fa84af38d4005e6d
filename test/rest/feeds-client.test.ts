/**
 * Feeds through the official `openwhisk` client against `edgewhisk serve`, as a script or `wsk` would use them: the
 * system packages are listed, an alarm trigger with a 6-field cron fires its rule every second, keeps doing so after
 * the server is killed with SIGKILL and started again on the same home, and is deleted cleanly (no fire after the
 * delete, none after another restart). The feed lifecycle's refusals arrive as OpenWhisk's errors.
 */
import openwhisk from 'openwhisk';
import { afterAll, describe, expect, it } from 'vitest';
import { startServe, type ServeProcess } from '../helpers/serve-process';

const servers: ServeProcess[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

interface Listed {
  activationId: string;
  name: string;
  start: number;
  response?: { success: boolean; result?: Record<string, unknown> };
}

/** The client has `feeds.get` (the READ lifecycle event); its type declarations leave it out. */
const readFeed = (ow: ReturnType<typeof openwhisk>, options: { name: string; trigger: string }): Promise<unknown> =>
  (ow.feeds as unknown as { get(o: typeof options): Promise<unknown> }).get(options);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function kill9(server: ServeProcess): Promise<void> {
  const exited = new Promise((ok) => server.child.once('exit', ok));
  server.child.kill('SIGKILL');
  await exited;
}

describe('feeds through the official client against edgewhisk serve', () => {
  it('an alarm trigger with a 6-field cron fires its rule every second, survives kill -9 and a restart, and is deleted cleanly', async () => {
    const first = await startServe();
    servers.push(first);
    let ow = openwhisk({ apihost: first.url, api_key: first.auth });

    const system = (await ow.packages.list({ namespace: 'whisk.system' } as never)) as { name: string }[];
    expect(system.map((p) => p.name)).toContain('alarms');
    const alarms = (await ow.packages.get({ name: '/whisk.system/alarms' })) as { feeds: { name: string }[]; actions: unknown[] };
    expect(alarms.feeds.map((f) => f.name).sort()).toEqual(['alarm', 'interval', 'once']);

    await ow.actions.create({ name: 'tick', action: 'function main(p) { return { n: p.n }; }' });
    // As `wsk trigger create --feed` does: the trigger carries the feed annotation, then the feed action is called.
    await ow.triggers.create({ name: 'every-second', trigger: { annotations: [{ key: 'feed', value: '/whisk.system/alarms/alarm' }] } } as never);
    await ow.rules.create({ name: 'tick-rule', trigger: 'every-second', action: 'tick' });
    const created = (await ow.feeds.create({ name: '/whisk.system/alarms/alarm', trigger: 'every-second', params: { cron: '* * * * * *', trigger_payload: { n: 7 } } })) as unknown as {
      response: { success: boolean; result: { status: string; nextFire: number } };
    };
    expect(created.response.success).toBe(true);
    expect(created.response.result.status).toBe('success');

    const ticks = async (): Promise<Listed[]> => (await ow.activations.list({ name: 'tick', limit: 200, docs: true } as never)) as Listed[];
    const fires = async (): Promise<Listed[]> => (await ow.activations.list({ name: 'every-second', limit: 200, docs: true } as never)) as Listed[];

    await sleep(4_200);
    const before = await fires();
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.length).toBeLessThanOrEqual(5);
    // One fire per second, each in its own second.
    const seconds = (list: Listed[]) => list.map((a) => Math.floor(a.start / 1000));
    expect(new Set(seconds(before)).size).toBe(before.length);
    const ran = await ticks();
    expect(ran.length).toBeGreaterThanOrEqual(3);
    expect(ran.every((a) => a.response?.success === true && a.response.result?.['n'] === 7)).toBe(true);

    await kill9(first);
    const killedAt = Date.now();
    const second = await startServe({ home: first.home, auth: first.auth });
    servers.push(second);
    ow = openwhisk({ apihost: second.url, api_key: second.auth });
    for (let i = 0; i < 50 && !second.output().includes('feeds:'); i++) await sleep(100);
    expect(second.output()).toMatch(/feeds: +1 resumed \(\/[^/]+\/every-second ← \/whisk\.system\/alarms\/alarm\)/);
    const read = (await readFeed(ow, { name: '/whisk.system/alarms/alarm', trigger: 'every-second' })) as {
      response: { result: { config: { cron: string; payload: unknown }; status: { active: boolean; state: string } } };
    };
    expect(read.response.result.config).toMatchObject({ cron: '* * * * * *', payload: { n: 7 } });
    expect(read.response.result.status).toMatchObject({ active: true, state: 'scheduled' });
    await sleep(3_200);
    const after = (await fires()).filter((a) => a.start > killedAt);
    expect(after.length).toBeGreaterThanOrEqual(2);
    // No storm after the restart: still at most one fire per second.
    const all = await fires();
    expect(new Set(seconds(all)).size).toBe(all.length);
    const tickedAfter = (await ticks()).filter((a) => a.start > killedAt);
    expect(tickedAfter.length).toBeGreaterThanOrEqual(2);

    // Deleted as `wsk trigger delete` does: the feed first, then the trigger.
    const deleted = (await ow.feeds.delete({ name: '/whisk.system/alarms/alarm', trigger: 'every-second' })) as unknown as { response: { result: unknown } };
    expect(deleted.response.result).toEqual({ status: 'success' });
    await ow.triggers.delete({ name: 'every-second' });
    const settled = (await fires()).length;
    await sleep(2_200);
    expect((await fires()).length).toBe(settled);
    await second.stop({ keepHome: true });
    const third = await startServe({ home: first.home, auth: first.auth });
    servers.push(third);
    ow = openwhisk({ apihost: third.url, api_key: third.auth });
    await sleep(2_200);
    expect((await fires()).length).toBe(settled);
    const gone = await readFeed(ow, { name: '/whisk.system/alarms/alarm', trigger: 'every-second' }).then(
      () => undefined,
      (e: { statusCode: number; message: string }) => e,
    );
    expect(gone?.statusCode).toBe(502);
    expect(gone?.message).toContain('trigger /');
    expect(gone?.message).toContain('has no feed');
  }, 60_000);

  it('answers refused lifecycle calls and writes to the system namespace with OpenWhisk statuses, and keeps serving', async () => {
    const server = await startServe();
    servers.push(server);
    const ow = openwhisk({ apihost: server.url, api_key: server.auth });
    await ow.triggers.create({ name: 'nightly' });
    const bad = await ow.feeds.create({ name: '/whisk.system/alarms/alarm', trigger: 'nightly', params: { cron: '0 3 * *' } }).then(
      () => undefined,
      (e: { statusCode: number; message: string; error: { response: { result: { error: string } } } }) => e,
    );
    expect(bad?.statusCode).toBe(502);
    expect(bad?.error.response.result.error).toMatch(/^cron pattern '0 3 \* \*' is not valid: it has 4 fields; use 5 fields/);
    const missing = await ow.feeds.create({ name: '/whisk.system/alarms/alarm', trigger: 'nope', params: { cron: '0 3 * * *' } }).then(
      () => undefined,
      (e: { error: { response: { result: { error: string } } } }) => e,
    );
    expect(missing?.error.response.result.error).toMatch(/trigger \/.*\/nope does not exist: create the trigger before its feed/);
    for (const attempt of [
      () => ow.actions.create({ name: '/whisk.system/alarms/evil', action: 'function main() { return {}; }' }),
      () => ow.actions.delete({ name: '/whisk.system/alarms/alarm' }),
      () => ow.packages.delete({ name: '/whisk.system/alarms' }),
      () => ow.triggers.create({ name: '/whisk.system/t' }),
    ]) {
      const refused = await attempt().then(
        () => undefined,
        (e: { statusCode: number }) => e,
      );
      expect(refused?.statusCode).toBe(403);
    }
    // Still serving, and the feed action is intact.
    const ok = (await ow.feeds.create({ name: '/whisk.system/alarms/alarm', trigger: 'nightly', params: { cron: '0 3 * * *', timezone: 'Europe/Berlin' } })) as unknown as {
      response: { result: { nextFireISO: string } };
    };
    expect(ok.response.result.nextFireISO).toMatch(/T0[12]:00:00.000Z$/);
  }, 30_000);
});
