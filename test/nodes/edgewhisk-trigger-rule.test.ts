import { describe, expect, it, vi } from 'vitest';
import { sleep } from '../helpers/engine';
import { helper, messages, nextMessage, NODES, statuses, tab, useNodeRed } from '../helpers/node-red';

useNodeRed();

const fanOut = (extra: Record<string, unknown> = {}) => [
  tab,
  { id: 'act1', type: 'edgewhisk-action', z: 'f1', action: 'lamp', code: 'function main(p) { return { lamp: p.room }; }', wires: [] },
  { id: 'act2', type: 'edgewhisk-action', z: 'f1', action: 'log', code: 'function main(p) { return { logged: p.room, level: p.level }; }', params: [{ key: 'level', value: 'info', type: 'str' }], wires: [] },
  { id: 'r1', type: 'edgewhisk-rule', z: 'f1', rule: 'motion-lamp', trigger: 'motion', action: 'lamp', active: true, wires: [['ruleOut']] },
  { id: 'r2', type: 'edgewhisk-rule', z: 'f1', rule: 'motion-log', trigger: 'motion', action: 'log', active: true, wires: [['ruleOut']] },
  { id: 't1', type: 'edgewhisk-trigger', z: 'f1', trigger: 'motion', wires: [['out']], ...extra },
  { id: 'acts', type: 'edgewhisk-activations', z: 'f1', filter: 'lamp,log', outcome: 'any', wires: [['seen']] },
  { id: 'out', type: 'helper', z: 'f1' },
  { id: 'ruleOut', type: 'helper', z: 'f1' },
  { id: 'seen', type: 'helper', z: 'f1' },
  { id: 'c1', type: 'catch', z: 'f1', scope: null, wires: [['caught']] },
  { id: 'caught', type: 'helper', z: 'f1' },
];

async function rulesReady(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const s1 = statuses(helper.getNode('r1')).at(-1);
    const s2 = statuses(helper.getNode('r2')).at(-1);
    if (s1?.text === 'active' && s2?.text === 'active') return;
    await sleep(10);
  }
  throw new Error('rules never became active');
}

