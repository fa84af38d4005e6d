import openwhisk from 'openwhisk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helper, messages, nextMessage, NODES, statuses, tab, useNodeRed } from '../helpers/node-red';
import { startServe, type ServeProcess } from '../helpers/serve-process';

useNodeRed();

const AUTH = 'remote-test-uuid:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210';
let server: ServeProcess;
let apihost = '';

beforeAll(async () => {
  // The "cluster": a standalone EdgeWhisk server in another process, spoken to only through the OpenWhisk API.
  server = await startServe({ auth: AUTH });
  apihost = server.url;
});

afterAll(() => server?.stop());

describe('engine node in remote mode', () => {
  it('deploys and invokes actions, fires triggers through rules, and streams activations on a remote OpenWhisk API', async () => {
    await helper.load(
      NODES,
      [
        { id: 'e1', type: 'edgewhisk-engine', mode: 'remote', apihost },
        tab,
        { id: 'a1', type: 'edgewhisk-action', z: 'f1', engine: 'e1', action: 'remote-double', code: 'function main(p) { return { double: p.n * 2, pid: process.pid }; }', wires: [['out']] },
        { id: 'r1', type: 'edgewhisk-rule', z: 'f1', engine: 'e1', rule: 'remote-rule', trigger: 'remote-trigger', action: 'remote-double', wires: [[]] },
        { id: 't1', type: 'edgewhisk-trigger', z: 'f1', engine: 'e1', trigger: 'remote-trigger', wait: true, wires: [['fired']] },
        { id: 'acts', type: 'edgewhisk-activations', z: 'f1', engine: 'e1', filter: 'remote-double', wires: [['seen']] },
        { id: 'out', type: 'helper', z: 'f1' },
        { id: 'fired', type: 'helper', z: 'f1' },
        { id: 'seen', type: 'helper', z: 'f1' },
      ],
      { e1: { apiKey: AUTH } },
    );
    const got = nextMessage(helper.getNode('out'), 15_000);
    helper.getNode('a1').receive({ payload: { n: 21 } });
    const msg = await got;
    expect(msg.payload.double).toBe(42);
    // It ran on the server, not in this process.
    expect(msg.payload.pid).not.toBe(process.pid);
    expect(msg.activation.response.status).toBe('success');

    const ow = openwhisk({ apihost, api_key: AUTH });
    const remoteAction = (await ow.actions.get({ name: 'remote-double' })) as { exec: { code: string } };
    expect(remoteAction.exec.code).toContain('p.n * 2');

    for (let i = 0; i < 100; i++) {
      const rule = (await ow.rules.get({ name: 'remote-rule' }).catch(() => undefined)) as { status?: string } | undefined;
      if (rule?.status === 'active') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const seen = messages(helper.getNode('seen'), 2, 15_000);
    const fired = nextMessage(helper.getNode('fired'), 15_000);
    helper.getNode('t1').receive({ payload: { n: 5 } });
    const firedMsg = await fired;
    expect(firedMsg.payload.results.map((r: { result: { double: number } }) => r.result.double)).toEqual([10]);
    const streamed = (await seen).map((m) => m.payload.double).sort((a: number, b: number) => a - b);
    expect(streamed).toEqual([10, 42]);
  });
});

describe('a scheduled trigger node on a remote engine', () => {
  it('warns that schedules need an embedded engine, and still fires on input', async () => {
    await helper.load(
      NODES,
      [
        { id: 'e1', type: 'edgewhisk-engine', mode: 'remote', apihost },
        tab,
        { id: 'a1', type: 'edgewhisk-action', z: 'f1', engine: 'e1', action: 'remote-scheduled', code: 'function main(p) { return { got: p.n }; }', wires: [[]] },
        { id: 'r1', type: 'edgewhisk-rule', z: 'f1', engine: 'e1', rule: 'remote-scheduled-rule', trigger: 'remote-scheduled-trigger', action: 'remote-scheduled', wires: [[]] },
        { id: 't1', type: 'edgewhisk-trigger', z: 'f1', engine: 'e1', trigger: 'remote-scheduled-trigger', schedule: '* * * * * *', wait: true, wires: [['fired']] },
        { id: 'fired', type: 'helper', z: 'f1' },
      ],
      { e1: { apiKey: AUTH } },
    );
    const t1 = helper.getNode('t1');
    expect(statuses(t1).at(-1)).toEqual({ fill: 'yellow', shape: 'ring', text: 'schedules need an embedded engine' });
    const ow = openwhisk({ apihost, api_key: AUTH });
    for (let i = 0; i < 100; i++) {
      const rule = (await ow.rules.get({ name: 'remote-scheduled-rule' }).catch(() => undefined)) as { status?: string } | undefined;
      if (rule?.status === 'active') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const fired = nextMessage(helper.getNode('fired'), 15_000);
    t1.receive({ payload: { n: 7 } });
    const msg = await fired;
    expect(msg.topic).not.toBe('schedule');
    expect(msg.payload.results.map((r: { result: unknown }) => r.result)).toEqual([{ got: 7 }]);
  });
});

describe('engine node exposing the REST API on Node-RED', () => {
  it('serves OpenWhisk\'s API under its path to the openwhisk client, with its own credentials', async () => {
    let red: { httpNode: import('node:http').RequestListener } | undefined;
    const capture = (RED: typeof red): void => {
      red = RED;
    };
    const key = 'nodered-api:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
    await helper.load(
      [...NODES, capture],
      [
        { id: 'e2', type: 'edgewhisk-engine', exposeApi: true, apiPath: '/ew', prewarmCount: 0 },
        tab,
        { id: 'a2', type: 'edgewhisk-action', z: 'f1', engine: 'e2', action: 'from-flow', code: 'function main(p) { return { hi: p.who }; }', wires: [[]] },
      ],
      { e2: { apiAuth: key } },
    );
    const { createServer } = await import('node:http');
    const http = createServer(red!.httpNode);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    const base = `http://127.0.0.1:${(http.address() as { port: number }).port}/ew`;
    try {
      await new Promise((r) => setTimeout(r, 100));
      const ow = openwhisk({ apihost: base, api_key: key });
      expect(await ow.actions.invoke({ name: 'from-flow', params: { who: 'api' }, blocking: true, result: true })).toEqual({ hi: 'api' });
      const wrong = openwhisk({ apihost: base, api_key: 'someone:else' });
      await expect(wrong.actions.list()).rejects.toMatchObject({ statusCode: 401 });
    } finally {
      http.close();
    }
  });

  it('keeps remote actions and sequences over an unchanged redeploy, and updates a changed one', async () => {
    const flow = (code: string) => [
      { id: 'e1', type: 'edgewhisk-engine', mode: 'remote', apihost },
      tab,
      { id: 'k1', type: 'edgewhisk-action', z: 'f1', engine: 'e1', action: 'keep-a', kind: 'nodejs:default', code, params: [{ key: 'x', value: '1', type: 'num' }], timeout: '5000', wires: [[]] },
      { id: 'k2', type: 'edgewhisk-action', z: 'f1', engine: 'e1', action: 'keep-b', code: 'function main(p) { return p; }', wires: [[]] },
      { id: 'k3', type: 'edgewhisk-action', z: 'f1', engine: 'e1', action: 'keep-seq', kind: 'sequence', components: ['keep-a', 'keep-b'], wires: [['out']] },
      { id: 'out', type: 'helper', z: 'f1' },
    ];
    const ow = openwhisk({ apihost, api_key: AUTH });
    const versions = async (): Promise<string[]> =>
      Promise.all(['keep-a', 'keep-b', 'keep-seq'].map(async (name) => ((await ow.actions.get({ name })) as { version: string }).version));
    const run = async (): Promise<unknown> => {
      const got = nextMessage(helper.getNode('out'), 15_000);
      helper.getNode('k3').receive({ payload: { n: 1 } });
      return (await got).payload;
    };
    await helper.load(NODES, flow('function main(p) { return { ...p, a: 1 }; }'), { e1: { apiKey: AUTH } });
    expect(await run()).toMatchObject({ a: 1, x: 1 });
    const first = await versions();
    await helper.setFlows(flow('function main(p) { return { ...p, a: 1 }; }'), 'full', { e1: { apiKey: AUTH } });
    expect(await run()).toMatchObject({ a: 1 });
    expect(await versions()).toEqual(first);
    await helper.setFlows(flow('function main(p) { return { ...p, a: 2 }; }'), 'full', { e1: { apiKey: AUTH } });
    expect(await run()).toMatchObject({ a: 2 });
    const after = await versions();
    expect(after[0]).not.toBe(first[0]);
    expect(after.slice(1)).toEqual(first.slice(1));
  });
});
