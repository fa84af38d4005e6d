/**
 * Dead letters over the REST API (docs/durability.md#dead-letters): `/api/v1/namespaces/_/deadletters` lists,
 * shows, re-drives and drops the accepted invocations that could not finish, with coded errors for wrong ids and
 * methods; the server keeps serving.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startStandalone, type Standalone } from '../../src/index';
import { crashEngine } from '../helpers/crashed-engine';
import { sleep } from '../helpers/engine';
import { call } from './http-client';

const AUTH = 'dead-letters-uuid:' + 'beef'.repeat(16);
const dir = mkdtempSync(join(tmpdir(), 'edgewhisk-dead-letters-'));
let server: Standalone | undefined;
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('dead letters over REST', () => {
  it('lists, shows, re-drives and drops them', async () => {
    const store = join(dir, 'engine.db');
    // Three accepted invocations of `slow` survive a kill -9; the action is deleted before they can replay.
    const crash = crashEngine(store, { count: 3, running: 2 });
    server = await startStandalone({ port: 0, auth: AUTH, engine: { store, replay: 'manual', prewarmCount: 0 } });
    const { engine, url } = server;
    await engine.actions.delete('slow');
    expect(await engine.replay()).toMatchObject({ gone: 3 });
    const api = (method: string, path: string, body?: object) =>
      call(url, method, `/api/v1/namespaces/_/${path}`, { auth: AUTH, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

    const listed = await api('GET', 'deadletters');
    expect(listed.status).toBe(200);
    expect(listed.json().map((l: { activationId: string }) => l.activationId).sort()).toEqual([...crash.ids].sort());
    expect((await api('GET', 'deadletters?count=true')).json()).toEqual({ deadLetters: 3 });
    expect((await api('GET', 'deadletters?limit=1')).json()).toHaveLength(1);
    const one = await api('GET', `deadletters/${crash.ids[0]}`);
    expect(one.json()).toMatchObject({ activationId: crash.ids[0], target: '/guest/slow', reason: expect.stringContaining('no longer exists') });

    // Re-driving needs the action: 404 with OpenWhisk's message while it is gone, and the dead letter stays.
    const refused = await api('POST', `deadletters/${crash.ids[0]}`);
    expect(refused.status).toBe(404);
    expect(refused.json()).toMatchObject({ error: expect.stringContaining("The action '/guest/slow' of this dead letter does not exist") });
    expect((await api('GET', 'deadletters?count=true')).json()).toEqual({ deadLetters: 3 });
    await engine.actions.create({ name: 'slow', action: 'function main(p) { return { again: p.i }; }' });
    const redriven = await api('POST', `deadletters/${crash.ids[0]}`);
    expect(redriven.status).toBe(202);
    const { activationId, deadLetter } = redriven.json() as { activationId: string; deadLetter: string };
    expect(deadLetter).toBe(crash.ids[0]);
    expect(redriven.headers['x-openwhisk-activation-id']).toBe(activationId);
    let record: { response?: { result?: unknown } } = {};
    for (let i = 0; i < 100 && record.response === undefined; i++) {
      const reply = await api('GET', `activations/${activationId}`);
      if (reply.status === 200) record = reply.json();
      else await sleep(20);
    }
    expect(record.response?.result).toHaveProperty('again');

    const dropped = await api('DELETE', `deadletters/${crash.ids[1]}`);
    expect(dropped.status).toBe(200);
    expect(dropped.json()).toMatchObject({ activationId: crash.ids[1] });
    expect((await api('GET', 'deadletters')).json().map((l: { activationId: string }) => l.activationId)).toEqual([crash.ids[2]]);

    // Wrong ids, methods and paths get coded answers; the server keeps serving.
    const missing = await api('GET', `deadletters/${crash.ids[1]}`);
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({ error: `No dead letter with activation id '${crash.ids[1]}'.` });
    expect((await api('DELETE', `deadletters/${crash.ids[1]}`)).status).toBe(404);
    expect((await api('PUT', `deadletters/${crash.ids[2]}`)).status).toBe(405);
    expect((await api('POST', 'deadletters')).status).toBe(405);
    expect((await api('GET', `deadletters/${crash.ids[2]}/more`)).status).toBe(404);
    expect((await api('GET', 'deadletters?limit=500')).status).toBe(400);
    expect((await call(url, 'GET', '/api/v1/namespaces/_/deadletters')).status).toBe(401);
    expect((await api('GET', 'deadletters?count=true')).json()).toEqual({ deadLetters: 1 });
  });
});
