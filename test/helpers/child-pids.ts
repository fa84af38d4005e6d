import { readdirSync, readFileSync } from 'node:fs';

/** Processes whose parent is this one (e.g. the proxies a process runtime started), from /proc. */
export function childPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === process.pid ? [Number(d)] : [];
      } catch {
        return [];
      }
    });
}

/** Whether a process with `pid` exists (signal 0 only checks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
