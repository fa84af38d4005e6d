/**
 * What Linux's /proc says about one process: the few fields the process runtime needs to find everything a
 * container started and how much memory it holds. Every reader returns `undefined` for a process that is gone (or
 * unreadable): processes come and go between listing /proc and reading a file in it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** Process group and session: kept by descendants that outlive their parent (orphans are reparented). */
  readonly pgid: number;
  readonly sid: number;
  /** Start time in clock ticks since boot: tells a process from a later one that reuses its pid. */
  readonly start: number;
  /** `Z` for a zombie: it holds a pid but no memory. */
  readonly state: string;
}

/** Whether there is a /proc to read (Linux); elsewhere the process runtime falls back to process groups. */
export const HAS_PROC = existsSync('/proc/self/stat') && existsSync('/proc/self/statm');

function read(path: string, encoding: 'latin1'): string | undefined {
  try {
    return readFileSync(path, encoding);
  } catch {
    return undefined;
  }
}

/** Every pid in /proc (processes, not threads). */
export function listPids(): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of names) {
    const first = name.charCodeAt(0);
    if (first >= 48 && first <= 57) pids.push(Number(name));
  }
  return pids;
}

export function readStat(pid: number): ProcStat | undefined {
  const text = read(`/proc/${pid}/stat`, 'latin1');
  if (text === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const start = Number(fields[19]);
  if (!Number.isFinite(start)) return undefined;
  return { pid, state: fields[0] ?? '?', ppid: Number(fields[1]), pgid: Number(fields[2]), sid: Number(fields[3]), start };
}

let pageSize: number | undefined;

/**
 * The kernel's page size, which /proc's memory figures count in: 4 KiB on x86, but 16 KiB or 64 KiB on some ARM
 * boards (a Raspberry Pi 5 kernel). Node.js does not expose it, so it is read off this process: its resident size
 * in bytes over the same figure in pages, rounded to a power of two.
 */
function pageBytes(): number {
  if (pageSize !== undefined) return pageSize;
  const pages = Number(read('/proc/self/statm', 'latin1')?.split(' ')[1]);
  const bytes = process.memoryUsage.rss();
  pageSize = pages > 0 ? 2 ** Math.round(Math.log2(bytes / pages)) : 4096;
  if (pageSize < 4096 || pageSize > 65536) pageSize = 4096;
  return pageSize;
}

/**
 * The process's private resident memory in bytes: resident minus shared pages (`statm`), i.e. its heap, stacks
 * and buffers, without the executable and libraries it shares with every other process running the same binary.
 * Summed over many processes this counts what they really add, not their shared code once per process.
 */
export function readPrivateBytes(pid: number): number | undefined {
  const text = read(`/proc/${pid}/statm`, 'latin1');
  if (text === undefined) return undefined;
  const fields = text.split(' ');
  const resident = Number(fields[1]);
  const shared = Number(fields[2]);
  if (!Number.isFinite(resident) || !Number.isFinite(shared)) return undefined;
  return Math.max(0, resident - shared) * pageBytes();
}

/** Whether the process's initial environment holds `entry` (`NAME=value`). */
export function environHas(pid: number, entry: Buffer): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`);
    let at = environ.indexOf(entry);
    while (at >= 0) {
      // A whole entry: at the start or after a NUL, and ending in a NUL or at the end.
      const end = at + entry.length;
      if ((at === 0 || environ[at - 1] === 0) && (end === environ.length || environ[end] === 0)) return true;
      at = environ.indexOf(entry, at + 1);
    }
    return false;
  } catch {
    return false;
  }
}

/**
 * Start times of the processes in the last listing of /proc, read once per process: a look at the processes
 * costs a read only for those new since the previous look, not for every process on the host.
 */
export class StartTimes {
  #starts = new Map<number, number>();

  /** Takes a fresh listing (by default, /proc now); returns the start times of the processes in it. */
  refresh(pids: readonly number[] = listPids()): ReadonlyMap<number, number> {
    const next = new Map<number, number>();
    for (const pid of pids) {
      const start = this.#starts.get(pid) ?? readStat(pid)?.start;
      if (start !== undefined) next.set(pid, start);
    }
    this.#starts = next;
    return next;
  }

  /** As of the last refresh. */
  get current(): ReadonlyMap<number, number> {
    return this.#starts;
  }
}
