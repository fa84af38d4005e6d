import { describe, expect, it } from 'vitest';
import { acquireSharedEngine } from '../../src/nodes/lib/engine-registry';
import { hostNodeKind } from '../../src/runtimes/node-kinds';
import { helper, nextMessage, NODES, tab, useNodeRed } from '../helpers/node-red';

useNodeRed();

const HOST_KIND = hostNodeKind();
const PROBE = 'function main() { return { node: process.versions.node }; }';
const flow = (kind: string | undefined) => [
  tab,
  { id: 'a1', type: 'edgewhisk-action', z: 'f1', action: 'probe', code: PROBE, ...(kind === undefined ? {} : { kind }), wires: [['out']] },
  { id: 'out', type: 'helper', z: 'f1' },
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function warnings(node: any): string[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return node.warn.getCalls().filter((c: any) => c.thisValue === node).map((c: any) => String(c.args[0]));
}

async function run(): Promise<string> {
  const got = nextMessage(helper.getNode('out'));
  helper.getNode('a1').receive({ payload: {} });
  return (await got).payload.node;
}

describe('action kinds in flows', () => {
  it('runs a flow saved with the retired nodejs:20 on the host Node.js, warns at each deploy, and keeps the action over an unchanged redeploy', async () => {
    await helper.load(NODES, flow('nodejs:20'));
    expect(await run()).toBe(process.versions.node);
    const probe = acquireSharedEngine();
    const first = (await probe.engine.actions.get({ name: 'probe' })) as { version: string; exec: { kind: string } };
    expect(first.exec.kind).toBe(HOST_KIND);
    expect(warnings(helper.getNode('a1'))).toEqual([
      `Kind nodejs:20 is retired and not available here: action 'probe' runs as ${HOST_KIND}. Open the node and save it to use nodejs:default.`,
    ]);
    // An unchanged full redeploy matches the stored action (its kind resolved the same way): same version, so
    // warm containers are kept.
    await helper.setFlows(flow('nodejs:20'), 'full');
    expect(await run()).toBe(process.versions.node);
    expect(((await probe.engine.actions.get({ name: 'probe' })) as { version: string }).version).toBe(first.version);
    expect(warnings(helper.getNode('a1'))).toHaveLength(1);
    await probe.release();
  });

  it.each([undefined, 'nodejs:default', HOST_KIND])('keeps an action of kind %s over an unchanged redeploy, without a warning', async (kind) => {
    await helper.load(NODES, flow(kind));
    expect(await run()).toBe(process.versions.node);
    const probe = acquireSharedEngine();
    const before = (await probe.engine.actions.get({ name: 'probe' })) as { version: string; exec: { kind: string } };
    expect(before.exec.kind).toBe(HOST_KIND);
    await helper.setFlows(flow(kind), 'full');
    expect(await run()).toBe(process.versions.node);
    expect(((await probe.engine.actions.get({ name: 'probe' })) as { version: string }).version).toBe(before.version);
    expect(warnings(helper.getNode('a1'))).toEqual([]);
    await probe.release();
  });

  it('reports a kind no runtime runs at deploy, naming the available kinds', async () => {
    await helper.load(NODES, flow('nodejs:18'));
    const node = helper.getNode('a1');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    for (let i = 0; i < 100 && node.error.getCalls().filter((c: any) => c.thisValue === node).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const errors = node.error.getCalls().filter((c: any) => c.thisValue === node).map((c: any) => String(c.args[0]));
    expect(errors).toEqual([`Could not define action 'probe': The action kind 'nodejs:18' is not supported; supported kinds: ${HOST_KIND}, python:3, sequence.`]);
  });
});
