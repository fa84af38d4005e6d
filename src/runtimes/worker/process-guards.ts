/**
 * Process methods an action in a worker thread could use to reach Node-RED's own process, which the thread shares.
 *
 * Signals to the process itself, its parent or its process group, `process.abort()` and `process.reallyExit()` end
 * only the action's thread, as if its container had died (a developer error, with the reason in the logs): in its own
 * container that is what they would do. Methods that would change the whole process (`chdir`, the user and group
 * setters) or load native code into it (`dlopen`, so also `require` of a `.node` addon) throw a coded error. Node.js
 * already refuses the first group in workers; the wrappers make every refusal say why and what to do.
 *
 * This blocks the accidental paths, not a determined one: the action can still start `kill` as a child process.
 */
import { ewError } from '../../errors';

/** The process object with the undocumented methods the guards replace. */
interface GuardedProcess {
  kill(pid: number, signal?: string | number): boolean;
  _kill(pid: number, signal: number): number;
  abort(): never;
  reallyExit(code?: number): never;
  exit(code?: number): never;
  [name: string]: unknown;
}

/**
 * Called before the thread ends in any way (`process.exit()` included), with the reason when a guard ends it: the
 * last chance to send what waits.
 */
export type Ending = (reason?: string) => void;

/** Ends the thread as an action that exited with `code`; never returns. */
export type EndThread = (code: number) => never;

/** Changes the whole process or loads native code into it. */
const UNSUPPORTED = ['chdir', 'setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups', 'dlopen'] as const;

function shown(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}

/** Whether a signal to `pid` would reach this process, its parent, or a process group holding them. */
function reachesHost(pid: unknown): boolean {
  const n = Number(pid);
  const self = process.pid;
  const parent = process.ppid;
  return n === self || n === parent || n === 0 || n === -1 || n === -self || n === -parent;
}

/** Installs the guards; returns how the bootstrap itself ends the thread (the original `process.exit`). */
export function guardProcess(ending: Ending): EndThread {
  const proc = process as unknown as GuardedProcess;
  const kill = proc.kill.bind(proc);
  const exit = proc.exit.bind(proc);
  const end: EndThread = (code) => {
    exit(code);
    // Not reached: in a worker, exit() stops the thread before it returns.
    throw new Error('The action ended.');
  };
  const refuse = (call: string): never => {
    ending(`${call} ended the action instead: actions on the worker runtime run inside Node-RED's process, which this call would reach.`);
    return end(1);
  };

  // Signal 0 only asks whether a process exists: harmless, and a common liveness check.
  proc.kill = (pid: number, signal?: string | number): boolean => {
    if (signal !== 0 && reachesHost(pid)) refuse(`process.kill(${shown(pid)}${signal === undefined ? '' : `, ${shown(signal)}`})`);
    return kill(pid, signal);
  };
  // The undocumented binding `process.kill` calls; guarded too, as it may be called directly.
  if (typeof proc._kill === 'function') {
    const rawKill = proc._kill.bind(proc);
    proc._kill = (pid: number, signal: number): number => {
      if (signal !== 0 && reachesHost(pid)) refuse(`process._kill(${shown(pid)}, ${shown(signal)})`);
      return rawKill(pid, signal);
    };
  }
  proc.abort = (): never => refuse('process.abort()');
  // `process.exit()` ends through this too. In a worker the original stops only the thread, but lets code run on
  // until its next function call (Node.js's own `exit()` makes one right after it for that reason): what waits is
  // sent first, and nothing after.
  if (typeof proc.reallyExit === 'function') {
    const reallyExit = proc.reallyExit.bind(proc);
    proc.reallyExit = (code?: number): never => {
      ending();
      return reallyExit(code);
    };
  }
  for (const name of UNSUPPORTED) {
    proc[name] = (): never => {
      throw ewError('EW_WORKER_UNSUPPORTED', [`process.${name}()`]);
    };
  }
  return end;
}
