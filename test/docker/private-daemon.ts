/**
 * A Docker daemon of a test's own: `dockerd` with its own data root, socket and containerd namespace, and no
 * bridge, in its own network namespace, so a test can stop and restart a real daemon without disturbing the shared
 * one other test files use.
 * Needs root (as dockerd does); images are copied in from the shared daemon with save/load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Dockerode from 'dockerode';

export class PrivateDaemon {
  readonly root: string;
  readonly socket: string;
  readonly client: Dockerode;
  #child: ChildProcess | undefined;
  #log = '';

  constructor() {
    // Short path: a Unix socket path may not exceed 107 bytes.
    this.root = mkdtempSync('/tmp/ewd-');
    this.socket = join(this.root, 'docker.sock');
    this.client = new Dockerode({ socketPath: this.socket, timeout: 60_000 });
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Starts dockerd and resolves once it answers. */
  async start(timeout = 30_000): Promise<void> {
    mkdirSync(join(this.root, 'data'), { recursive: true });
    // In a network namespace of its own: a second dockerd in the host's namespace would take over (and with
    // --bridge none, delete) the shared daemon's docker0 bridge.
    const child = spawn(
      'unshare',
      [
        '--net',
        'dockerd',
        '--data-root', join(this.root, 'data'),
        '--exec-root', join(this.root, 'exec'),
        '--pidfile', join(this.root, 'docker.pid'),
        '-H', `unix://${this.socket}`,
        '--containerd-namespace', `ew-${process.pid}`,
        '--containerd-plugins-namespace', `ew-${process.pid}-plugins`,
        '--bridge', 'none',
        '--iptables=false',
        '--ip-masq=false',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    child.stdout?.on('data', (c: Buffer) => (this.#log = (this.#log + c.toString()).slice(-4_000)));
    child.stderr?.on('data', (c: Buffer) => (this.#log = (this.#log + c.toString()).slice(-4_000)));
    child.on('error', () => undefined);
    const deadline = Date.now() + timeout;
    for (;;) {
      if (!this.running) throw new Error(`dockerd exited at start: ${this.#log}`);
      if (existsSync(this.socket) && (await this.client.ping().then(() => true, () => false))) return;
      if (Date.now() > deadline) throw new Error(`dockerd did not answer within ${timeout} ms: ${this.#log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops dockerd the way a service manager does (SIGTERM) and resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const late = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(late);
  }

  /** Copies `image` from the shared daemon into this one. */
  async load(shared: Dockerode, image: string): Promise<void> {
    const tar = await shared.getImage(image).get();
    const stream = await this.client.loadImage(tar);
    await new Promise<void>((resolve, reject) => this.client.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())));
  }

  /** Removes every container, stops the daemon and deletes its data. */
  async destroy(): Promise<void> {
    if (this.running) {
      for (const c of await this.client.listContainers({ all: true }).catch(() => [])) await this.client.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    }
    await this.stop();
    await rm(this.root, { recursive: true, force: true }).catch(() => undefined);
  }
}
