/**
 * The `docker` runtime: every container is a real Docker container, created through `dockerode`, hardened by
 * default, running an action proxy: the images of `docker.images` for the kinds it names (by default EdgeWhisk's
 * own, one per supported Node.js major and one for `python:3`, reached over a Unix socket in a per-container
 * directory, so they need no network at all), or any image speaking the action-proxy protocol on port 8080 for
 * `blackbox` actions (reached through a port published on 127.0.0.1 only).
 *
 * Only the images the engine's configuration names are reached over their socket folder: it is locked once their
 * proxy has bound its socket, before any action code runs (socket-folder.ts). An image an action names runs its
 * own code from the start, so it is always reached over TCP, whatever its labels claim.
 *
 * Engines sharing the daemon tell their containers apart by owner identity and lease (ownership.ts,
 * owner-lease.ts): the lease is renewed while the runtime lives, and a sweep removes only containers whose owner
 * is provably gone.
 *
 * The daemon may be absent, stop, or stall at any time. Every API call runs under a deadline; a failure fails the
 * invocation that needed it with a message saying why, never the engine; and the runtime checks the daemon again
 * (and sweeps what it could not remove) before the next container, so it recovers when the daemon returns.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, realpathSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { ewError } from '../../errors';
import { SILENT_REPORTER, type Container, type ContainerSpec, type Placement, type Runtime, type RuntimeReporter } from '../runtime';
import { containerConfig, type Transport } from './container-config';
import { DockerContainer, type DockerContext } from './docker-container';
import { relaxations, type DockerOptions } from './docker-options';
import { buildCommand, EDGEWHISK_IMAGES, IMAGE_LABELS, notBuilt } from './image-contract';
import { proxyDigest } from './proxy-source';
import { dockerMessage, ImageCatalog } from './image-catalog';
import { LeaseBook, LEASE_TTL_MS, OwnerLease } from './owner-lease';
import { isLeftover, LABELS, ownerIdentity, type OwnerIdentity } from './ownership';
import { SocketFolder } from './socket-folder';

/**
 * The kinds a Docker runtime with `images` (its `docker.images`) runs: every kind it has an image for, and
 * `blackbox`, whose actions name their own image. A kind is only offered where an image really runs it.
 */
export function dockerKinds(images: Readonly<Record<string, string>>): readonly string[] {
  return Object.freeze([...new Set([...Object.keys(images), 'blackbox'])]);
}

/** The kinds of a Docker runtime with the default images: `nodejs:<major>` per supported major, `python:3`, `blackbox`. */
export const DOCKER_KINDS = dockerKinds(EDGEWHISK_IMAGES);

/** Annotation naming a Docker action's network (`none`, `bridge`, a network name); absent = `docker.network`. */
export const NETWORK_ANNOTATION = 'edgewhisk-network';
/** Its key in the action's placement. */
const NETWORK_PLACEMENT = 'network';

let nextContainer = 0;

export interface DockerRuntimeConfig {
  readonly options: DockerOptions;
  readonly defaults: DockerOptions;
  /** The pool's memory budget in MB (CPU shares are a container's part of it). */
  readonly memoryBudget: number;
  /** Stands for another host (tests; embedders that know better than `os.hostname()` and /proc). */
  readonly identity?: { readonly hostname?: string; readonly processNamespace?: string };
  /** How long this engine's ownership lease lasts unless renewed, in ms (`LEASE_TTL_MS`). */
  readonly leaseTtl?: number;
}

