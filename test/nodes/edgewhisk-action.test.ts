import { describe, expect, it } from 'vitest';
import { helper, messages, nextMessage, NODES, settledStatus, statuses, tab, useNodeRed } from '../helpers/node-red';
import { sleep } from '../helpers/engine';
import { acquireSharedEngine } from '../../src/nodes/lib/engine-registry';

useNodeRed();

const ECHO = 'async function main(p) { console.log("got", p.n); return { echo: p }; }';

function flow(action: Record<string, unknown>, extra: Record<string, unknown>[] = []) {
  return [
    tab,
    { id: 'a1', type: 'edgewhisk-action', z: 'f1', name: 'echo', action: 'echo', code: ECHO, wires: [['out']], ...action },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'c1', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    ...extra,
  ];
}

describe('edgewhisk-action', () => {
  it('invokes its action with the payload as parameters and outputs the result and the record', async () => {
    await helper.load(NODES, flow({}));
    const out = helper.getNode('out');
    const got = nextMessage(out);
    helper.getNode('a1').receive({ payload: { n: 1 }, topic: 't' });
    const msg = await got;
    expect(msg.payload).toEqual({ echo: { n: 1 } });
    expect(msg.topic).toBe('t');
    expect(msg.activation.response.status).toBe('success');
    expect(msg.activation.name).toBe('echo');
    expect(msg.activation.logs[0]).toMatch(/stdout: got 1$/);
    const last = await settledStatus(helper.getNode('a1'));
    expect(last).toMatchObject({ fill: 'green', shape: 'dot' });
    expect(last?.text).toMatch(/^\d+ ms$/);
  });

  it('wraps a non-object payload as {payload} and merges default and template parameters', async () => {
    await helper.load(NODES, flow({
      params: [
        { key: 'unit', value: 'C', type: 'str' },
        { key: 'limit', value: '21.5', type: 'num' },
        { key: 'room', value: '{{flow.room}}/{{topic}}', type: 'str' },
        { key: 'zone', value: '{{env.EW_TEST_ZONE}}', type: 'str' },
      ],
    }));
    process.env['EW_TEST_ZONE'] = 'north';
    helper.getNode('a1').context().flow.set('room', 'kitchen');
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('a1').receive({ payload: 19, topic: 'sensor' });
    const msg = await got;
    expect(msg.payload.echo).toEqual({ unit: 'C', limit: 21.5, room: 'kitchen/sensor', zone: 'north', payload: 19 });
  });

  it('returns at once in non-blocking mode', async () => {
    await helper.load(NODES, flow({ blocking: false, code: 'async function main() { await new Promise(r => setTimeout(r, 5000)); return {}; }' }));
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('a1').receive({ payload: {} });
    const msg = await got;
    expect(msg.payload.activationId).toMatch(/^[0-9a-f]{32}$/);
    // Sent while the 5 s run goes on: the activation has no record yet.
    const probe = acquireSharedEngine();
    const early = await probe.engine.activations.get(msg.payload.activationId).catch((error: { statusCode?: number }) => error);
    await probe.release();
    expect(early).toMatchObject({ statusCode: 404 });
  });

  it('reports a timeout to a Catch node with the activation, and the engine keeps serving', async () => {
    await helper.load(NODES, flow({ code: 'async function main(p) { if (p.spin) { await null; for(;;){} } return { ok: true }; }', timeout: 300 }));
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('a1').receive({ payload: { spin: true } });
    const msg = await caught;
    expect(msg.error.message).toBe('The action exceeded its time limits of 300 milliseconds.');
    expect(msg.error.source.id).toBe('a1');
    expect(msg.activation.response.status).toBe('action developer error');
    expect(await settledStatus(helper.getNode('a1'))).toMatchObject({ fill: 'red', text: 'timeout' });
    const ok = nextMessage(helper.getNode('out'));
    helper.getNode('a1').receive({ payload: {} });
    expect((await ok).payload).toEqual({ ok: true });
  });

  it('reports application, developer and throttled errors to Catch', async () => {
    await helper.load(NODES, flow({ code: 'async function main(p) { if (p.app) throw new Error("bad input"); if (p.crash) { setTimeout(() => { throw new Error("boom"); }, 1); await new Promise(() => {}); } return {}; }' }));
    const a1 = helper.getNode('a1');
    let caught = nextMessage(helper.getNode('caught'));
    a1.receive({ payload: { app: true } });
    let msg = await caught;
    expect(msg.error.message).toBe('bad input');
    expect(msg.activation.response.status).toBe('application error');
    caught = nextMessage(helper.getNode('caught'));
    a1.receive({ payload: { crash: true } });
    msg = await caught;
    expect(msg.error.message).toBe('The action did not produce a valid response and exited unexpectedly.');
    caught = nextMessage(helper.getNode('caught'));
    a1.receive({ payload: 'x'.repeat(1_100_000) });
    msg = await caught;
    expect(msg.error.message).toMatch(/^Request larger than allowed: \d+ > 1048576 bytes\.$/);
  });

  it('routes errors to a second output when asked', async () => {
    await helper.load(NODES, [
      tab,
      { id: 'a1', type: 'edgewhisk-action', z: 'f1', action: 'failing', code: 'async function main() { throw new Error("nope"); }', errorOutput: true, outputs: 2, wires: [['ok'], ['err']] },
      { id: 'ok', type: 'helper', z: 'f1' },
      { id: 'err', type: 'helper', z: 'f1' },
    ]);
    const err = nextMessage(helper.getNode('err'));
    helper.getNode('a1').receive({ payload: {} });
    const msg = await err;
    expect(msg.error).toEqual({ message: 'nope', code: 'application_error' });
    expect(msg.activation.response.success).toBe(false);
  });

  it('shows queued and running while activations are in flight', async () => {
    await helper.load(NODES, [
      { id: 'e1', type: 'edgewhisk-engine', memoryBudget: 256, prewarmCount: 0 },
      tab,
      { id: 'a1', type: 'edgewhisk-action', z: 'f1', engine: 'e1', action: 'slow', code: 'async function main() { await new Promise(r => setTimeout(r, 150)); return {}; }', wires: [['out']] },
      { id: 'out', type: 'helper', z: 'f1' },
    ]);
    const all = messages(helper.getNode('out'), 3);
    for (let i = 0; i < 3; i++) helper.getNode('a1').receive({ payload: {} });
    await all;
    await settledStatus(helper.getNode('a1'));
    const texts = statuses(helper.getNode('a1')).map((s) => s.text ?? '');
    expect(texts.some((t) => /^queued \d$/.test(t) || /queued \d/.test(t))).toBe(true);
    expect(texts.some((t) => /^running 1/.test(t))).toBe(true);
    expect(texts.at(-1)).toMatch(/^\d+ ms$/);
  });

  it('runs a sequence of actions defined by other nodes', async () => {
    await helper.load(NODES, [
      tab,
      { id: 'seq', type: 'edgewhisk-action', z: 'f1', action: 'pipeline', kind: 'sequence', components: ['double', 'inc'], wires: [['out']] },
      { id: 'd', type: 'edgewhisk-action', z: 'f1', action: 'double', code: 'function main(p) { return { v: p.v * 2 }; }', wires: [] },
      { id: 'i', type: 'edgewhisk-action', z: 'f1', action: 'inc', code: 'function main(p) { return { v: p.v + 1 }; }', wires: [] },
      { id: 'out', type: 'helper', z: 'f1' },
    ]);
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('seq').receive({ payload: { v: 5 } });
    const msg = await got;
    expect(msg.payload).toEqual({ v: 11 });
    expect(msg.activation.logs).toHaveLength(2);
  });

  it('invokes by name in reference mode, with msg.action overriding unless blocked', async () => {
    await helper.load(NODES, [
      tab,
      { id: 'def', type: 'edgewhisk-action', z: 'f1', action: 'hello', code: 'function main() { return { from: "hello" }; }', wires: [] },
      { id: 'def2', type: 'edgewhisk-action', z: 'f1', action: 'other', code: 'function main() { return { from: "other" }; }', wires: [] },
      { id: 'ref', type: 'edgewhisk-action', z: 'f1', mode: 'reference', action: 'hello', wires: [['out']] },
      { id: 'blocked', type: 'edgewhisk-action', z: 'f1', mode: 'reference', action: 'hello', blockOverrides: true, wires: [['out']] },
      { id: 'out', type: 'helper', z: 'f1' },
    ]);
    await sleep(50);
    let got = nextMessage(helper.getNode('out'));
    helper.getNode('ref').receive({ payload: {} });
    expect((await got).payload).toEqual({ from: 'hello' });
    got = nextMessage(helper.getNode('out'));
    helper.getNode('ref').receive({ payload: {}, action: 'other' });
    expect((await got).payload).toEqual({ from: 'other' });
    got = nextMessage(helper.getNode('out'));
    helper.getNode('blocked').receive({ payload: {}, action: 'other' });
    expect((await got).payload).toEqual({ from: 'hello' });
  });

  it('refuses a second node defining the same action name at deploy, naming the first by its name, flow and id', async () => {
    await helper.load(NODES, [
      tab,
      { id: 'x1', type: 'edgewhisk-action', z: 'f1', name: 'first', action: 'dup', code: 'function main() { return { n: 1 }; }', wires: [['out']] },
      { id: 'x2', type: 'edgewhisk-action', z: 'f1', action: 'dup', code: 'function main() { return { n: 2 }; }', wires: [['out']] },
      // An unnamed owner goes by its action name.
      { id: 'y1', type: 'edgewhisk-action', z: 'f1', action: 'dup2', code: 'function main() { return {}; }', wires: [] },
      { id: 'y2', type: 'edgewhisk-action', z: 'f1', name: 'second', action: 'dup2', code: 'function main() { return {}; }', wires: [] },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'c1', type: 'catch', z: 'f1', scope: null, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
    ]);
    const x2 = helper.getNode('x2');
    const clash = "The action name 'dup' is already defined by node 'first' on flow 'test' [x1] in this engine; action names must be unique.";
    expect(x2.error.calledWith(clash)).toBe(true);
    expect(helper.getNode('y2').error.calledWithMatch(/already defined by node 'dup2' on flow 'test' \[y1\] in this engine/)).toBe(true);
    expect(statuses(x2).at(-1)).toMatchObject({ fill: 'red', text: 'name clash' });
    const caught = nextMessage(helper.getNode('caught'));
    x2.receive({ payload: {} });
    expect((await caught).error.message).toContain(clash);
  });

  it("goes by its action name in Node-RED's error reports (debug sidebar, Catch) when it has no name", async () => {
    const failing = 'async function main() { throw new Error("nope"); }';
    await helper.load(NODES, [
      ...flow({ name: '', action: 'failing', code: failing }),
      // On a tab without a Catch node, the error is logged: what the debug sidebar shows.
      { id: 'f2', type: 'tab', label: 'uncaught' },
      { id: 'a2', type: 'edgewhisk-action', z: 'f2', action: 'failing-too', code: failing, wires: [] },
    ]);
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('a1').receive({ payload: {} });
    expect((await caught).error.source).toMatchObject({ id: 'a1', type: 'edgewhisk-action', name: 'failing' });

    helper.getNode('a2').receive({ payload: {} });
    const logged = async (): Promise<{ level: number; id: string; name?: string; msg: unknown }[]> => {
      for (let i = 0; i < 100; i++) {
        const events = helper.log().args.map((a: unknown[]) => a[0]).filter((e: { level?: number; id?: string }) => e.level === helper.log().ERROR && e.id === 'a2');
        if (events.length > 0) return events;
        await sleep(20);
      }
      throw new Error('a2 logged no error');
    };
    // The sidebar labels a message with the event's name, else the editor node's name, else the node id.
    expect(await logged()).toEqual([expect.objectContaining({ id: 'a2', name: 'failing-too', msg: expect.objectContaining({ message: 'nope' }) })]);
  });

  it('rejects an invalid action name at deploy', async () => {
    await helper.load(NODES, flow({ action: 'bad/name?' }));
    const a1 = helper.getNode('a1');
    expect(a1.error.calledWithMatch(/Invalid action name 'bad\/name\?'/)).toBe(true);
  });

  it('bumps the version on a redeploy with changed code and keeps it on an unchanged redeploy', async () => {
    const base = flow({ code: 'function main() { return { v: 1 }; }' });
    await helper.load(NODES, base);
    let got = nextMessage(helper.getNode('out'));
    helper.getNode('a1').receive({ payload: {} });
    const first = await got;
    expect(first.activation.version).toBe('0.0.1');

    // Full redeploy, unchanged: same version, warm container reused (no init).
    await helper.setFlows(base, 'full');
    got = nextMessage(helper.getNode('out'));
    helper.getNode('a1').receive({ payload: {} });
    const same = await got;
    expect(same.activation.version).toBe('0.0.1');
    expect(same.activation.annotations.find((a: { key: string }) => a.key === 'initTime')).toBeUndefined();

    // Modified-nodes redeploy with new code: new version, new result.
    const changed = flow({ code: 'function main() { return { v: 2 }; }' });
    await helper.setFlows(changed, 'nodes');
    got = nextMessage(helper.getNode('out'));
    helper.getNode('a1').receive({ payload: {} });
    const after = await got;
    expect(after.payload).toEqual({ v: 2 });
    expect(after.activation.version).toBe('0.0.2');
  });

  it('keeps the version when the Docker network is unchanged and bumps it when it changes', async () => {
    // The worker runtime ignores the network; what is checked is the stored definition, once the node defined it.
    await helper.load(NODES, flow({ network: 'bridge' }));
    const probe = acquireSharedEngine();
    const stored = async (version: string): Promise<unknown> => {
      for (let i = 0; i < 100; i++) {
        const doc = await probe.engine.actions.get({ name: 'echo' }).catch(() => undefined);
        if (doc?.['version'] === version) return (doc['annotations'] as { key: string; value: unknown }[]).find((a) => a.key === 'edgewhisk-network')?.value;
        await sleep(20);
      }
      throw new Error(`action echo never reached version ${version}`);
    };
    expect(await stored('0.0.1')).toBe('bridge');
    await helper.setFlows(flow({ network: 'bridge' }), 'full');
    // Unchanged: a message runs on the same version.
    expect((await nextMessageAfter('a1')).activation.version).toBe('0.0.1');
    await helper.setFlows(flow({ network: 'my-net' }), 'nodes');
    expect(await stored('0.0.2')).toBe('my-net');
    await helper.setFlows(flow({ network: '' }), 'nodes');
    expect(await stored('0.0.3')).toBeUndefined();
    await probe.release();
  });

  it('rejects a blackbox action without an image and a host network at deploy', async () => {
    await helper.load(NODES, [
      ...flow({ kind: 'blackbox', image: ' ' }),
      { id: 'a2', type: 'edgewhisk-action', z: 'f1', action: 'hostnet', code: 'function main() { return {}; }', runtime: 'docker', network: 'host', wires: [] },
    ]);
    expect(helper.getNode('a1').error.calledWithMatch(/A blackbox action needs an image/)).toBe(true);
    expect(statuses(helper.getNode('a1')).at(-1)).toMatchObject({ fill: 'red', text: 'no image' });
    expect(helper.getNode('a2').error.calledWithMatch(/Invalid network 'host'/)).toBe(true);
  });

  it('closes within Node-RED close timeout with an invocation in flight and leaks no worker', async () => {
    await helper.load(NODES, [
      { id: 'e1', type: 'edgewhisk-engine', prewarmCount: 0, closeTimeout: 1 },
      tab,
      { id: 'a1', type: 'edgewhisk-action', z: 'f1', engine: 'e1', action: 'spin', code: 'function main() { for(;;){} }', timeout: 60000, wires: [['out']] },
      { id: 'out', type: 'helper', z: 'f1' },
    ]);
    helper.getNode('a1').receive({ payload: {} });
    await sleep(100);
    const started = Date.now();
    await helper.unload();
    // Far inside Node-RED's own close timeout (15 s), and the action's 60 s limit was not waited for.
    expect(Date.now() - started).toBeLessThan(10_000);
    // The spinning worker was terminated: the process is not burning a core after close.
    const before = process.cpuUsage();
    await sleep(300);
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000).toBeLessThan(150);
  });
});

