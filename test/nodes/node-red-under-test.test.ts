import { describe, expect, it } from 'vitest';
import { helper, NODES, tab, useNodeRed } from '../helpers/node-red';
import { NODE_RED_MAJOR, NODE_RED_VERSION } from '../helpers/node-red-under-test';

useNodeRed();

describe('the Node-RED under test', () => {
  it('is the version EDGEWHISK_NODE_RED selected, and it runs the bundle', async () => {
    // The runtime the helper started, not only the package on disk: a test run on 4.1 must not load 5.0. (Node-RED
    // appends `-git` when it finds a .git folder four levels up, which this checkout is for the top-level package.)
    expect(String(helper._RED.version()).replace(/-git$/, '')).toBe(NODE_RED_VERSION);
    expect(Number(NODE_RED_VERSION.split('.')[0])).toBe(NODE_RED_MAJOR);
    await helper.load(NODES, [tab, { id: 'a', type: 'edgewhisk-action', z: 'f1', action: 'version-probe', code: 'function main() { return { node: process.version }; }', wires: [] }]);
    expect(helper.getNode('a')).toBeTruthy();
  });
});