describe('edgewhisk-trigger, edgewhisk-rule and edgewhisk-activations', () => {
  it('fires a trigger that fans out to two rules; the activations node delivers both results', async () => {
    await helper.load(NODES, fanOut());
    await rulesReady();
    const fired = nextMessage(helper.getNode('out'));
    const seen = messages(helper.getNode('seen'), 2);
    helper.getNode('t1').receive({ payload: { room: 'hall' } });
    const msg = await fired;
    expect(msg.payload.activationId).toMatch(/^[0-9a-f]{32}$/);
    expect(msg.payload.rules.map((r: { rule: string }) => r.rule).sort()).toEqual(['guest/motion-lamp', 'guest/motion-log']);
    expect(msg.payload.rules.every((r: { success: boolean; activationId: string }) => r.success && /^[0-9a-f]{32}$/.test(r.activationId))).toBe(true);
    expect(msg.activation.response.result).toEqual({ room: 'hall' });
    const results = (await seen).map((m) => [m.topic, m.payload]).sort();
    expect(results).toEqual([
      ['lamp', { lamp: 'hall' }],
      ['log', { logged: 'hall', level: 'info' }],
    ]);
  });

  it('waits for the rule activations and outputs their results together when asked', async () => {
    await helper.load(NODES, fanOut({ wait: true }));
    await rulesReady();
    const fired = nextMessage(helper.getNode('out'));
    helper.getNode('t1').receive({ payload: { room: 'attic' } });
    const msg = await fired;
    const results = msg.payload.results.map((r: { action: string; result: unknown }) => [r.action, r.result]).sort();
    expect(results).toEqual([
      ['guest/lamp', { lamp: 'attic' }],
      ['guest/log', { logged: 'attic', level: 'info' }],
    ]);
  });

  it('toggles a rule from a message and shows its state', async () => {
    await helper.load(NODES, fanOut());
    await rulesReady();
    const toggled = nextMessage(helper.getNode('ruleOut'));
    helper.getNode('r1').receive({ payload: 'disable' });
    expect((await toggled).payload).toEqual({ rule: 'motion-lamp', trigger: 'motion', action: 'lamp', status: 'inactive' });
    expect(statuses(helper.getNode('r1')).at(-1)).toMatchObject({ fill: 'grey', text: 'inactive' });

    const fired = nextMessage(helper.getNode('out'));
    helper.getNode('t1').receive({ payload: { room: 'den' } });
    const rules = (await fired).payload.rules;
    const lamp = rules.find((r: { rule: string }) => r.rule === 'guest/motion-lamp');
    expect(lamp).toEqual({ rule: 'guest/motion-lamp', action: 'guest/lamp', statusCode: 1, success: false, error: "Rule 'guest/motion-lamp' is inactive, action 'guest/lamp' was not activated." });

    const enabled = nextMessage(helper.getNode('ruleOut'));
    helper.getNode('r1').receive({ payload: true });
    expect((await enabled).payload.status).toBe('active');
    expect(statuses(helper.getNode('r1')).at(-1)).toMatchObject({ fill: 'green', text: 'active' });
  });

  it('reports a bad toggle message to Catch', async () => {
    await helper.load(NODES, fanOut());
    await rulesReady();
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('r1').receive({ payload: 'sideways' });
    expect((await caught).error.message).toMatch(/Send 'enable' or 'disable'/);
  });

  it('outputs activationId null when no rule is active, and the trigger name can come from msg.trigger', async () => {
    await helper.load(NODES, [
      tab,
      { id: 't1', type: 'edgewhisk-trigger', z: 'f1', trigger: 'lonely', wires: [['out']] },
      { id: 'out', type: 'helper', z: 'f1' },
    ]);
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('t1').receive({ payload: 1, trigger: 'elsewhere' });
    const msg = await got;
    expect(msg.payload).toEqual({ activationId: null, rules: [] });
    expect(statuses(helper.getNode('t1')).at(-1)).toMatchObject({ text: 'no active rule' });
  });

  it('filters the activations node by status', async () => {
    await helper.load(NODES, [
      tab,
      { id: 'a1', type: 'edgewhisk-action', z: 'f1', action: 'flaky', code: 'function main(p) { if (p.fail) return { error: "bad" }; return { ok: 1 }; }', blocking: false, wires: [[]] },
      { id: 'acts', type: 'edgewhisk-activations', z: 'f1', outcome: 'failure', wires: [['seen']] },
      { id: 'seen', type: 'helper', z: 'f1' },
      // Unfiltered: tells when both activations have been announced, so the filtered count below is final.
      { id: 'all', type: 'edgewhisk-activations', z: 'f1', outcome: 'any', wires: [[]] },
    ]);
    const seen = nextMessage(helper.getNode('seen'));
    helper.getNode('a1').receive({ payload: { fail: false } });
    helper.getNode('a1').receive({ payload: { fail: true } });
    const msg = await seen;
    expect(msg.payload).toEqual({ error: 'bad' });
    expect(msg.activation.response.status).toBe('application error');
    // Every activations node hears each completion in the same emit: once 'all' has seen both, 'acts' has judged
    // the successful one too, and must have let it pass by.
    await vi.waitFor(() => expect(statuses(helper.getNode('all')).at(-1)).toMatchObject({ text: '2 seen' }), { timeout: 10_000, interval: 20 });
    expect(statuses(helper.getNode('acts')).at(-1)).toMatchObject({ text: '1 seen' });
  });

  it.each([
    ['a display status a redeploy saved into `status` (flows of 0.1)', { status: { fill: 'green', shape: 'dot', text: '4 seen' } }, 2],
    ['a legacy `status` filter string', { status: 'failure' }, 1],
    ['`outcome`, which wins over a legacy `status`', { outcome: 'failure', status: 'success' }, 1],
    ['no filter at all', {}, 2],
  ])('reads its outcome filter from %s', async (_label, props, expected) => {
    await helper.load(NODES, [
      tab,
      { id: 'a1', type: 'edgewhisk-action', z: 'f1', action: 'flaky', code: 'function main(p) { if (p.fail) return { error: "bad" }; return { ok: 1 }; }', blocking: false, wires: [[]] },
      { id: 'acts', type: 'edgewhisk-activations', z: 'f1', ...props, wires: [[]] },
      { id: 'all', type: 'edgewhisk-activations', z: 'f1', wires: [[]] },
    ]);
    helper.getNode('a1').receive({ payload: { fail: false } });
    helper.getNode('a1').receive({ payload: { fail: true } });
    await vi.waitFor(() => expect(statuses(helper.getNode('all')).at(-1)).toMatchObject({ text: '2 seen' }), { timeout: 10_000, interval: 20 });
    expect(statuses(helper.getNode('acts')).at(-1)).toMatchObject({ text: `${expected} seen` });
  });

  it('uses the settings of a configured engine node', async () => {
    await helper.load(NODES, [
      { id: 'e1', type: 'edgewhisk-engine', maxQueued: 1, concurrentInvocations: 1, prewarmCount: 0 },
      tab,
      { id: 'a1', type: 'edgewhisk-action', z: 'f1', engine: 'e1', action: 'slow', code: 'async function main() { await new Promise(r => setTimeout(r, 1000)); return {}; }', wires: [['out']] },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'c1', type: 'catch', z: 'f1', scope: null, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
    ]);
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('a1').receive({ payload: {} });
    // The second message must find the first one in flight (queued or running, for the action's 1 s).
    await vi.waitFor(() => expect(statuses(helper.getNode('a1')).some((s) => /^(queued|running) 1$/.test(s.text ?? ''))).toBe(true), { timeout: 10_000, interval: 5 });
    helper.getNode('a1').receive({ payload: {} });
    const msg = await caught;
    expect(msg.error.message).toBe('Too many concurrent requests in flight (count: 1, allowed: 1).');
    expect(msg.error.code).toBe('EW_THROTTLED_CONCURRENT');
    expect(statuses(helper.getNode('a1')).some((s) => s.text === 'throttled')).toBe(true);
  });

  it('reports an engine node with invalid settings as a deploy-time error on the node using it', async () => {
    await helper.load(NODES, [
      { id: 'e1', type: 'edgewhisk-engine', memoryBudget: 'lots' },
      tab,
      { id: 'a1', type: 'edgewhisk-action', z: 'f1', engine: 'e1', action: 'x', code: 'function main() { return {}; }', wires: [] },
    ]);
    const a1 = helper.getNode('a1');
    expect(a1.error.calledWithMatch(/memoryBudget/)).toBe(true);
    expect(statuses(a1).at(-1)).toMatchObject({ fill: 'red', text: 'no engine' });
  });
});
