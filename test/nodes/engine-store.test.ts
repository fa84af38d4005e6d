/**
 * Where Node-RED's engines keep their store: `<userDir>/edgewhisk/<engine node id>.db` (and `shared.db`), in memory
 * when Node-RED has no user directory (never in the real home), and a damaged file is moved aside without taking
 * Node-RED down.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { storeFor } from '../../src/nodes/lib/engine-store';
import { startNodeRed, type NodeRedProcess } from '../helpers/node-red-process';
import { helper, NODES, tab, useNodeRed } from '../helpers/node-red';

const temp: string[] = [];
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

describe('storeFor', () => {
  it("answers 'memory' without a user directory, and touches no file", () => {
    expect(storeFor({}, 'shared')).toBe('memory');
    expect(storeFor({ userDir: '' }, 'shared')).toBe('memory');
    expect(storeFor({ userDir: 42 }, 'e1')).toBe('memory');
  });

  it('names <userDir>/edgewhisk/<name>.db, creating the folder, and keeps odd ids inside it', () => {
    const userDir = mkdtempSync(join(tmpdir(), 'edgewhisk-store-'));
    temp.push(userDir);
    expect(storeFor({ userDir }, 'a1b2c3d4.e5f6')).toBe(join(userDir, 'edgewhisk', 'a1b2c3d4.e5f6.db'));
    expect(existsSync(join(userDir, 'edgewhisk'))).toBe(true);
    expect(storeFor({ userDir }, '../x/y')).toBe(join(userDir, 'edgewhisk', '.._x_y.db'));
  });
});

describe('an engine node without a user directory', () => {
  useNodeRed();

  it('keeps its store in memory, says so, and runs its actions', async () => {
    const settings = helper.settings({});
    expect(settings.userDir).toBeUndefined();
    const flow = [
      tab,
      { id: 'e1', type: 'edgewhisk-engine', name: 'mem', mode: 'embedded' },
      { id: 'a1', type: 'edgewhisk-action', z: 'f1', engine: 'e1', action: 'hi', code: 'function main() { return { hi: 1 }; }', wires: [['out']] },
      { id: 'out', type: 'helper', z: 'f1' },
    ];
    await helper.load(NODES, flow);
    const out = helper.getNode('out');
    const got = new Promise<{ payload: unknown }>((resolve) => out.once('input', resolve));
    helper.getNode('a1').receive({ payload: {} });
    expect((await got).payload).toEqual({ hi: 1 });
    const lines = helper.log().args.map((a: unknown[]) => (a[0] as { msg?: unknown }).msg).filter((m: unknown): m is string => typeof m === 'string');
    expect(lines).toContain("EdgeWhisk engine 'mem': store in memory (Node-RED has no user directory): accepted invocations do not outlive a restart");
  });
});

describe('a damaged store', () => {
  let red: NodeRedProcess | undefined;
  afterAll(() => red?.stop());

  it('is moved aside with a warning, and Node-RED runs on with a fresh one', async () => {
    red = await startNodeRed({
      flows: [tab, { id: 'a1', type: 'edgewhisk-action', z: 'f1', action: 'hi', code: 'function main() { return { hi: 1 }; }', wires: [[]] }],
      // Not a SQLite file: what a torn write or a bad SD card leaves.
      files: { 'edgewhisk/shared.db': 'this is not a database\n'.repeat(200) },
    });
    const folder = join(red.userDir, 'edgewhisk');
    await expect.poll(() => red?.output() ?? '', { timeout: 5_000 }).toMatch(/\[warn\] EdgeWhisk's store .*shared\.db was damaged/);
    const files = readdirSync(folder);
    expect(files).toContain('shared.db');
    expect(files.filter((f) => f.startsWith('shared.db.damaged-'))).toHaveLength(1);
    // The fresh store works: the shared engine runs code.
    const res = await fetch(`${red.url}/edgewhisk/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ node: 'draft1', code: "function main() { return { ran: 'yes' }; }" }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { activation: { response: { result: unknown } } }).activation.response.result).toEqual({ ran: 'yes' });
  }, 60_000);
});
