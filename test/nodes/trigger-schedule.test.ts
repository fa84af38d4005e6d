/**
 * The trigger node's schedule: its alarm feed fires the trigger (and so its rules' actions) by itself, the node
 * shows the next fire time and outputs each fire, a cleared schedule stops, a bad one is a red status and not a
 * crash, and a restart of Node-RED keeps the very same feed running (what catch-up after a power cut relies on).
 */
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireSharedEngine } from '../../src/nodes/lib/engine-registry';
import { sleep } from '../helpers/engine';
import { helper, messages, nextMessage, NODES, statuses, tab, useNodeRed } from '../helpers/node-red';
import { startNodeRed, type NodeRedProcess } from '../helpers/node-red-process';

useNodeRed();

const NEXT = /^next (\d\d:\d\d:\d\d|[A-Z][a-z]{2} \d\d:\d\d(:\d\d)?)$/;

const flow = (schedule: Record<string, unknown>) => [
  tab,
  { id: 'a1', type: 'edgewhisk-action', z: 'f1', action: 'tick-count', code: 'function main(p) { return { tick: p.source }; }', wires: [[]] },
  { id: 'r1', type: 'edgewhisk-rule', z: 'f1', rule: 'tick-rule', trigger: 'tick', action: 'tick-count', active: true, wires: [[]] },
  { id: 't1', type: 'edgewhisk-trigger', z: 'f1', trigger: 'tick', wires: [['out']], ...schedule },
  { id: 'acts', type: 'edgewhisk-activations', z: 'f1', filter: 'tick-count', outcome: 'any', wires: [['seen']] },
  { id: 'out', type: 'helper', z: 'f1' },
  { id: 'seen', type: 'helper', z: 'f1' },
];

/** What a node reported with `node.error` (the helper spies on the prototype: every node's calls are in one spy). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function errorsOf(node: any): string[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return node.error.getCalls().filter((c: any) => c.thisValue === node).map((c: any) => String(c.args[0]));
}

/** Counts the messages a helper node receives from now on. */
function counter(id: string): { readonly count: number; stop(): void } {
  const node = helper.getNode(id);
  let count = 0;
  const onInput = (): void => {
    count++;
  };
  node.on('input', onInput);
  return {
    get count() {
      return count;
    },
    stop: () => node.removeListener('input', onInput),
  };
}