describe('edgewhisk-action on the process runtime', () => {
  it('runs the action in a child process when the node selects the process runtime', async () => {
    await helper.load(NODES, flow({ runtime: 'process', code: 'function main(p) { console.log("in", process.pid); return { pid: process.pid, n: p.n }; }' }));
    const got = nextMessage(helper.getNode('out'), 10_000);
    helper.getNode('a1').receive({ payload: { n: 7 } });
    const msg = await got;
    expect(msg.payload.n).toBe(7);
    expect(msg.payload.pid).not.toBe(process.pid);
    expect(msg.activation.logs[0]).toContain(`stdout: in ${msg.payload.pid}`);
  });
});

describe('edgewhisk-action with a Python action', () => {
  it('runs a python:3 action and reports its exception to Catch', async () => {
    await helper.load(NODES, flow({ kind: 'python:3', code: 'def main(p):\n    if p.get("fail"):\n        raise ValueError("no good")\n    print("python here")\n    return {"double": p["n"] * 2}\n' }));
    let got = nextMessage(helper.getNode('out'), 15_000);
    helper.getNode('a1').receive({ payload: { n: 21 } });
    const msg = await got;
    expect(msg.payload).toEqual({ double: 42 });
    expect(msg.activation.logs[0]).toMatch(/stdout: python here$/);
    got = nextMessage(helper.getNode('caught'), 15_000);
    helper.getNode('a1').receive({ payload: { fail: true } });
    expect((await got).error.message).toContain('no good');
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function nextMessageAfter(id: string): Promise<any> {
  const got = nextMessage(helper.getNode('out'));
  helper.getNode(id).receive({ payload: {} });
  return got;
}
