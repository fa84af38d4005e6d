/**
 * The editor's routes and live feed, on a real Node-RED runtime (the test helper's): "Run" in the action dialog,
 * the sidebar's engine and activation routes, and the activity pushed through Node-RED's comms.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { feedFor, FLUSH_MS, forgetWatchers, MAX_ENTRIES_PER_FLUSH, type FeedEntry, type FeedMessage } from '../../src/nodes/lib/editor-feed';
import { sleep } from '../helpers/engine';
import { helper, messages, nextMessage, NODES, statuses, tab, useNodeRed } from '../helpers/node-red';

useNodeRed();
afterEach(() => forgetWatchers());

/** Everything the runtime publishes on the editor's comms while `work` runs, plus a flush's worth after it. */
async function published<T>(work: () => Promise<T>, settle = FLUSH_MS * 3): Promise<{ result: T; messages: { topic: string; data: FeedMessage }[] }> {
  const got: { topic: string; data: FeedMessage }[] = [];
  const listener = (event: { topic: string; data: FeedMessage }): void => {
    if (event.topic.startsWith('edgewhisk/activity/')) got.push(event);
  };
  helper._events.on('comms', listener);
  // An editor showing the sidebar says so over comms; without it the feed does not listen at all.
  helper._events.emit('comms:message:edgewhisk/watch', { data: {} });
  try {
    const result = await work();
    await sleep(settle);
    return { result, messages: got };
  } finally {
    helper._events.off('comms', listener);
  }
}

/** The last state the feed reported for each activation. */
function latest(messagesSeen: { data: FeedMessage }[]): Map<string, FeedEntry> {
  const byId = new Map<string, FeedEntry>();
  for (const m of messagesSeen) for (const e of m.data.entries) byId.set(e.id, { ...byId.get(e.id), ...e });
  return byId;
}

const run = (body: unknown) => helper.request().post('/edgewhisk/run').send(body as object).set('content-type', 'application/json');