describe('a scheduled trigger node', () => {
  it('fires every second: the action runs, the status shows the next fire and each fire is output with topic schedule', async () => {
    await helper.load(NODES, flow({ schedule: '* * * * * *', timezone: 'UTC', schedulePayload: '{"source":"schedule"}' }));
    const seen = counter('seen');
    const fires = await messages(helper.getNode('out'), 2, 5_000);
    for (const msg of fires) {
      expect(msg.topic).toBe('schedule');
      expect(msg.payload.activationId).toMatch(/^[0-9a-f]{32}$/);
      expect(msg.payload.rules).toEqual([expect.objectContaining({ rule: 'guest/tick-rule', action: 'guest/tick-count', success: true })]);
      // The schedule's payload is the trigger's event.
      expect(msg.activation.response.result).toEqual({ source: 'schedule' });
    }
    expect(fires[0].payload.activationId).not.toBe(fires[1].payload.activationId);
    await sleep(3_000);
    // About one a second: at least 2 in 3 s, and no storm.
    expect(seen.count).toBeGreaterThanOrEqual(2);
    expect(seen.count).toBeLessThanOrEqual(6);
    seen.stop();
    const shown = statuses(helper.getNode('t1')).map((s) => s.text ?? '');
    expect(shown.filter((t) => NEXT.test(t)).length).toBeGreaterThanOrEqual(2);
    expect(statuses(helper.getNode('t1')).at(-1)).toMatchObject({ fill: 'green', shape: 'ring', text: expect.stringMatching(NEXT) });
  });

  it('outputs the rules\' results for a scheduled fire with "wait", as for a message', async () => {
    await helper.load(NODES, flow({ schedule: '* * * * * *', timezone: 'UTC', schedulePayload: '{"source":"night"}', wait: true }));
    const msg = await nextMessage(helper.getNode('out'), 5_000);
    expect(msg.topic).toBe('schedule');
    expect(msg.payload.results).toEqual([expect.objectContaining({ rule: 'guest/tick-rule', success: true, result: { tick: 'night' } })]);
  });

  it('stops firing when redeployed with the schedule cleared, and the feed is gone', async () => {
    await helper.load(NODES, flow({ schedule: '* * * * * *', timezone: 'UTC' }));
    await nextMessage(helper.getNode('out'), 5_000);
    const probe = acquireSharedEngine();
    try {
      expect(probe.engine.feeds.status('tick')).toMatchObject({ feed: '/whisk.system/alarms/alarm', state: 'scheduled' });
      await helper.setFlows(flow({ schedule: '' }), 'nodes');
      await sleep(300);
      expect(probe.engine.feeds.status('tick')).toBeUndefined();
      const seen = counter('seen');
      const out = counter('out');
      await sleep(2_500);
      expect([seen.count, out.count]).toEqual([0, 0]);
      seen.stop();
      out.stop();
      // The trigger itself still fires on input.
      const fired = nextMessage(helper.getNode('out'));
      helper.getNode('t1').receive({ payload: { source: 'input' } });
      expect((await fired).payload.rules).toHaveLength(1);
    } finally {
      await probe.release();
    }
  });

  it('keeps a feed the same node still asks for, and deletes it when the node is removed from the flows', async () => {
    await helper.load(NODES, flow({ schedule: '0 0 3 * * *', timezone: 'Europe/Berlin', catchUp: 'once' }));
    const probe = acquireSharedEngine();
    try {
      const read = async () => ((await probe.engine.feeds.get({ name: '/whisk.system/alarms/alarm', trigger: 'tick' })) as { response: { result: { config: Record<string, unknown>; status: Record<string, unknown> } } }).response.result;
      await sleep(200);
      const first = await read();
      expect(first.config).toMatchObject({ cron: '0 0 3 * * *', timezone: 'Europe/Berlin', catchUp: 'once', payload: {} });
      await sleep(20);
      // A full redeploy restarts the node: the unchanged schedule is not touched.
      await helper.setFlows(flow({ schedule: '0 0 3 * * *', timezone: 'Europe/Berlin', catchUp: 'once' }), 'full');
      await sleep(200);
      expect((await read()).status['dateChanged']).toBe(first.status['dateChanged']);
      // A changed one is updated in place.
      await helper.setFlows(flow({ schedule: '0 30 3 * * *', timezone: 'Europe/Berlin', catchUp: 'once' }), 'nodes');
      await sleep(200);
      expect((await read()).config).toMatchObject({ cron: '0 30 3 * * *' });
      await helper.setFlows(flow({}).filter((n) => n.id !== 't1'), 'full');
      await sleep(200);
      expect(probe.engine.feeds.status('tick')).toBeUndefined();
    } finally {
      await probe.release();
    }
  });

  it('shows a cron the alarm feed refuses as an error on the node, in the feed\'s words, and the flow keeps running', async () => {
    await helper.load(NODES, flow({ schedule: '61 * * * *' }));
    const t1 = helper.getNode('t1');
    for (let i = 0; i < 100 && statuses(t1).at(-1)?.fill !== 'red'; i++) await sleep(20);
    expect(statuses(t1).at(-1)).toMatchObject({ fill: 'red', shape: 'ring', text: expect.stringMatching(/^cron pattern '61 \* \* \* \*' is not valid/) });
    expect(errorsOf(t1)).toEqual([expect.stringMatching(/cron pattern '61 \* \* \* \*' is not valid: .*use 5 fields \(minute hour day-of-month month day-of-week\) or 6/)]);
    const fired = nextMessage(helper.getNode('out'));
    t1.receive({ payload: { source: 'input' } });
    expect((await fired).payload.rules).toEqual([expect.objectContaining({ success: true })]);
  });

  it('refuses an unknown time zone the same way', async () => {
    await helper.load(NODES, flow({ schedule: '0 7 * * *', timezone: 'Mars/Olympus' }));
    const t1 = helper.getNode('t1');
    for (let i = 0; i < 100 && statuses(t1).at(-1)?.fill !== 'red'; i++) await sleep(20);
    expect(statuses(t1).at(-1)?.text).toMatch(/^timezone parameter 'Mars\/Olympus'/);
    expect(errorsOf(t1)).toEqual([expect.stringMatching(/timezone parameter 'Mars\/Olympus' is not a valid IANA time zone/)]);
  });

  it('lets one node schedule a trigger: a node for it without a schedule leaves the schedule alone, a second schedule is refused', async () => {
    const scheduled = flow({ schedule: '* * * * * *', timezone: 'UTC' });
    await helper.load(NODES, scheduled);
    await nextMessage(helper.getNode('out'), 5_000);
    const probe = acquireSharedEngine();
    try {
      const changed = async () => ((await probe.engine.feeds.get({ name: '/whisk.system/alarms/alarm', trigger: 'tick' })) as { response: { result: { status: { dateChanged: number } } } }).response.result.status.dateChanged;
      const first = await changed();
      // A full deploy starts every node again, this one before the scheduled node: had it removed the schedule, the
      // scheduled node would have created a new feed.
      const manual = { id: 't2', type: 'edgewhisk-trigger', z: 'f1', trigger: 'tick', wires: [[]] };
      const second = { id: 't3', type: 'edgewhisk-trigger', z: 'f1', trigger: 'tick', schedule: '0 * * * *', wires: [[]] };
      await helper.setFlows([tab, manual, ...scheduled.slice(1), second], 'full');
      await nextMessage(helper.getNode('out'), 5_000, (msg) => expect(msg.topic).toBe('schedule'));
      expect(await changed()).toBe(first);
      expect(statuses(helper.getNode('t3')).at(-1)).toMatchObject({ fill: 'red', text: 'scheduled by another node' });
      expect(errorsOf(helper.getNode('t3'))).toEqual([expect.stringMatching(/already scheduled by node t1/)]);
      expect(errorsOf(helper.getNode('t2'))).toEqual([]);
    } finally {
      await probe.release();
    }
  });
});

