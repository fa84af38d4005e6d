/**
 * The process runtime's temporary folders (`edgewhisk-process-*`, one per container) do not outlive the engine
 * (issue 11, finding 6): `edgewhisk serve --runtime process` stopped by SIGTERM or SIGINT used to leave them behind.
 * They are removed when the process exits, and the next start removes those of engines that died without exiting
 * (SIGKILL). `edgewhisk serve` runs here as a real child process, with a temp folder of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sweepStaleFolders } from '../../src/runtimes/process/temp-folders';
import { sleep } from '../helpers/engine';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const made: string[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ew-tmpdir-test-'));
  made.push(dir);
  return dir;
}

const folders = (dir: string): string[] => readdirSync(dir).filter((name) => name.startsWith('edgewhisk-process-'));

async function until(check: () => boolean, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await sleep(50);
  return check();
}

/**
 * `edgewhisk serve --runtime process` with its own TMPDIR and home; resolves once it serves (its signal handlers
 * are in place then) and its prewarmed container's folder exists.
 */
async function serve(tmp: string, home: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--runtime', 'process'], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TMPDIR: tmp, EDGEWHISK_HOME: home },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  expect(await until(() => out.includes('EdgeWhisk API on') && folders(tmp).length > 0)).toBe(true);
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

describe('process runtime: temporary folders', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`leaves none behind when edgewhisk serve --runtime process is stopped with ${signal}`, async () => {
      const tmp = scratch();
      const child = await serve(tmp, scratch());
      child.kill(signal);
      expect(await exited(child)).toBe(0);
      // Before: edgewhisk-process-1-XXXXXX was still there.
      expect(folders(tmp)).toEqual([]);
    });
  }

  it("removes, at the next start, the folders of an engine that was killed outright", async () => {
    const tmp = scratch();
    const home = scratch();
    const first = await serve(tmp, home);
    const left = folders(tmp);
    first.kill('SIGKILL');
    await exited(first);
    expect(folders(tmp)).toEqual(left);
    const second = await serve(tmp, home);
    expect(await until(() => folders(tmp).every((name) => !left.includes(name)))).toBe(true);
    second.kill('SIGTERM');
    await exited(second);
  });

  it('sweeps only folders whose engine is gone, keeping those of live engines', async () => {
    const tmp = scratch();
    const gone = spawn('true');
    await exited(gone);
    const live = spawn('sleep', ['30']);
    children.push(live);
    // An earlier version's folder still in use: a process has it as its TMPDIR.
    const legacyInUse = join(tmp, 'edgewhisk-process-2-QwErTy');
    const user = spawn('sleep', ['30'], { env: { TMPDIR: legacyInUse } });
    children.push(user);
    const names = {
      dead: `edgewhisk-process-${gone.pid}-1-AbCdEf`,
      live: `edgewhisk-process-${live.pid}-1-AbCdEf`,
      // This process's own pid, on a folder older than this process: a previous process that had the same pid.
      reused: `edgewhisk-process-${process.pid}-1-XyZ123`,
      mine: `edgewhisk-process-${process.pid}-2-XyZ123`,
      other: 'edgewhisk-process-not-ours',
      // What earlier versions left (the finding's leftovers): no engine pid in the name, and nobody using it.
      legacy: 'edgewhisk-process-1-AbCdEf',
      legacyInUse: 'edgewhisk-process-2-QwErTy',
    };
    for (const name of Object.values(names)) mkdirSync(join(tmp, name));
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(join(tmp, names.reused), hourAgo, hourAgo);
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = tmp;
    try {
      await sweepStaleFolders();
    } finally {
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
    }
    expect(folders(tmp).sort()).toEqual([names.live, names.mine, names.other, names.legacyInUse].sort());
  });
});