export class DockerRuntime implements Runtime {
  readonly name = 'docker';
  readonly kinds: readonly string[];
  readonly docker: Dockerode;
  readonly #options: DockerOptions;
  readonly #defaults: DockerOptions;
  readonly #memoryBudget: number;
  readonly #images: ImageCatalog;
  readonly #identity: OwnerIdentity;
  readonly #lease: OwnerLease;
  readonly #orphans = new Set<string>();
  readonly #checkedImages = new Set<string>();
  readonly #context: DockerContext;
  #ready: Promise<string | undefined> | undefined;
  #warned = false;
  #socketBase: string | undefined;
  #closed = false;
  #report: RuntimeReporter = SILENT_REPORTER;
  #renewal: NodeJS.Timeout | undefined;
  #renewing = false;
  #leaseFailed = false;
  /** The last sweep kept containers of other engines: sweep again as their owners may die. */
  #othersSeen = false;

  constructor(config: DockerRuntimeConfig) {
    this.#options = config.options;
    this.kinds = dockerKinds(config.options.images);
    this.#defaults = config.defaults;
    this.#memoryBudget = config.memoryBudget;
    // Required here, not imported at the top: dockerode (with its ssh2 and protobuf stack) loads only for engines
    // that use Docker, never in the Home Assistant add-on, which has no Docker socket.
    const DockerClient = require('dockerode') as typeof Dockerode;
    this.docker = new DockerClient(connection(config.options.host));
    const call = <T>(what: string, operation: Promise<T>, deadline?: number | null): Promise<T> => this.#call(what, operation, deadline);
    this.#identity = ownerIdentity(config.identity);
    this.#lease = new OwnerLease(this.docker, call, this.#identity, config.options.instance, config.leaseTtl ?? LEASE_TTL_MS);
    this.#images = new ImageCatalog({
      docker: this.docker,
      policy: config.options.pull,
      pullIdleTimeout: config.options.pullIdleTimeout,
      call,
      onProgress: (progress) => this.#report.pull(progress),
      onWarning: (message) => this.#report.warning(message),
    });
    this.#context = {
      docker: this.docker,
      call,
      orphaned: (id) => this.#orphans.add(id),
      lostDaemon: () => {
        this.#ready = undefined;
      },
    };
  }

  /** Reaches the daemon and sweeps leftovers in the background; failures wait for the first container. */
  start(reporter: RuntimeReporter): void {
    this.#report = reporter;
    this.#connect().catch(() => undefined);
  }

  /** An action's `edgewhisk-network` annotation is its network; absent (or empty), the engine's `docker.network`. */
  placementOf(annotations: readonly { readonly key: string; readonly value: unknown }[]): Placement | undefined {
    const network = annotations.find((a) => a.key === NETWORK_ANNOTATION)?.value;
    return typeof network === 'string' && network !== '' ? { [NETWORK_PLACEMENT]: network } : undefined;
  }

  async create(spec: ContainerSpec): Promise<Container> {
    if (this.#closed) throw new Error('the Docker runtime is closed');
    const ociRuntime = await this.#connect();
    const image = spec.image ?? this.#options.images[spec.kind];
    if (image === undefined || image === '') {
      throw new Error(spec.kind === 'blackbox' ? 'a blackbox action needs an image (exec.image)' : `no Docker image is configured for kind ${spec.kind} (docker.images)`);
    }
    const info = await this.#images.resolve(image);
    this.#checkProxyVersion(image, info.labels);
    // A socket folder only for images the configuration names: one an action names runs its own code before its
    // proxy listens, when the folder cannot be locked yet (socket-folder.ts), so it is reached over TCP.
    const unix = info.transport === 'unix' && this.#configured(image);
    // Stock images can only be reached through a published port, which needs a network that has one.
    const network = spec.placement?.[NETWORK_PLACEMENT] ?? (unix ? this.#options.network : 'bridge');
    if (network === 'host' || network.startsWith('container:')) {
      throw new Error(`network '${network}' would share the host's or another container's network: use none, bridge or a network name`);
    }
    if (!unix && network === 'none') {
      const which = info.transport === 'unix' ? 'not one the engine is configured with (docker.images)' : "not one of EdgeWhisk's images";
      throw new Error(`image ${image} is reached over TCP port 8080 (it is ${which}), which needs a network: annotate the action with edgewhisk-network 'bridge' or a network name`);
    }
    // Unique across engines in this process too (two may share an instance): a process-wide count and a token.
    const name = `ew-${this.#options.instance}-${process.pid}-${++nextContainer}-${randomBytes(3).toString('hex')}`;
    const folder = unix ? SocketFolder.create(this.#socketBaseDir(), name) : undefined;
    const transport: Transport = folder === undefined ? { type: 'tcp' } : { type: 'unix', hostDir: folder.dir };
    const createOptions = containerConfig(
      { name, image, spec, transport, network, instance: this.#options.instance, owner: this.#identity, memoryBudget: this.#memoryBudget, ...(ociRuntime === undefined ? {} : { ociRuntime }) },
      this.#options,
    );
    try {
      return await DockerContainer.start(this.#context, createOptions, folder, spec.concurrency, this.#options.startTimeout);
    } catch (error) {
      if (folder !== undefined) await SocketFolder.remove(folder.dir);
      // The image may have been removed since it was inspected.
      if ((error as { statusCode?: number }).statusCode === 404) this.#images.forget(image);
      throw new Error(`Docker could not start a container from ${image}: ${dockerMessage(error)}`);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#renewal);
    this.#renewal = undefined;
    await this.#lease.release().catch(() => undefined);
    if (this.#orphans.size > 0) await this.#removeOrphans().catch(() => undefined);
  }

  /**
   * Removes leftovers now (what the runtime does before its first container, and again while other engines'
   * containers are around): containers whose owner is provably gone (ownership.ts), and the leases of engines
   * that left none. Resolves with how many containers it removed.
   */
  async sweep(): Promise<number> {
    const listed = await this.#call(
      'list containers',
      this.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.managed}=true`] }) }),
    );
    // Unreadable leases prove nothing: no container is removed on their account then.
    const leases = await LeaseBook.read(this.docker, (what, operation) => this.#call(what, operation)).catch(() => LeaseBook.UNKNOWN);
    const leftovers = listed.filter((c) => isLeftover(c.Labels ?? {}, this.#identity, leases));
    const base = this.#socketBaseDir();
    const removed = new Set<string>();
    await Promise.all(
      leftovers.map(async (c) => {
        try {
          await this.#call('remove leftover', this.docker.getContainer(c.Id).remove({ force: true, v: true }));
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode !== 404) return;
        }
        removed.add(c.Id);
        const dir = c.Labels?.[LABELS.socketDir];
        if (dir !== undefined && dir.startsWith(`${base}/`)) await SocketFolder.remove(dir);
      }),
    );
    const kept = listed.filter((c) => !removed.has(c.Id));
    this.#othersSeen = kept.some((c) => c.Labels?.[LABELS.engine] !== this.#identity.engine);
    await this.#removeGoneLeases(leases, kept);
    await removeStaleSocketDirs(base, new Set(listed.map((c) => c.Labels?.[LABELS.socketDir]).filter((d): d is string => d !== undefined)), this.#staleAfter());
    return removed.size + (await this.#removeOrphans());
  }

  /**
   * The leases of engines that are provably gone (by the rules for their containers) and own no container any
   * more: nothing will ever need them. One whose containers could not be removed keeps its lease, so they are
   * still judged by it at the next sweep.
   */
  async #removeGoneLeases(leases: LeaseBook, kept: readonly Dockerode.ContainerInfo[]): Promise<void> {
    const owners = new Set(kept.map((c) => c.Labels?.[LABELS.engine]));
    for (const { engine, volumes, labels } of leases.engines()) {
      if (owners.has(engine) || !isLeftover({ ...labels, [LABELS.managed]: 'true' }, this.#identity, leases)) continue;
      for (const volume of volumes) await this.#call('remove lease', this.docker.getVolume(volume).remove()).catch(() => undefined);
    }
  }

  /** Renews the lease (a failure is reported once until it works again), and sweeps while others are around. */
  async #keepLease(): Promise<void> {
    try {
      await this.#lease.renew();
      this.#leaseFailed = false;
    } catch (error) {
      if (!this.#leaseFailed) {
        this.#leaseFailed = true;
        this.#report.warning(
          `cannot renew this engine's ownership lease on the Docker daemon (${dockerMessage(error)}): engines on other hosts sharing the daemon may take its containers for leftovers once the lease expires`,
        );
      }
    }
  }

  #startRenewal(): void {
    if (this.#renewal !== undefined || this.#closed) return;
    this.#renewal = setInterval(() => {
      if (this.#renewing) return;
      this.#renewing = true;
      void (async () => {
        await this.#keepLease();
        if (this.#othersSeen && !this.#closed) await this.sweep().catch(() => undefined);
      })()
        // Nothing above rejects; if it ever did, it must not become an unhandled rejection (Node-RED exits).
        .catch(() => undefined)
        .finally(() => {
          this.#renewing = false;
        });
    }, Math.max(1, Math.floor(this.#lease.ttl / 3)));
    // The lease must not keep the process alive: a process that is ending is an engine that is gone.
    this.#renewal.unref();
  }

  /** Whether `image` is one the engine's configuration names (trusted to run only its proxy until /init). */
  #configured(image: string): boolean {
    return Object.values(this.#options.images).includes(image);
  }

  /** How old a socket folder without a container must be before a sweep takes it for a leftover. */
  #staleAfter(): number {
    return Math.max(STALE_FOLDER_MS, 2 * this.#options.apiTimeout + this.#options.startTimeout);
  }

  /** Pings the daemon once (again after it was lost), picks the OCI runtime, warns of relaxations, sweeps. */
  #connect(): Promise<string | undefined> {
    this.#ready ??= (async () => {
      await this.#call('ping', this.docker.ping());
      const info = (await this.#call('info', this.docker.info())) as { Runtimes?: Record<string, unknown> };
      const hasRunsc = info.Runtimes?.['runsc'] !== undefined;
      if (this.#options.sandbox === 'runsc' && !hasRunsc) {
        throw new Error("docker.sandbox is 'runsc' but the daemon has no runsc runtime (install gVisor: `runsc install`, then restart dockerd)");
      }
      if (!this.#warned) {
        this.#warned = true;
        for (const relaxed of relaxations(this.#options, this.#defaults)) this.#report.warning(`Docker hardening relaxed: ${relaxed}`);
        const uid = /^(\d+)(:|$)/.exec(this.#options.user)?.[1];
        if (uid !== undefined && Number(uid) === process.getuid?.()) {
          // The socket folder's lock is a permission: it does not stop the folder's owner (socket-folder.ts).
          this.#report.warning(
            `Docker actions run as this engine's own user (uid ${uid}): they can unlock their socket folder and write to the host there; the engine then refuses and removes the container`,
          );
        }
        if (this.#options.sandbox === 'auto' && !hasRunsc) this.#report.warning("docker.sandbox is 'auto' and the daemon has no runsc runtime: containers run on runc");
      }
      // The lease first: engines elsewhere must never see a container of this engine without one.
      await this.#keepLease();
      await this.sweep();
      this.#startRenewal();
      return this.#options.sandbox !== 'runc' && hasRunsc ? 'runsc' : undefined;
    })();
    const ready = this.#ready;
    // A failed check is not remembered: the next container asks again, so the runtime recovers with the daemon.
    ready.catch(() => {
      if (this.#ready === ready) this.#ready = undefined;
    });
    return ready;
  }

  async #removeOrphans(): Promise<number> {
    const ids = [...this.#orphans];
    let removed = 0;
    for (const id of ids) {
      try {
        await this.#call('remove orphan', this.docker.getContainer(id).remove({ force: true, v: true }));
        removed++;
        this.#orphans.delete(id);
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) this.#orphans.delete(id);
      }
    }
    return removed;
  }

  /**
   * An EdgeWhisk image built from another version's proxy still works, but may differ: say so once per image, with
   * the command that rebuilds that image (by its own kind and build, so a nodejs:22 image built offline on a
   * Node.js 24 host is told which node binary it needs).
   */
  #checkProxyVersion(image: string, labels: Readonly<Record<string, string>>): void {
    const digest = labels[IMAGE_LABELS.proxyDigest];
    const kind = labels[IMAGE_LABELS.kind];
    if (digest === undefined || kind === undefined || this.#checkedImages.has(image)) return;
    this.#checkedImages.add(image);
    let current: string;
    try {
      current = proxyDigest(kind);
    } catch {
      return;
    }
    if (digest !== current) {
      const command = buildCommand(kind, labels[IMAGE_LABELS.build] === 'offline');
      const advice = command === undefined ? notBuilt(kind) : `rebuild it with \`${command}\``;
      this.#report.warning(`Docker image ${image} holds the action proxy of another EdgeWhisk version: ${advice}`);
    }
  }

  #socketBaseDir(): string {
    if (this.#socketBase === undefined) {
      const base = this.#options.socketDir === '' ? join(tmpdir(), 'edgewhisk-docker') : this.#options.socketDir;
      mkdirSync(base, { recursive: true, mode: 0o700 });
      // Only the engine's user (and the daemon) may enter: the directories inside are open to the container's user.
      chmodSync(base, 0o700);
      this.#socketBase = realpathSync(base);
    }
    return this.#socketBase;
  }

  /**
   * Runs one Docker API call under `deadline` ms (`apiTimeout` unless given; `null` for a caller that keeps its own,
   * as a pull does); the message says which call and why it failed.
   */
  #call<T>(what: string, operation: Promise<T>, deadline: number | null = this.#options.apiTimeout): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer =
        deadline === null
          ? undefined
          : setTimeout(() => reject(ewError('EW_DOCKER_TIMEOUT', [what, deadline])), deadline);
      operation.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(unreachable(error) ? new Error(`cannot reach the Docker daemon at ${this.#address()}: ${dockerMessage(error)}`) : error);
        },
      );
    });
  }

  #address(): string {
    const modem = this.docker.modem as unknown as { socketPath?: string; host?: string; port?: number; protocol?: string };
    return modem.socketPath !== undefined && modem.socketPath !== '' ? modem.socketPath : `${modem.protocol ?? 'http'}://${modem.host ?? ''}:${String(modem.port ?? '')}`;
  }
}

