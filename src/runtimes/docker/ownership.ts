/**
 * Which EdgeWhisk containers belong to a live engine, when several engines (Node-RED processes, Node-RED
 * containers, hosts) share one Docker daemon, with the same `docker.instance` or not. Every container carries its
 * engine's identity:
 * - `org.edgewhisk.engine`: a random id per engine (per Docker runtime), never shared;
 * - `org.edgewhisk.owner`: `host:pid:start` of the engine's process (start in clock ticks since boot, so a reused
 *   pid is told apart);
 * - `org.edgewhisk.process-namespace`: the kernel boot and pid namespace in which that pid means something.
 *
 * A sweep removes a container only when its owner is provably gone:
 * - owner in this boot and pid namespace: its process is gone (a crashed Node-RED);
 * - owner elsewhere (another host or container, where its pid means nothing here): its engine's lease on the daemon
 *   (owner-lease.ts) has expired. With no lease on record it is kept: its owner may be alive.
 * A hostname proves nothing: two Node-RED containers can have the same one, and a recreated one gets a new one.
 * Containers of EdgeWhisk versions without engine ids are judged by their process when their hostname is this one,
 * and kept otherwise.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export const LABELS = Object.freeze({
  managed: 'org.edgewhisk.managed',
  instance: 'org.edgewhisk.instance',
  owner: 'org.edgewhisk.owner',
  engine: 'org.edgewhisk.engine',
  processNamespace: 'org.edgewhisk.process-namespace',
  kind: 'org.edgewhisk.kind',
  socketDir: 'org.edgewhisk.socket-dir',
});

/** Who owns the containers an engine makes. */
export interface OwnerIdentity {
  /** This engine: random, 32 hex digits. */
  readonly engine: string;
  readonly hostname: string;
  /** `host:pid:start`. */
  readonly owner: string;
  /** `boot-id/pid:[inode]` of this process, or '' where /proc does not tell. */
  readonly processNamespace: string;
}

/** What a sweep knows of the engines' leases (owner-lease.ts). */
export interface Leases {
  /** True only when `engine` has a lease on record and every one of them has expired. */
  expired(engine: string): boolean;
}

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

export function ownerToken(pid: number = process.pid, host: string = hostname()): string {
  return `${host}:${pid}:${startTicks(pid)}`;
}

/**
 * The kernel boot and pid namespace of this process: two processes with the same value see the same pids. A
 * hostname cannot say this (containers may share one), and `/proc` can: the boot id changes at every boot, and
 * the namespace's inode is unique within a boot.
 */
export function processNamespace(): string {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const namespace = readlinkSync('/proc/self/ns/pid');
    return boot === '' || namespace === '' ? '' : `${boot}/${namespace}`;
  } catch {
    return '';
  }
}

/** A new engine's identity; `overrides` stand for another host (tests, embedders that know better). */
export function ownerIdentity(overrides: { readonly hostname?: string; readonly processNamespace?: string } = {}): OwnerIdentity {
  const host = overrides.hostname ?? hostname();
  return Object.freeze({
    engine: randomBytes(16).toString('hex'),
    hostname: host,
    owner: ownerToken(process.pid, host),
    processNamespace: overrides.processNamespace ?? processNamespace(),
  });
}

/** The labels naming `identity` as a container's owner. */
export function ownerLabels(identity: OwnerIdentity): Record<string, string> {
  return {
    [LABELS.owner]: identity.owner,
    [LABELS.engine]: identity.engine,
    ...(identity.processNamespace === '' ? {} : { [LABELS.processNamespace]: identity.processNamespace }),
  };
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

/** Whether a container with these labels is a leftover the engine `self` may remove. */
export function isLeftover(labels: Readonly<Record<string, string>>, self: OwnerIdentity, leases: Leases): boolean {
  if (labels[LABELS.managed] !== 'true') return false;
  const engine = labels[LABELS.engine];
  if (engine !== undefined ? engine === self.engine : labels[LABELS.owner] === self.owner) return false;
  const owner = /^(.*):(\d+):(\d*)$/.exec(labels[LABELS.owner] ?? '') as [string, string, string, string] | null;
  const namespace = labels[LABELS.processNamespace];
  if (namespace !== undefined && namespace !== '' && namespace === self.processNamespace) {
    // Its pid means the same here: its process is alive or provably gone. A live process keeps its containers,
    // whatever its lease says (a stalled engine is still alive).
    return owner !== null && !alive(Number(owner[2]), owner[3]);
  }
  if (engine !== undefined) return leases.expired(engine);
  // An older EdgeWhisk's container (no engine id, no lease): its process can only be judged on this host.
  return owner !== null && owner[1] === self.hostname && !alive(Number(owner[2]), owner[3]);
}
