/**
 * The editor's routes behind Node-RED's adminAuth, in a real Node-RED process: reading activity needs
 * `edgewhisk.read`, running code needs `edgewhisk.write`; anyone else gets Node-RED's 401 and nothing runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bcryptHash, startNodeRed, type NodeRedProcess } from '../helpers/node-red-process';

let red: NodeRedProcess;

const USERS = { admin: 'admin-password-1', viewer: 'viewer-password-1', operator: 'operator-password-1' };
/** The scope each asks for: Node-RED refuses a token whose scope exceeds the user's permissions. */
const SCOPES: Record<keyof typeof USERS, string> = { admin: '*', viewer: 'read', operator: 'read edgewhisk.write' };

beforeAll(async () => {
  red = await startNodeRed({
    flows: [
      { id: 'f1', type: 'tab', label: 'auth' },
      { id: 'a1', type: 'edgewhisk-action', z: 'f1', action: 'hello', code: 'function main() { return { hi: 1 }; }', wires: [[]] },
    ],
    settings: `adminAuth: {
    type: 'credentials',
    users: [
      { username: 'admin', password: ${JSON.stringify(bcryptHash(USERS.admin))}, permissions: '*' },
      { username: 'viewer', password: ${JSON.stringify(bcryptHash(USERS.viewer))}, permissions: 'read' },
      { username: 'operator', password: ${JSON.stringify(bcryptHash(USERS.operator))}, permissions: ['read', 'edgewhisk.write'] },
    ],
  },`,
  });
}, 90_000);

afterAll(() => red?.stop());

async function token(user: keyof typeof USERS): Promise<string> {
  const res = await fetch(`${red.url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: SCOPES[user], username: user, password: USERS[user] }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

function call(path: string, as?: string, body?: unknown): Promise<Response> {
  return fetch(`${red.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...(as === undefined ? {} : { authorization: `Bearer ${as}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

const draft = { node: 'draft1', code: "function main() { return { ran: 'yes' }; }" };

describe('editor routes with adminAuth', () => {
  it('gives an anonymous caller nothing: 401 on every route, and the code never runs', async () => {
    for (const path of ['/edgewhisk/engines', '/edgewhisk/engines/default/activations', '/edgewhisk/engines/default/activations/0123456789abcdef0123456789abcdef', '/edgewhisk/schedule?cron=0+7+*+*+*']) {
      const res = await call(path);
      expect(res.status, path).toBe(401);
      expect(await res.text()).not.toMatch(/hello|activation/);
    }
    const run = await call('/edgewhisk/run', undefined, draft);
    expect(run.status).toBe(401);
    expect(await run.text()).not.toContain('yes');
  });

  it('lets a read-only user see activity but not run code', async () => {
    const viewer = await token('viewer');
    const engines = await call('/edgewhisk/engines', viewer);
    expect(engines.status).toBe(200);
    expect(Array.isArray(await engines.json())).toBe(true);
    const schedule = await call('/edgewhisk/schedule?cron=0+7+*+*+*&timezone=UTC', viewer);
    expect(schedule.status).toBe(200);
    expect(((await schedule.json()) as { next: unknown[] }).next).toHaveLength(3);
    const run = await call('/edgewhisk/run', viewer, draft);
    expect(run.status).toBe(401);
    expect(await run.text()).not.toContain('yes');
  });

  it('runs code for a user with edgewhisk.write (or every permission), and the activity is then visible to readers', async () => {
    for (const user of ['operator', 'admin'] as const) {
      const res = await call('/edgewhisk/run', await token(user), draft);
      expect(res.status, user).toBe(200);
      expect(((await res.json()) as { activation: { response: { result: unknown } } }).activation.response.result).toEqual({ ran: 'yes' });
    }
    const listed = await call('/edgewhisk/engines/default/activations', await token('viewer'));
    const entries = ((await listed.json()) as { entries: { name: string; editor?: boolean }[] }).entries;
    expect(entries.filter((e) => e.name.startsWith('edgewhisk-run-') && e.editor === true)).toHaveLength(2);
  });

  it('serves the editor script without a session, as Node-RED serves every module resource', async () => {
    const res = await fetch(`${red.url}/resources/node-red-contrib-edgewhisk/edgewhisk-editor.js`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('EdgeWhiskEditor');
  });
});
