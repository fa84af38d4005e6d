import { describe, expect, it } from 'vitest';
import { acquireSharedEngine } from '../../src/nodes/lib/engine-registry';
import { helper, nextMessage, NODES, tab, useNodeRed } from '../helpers/node-red';

useNodeRed();

const flow = (code: string) => [
  tab,
  { id: 'a1', type: 'edgewhisk-action', z: 'f1', action: 'count', code, wires: [['out']] },
  { id: 'r1', type: 'edgewhisk-rule', z: 'f1', rule: 'tick-count', trigger: 'tick', action: 'count', wires: [[]] },
  { id: 't1', type: 'edgewhisk-trigger', z: 'f1', trigger: 'tick', wires: [[]] },
  { id: 'acts', type: 'edgewhisk-activations', z: 'f1', filter: 'count', wires: [[]] },
  { id: 'out', type: 'helper', z: 'f1' },
];

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('redeploys', () => {
  it('leak no workers, timers or listeners over repeated full and modified-node deploys', async () => {
    await helper.load(NODES, flow('function main() { return { v: 0 }; }'));
    const probe = acquireSharedEngine();
    const engine = probe.engine;
    const invoke = async () => {
      const got = nextMessage(helper.getNode('out'));
      helper.getNode('a1').receive({ payload: {} });
      return (await got).payload;
    };
    await invoke();
    const baseTimers = timers();
    const listeners = () => [engine.listenerCount('activation:started'), engine.listenerCount('activation:completed')];
    const baseListeners = listeners();
    for (let i = 1; i <= 6; i++) {
      await helper.setFlows(flow(`function main() { return { v: ${i % 2} }; }`), i % 2 === 0 ? 'full' : 'nodes');
      expect(await invoke()).toEqual({ v: i % 2 });
    }
    // Old versions' containers are not reused; idle ones wait for the idle timeout, but at most one per version
    // that ran, and no new container was left busy.
    const stats = engine.stats();
    expect(stats.pool.busy).toBe(0);
    expect(stats.pool.containers).toBeLessThanOrEqual(8);
    expect(timers()).toBeLessThanOrEqual(baseTimers + 1);
    expect(listeners()).toEqual(baseListeners);
    // The rule survived every redeploy and still fires the current action.
    expect((await engine.rules.get({ name: 'tick-count' }))['status']).toBe('active');
    await probe.release();
  });

  it('removes the action and the rule when their nodes are deleted', async () => {
    await helper.load(NODES, flow('function main() { return {}; }'));
    const probe = acquireSharedEngine();
    await nextMessageAfter(() => helper.getNode('a1').receive({ payload: {} }));
    expect((await probe.engine.actions.list()).map((a) => a['name'])).toContain('count');
    await helper.setFlows([tab, { id: 'out', type: 'helper', z: 'f1' }], 'full');
    expect((await probe.engine.actions.list()).map((a) => a['name'])).not.toContain('count');
    expect(await probe.engine.rules.list()).toEqual([]);
    await probe.release();
  });
});

async function nextMessageAfter(fn: () => void): Promise<void> {
  const got = nextMessage(helper.getNode('out'));
  fn();
  await got;
}

describe('many action nodes', () => {
  it('share one activation:started listener per engine: eleven nodes raise no MaxListenersExceeded warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(`${warning.name}: ${warning.message}`);
    };
    process.on('warning', onWarning);
    try {
      const nodes = Array.from({ length: 11 }, (_, i) => ({ id: `m${i}`, type: 'edgewhisk-action', z: 'f1', action: `many-${i}`, code: `function main() { return { i: ${i} }; }`, wires: [['out']] }));
      await helper.load(NODES, [tab, ...nodes, { id: 'out', type: 'helper', z: 'f1' }]);
      const probe = acquireSharedEngine();
      // One for all the action nodes. The editor sidebar's feed (editor-feed.ts) adds one only while an editor
      // shows the sidebar, which no editor does here.
      const FEED = 0;
      expect(probe.engine.listenerCount('activation:started')).toBe(1 + FEED);
      // Every node still sees its own activations start and finish.
      for (let i = 0; i < 11; i++) {
        const got = nextMessage(helper.getNode('out'));
        helper.getNode(`m${i}`).receive({ payload: {} });
        expect((await got).payload).toEqual({ i });
      }
      await helper.setFlows([tab, ...nodes, { id: 'out', type: 'helper', z: 'f1' }], 'full');
      expect(probe.engine.listenerCount('activation:started')).toBe(1 + FEED);
      await helper.setFlows([tab, { id: 'out', type: 'helper', z: 'f1' }], 'full');
      expect(probe.engine.listenerCount('activation:started')).toBe(FEED);
      await probe.release();
      // Warnings are emitted on the next tick.
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => /MaxListeners/.test(w))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('renaming an action node', () => {
  it('removes the action under the old name when a redeployed node defines a new one', async () => {
    const named = (action: string) => [tab, { id: 'a1', type: 'edgewhisk-action', z: 'f1', action, code: 'function main() { return {}; }', wires: [['out']] }, { id: 'out', type: 'helper', z: 'f1' }];
    await helper.load(NODES, named('old-name'));
    const probe = acquireSharedEngine();
    await nextMessageAfter(() => helper.getNode('a1').receive({ payload: {} }));
    await helper.setFlows(named('new-name'), 'nodes');
    await nextMessageAfter(() => helper.getNode('a1').receive({ payload: {} }));
    const names = (await probe.engine.actions.list()).map((a) => a['name']);
    expect(names).toContain('new-name');
    expect(names).not.toContain('old-name');
    await probe.release();
  });
});
