/**
 * The process runtime's temporary folders: one per container (its proxy's TMPDIR, where archives unpack), named
 * `edgewhisk-process-<engine pid>-<n>-XXXXXX` in the system's temp folder.
 *
 * A container removes its folder when it ends. What can still leave one behind is the engine's process ending
 * first: a signal handler that calls `process.exit()` (Node-RED's, `edgewhisk serve`'s) right after closing, or a
 * crash. So the folders still there when the process exits are removed synchronously in its 'exit' event (which
 * runs for every `process.exit()`), and the next runtime to start removes the folders of engines that are gone.
 * The runtime installs no signal handlers of its own: a library must not change what SIGTERM does to its host.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'edgewhisk-process-';
const NAME = /^edgewhisk-process-(\d+)-\d+-[A-Za-z0-9]{6}$/;
/** Earlier versions named folders without their engine's pid: `edgewhisk-process-<n>-XXXXXX`. */
const LEGACY_NAME = /^edgewhisk-process-\d+-[A-Za-z0-9]{6}$/;

/** Cleanups still due when the process exits, by folder. */
const atExit = new Map<string, () => void>();
let hooked = false;

function runAtExit(): void {
  for (const cleanup of atExit.values()) {
    try {
      cleanup();
    } catch {
      // Exiting: nothing left to tell.
    }
  }
  atExit.clear();
}

/** A new folder for container `n`; `cleanup` runs at process exit unless `release(folder)` came first. */
export function makeContainerFolder(n: number, cleanup: (folder: string) => void): string {
  const folder = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-${n}-`));
  if (!hooked) {
    hooked = true;
    process.on('exit', runAtExit);
  }
  atExit.set(folder, () => cleanup(folder));
  return folder;
}

/** Removes a container's folder (and forgets its exit cleanup). Never rejects. */
export async function removeContainerFolder(folder: string): Promise<void> {
  atExit.delete(folder);
  await rm(folder, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
}

/** Synchronous removal, for the 'exit' event. */
export function removeContainerFolderSync(folder: string): void {
  rmSync(folder, { recursive: true, force: true });
}

/** When process `pid` started, in epoch ms, from /proc; `undefined` when that cannot be told. */
function startedAt(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))?.[1]);
    // USER_HZ is 100 on every Linux architecture Node.js runs on.
    return Number.isFinite(ticks) && Number.isFinite(boot) ? boot * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the engine that made a folder last changed at `changed` (epoch ms) may still be running as `pid`.
 * A pid can be reused, notably after a restart in a container, where the same programs start in the same order:
 * a process that started after the folder last changed did not make it.
 */
function ownerAlive(pid: number, changed: number): boolean {
  const started = pid === process.pid ? Date.now() - process.uptime() * 1000 : startedAt(pid);
  if (pid !== process.pid) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
    }
  }
  // Two seconds of slack for clock granularity: a folder made in this process's first moments stays.
  return started === undefined || started <= changed + 2_000;
}

/**
 * The TMPDIR of every process this one may read: a folder named there is in use. Undefined without /proc (then
 * no folder of an earlier version is removed).
 */
async function tmpdirsInUse(): Promise<Set<string> | undefined> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const used = new Set<string>();
  for (const pid of pids) {
    try {
      const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
      const entry = environ.split('\0').find((e) => e.startsWith('TMPDIR='));
      if (entry !== undefined) used.add(entry.slice('TMPDIR='.length));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return used;
}

/** Removes the folders of engines that are gone (see the file comment). Never rejects; best effort. */
export async function sweepStaleFolders(): Promise<void> {
  const root = tmpdir();
  let names: string[];
  try {
    names = readdirSync(root).filter((name) => name.startsWith(PREFIX));
  } catch {
    return;
  }
  const uid = process.getuid?.();
  // Folders of earlier versions name no engine: they are left when a process still uses one as its TMPDIR.
  const inUse = names.some((name) => LEGACY_NAME.test(name)) ? await tmpdirsInUse() : undefined;
  for (const name of names) {
    const folder = join(root, name);
    const owner = Number(NAME.exec(name)?.[1]);
    const legacy = LEGACY_NAME.test(name);
    if (legacy ? inUse === undefined || inUse.has(folder) : !Number.isInteger(owner) || owner <= 0) continue;
    try {
      const stats = statSync(folder);
      if (!stats.isDirectory() || (uid !== undefined && stats.uid !== uid)) continue;
      if (!legacy && ownerAlive(owner, stats.mtimeMs)) continue;
    } catch {
      continue;
    }
    await rm(folder, { recursive: true, force: true }).catch(() => undefined);
  }
}
