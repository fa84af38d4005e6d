/**
 * Everything one container's proxy started, found through /proc, and how to end all of it.
 *
 * A process group is not enough: an action can start children with `detached: true` (or `setsid`), which puts
 * them in a session and group of their own, and once their parent dies they are reparented to init, so neither
 * the group nor the parent chain leads to them any more. cgroups would hold them, but an unprivileged Home
 * Assistant add-on cannot create one, and Node.js cannot make the proxy a subreaper (`prctl`). So the tree is
 * tracked from outside:
 *
 * - a process belongs to the tree when it started after the proxy and its parent, session or process group belongs
 *   to it, or (for one whose parent already died) its environment carries the container's mark, which every
 *   child inherits unless the action hands it a different environment;
 * - members are remembered (pid and start time), so one reparented to init stays a member;
 * - only processes that started after the proxy and are new since the last look are read (start times come from
 *   the runtime's shared `StartTimes`), so a look costs a listing of /proc plus one small read per member.
 *
 * Ending the tree freezes before it kills: each round stops (SIGSTOP) every member not yet stopped, then looks
 * again; a stopped process can neither fork nor exit, so its children keep it as their parent and the next round
 * finds them. When a round finds nothing new, everything is SIGKILLed. A fork bomb cannot outrun this, and a
 * detached grandchild cannot slip out between the proxy's death and the look that would have found it.
 */
import { environHas, readPrivateBytes, readStat, type ProcStat, type StartTimes } from './proc-fs';

/** Rounds of freezing before the kill; each finds the children the previous one's members made meanwhile. */
const MAX_FREEZE_ROUNDS = 64;

export interface TreeUsage {
  /** Live processes in the tree besides the root (the proxy). */
  readonly descendants: number;
  /** Private resident memory of the root and every descendant, in bytes. */
  readonly privateBytes: number;
}

export class ProcessTree {
  readonly #root: number;
  /** The root's start time; 0 when the root was gone before it could be read (then nothing is looked for). */
  readonly #rootStart: number;
  /** `NAME=value` the proxy's environment carries, so orphaned descendants can still be recognised. */
  readonly #mark: Buffer;
  readonly #starts: StartTimes;
  /** Members by pid, as last read (a pid reused by a later process, with another start time, is not a member). */
  readonly #members = new Map<number, ProcStat>();
  /** Pids that started after the root, already looked at and found not to belong. */
  #others = new Set<number>();

  /**
   * @param mark the `NAME=value` entry in the root's environment (see class comment).
   * @param starts the runtime's start times, refreshed by whoever calls `update()`.
   */
  constructor(root: number, mark: string, starts: StartTimes) {
    this.#root = root;
    this.#mark = Buffer.from(mark, 'utf8');
    this.#starts = starts;
    const stat = readStat(root);
    this.#rootStart = stat?.start ?? 0;
    if (stat !== undefined) this.#members.set(root, stat);
  }

  /** Looks at /proc again, as of the last refresh of the runtime's start times (one listing for all trees). */
  update(): void {
    if (this.#rootStart === 0) return;
    const starts = this.#starts.current;
    // Members that ended, or whose pid now belongs to a later process, are gone; the others are read afresh
    // (a member may have moved to a session or group of its own).
    for (const [pid, known] of this.#members) {
      const stat = starts.has(pid) ? readStat(pid) : undefined;
      if (stat === undefined || stat.start !== known.start) this.#members.delete(pid);
      else this.#members.set(pid, stat);
    }
    const others = new Set<number>();
    const fresh: ProcStat[] = [];
    for (const [pid, start] of starts) {
      // A descendant cannot have started before the root: older processes are not even read.
      if (start < this.#rootStart || this.#members.has(pid) || pid === process.pid || pid <= 1) continue;
      if (this.#others.has(pid)) {
        others.add(pid);
        continue;
      }
      const stat = readStat(pid);
      if (stat === undefined || stat.start < this.#rootStart) others.add(pid);
      else fresh.push(stat);
    }
    for (const pid of this.#adopt(fresh)) others.add(pid);
    this.#others = others;
  }

  /**
   * Adds the new processes that belong: by parent, session or group (repeated, for chains of new processes), or
   * by the mark in their environment. Returns the pids of those that do not.
   */
  #adopt(fresh: ProcStat[]): number[] {
    const sessions = new Set<number>();
    const groups = new Set<number>();
    for (const stat of this.#members.values()) {
      sessions.add(stat.sid);
      groups.add(stat.pgid);
    }
    // Read once per process: its environment cannot change, and most new processes on a host are not ours.
    const marks = new Map<number, boolean>();
    const marked = (pid: number): boolean => {
      let has = marks.get(pid);
      if (has === undefined) marks.set(pid, (has = environHas(pid, this.#mark)));
      return has;
    };
    let pending = fresh;
    for (;;) {
      const left: ProcStat[] = [];
      for (const stat of pending) {
        if (this.#members.has(stat.ppid) || sessions.has(stat.sid) || groups.has(stat.pgid) || marked(stat.pid)) {
          this.#members.set(stat.pid, stat);
          sessions.add(stat.sid);
          groups.add(stat.pgid);
        } else {
          left.push(stat);
        }
      }
      // Nothing joined: what is left does not belong. Otherwise its parent may just have joined: look again.
      if (left.length === pending.length || left.length === 0) return left.map((stat) => stat.pid);
      pending = left;
    }
  }

  /** The tree's size and memory as of the last `update()`. */
  usage(): TreeUsage {
    let privateBytes = 0;
    for (const pid of this.#members.keys()) privateBytes += readPrivateBytes(pid) ?? 0;
    return { descendants: Math.max(0, this.#members.size - (this.#members.has(this.#root) ? 1 : 0)), privateBytes };
  }

  /** Live members as of the last `update()`. */
  members(): number[] {
    return [...this.#members.keys()];
  }

  /** Freezes the whole tree round by round, then kills every member (see class comment). Synchronous. */
  killAll(): void {
    const stopped = new Set<number>();
    for (let round = 0; round < MAX_FREEZE_ROUNDS; round++) {
      this.#starts.refresh();
      this.update();
      const fresh = this.members().filter((pid) => !stopped.has(pid));
      if (fresh.length === 0) break;
      for (const pid of fresh) {
        signal(pid, 'SIGSTOP');
        stopped.add(pid);
      }
    }
    for (const pid of this.members()) signal(pid, 'SIGKILL');
    // Whatever was never seen (no /proc, or more rounds than allowed) but is still in the root's group.
    signal(-this.#root, 'SIGKILL');
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}
