/**
 * The Docker Engine `create` body for one action container: EdgeWhisk's hardening defaults
 * (docs/docker-hardening.md) applied to a container spec. Pure, so every field can be checked without Docker.
 */
import type Dockerode from 'dockerode';
import type { ContainerSpec } from '../runtime';
import type { DockerOptions } from './docker-options';
import { LABELS, ownerLabels, type OwnerIdentity } from './ownership';

/** Where the per-container socket directory is mounted, and the socket EdgeWhisk's images listen on. */
export const SOCKET_MOUNT = '/run/edgewhisk';
export const SOCKET_PATH = `${SOCKET_MOUNT}/proxy.sock`;
/** The port stock OpenWhisk runtime images listen on. */
export const PROXY_PORT = 8080;

export type Transport = { readonly type: 'unix'; readonly hostDir: string } | { readonly type: 'tcp' };

export interface ContainerPlan {
  readonly name: string;
  readonly image: string;
  readonly spec: ContainerSpec;
  readonly transport: Transport;
  readonly network: string;
  /** The OCI runtime to ask for, when not Docker's default. */
  readonly ociRuntime?: string;
  readonly instance: string;
  readonly owner: OwnerIdentity;
  /** Memory budget of the pool in MB: CPU shares are the container's part of it, as OpenWhisk's. */
  readonly memoryBudget: number;
}

const MB = 1024 * 1024;

export function containerConfig(plan: ContainerPlan, options: DockerOptions): Dockerode.ContainerCreateOptions {
  const { spec, transport } = plan;
  const env = [
    // The heap stays below the container's memory, so V8 reports its own clean "heap out of memory" first.
    `NODE_OPTIONS=--max-old-space-size=${Math.max(32, spec.memory - 48)}`,
    ...(spec.concurrency > 1 ? ['__OW_ALLOW_CONCURRENT=true'] : []),
    ...(transport.type === 'unix' ? [`SOCKET=${SOCKET_PATH}`] : []),
  ];
  const hostConfig: Dockerode.HostConfig = {
    Memory: spec.memory * MB,
    // Equal to Memory: no swap, so the limit is real and an overrun is an OOM kill, not a slowdown.
    MemorySwap: spec.memory * MB,
    CpuShares: Math.max(2, Math.floor((1024 * spec.memory) / Math.max(plan.memoryBudget, spec.memory))),
    ...(options.cpus > 0 ? { NanoCpus: Math.round(options.cpus * 1e9) } : {}),
    PidsLimit: options.pidsLimit,
    Ulimits: [{ Name: 'nofile', Soft: options.nofile, Hard: options.nofile }],
    CapDrop: ['ALL'],
    ...(options.capAdd.length > 0 ? { CapAdd: [...options.capAdd] } : {}),
    SecurityOpt: ['no-new-privileges'],
    Privileged: false,
    ReadonlyRootfs: options.readOnlyRootfs,
    Tmpfs: { '/tmp': `rw,noexec,nosuid,nodev,size=${options.tmpSize}m,mode=1777` },
    NetworkMode: plan.network,
    // Only the container's own socket directory: never the Docker socket, never anything else of the host. It is
    // writable only until the proxy has bound its socket (socket-folder.ts locks it then).
    Binds: transport.type === 'unix' ? [`${transport.hostDir}:${SOCKET_MOUNT}:rw`] : [],
    // Stock images speak TCP: published on loopback only, on a port the daemon picks.
    ...(transport.type === 'tcp' ? { PortBindings: { [`${PROXY_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] } } : {}),
    // Kept after exit until the engine removes it: `State.OOMKilled` is read from the stopped container.
    AutoRemove: false,
    RestartPolicy: { Name: 'no' },
    ...(plan.ociRuntime === undefined ? {} : { Runtime: plan.ociRuntime }),
  };
  return {
    name: plan.name,
    Image: plan.image,
    User: options.user,
    Env: env,
    Labels: {
      [LABELS.managed]: 'true',
      [LABELS.instance]: plan.instance,
      ...ownerLabels(plan.owner),
      [LABELS.kind]: spec.kind,
      ...(transport.type === 'unix' ? { [LABELS.socketDir]: transport.hostDir } : {}),
    },
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    OpenStdin: false,
    ...(transport.type === 'tcp' ? { ExposedPorts: { [`${PROXY_PORT}/tcp`]: {} } } : {}),
    HostConfig: hostConfig,
  };
}