describe('Run before deploy (POST /edgewhisk/run)', () => {
  it('runs the code being edited with the sample payload on the shared engine: result, logs, status and duration', async () => {
    await helper.load(NODES, [tab]);
    const res = await run({
      node: 'draft1',
      kind: 'nodejs:default',
      code: "function main(p) { console.log('doubling', p.n); return { double: p.n * 2, unit: p.unit }; }",
      params: [{ key: 'unit', value: 'W', type: 'str' }],
      payload: { n: 21 },
    });
    expect(res.status).toBe(200);
    const activation = res.body.activation;
    expect(activation.response).toMatchObject({ statusCode: 0, success: true, result: { double: 42, unit: 'W' } });
    expect(activation.logs.join('\n')).toContain('doubling 21');
    expect(activation.duration).toBeGreaterThanOrEqual(0);
    expect(activation.annotations.find((a: { key: string }) => a.key === 'kind').value).toMatch(/^nodejs:2[24]$/);
  });

  it('passes a payload that is not an object as {payload}, as the deployed node would', async () => {
    await helper.load(NODES, [tab]);
    const res = await run({ node: 'draft1', code: 'function main(p) { return { got: p.payload }; }', payload: 'on' });
    expect(res.body.activation.response.result).toEqual({ got: 'on' });
  });

  it('reports broken code as the failed activation it is, and deletes the throwaway action every time', async () => {
    const flow = [tab, { id: 'a1', type: 'edgewhisk-action', z: 'f1', action: 'kept', code: 'function main() { return { ok: true }; }', wires: [[]] }];
    await helper.load(NODES, flow);
    const broken = await run({ node: 'draft1', code: 'function main( {' });
    expect(broken.status).toBe(200);
    expect(broken.body.activation.response).toMatchObject({ statusCode: 2, success: false });
    expect(broken.body.activation.response.result.error).toMatch(/Initialization has failed|SyntaxError/);
    const throws = await run({ node: 'draft1', code: "async function main() { throw new Error('sensor offline'); }" });
    // A rejected promise is the action's own error (application error), as in OpenWhisk's Node.js runtime.
    expect(throws.body.activation.response).toMatchObject({ statusCode: 1, result: { error: { message: 'sensor offline' } } });
    const slow = await run({ node: 'draft1', code: 'async function main() { await new Promise(() => {}); }', timeout: '100' });
    expect(slow.body.activation.response).toMatchObject({ statusCode: 2, result: { error: expect.stringMatching(/exceeded its time limits of 100 milliseconds/) } });
    // Only the deployed node's action is left in the engine.
    const engine = feedFor('default')!.engine;
    const names = ((await engine.actions.list({})) as { name: string }[]).map((a) => a.name);
    expect(names).toEqual(['kept']);
  });

  it('refuses hostile or malformed drafts with a coded 400, and keeps serving', async () => {
    await helper.load(NODES, [tab]);
    const cases: [unknown, RegExp][] = [
      [{ node: 'd', code: 'function main() {}', main: "main; process.exit(1)" }, /invalid main/],
      [{ node: 'd', code: 'x', kind: 'blackbox' }, /blackbox action needs an image/],
      [{ node: 'd', code: 'x', image: 'evil image' }, /no spaces/],
      [{ node: 'd', code: 'x', network: 'host' }, /never host/],
      [{ code: 'x' }, /'node' must name the node/],
      [{ node: 'd', code: { not: 'a string' } }, /'code' must be a string/],
      [{ node: 'd', params: 'no' }, /'params' must be a list/],
      [[1, 2], /must be a JSON object/],
    ];
    for (const [body, message] of cases) {
      const res = await run(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('EW_EDITOR_DRAFT_INVALID');
      expect(res.body.error).toMatch(message);
    }
    const unknownKind = await run({ node: 'd', code: 'x', kind: 'cobol:1' });
    expect(unknownKind.status).toBe(400);
    expect(unknownKind.body.code).toMatch(/^EW_/);
    const ok = await run({ node: 'd', code: 'function main() { return { still: "serving" }; }' });
    expect(ok.body.activation.response.result).toEqual({ still: 'serving' });
  });

  it('says when the selected engine node is not deployed yet (409), and runs on it once it is', async () => {
    await helper.load(NODES, [tab]);
    const missing = await run({ node: 'd', engine: 'e1', code: 'function main() { return {}; }' });
    expect(missing.status).toBe(409);
    expect(missing.body).toMatchObject({ code: 'EW_EDITOR_ENGINE_NOT_DEPLOYED', error: expect.stringContaining('deploy it once') });
    await helper.unload();
    await helper.load(NODES, [tab, { id: 'e1', type: 'edgewhisk-engine', name: 'kitchen', defaultRuntime: 'process' }]);
    const res = await run({ node: 'd', engine: 'e1', code: 'function main() { return { pid: process.pid }; }' });
    expect(res.status).toBe(200);
    // The engine's own default runtime (a child process), not the shared engine's worker thread.
    expect(res.body.activation.response.result.pid).not.toBe(process.pid);
  });
});

describe('the sidebar: routes and live feed', () => {
  const flow = [
    tab,
    { id: 'a1', type: 'edgewhisk-action', z: 'f1', action: 'lamp', code: 'function main(p) { return { lamp: p.room }; }', wires: [['out']] },
    { id: 'a2', type: 'edgewhisk-action', z: 'f1', action: 'dim', code: 'function main(p) { return { dim: p.room }; }', wires: [[]] },
    { id: 'r1', type: 'edgewhisk-rule', z: 'f1', rule: 'motion-dim', trigger: 'motion', action: 'dim', active: true, wires: [[]] },
    { id: 't1', type: 'edgewhisk-trigger', z: 'f1', trigger: 'motion', wires: [['fired']] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'fired', type: 'helper', z: 'f1' },
  ];

  async function ready(): Promise<void> {
    for (let i = 0; i < 200 && statuses(helper.getNode('r1')).at(-1)?.text !== 'active'; i++) await sleep(10);
  }

  it('pushes each activation queued, running and done through comms, naming the node that caused it', async () => {
    await helper.load(NODES, flow);
    await ready();
    const { result, messages: seen } = await published(async () => {
      const out = nextMessage(helper.getNode('out'));
      helper.getNode('a1').receive({ payload: { room: 'hall' } });
      const fired = nextMessage(helper.getNode('fired'));
      helper.getNode('t1').receive({ payload: { room: 'porch' } });
      return { out: await out, fired: await fired };
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((m) => m.topic === 'edgewhisk/activity/default' && m.data.engine === 'default')).toBe(true);
    const byId = latest(seen);
    const lamp = byId.get(result.out.activation.activationId)!;
    expect(lamp).toMatchObject({ name: 'lamp', state: 'done', statusCode: 0, type: 'action', node: 'a1', actionNode: 'a1' });
    expect(lamp.waitTime).toBeGreaterThanOrEqual(0);
    expect(lamp.duration).toBeGreaterThanOrEqual(0);
    // The trigger's fire, and the rule activation it caused: trigger → rule → action, with the trigger node as cause.
    const fire = byId.get(result.fired.payload.activationId)!;
    expect(fire).toMatchObject({ type: 'trigger', name: 'motion', state: 'done', node: 't1' });
    const ruleRun = byId.get(fire.started![0]!.id!)!;
    expect(ruleRun).toMatchObject({ name: 'dim', cause: fire.id, rule: 'guest/motion-dim', node: 't1', actionNode: 'a2' });
    // The stats ride along: nothing queued or running once both are done.
    expect(seen.at(-1)!.data.stats).toMatchObject({ queued: 0, running: 0, memoryBudget: 1024 });
  });

  it('coalesces a burst: 200 activations reach the editor in a few messages, each activation ending done', async () => {
    await helper.load(NODES, flow);
    await ready();
    const { messages: seen } = await published(async () => {
      const all = messages(helper.getNode('out'), 200, 20_000);
      for (let i = 0; i < 200; i++) helper.getNode('a1').receive({ payload: { room: `r${i}` } });
      await all;
    });
    const byId = latest(seen);
    expect([...byId.values()].filter((e) => e.name === 'lamp' && e.state === 'done' && e.node === 'a1')).toHaveLength(200);
    // 600 events (queued, started, completed) in far fewer websocket messages, none over the per-message cap.
    expect(seen.length).toBeLessThan(60);
    expect(seen.every((m) => m.data.entries.length <= MAX_ENTRIES_PER_FLUSH)).toBe(true);
  });

  it('lists the running engines, their recent activations and one record with its cause', async () => {
    await helper.load(NODES, [...flow, { id: 'e1', type: 'edgewhisk-engine', name: 'garage' }, { id: 'a3', type: 'edgewhisk-action', z: 'f1', engine: 'e1', action: 'door', code: 'function main() { return { door: "open" }; }', wires: [['out']] }]);
    await ready();
    // Not watched: the record names the node defining the action, not the node that caused it.
    const before = nextMessage(helper.getNode('out'));
    helper.getNode('a3').receive({ payload: {} });
    const unwatched = await before;
    // An editor opens the sidebar (its watch message), then the node runs again.
    helper._events.emit('comms:message:edgewhisk/watch', { data: {} });
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('a3').receive({ payload: {} });
    const msg = await out;
    const engines = await helper.request().get('/edgewhisk/engines').expect(200);
    expect(engines.body.map((e: { key: string; label: string }) => [e.key, e.label]).sort()).toEqual([['default', 'default engine'], ['e1', 'garage']]);
    expect(engines.body[0].stats).toMatchObject({ queued: 0, running: 0 });
    const list = await helper.request().get('/edgewhisk/engines/e1/activations?limit=10').expect(200);
    expect(list.body.entries).toEqual([
      expect.objectContaining({ id: msg.activation.activationId, name: 'door', state: 'done', node: 'a3', actionNode: 'a3' }),
      expect.objectContaining({ id: unwatched.activation.activationId, name: 'door', state: 'done', actionNode: 'a3' }),
    ]);
    expect(list.body.entries[1].node).toBeUndefined();
    const one = await helper.request().get(`/edgewhisk/engines/e1/activations/${msg.activation.activationId}`).expect(200);
    expect(one.body.activation.response.result).toEqual({ door: 'open' });
    expect(one.body.entry).toMatchObject({ node: 'a3' });
    const unknown = await helper.request().get('/edgewhisk/engines/nope/activations').expect(404);
    expect(unknown.body.code).toBe('EW_EDITOR_ENGINE_UNKNOWN');
    const gone = await helper.request().get('/edgewhisk/engines/e1/activations/0123456789abcdef0123456789abcdef').expect(404);
    expect(gone.body.code).toBe('EW_ACTIVATION_NOT_FOUND');
  });

  it('costs the engine nothing while no editor shows the sidebar: listeners only from a watch until it lapses', async () => {
    await helper.load(NODES, flow);
    await ready();
    const engine = feedFor('default')!.engine;
    const completedBefore = engine.listenerCount('activation:completed');
    expect(engine.listenerCount('activation:queued')).toBe(0);
    // The sidebar's watch message, as Node-RED's comms hands it to the runtime: the feed listens now.
    helper._events.emit('comms:message:edgewhisk/watch', { data: {} });
    expect(engine.listenerCount('activation:queued')).toBe(1);
    expect(engine.listenerCount('activation:completed')).toBe(completedBefore + 1);
    forgetWatchers();
    expect(engine.listenerCount('activation:queued')).toBe(0);
    expect(engine.listenerCount('activation:completed')).toBe(completedBefore);
  });
});

describe("the trigger dialog's schedule preview (GET /edgewhisk/schedule)", () => {
  const preview = (query: Record<string, string>) => helper.request().get('/edgewhisk/schedule').query(query);

  it('gives the next 3 fire times in the schedule\'s time zone, with seconds when the pattern has them', async () => {
    await helper.load(NODES, [tab]);
    const res = await preview({ cron: '0 30 6 * * 1-5', timezone: 'Europe/Berlin' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ timezone: 'Europe/Berlin' });
    expect(res.body.error).toBeUndefined();
    const next = res.body.next as { at: string; text: string }[];
    expect(next).toHaveLength(3);
    for (const n of next) {
      // 06:30:00 on a weekday in Berlin, whatever the host's zone; `at` is the same instant in UTC.
      expect(n.text).toMatch(/^(Mon|Tue|Wed|Thu|Fri) \d{4}-\d\d-\d\d 06:30:00$/);
      const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(n.at));
      expect(berlin).toBe('06:30');
      expect(Date.parse(n.at)).toBeGreaterThan(Date.now());
    }
    expect(new Set(next.map((n) => n.at)).size).toBe(3);
    const every10 = (await preview({ cron: '*/10 * * * * *', timezone: 'UTC' })).body.next as { at: string }[];
    expect(Date.parse(every10[1]!.at) - Date.parse(every10[0]!.at)).toBe(10_000);
  });

  it("uses the Node-RED host's zone when the dialog names none, and says which it is", async () => {
    await helper.load(NODES, [tab]);
    const host = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const res = await preview({ cron: '0 7 * * *', timezone: '' });
    expect(res.body).toMatchObject({ timezone: host, hostTimeZone: host });
    expect(res.body.next).toHaveLength(3);
  });

  it("answers a pattern or zone the alarm feed would refuse with the feed's own message", async () => {
    await helper.load(NODES, [tab]);
    const bad = await preview({ cron: '0 7 * *', timezone: 'UTC' });
    expect(bad.status).toBe(200);
    expect(bad.body.next).toEqual([]);
    expect(bad.body.error).toBe("cron pattern '0 7 * *' is not valid: it has 4 fields; use 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first (second minute hour day-of-month month day-of-week)");
    const range = await preview({ cron: '61 * * * *' });
    expect(range.body.error).toMatch(/^cron pattern '61 \* \* \* \*' is not valid: /);
    const zone = await preview({ cron: '0 7 * * *', timezone: 'Mars/Olympus' });
    expect(zone.body.error).toBe("timezone parameter 'Mars/Olympus' is not a valid IANA time zone, such as 'Europe/Berlin' or 'UTC'");
    expect((await preview({})).body.error).toBe('alarms trigger feed is missing the cron parameter');
  });
});