describe('a scheduled trigger node in a real Node-RED', () => {
  let red: NodeRedProcess | undefined;
  afterAll(() => red?.stop());

  interface StoredFeed {
    readonly feed: string;
    readonly config: Record<string, unknown>;
    readonly created: number;
    readonly changed: number;
    readonly saved?: { readonly fired: number; readonly last: number };
  }

  /** The trigger's feed as the engine keeps it in its store (read-only, beside the running engine). */
  function storedFeed(userDir: string): StoredFeed | undefined {
    const db = new DatabaseSync(join(userDir, 'edgewhisk', 'eng1.db'), { readOnly: true });
    try {
      const row = db.prepare('SELECT doc FROM feeds WHERE trigger = ?').get('/guest/every-two-s') as { doc: string } | undefined;
      return row === undefined ? undefined : (JSON.parse(row.doc) as StoredFeed);
    } finally {
      db.close();
    }
  }

  it('resumes the same feed after a restart (not created again) and fires on', async () => {
    const auth = 'schedule-uuid:schedule-key';
    red = await startNodeRed({
      flows: [
        { id: 'f1', type: 'tab', label: 'schedule' },
        // The REST API lets the test count the action's activations.
        { id: 'eng1', type: 'edgewhisk-engine', name: 'scheduled', mode: 'embedded', exposeApi: true, apiPath: '/ew', prewarmCount: 0 },
        { id: 'a1', type: 'edgewhisk-action', z: 'f1', engine: 'eng1', action: 'every-two', code: 'function main() { return { at: Date.now() }; }', wires: [[]] },
        { id: 'r1', type: 'edgewhisk-rule', z: 'f1', engine: 'eng1', rule: 'every-two-rule', trigger: 'every-two-s', action: 'every-two', active: true, wires: [[]] },
        { id: 't1', type: 'edgewhisk-trigger', z: 'f1', engine: 'eng1', trigger: 'every-two-s', schedule: '*/2 * * * * *', timezone: 'UTC', catchUp: 'once', wires: [[]] },
      ],
      files: { 'flows_cred.json': JSON.stringify({ eng1: { apiAuth: auth } }) },
    });
    const { url, userDir } = red;
    const runs = async (): Promise<number> => {
      const res = await fetch(`${url}/ew/api/v1/namespaces/_/activations?name=every-two&count=true`, { headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } });
      return ((await res.json()) as { activations: number }).activations;
    };
    const until = async (what: string, ms: number, check: () => Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!(await check().catch(() => false))) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; Node-RED said:\n${red?.output().slice(-3000) ?? ''}`);
        await sleep(100);
      }
    };
    await until('two scheduled runs', 15_000, async () => (await runs()) >= 2 && (storedFeed(userDir)?.saved?.fired ?? 0) >= 2);
    const before = storedFeed(userDir) as StoredFeed;
    expect(before).toMatchObject({ feed: '/whisk.system/alarms/alarm', config: { cron: '*/2 * * * * *', timezone: 'UTC', catchUp: 'once' } });

    await red.restart();
    const afterRestart = await runs();
    await until('two runs after the restart', 15_000, async () => (await runs()) >= afterRestart + 2);
    const after = storedFeed(userDir) as StoredFeed;
    // The same feed, resumed from the store: neither created again nor updated by the node as it started (either
    // would have set `changed`, and dropped the position it counts fires from).
    expect([after.created, after.changed]).toEqual([before.created, before.changed]);
    expect(after.saved?.fired).toBeGreaterThan(before.saved?.fired ?? 0);
    expect(after.saved?.last).toBeGreaterThan(before.saved?.last ?? 0);
    // Node-RED's log says what came back.
    expect(red.output()).toMatch(/EdgeWhisk .*: 1 feed resumed \(\/guest\/every-two-s\)/);
  }, 60_000);
});