/** A socket folder is made just before its container: one younger than this may be waiting for it. */
const STALE_FOLDER_MS = 120_000;

/**
 * Socket directories whose container is gone and whose engine process is dead (a crash between the two removals):
 * nothing else cleans them up. Directories of listed containers, of live processes, and young ones are kept: a
 * socket folder shared by engines in other pid namespaces may hold a folder whose container is being created.
 */
async function removeStaleSocketDirs(base: string, inUse: ReadonlySet<string>, staleAfter: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(base);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = /^ew-.+-(\d+)-\d+-[0-9a-f]+$/.exec(name)?.[1] ?? /^ew-.+-(\d+)-\d+$/.exec(name)?.[1];
    const dir = join(base, name);
    if (pid === undefined || inUse.has(dir) || processAlive(Number(pid))) continue;
    const changed = await stat(dir).then((s) => Math.max(s.ctimeMs, s.mtimeMs), () => Number.POSITIVE_INFINITY);
    if (Date.now() - changed < staleAfter) continue;
    await SocketFolder.remove(dir);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `host` as dockerode options: '' leaves it to dockerode (DOCKER_HOST, else the default socket). */
function connection(host: string): Dockerode.DockerOptions {
  if (host === '') return {};
  if (host.startsWith('/')) return { socketPath: host };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return { protocol: url.protocol === 'https:' ? 'https' : 'http', host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 2376 : 2375)) };
}

function unreachable(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EACCES' || code === 'EPIPE';
}
