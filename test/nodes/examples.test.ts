import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sleep } from '../helpers/engine';
import { acquireSharedEngine } from '../../src/nodes/lib/engine-registry';
import { helper, NODES, statuses, useNodeRed } from '../helpers/node-red';
import { nodeRedRequire } from '../helpers/node-red-under-test';

useNodeRed();

const require = createRequire(__filename);
const root = join(__dirname, '..', '..');
const core = join(nodeRedRequire.resolve('@node-red/nodes/package.json'), '..', 'core');
const CORE_NODES = ['common/20-inject.js', 'common/21-debug.js', 'common/90-comment.js', 'function/10-function.js', 'function/15-change.js', 'sequence/17-split.js', 'network/10-mqtt.js'].map(
  (file) => require(join(core, file)),
);
const haModule = require('node-red-contrib-home-assistant-websocket/dist/index.js');
const HOME_ASSISTANT = haModule.default ?? haModule;

function exampleFiles(dir = join(root, 'examples')): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? exampleFiles(path) : name.endsWith('.json') ? [path] : [];
  });
}

const files = exampleFiles();

describe('examples', () => {
  it('covers every non-config node type at least once (flow library rule N02), each file with a comment', () => {
    const types = new Set(files.flatMap((f) => (JSON.parse(readFileSync(f, 'utf8')) as { type: string }[]).map((n) => n.type)));
    for (const type of ['edgewhisk-action', 'edgewhisk-trigger', 'edgewhisk-rule', 'edgewhisk-activations']) expect(types.has(type), type).toBe(true);
    for (const f of files) expect((JSON.parse(readFileSync(f, 'utf8')) as { type: string }[]).some((n) => n.type === 'comment'), f).toBe(true);
  });

  it('uses no third-party nodes outside examples/home-assistant', () => {
    const ours = /^(edgewhisk-|inject$|debug$|comment$|function$|change$|join$|catch$|tab$)/;
    for (const f of files.filter((f) => !f.includes('home-assistant'))) {
      for (const n of JSON.parse(readFileSync(f, 'utf8')) as { type: string }[]) expect(n.type, `${relative(root, f)}: ${n.type}`).toMatch(ours);
    }
  });

  it.each(files.map((f) => [relative(join(root, 'examples'), f), f]))('deploys %s without errors', async (_label, file) => {
    const nodes = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
    const isHomeAssistant = file.includes('home-assistant');
    // The Home Assistant examples leave the `server` node out, as that package's examples do; a user picks theirs
    // after importing. Here a server on a closed loopback port stands in for it.
    const server = { id: 'ha-server', type: 'server', name: 'Home Assistant', version: 5, addon: false, rejectUnauthorizedCerts: true, ha_boolean: 'y|yes|true|on|home|open', connectionDelay: true, cacheJson: true, heartbeat: false, heartbeatInterval: 30, areaSelector: 'friendlyName', deviceSelector: 'friendlyName', entitySelector: 'friendlyName', statusSeparator: ': ', enableGlobalContextStore: false };
    const placed = nodes.map((n) => (n['type'] === 'edgewhisk-engine' ? n : { ...n, z: 'examples-tab', ...(isHomeAssistant && 'server' in n ? { server: 'ha-server' } : {}) }));
    const flow = [{ id: 'examples-tab', type: 'tab', label: 'example' }, ...placed, ...(isHomeAssistant ? [server] : [])];
    const credentials = isHomeAssistant ? { 'ha-server': { host: 'http://127.0.0.1:9', access_token: 'not-a-token' } } : {};
    // The Home Assistant nodes keep a small store in the user directory.
    // The Docker example needs Docker mode allowed, as its comment tells the user (here without adminAuth).
    const docker = file.includes('Docker') ? { edgewhisk: { allowDockerWithoutAdminAuth: true } } : {};
    helper.settings({ userDir: mkdtempSync(join(tmpdir(), 'edgewhisk-examples-')), ...docker });
    const modules = isHomeAssistant ? [...NODES, ...CORE_NODES, HOME_ASSISTANT] : [...NODES, ...CORE_NODES];
    await helper.load(modules, flow, credentials);
    await sleep(300);
    const failures: string[] = [];
    for (const n of nodes) {
      const node = helper.getNode(n['id'] as string);
      expect(node, `${n['type']} ${n['id']} was created`).toBeTruthy();
      if (String(n['type']).startsWith('edgewhisk-')) {
        for (const call of node.error.getCalls()) failures.push(`${n['type']}: ${String(call.args[0])}`);
        const last = node.status.getCalls().at(-1)?.args[0];
        if (last?.fill === 'red') failures.push(`${n['type']} status: ${last.text}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('the Home Assistant example', () => {
  it('turns a motion event into the Action node payload {action, target, data}', async () => {
    const file = files.find((f) => f.includes('home-assistant/01'));
    const nodes = JSON.parse(readFileSync(file as string, 'utf8')) as Record<string, unknown>[];
    // The decision path only: Events: state and the Action node need a Home Assistant server, so the test feeds
    // the change node as Events: state would and catches what the action sends to the Action node.
    const flow: Record<string, unknown>[] = [{ id: 'ha-tab', type: 'tab', label: 'ha' }, { id: 'sink', type: 'helper', z: 'ha-tab' }];
    for (const n of nodes) {
      if (n['type'] === 'server-state-changed' || n['type'] === 'api-call-service') continue;
      flow.push({ ...n, z: 'ha-tab', ...(n['type'] === 'edgewhisk-action' ? { wires: [['sink']] } : {}) });
    }
    await helper.load([...NODES, ...CORE_NODES], flow);
    const change = nodes.find((n) => n['type'] === 'change')?.['id'] as string;
    const sink = helper.getNode('sink');
    const on = new Promise<any>((resolve) => sink.once('input', resolve));
    helper.getNode(change).receive({ payload: 'on', data: { entity_id: 'binary_sensor.hallway_motion', new_state: { state: 'on', attributes: { illuminance: 5 } } } });
    expect((await on).payload).toEqual({ action: 'light.turn_on', target: { entity_id: ['light.hallway'] }, data: { brightness_pct: 80 } });
    const off = new Promise<any>((resolve) => sink.once('input', resolve));
    helper.getNode(change).receive({ payload: 'off', data: { new_state: { state: 'off', attributes: {} } } });
    expect((await off).payload).toEqual({ action: 'light.turn_off', target: { entity_id: ['light.hallway'] }, data: {} });
  });
});

/** An example's nodes on one tab, with the node `replace` names swapped for a helper node that collects messages. */
function exampleFlow(folder: string, drop: readonly string[], sinkFor: string): { flow: Record<string, unknown>[]; nodes: Record<string, unknown>[] } {
  const file = files.find((f) => f.includes(folder)) as string;
  const nodes = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
  const flow: Record<string, unknown>[] = [{ id: 'ex-tab', type: 'tab', label: 'example' }, { id: 'sink', type: 'helper', z: 'ex-tab' }];
  for (const n of nodes) {
    if (drop.includes(String(n['type']))) continue;
    flow.push({ ...n, z: 'ex-tab', ...(n['type'] === sinkFor ? { wires: [['sink']] } : {}) });
  }
  return { flow, nodes };
}

describe('the schedule example', () => {
  it('schedules the nightly trigger at 03:00 in the host zone with catch-up once, and runs the action by hand too', async () => {
    helper.settings({ userDir: mkdtempSync(join(tmpdir(), 'edgewhisk-examples-')) });
    const { flow, nodes } = exampleFlow('schedules/01', ['debug'], 'edgewhisk-trigger');
    await helper.load([...NODES, ...CORE_NODES], flow);
    const trigger = helper.getNode(nodes.find((n) => n['type'] === 'edgewhisk-trigger')?.['id'] as string);
    for (let i = 0; i < 100 && !/^next /.test(statuses(trigger).at(-1)?.text ?? ''); i++) await sleep(20);
    expect(statuses(trigger).at(-1)?.text).toMatch(/^next (03:00:00|[A-Z][a-z]{2} 03:00)$/);
    const probe = acquireSharedEngine();
    try {
      const read = (await probe.engine.feeds.get({ name: '/whisk.system/alarms/alarm', trigger: 'nightly' })) as { response: { result: { config: unknown } } };
      expect(read.response.result.config).toMatchObject({ cron: '0 0 3 * * *', timezone: Intl.DateTimeFormat().resolvedOptions().timeZone, catchUp: 'once', payload: { reason: 'nightly' } });
    } finally {
      await probe.release();
    }
    const out = new Promise<any>((resolve) => helper.getNode('sink').once('input', resolve));
    trigger.receive({ payload: { reason: 'by hand' } });
    const [result] = (await out).payload.results;
    expect(result.result).toMatchObject({ reason: 'by hand', keepDays: 30 });
    expect(Math.round((Date.now() - Date.parse(result.result.deleteBefore)) / 86_400_000)).toBe(30);
    // Fired by hand, the node still says when the schedule fires next.
    expect(statuses(trigger).at(-1)?.text).toMatch(/^fired 1\/1, next (03:00:00|[A-Z][a-z]{2} 03:00)$/);
  });
});

describe('the MQTT state topic example', () => {
  it('turns a Home Assistant statestream message into the decision of the action', async () => {
    // The decision path only: the MQTT in node needs a broker, so the test feeds the change node as it would.
    const { flow, nodes } = exampleFlow('home-assistant/02', ['mqtt in', 'mqtt-broker', 'debug'], 'edgewhisk-trigger');
    await helper.load([...NODES, ...CORE_NODES], flow);
    const subscribed = nodes.find((n) => n['type'] === 'mqtt in')?.['topic'];
    expect(subscribed).toBe('homeassistant/binary_sensor/+/state');
    expect(nodes.find((n) => n['type'] === 'mqtt-broker')).toMatchObject({ broker: 'localhost', port: '1883' });
    const change = helper.getNode(nodes.find((n) => n['type'] === 'change')?.['id'] as string);
    for (let i = 0; i < 100 && statuses(helper.getNode(nodes.find((n) => n['type'] === 'edgewhisk-rule')?.['id'] as string)).at(-1)?.text !== 'active'; i++) await sleep(20);
    const decide = async (topic: string, payload: string): Promise<unknown> => {
      const out = new Promise<any>((resolve) => helper.getNode('sink').once('input', resolve));
      change.receive({ topic, payload });
      return (await out).payload.results.map((r: { result: unknown }) => r.result);
    };
    expect(await decide('homeassistant/binary_sensor/front_door/state', 'on')).toEqual([{ notify: true, entity: 'binary_sensor.front_door', message: 'The front door was opened' }]);
    expect(await decide('homeassistant/binary_sensor/front_door/state', 'off')).toEqual([{ notify: false, entity: 'binary_sensor.front_door' }]);
    expect(await decide('homeassistant/binary_sensor/hallway_motion/state', 'on')).toEqual([{ notify: false, entity: 'binary_sensor.hallway_motion' }]);
  });
});
