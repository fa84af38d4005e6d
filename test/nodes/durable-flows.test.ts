/**
 * Nothing accepted is lost, in a real Node-RED: an action node that does not wait for the result sends on an
 * activation id only once the invocation is on disk, so after Node-RED is killed (SIGKILL, no close handlers) and
 * started again on the same user directory, every id it sent on ends in exactly one successful record.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startNodeRed, type NodeRedProcess } from '../helpers/node-red-process';

const MESSAGES = 500;
const API_AUTH = 'durable-uuid:durable-key';

const flows = [
  { id: 'f1', type: 'tab', label: 'durable' },
  // A config node of its own: its store is <userDir>/edgewhisk/eng1.db. The REST API lets the test list records.
  { id: 'eng1', type: 'edgewhisk-engine', name: 'durable', mode: 'embedded', exposeApi: true, apiPath: '/ew' },
  { id: 'go', type: 'inject', z: 'f1', props: [{ p: 'payload' }], payload: '', payloadType: 'date', repeat: '', once: false, wires: [['fan']] },
  {
    id: 'fan',
    type: 'function',
    z: 'f1',
    func: `for (let i = 0; i < ${MESSAGES}; i++) node.send({ payload: { i } });\nreturn null;`,
    outputs: 1,
    wires: [['act']],
  },
  {
    id: 'act',
    type: 'edgewhisk-action',
    z: 'f1',
    engine: 'eng1',
    action: 'slow',
    // 300 ms each, 10 at a time in a container: most of the 500 are still queued when Node-RED is killed.
    code: 'async function main(params) {\n  await new Promise((resolve) => setTimeout(resolve, 300));\n  return { i: params.i };\n}',
    concurrency: '10',
    memory: '128',
    blocking: false,
    wires: [['id']],
  },
  { id: 'id', type: 'change', z: 'f1', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'payload.activationId', tot: 'msg' }], wires: [['ids']] },
  // Every id the action node sent on, one a line, in the user directory (fileWorkingDirectory below).
  { id: 'ids', type: 'file', z: 'f1', filename: 'ids.txt', filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', wires: [[]] },
];

let red: NodeRedProcess | undefined;
afterAll(() => red?.stop());

function sentIds(userDir: string): string[] {
  const file = join(userDir, 'ids.txt');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((line) => line !== '') : [];
}

async function until<T>(what: string | (() => string), ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}; Node-RED said:\n${red?.output().slice(-4000) ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface Summary {
  activationId: string;
  statusCode: number;
}

describe('durable Node-RED engines', () => {
  it('runs every invocation a non-blocking action node accepted, exactly once to a successful record, after a SIGKILL and a restart', async () => {
    const began = Date.now();
    red = await startNodeRed({
      flows,
      settings: 'fileWorkingDirectory: __dirname,',
      files: { 'flows_cred.json': JSON.stringify({ eng1: { apiAuth: API_AUTH } }) },
    });
    const { url, userDir } = red;
    expect(red.output()).toContain(`EdgeWhisk engine 'durable': store ${join(userDir, 'edgewhisk', 'eng1.db')}`);
    const api = `${url}/ew/api/v1/namespaces/_`;
    const auth = { authorization: `Basic ${Buffer.from(API_AUTH).toString('base64')}` };
    const count = async (): Promise<number> => {
      const res = await fetch(`${api}/activations?name=slow&count=true`, { headers: auth });
      expect(res.status).toBe(200);
      return ((await res.json()) as { activations: number }).activations;
    };

    expect((await fetch(`${url}/inject/go`, { method: 'POST' })).status).toBe(200);
    const ids = await until(() => `${MESSAGES} ids in ids.txt (${sentIds(userDir).length} so far)`, 20_000, () => {
      const sent = sentIds(userDir);
      return sent.length >= MESSAGES ? sent : undefined;
    });
    // Killed once the first have finished: then some are done, some running and most still queued.
    await until('a first record', 10_000, async () => ((await count()) > 0 ? true : undefined));
    const finishedBeforeKill = await count();
    await red.kill();
    const killedAt = Date.now();
    expect(ids).toHaveLength(MESSAGES);
    expect(new Set(ids).size).toBe(MESSAGES);
    expect(existsSync(join(userDir, 'edgewhisk', 'eng1.db'))).toBe(true);
    // Most had not run: the test would prove little otherwise.
    expect(finishedBeforeKill).toBeLessThan(MESSAGES / 2);

    await red.restart();
    await until('every record', 30_000, async () => ((await count()) >= MESSAGES ? true : undefined));
    const listed: Summary[] = [];
    for (let skip = 0; ; skip += 200) {
      const res = await fetch(`${api}/activations?name=slow&limit=200&skip=${skip}`, { headers: auth });
      const page = (await res.json()) as Summary[];
      listed.push(...page);
      if (page.length < 200) break;
    }
    // Exactly one record per id sent on, every one a success, and none for anything else.
    expect(listed).toHaveLength(MESSAGES);
    expect(new Set(listed.map((a) => a.activationId))).toEqual(new Set(ids));
    expect(listed.filter((a) => a.statusCode !== 0)).toEqual([]);
    // Each is also served through the editor's route, with the result the action returned for its message.
    const results = await Promise.all(
      ids.slice(0, 50).map(async (id) => {
        const res = await fetch(`${url}/edgewhisk/engines/eng1/activations/${id}`);
        return ((await res.json()) as { activation: { response: { success: boolean; result: { i: number } } } }).activation.response;
      }),
    );
    expect(results.every((r) => r.success && typeof r.result.i === 'number')).toBe(true);
    const replayedLine = red.output().match(/EdgeWhisk engine 'durable': accepted invocations from before the restart: (\d+) queued again, (\d+) run again/);
    expect(replayedLine).not.toBeNull();
    // Some may have finished between the count and the kill: those are not run again.
    const replayed = Number(replayedLine?.[1]) + Number(replayedLine?.[2]);
    expect(replayed).toBeLessThanOrEqual(MESSAGES - finishedBeforeKill);
    expect(replayed).toBeGreaterThan(MESSAGES / 2);
    // Those that were running at the kill ran again as their next attempt.
    expect(Number(replayedLine?.[2])).toBeGreaterThan(0);
    console.log(
      `durable-flows: ${finishedBeforeKill} of ${MESSAGES} finished before SIGKILL; replay: ${replayedLine?.[1]} queued, ${replayedLine?.[2]} running; ` +
        `all ${MESSAGES} successful ${Date.now() - killedAt} ms after the kill; test ${Date.now() - began} ms`,
    );
  }, 60_000);
});
