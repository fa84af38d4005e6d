/**
 * Which EdgeWhisk containers belong to a live engine. Every container carries labels naming its engine instance
 * and the process that made it (`host:pid:start`); a start-up sweep removes what an earlier, crashed engine left:
 * on this host, containers whose owning process is gone; from another host (a recreated Node-RED container has a
 * new hostname), containers of this engine's own instance. Live engines of other processes are never touched.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export const LABELS = Object.freeze({
  managed: 'org.edgewhisk.managed',
  instance: 'org.edgewhisk.instance',
  owner: 'org.edgewhisk.owner',
  kind: 'org.edgewhisk.kind',
  socketDir: 'org.edgewhisk.socket-dir',
});

/** When the process started, in clock ticks since boot ('' where /proc is missing): a reused pid has another. */
function startTicks(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may hold spaces and parentheses, so count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

export function ownerToken(pid: number = process.pid): string {
  return `${hostname()}:${pid}:${startTicks(pid)}`;
}

function alive(pid: number, ticks: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return ticks === '' || startTicks(pid) === ticks;
}

/** Whether a container with these labels is a leftover this engine (`instance`, `owner`) should remove. */
export function isLeftover(labels: Readonly<Record<string, string>>, instance: string, owner: string = ownerToken()): boolean {
  if (labels[LABELS.managed] !== 'true') return false;
  const theirs = labels[LABELS.owner] ?? '';
  if (theirs === owner) return false;
  const match = /^(.*):(\d+):(\d*)$/.exec(theirs);
  if (match === null) return labels[LABELS.instance] === instance;
  const [, host, pid, ticks] = match as unknown as [string, string, string, string];
  if (host === hostname()) return !alive(Number(pid), ticks);
  return labels[LABELS.instance] === instance;
}
