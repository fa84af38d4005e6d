/**
 * The REST API an engine node exposes on a real Node-RED process (not the test helper), as Home Assistant or a script
 * reaches it: with Node-RED's default settings the editor and the HTTP nodes share the root path, and the editor
 * API's JSON body parser reads every JSON request before the API sees it. Entities, invocations with parameters, and
 * a feed created through the official client must still work there.
 */
import openwhisk from 'openwhisk';
import { afterAll, describe, expect, it } from 'vitest';
import { startNodeRed, type NodeRedProcess } from '../helpers/node-red-process';

let red: NodeRedProcess | undefined;
afterAll(() => red?.stop());

const AUTH = 'exposed-uuid:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

describe('an engine node exposing the REST API in a real Node-RED process', () => {
  it('takes JSON bodies the editor API already parsed: actions, blocking invokes with parameters, triggers, feeds', async () => {
    red = await startNodeRed({
      flows: [{ id: 'tab1', type: 'tab', label: 'api' }, { id: 'e1', type: 'edgewhisk-engine', name: 'exposed', exposeApi: true, apiPath: '/ew' }],
      files: { 'flows_cred.json': JSON.stringify({ e1: { apiAuth: AUTH } }) },
    });
    const ow = openwhisk({ apihost: `${red.url}/ew`, api_key: AUTH });
    await ow.actions.create({ name: 'double', action: 'function main(p) { return { doubled: p.n * 2 }; }' });
    const result = await ow.actions.invoke({ name: 'double', params: { n: 21 }, blocking: true, result: true });
    expect(result).toEqual({ doubled: 42 });
    await ow.triggers.create({ name: 'ticks' });
    await ow.rules.create({ name: 'ticks-double', trigger: 'ticks', action: 'double' });
    const fired = (await ow.triggers.invoke({ name: 'ticks', params: { n: 5 } })) as { activationId: string };
    expect(fired.activationId).toMatch(/^[0-9a-f]{32}$/);
    const created = (await ow.feeds.create({ name: '/whisk.system/alarms/alarm', trigger: 'ticks', params: { cron: '0 3 * * *', trigger_payload: { n: 1 } } })) as unknown as {
      response: { result: { status: string; state: string } };
    };
    expect(created.response.result).toMatchObject({ status: 'success', state: 'scheduled' });
    // A body over the route's cap is still refused with 413, parsed or not.
    const huge = await ow.triggers.invoke({ name: 'ticks', params: { blob: 'x'.repeat(1_100_000) } }).then(
      () => undefined,
      (e: { statusCode: number }) => e,
    );
    expect(huge?.statusCode).toBe(413);
  }, 60_000);
});
