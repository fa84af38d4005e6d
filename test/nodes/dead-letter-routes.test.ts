/**
 * The editor's dead-letter routes, in a real Node-RED with adminAuth, on dead letters made as a user makes them:
 * non-blocking messages into an action node, Node-RED killed (SIGKILL), and started again with flows that no longer
 * have that node. Its action goes with it, so what it had accepted becomes dead letters of the shared engine.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bcryptHash, startNodeRed, type NodeRedProcess } from '../helpers/node-red-process';

const MESSAGES = 5;
const USERS = { admin: 'admin-password-1', viewer: 'viewer-password-1' };
const SCOPES: Record<keyof typeof USERS, string> = { admin: '*', viewer: 'read' };

const tab = { id: 'f1', type: 'tab', label: 'dead letters' };
// Uses the shared engine too, so that engine is made again after the restart.
const keeper = { id: 'kp', type: 'edgewhisk-action', z: 'f1', action: 'keeper', code: 'function main() { return {}; }', wires: [[]] };
const doomed = (code: string): object => ({ id: 'dn', type: 'edgewhisk-action', z: 'f1', action: 'doomed', code, blocking: false, wires: [['id']] });
const before = [
  tab,
  keeper,
  { id: 'go', type: 'inject', z: 'f1', props: [{ p: 'payload' }], payload: '', payloadType: 'date', repeat: '', once: false, wires: [['fan']] },
  { id: 'fan', type: 'function', z: 'f1', func: `for (let i = 0; i < ${MESSAGES}; i++) node.send({ payload: { i } });\nreturn null;`, outputs: 1, wires: [['dn']] },
  // Long enough that none has finished at the kill.
  doomed('async function main(params) {\n  await new Promise((resolve) => setTimeout(resolve, 20000));\n  return { i: params.i };\n}'),
  { id: 'id', type: 'change', z: 'f1', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'payload.activationId', tot: 'msg' }], wires: [['ids']] },
  { id: 'ids', type: 'file', z: 'f1', filename: 'ids.txt', filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', wires: [[]] },
];
// Edited while Node-RED was down: the action node is gone. A remote engine node answers with no dead letters.
const after = [tab, keeper, { id: 'rem1', type: 'edgewhisk-engine', name: 'remote', mode: 'remote', apihost: 'http://127.0.0.1:9' }];

let red: NodeRedProcess;
let ids: string[] = [];
const tokens: Partial<Record<keyof typeof USERS, string>> = {};

async function token(user: keyof typeof USERS): Promise<string> {
  const cached = tokens[user];
  if (cached !== undefined) return cached;
  const res = await fetch(`${red.url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: SCOPES[user], username: user, password: USERS[user] }),
  });
  expect(res.status).toBe(200);
  return (tokens[user] = ((await res.json()) as { access_token: string }).access_token);
}

async function call(method: string, path: string, as?: keyof typeof USERS, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = as === undefined ? {} : { authorization: `Bearer ${await token(as)}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${red.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; Node-RED said:\n${red.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Letter {
  activationId: string;
  action: string;
  target: string;
  acceptedAt: number;
  failedAt: number;
  attempts: number;
  reason: string;
  payload?: unknown;
}
interface Listed {
  engine: string;
  count: number;
  deadLetters: Letter[];
}

const LIST = '/edgewhisk/engines/default/dead-letters';

beforeAll(async () => {
  red = await startNodeRed({
    flows: before,
    settings: `fileWorkingDirectory: __dirname,
  adminAuth: {
    type: 'credentials',
    users: [
      { username: 'admin', password: ${JSON.stringify(bcryptHash(USERS.admin))}, permissions: '*' },
      { username: 'viewer', password: ${JSON.stringify(bcryptHash(USERS.viewer))}, permissions: 'read' },
    ],
  },`,
  });
  expect((await call('POST', '/inject/go', 'admin')).status).toBe(200);
  const file = join(red.userDir, 'ids.txt');
  ids = await until(`${MESSAGES} ids`, 20_000, () => {
    const sent = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
    return sent.length >= MESSAGES ? sent : undefined;
  });
  await red.kill();
  await red.restart({ flows: after });
  // Replay runs once the flows have started; the dead letters are there once it has.
  await until('the dead letters', 10_000, async () => {
    const res = await call('GET', LIST, 'viewer');
    return res.status === 200 && ((await res.json()) as Listed).count === MESSAGES ? true : undefined;
  });
}, 90_000);

afterAll(() => red?.stop());

describe('dead-letter routes', () => {
  it('keeps the shared engine in <userDir>/edgewhisk/shared.db and says what the restart found', () => {
    expect(readdirSync(join(red.userDir, 'edgewhisk'))).toContain('shared.db');
    expect(red.output()).toContain(`EdgeWhisk default engine: store ${join(red.userDir, 'edgewhisk', 'shared.db')}`);
    expect(red.output()).toMatch(new RegExp(`EdgeWhisk default engine: accepted invocations from before the restart: 0 queued again, 0 run again \\(were running\\), 0 expired and ${MESSAGES} whose action is gone`));
  });

  it('lists what the removed node had accepted, to a reader, without payloads', async () => {
    const res = await call('GET', LIST, 'viewer');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Listed;
    expect(body.engine).toBe('default');
    expect(body.count).toBe(MESSAGES);
    expect(new Set(body.deadLetters.map((d) => d.activationId))).toEqual(new Set(ids));
    for (const letter of body.deadLetters) {
      expect(letter.action).toBe('doomed');
      expect(letter.target).toMatch(/^\/[^/]+\/doomed$/);
      expect(letter.reason).toMatch(/no longer exists/);
      expect(letter.payload).toBeUndefined();
      expect(letter.failedAt).toBeGreaterThanOrEqual(letter.acceptedAt);
    }
    // Its final record says so, under the id the flow was given.
    const record = await call('GET', `/edgewhisk/engines/default/activations/${ids[0]}`, 'viewer');
    const activation = ((await record.json()) as { activation: { response: { success: boolean; result: { error: string } } } }).activation;
    expect(activation.response.success).toBe(false);
    expect(activation.response.result.error).toMatch(/no longer exists/);
    // ?limit= pages like the activations route.
    expect(((await (await call('GET', `${LIST}?limit=2`, 'viewer')).json()) as Listed).deadLetters).toHaveLength(2);
  });

  it('answers 401 without the permission: nothing is listed, run or dropped', async () => {
    expect((await call('GET', LIST)).status).toBe(401);
    const id = ids[0] as string;
    for (const as of [undefined, 'viewer'] as const) {
      expect((await call('POST', `${LIST}/${id}/redrive`, as)).status, `redrive as ${as}`).toBe(401);
      expect((await call('DELETE', `${LIST}/${id}`, as)).status, `delete as ${as}`).toBe(401);
    }
    expect(((await (await call('GET', LIST, 'viewer')).json()) as Listed).count).toBe(MESSAGES);
  });

  it('answers coded 404s: an unknown id, an unknown engine, and a re-drive while the action is still gone', async () => {
    const unknown = '0123456789abcdef0123456789abcdef';
    for (const [method, path] of [['POST', `${LIST}/${unknown}/redrive`], ['DELETE', `${LIST}/${unknown}`]] as const) {
      const res = await call(method, path, 'admin');
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'EW_DEAD_LETTER_NOT_FOUND' });
    }
    const engine = await call('GET', '/edgewhisk/engines/nope/dead-letters', 'viewer');
    expect(engine.status).toBe(404);
    expect(await engine.json()).toMatchObject({ code: 'EW_EDITOR_ENGINE_UNKNOWN' });
    const gone = await call('POST', `${LIST}/${ids[0] as string}/redrive`, 'admin');
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ code: 'EW_DEAD_LETTER_ACTION_GONE' });
    expect(((await (await call('GET', LIST, 'viewer')).json()) as Listed).count).toBe(MESSAGES);
  });

  it('answers an empty list for a remote engine', async () => {
    const res = await call('GET', '/edgewhisk/engines/rem1/dead-letters', 'viewer');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ engine: 'rem1', count: 0, deadLetters: [] });
  });

  it('runs a dead letter again once its action is back, with its payload, as a new activation; drops another', async () => {
    // The node is deployed again, fixed: its action is back under the same name.
    const deploy = await call('POST', '/flows', 'admin', [...after, doomed('function main(params) { return { redriven: params.i }; }')]);
    expect(deploy.status).toBe(204);
    const [first, second] = ids as [string, string];
    const redrive = await until('a successful re-drive', 10_000, async () => {
      const res = await call('POST', `${LIST}/${first}/redrive`, 'admin');
      return res.status === 200 ? ((await res.json()) as { engine: string; activationId: string; deadLetter: string }) : undefined;
    });
    expect(redrive.deadLetter).toBe(first);
    expect(redrive.activationId).not.toBe(first);
    const rerun = await until('the re-driven record', 10_000, async () => {
      const res = await call('GET', `/edgewhisk/engines/default/activations/${redrive.activationId}`, 'viewer');
      return res.status === 200 ? ((await res.json()) as { activation: { response: { success: boolean; result: { redriven: number } } } }).activation : undefined;
    });
    expect(rerun.response.success).toBe(true);
    expect(typeof rerun.response.result.redriven).toBe('number');

    const dropped = await call('DELETE', `${LIST}/${second}`, 'admin');
    expect(dropped.status).toBe(200);
    expect(((await dropped.json()) as { deadLetter: Letter }).deadLetter.activationId).toBe(second);
    expect((await call('DELETE', `${LIST}/${second}`, 'admin')).status).toBe(404);

    const left = (await (await call('GET', LIST, 'viewer')).json()) as Listed;
    expect(left.count).toBe(MESSAGES - 2);
    expect(left.deadLetters.map((d) => d.activationId)).not.toContain(first);
    expect(left.deadLetters.map((d) => d.activationId)).not.toContain(second);
    // A dropped letter's record stays.
    expect((await call('GET', `/edgewhisk/engines/default/activations/${second}`, 'viewer')).status).toBe(200);
  });
});
