/**
 * The host folder through which the engine reaches the proxy of one of EdgeWhisk's images: made per container,
 * bind-mounted at /run/edgewhisk, where the proxy binds `proxy.sock`.
 *
 * The container must not be able to write anything there that the host reads or follows: an action could
 * otherwise fill the host's disk past its memory and /tmp limits, or replace proxy.sock with a symlink to the
 * Docker socket and have the engine (often root) send its next request there. Why a locked bind mount:
 * - a tmpfs inside the container bounds the disk, but a socket in it cannot be reached from the host;
 * - a small tmpfs or loop device mounted on the host needs root and mount rights, which the Home Assistant
 *   add-on, rootless Docker and a non-root Node-RED do not have;
 * - ownership tricks inside the folder (sticky bit, a socket owned by the proxy) do not help: the action runs as
 *   the same user as the proxy, so it can do whatever the proxy could.
 * So the folder is open to the container's user only until the proxy has bound its socket. That happens before
 * /init, so before any action code has run (for the images the engine's configuration names; an image an action
 * names is reached over TCP instead, since its own code runs from the start). Then:
 * 1. `lock()` makes the folder 0555, owned by the engine's user: any other user can no longer create, remove or
 *    rename an entry in it: not a byte of data, no symlink, no other socket;
 * 2. the socket is opened O_PATH|O_NOFOLLOW and checked to be a socket, and the engine connects only through
 *    /proc/self/fd/N: that inode, whatever the path names later. Even a container user who could undo the lock
 *    (the engine's own uid, or root with `allowRoot` when the engine is root) cannot redirect a connection;
 * 3. `tampered()`, run before every /init and /run, says whether the folder is still as locked, so a container
 *    that changed it is refused and removed.
 */
import { chmodSync, closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, type Stats } from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const SOCKET_NAME = 'proxy.sock';
/** The folder's mode once locked: readable and searchable (the engine connects), writable by nobody. */
const LOCKED = 0o555;
/** Linux's O_PATH (the same value on every architecture Node.js supports): opens the inode without reading it. */
const O_PATH = 0o10000000;

export class SocketFolder {
  readonly dir: string;
  readonly socketPath: string;
  #fd: number | undefined;
  #socket: { dev: number; ino: number } | undefined;

  private constructor(dir: string) {
    this.dir = dir;
    this.socketPath = join(dir, SOCKET_NAME);
  }

  /** Makes the folder `name` in `base`, open to the container's user until `lock()`. */
  static create(base: string, name: string): SocketFolder {
    const dir = join(base, name);
    mkdirSync(dir, { mode: 0o777 });
    // The container's user (uid 65534 by default) binds its socket here; mkdir's mode is cut by the umask.
    chmodSync(dir, 0o777);
    return new SocketFolder(dir);
  }

  /** Removes a socket folder, locked or not (a non-root engine cannot delete entries of its 0555 folder). */
  static async remove(dir: string): Promise<void> {
    await chmod(dir, 0o700).catch(() => undefined);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Whether the proxy has bound its socket yet; throws if what is there is not one. */
  bound(): boolean {
    let stat: Stats;
    try {
      stat = lstatSync(this.socketPath);
    } catch {
      return false;
    }
    if (!stat.isSocket()) throw new Error(`the container put ${describe(stat)} at ${SOCKET_NAME} instead of its proxy's socket`);
    return true;
  }

  /**
   * Locks the folder once the socket is bound, checks what it holds, and returns the path to connect to: the
   * verified socket's inode, through a descriptor kept open until `close()`. Throws when the folder is not as the
   * proxy alone would have left it.
   */
  lock(): string {
    chmodSync(this.dir, LOCKED);
    const added = extras(readdirSync(this.dir));
    if (added !== undefined) throw new Error(`the container's socket folder holds ${added} besides ${SOCKET_NAME}`);
    const stat = lstatSync(this.socketPath);
    if (!stat.isSocket()) throw new Error(`the container put ${describe(stat)} at ${SOCKET_NAME} instead of its proxy's socket`);
    this.#socket = { dev: stat.dev, ino: stat.ino };
    const fd = openPath(this.socketPath);
    if (fd === undefined) return this.socketPath;
    const opened = fstatSync(fd);
    if (!opened.isSocket() || opened.dev !== stat.dev || opened.ino !== stat.ino) {
      closeSync(fd);
      throw new Error(`the container's ${SOCKET_NAME} changed while the engine checked it`);
    }
    this.#fd = fd;
    return `/proc/self/fd/${fd}`;
  }

  /** What the container changed in the locked folder, or `undefined` while it is as locked. */
  tampered(): string | undefined {
    if (this.#socket === undefined) return undefined;
    let mode: number;
    let names: string[];
    let stat: Stats;
    try {
      mode = lstatSync(this.dir).mode & 0o7777;
      names = readdirSync(this.dir);
    } catch {
      return 'the folder is gone';
    }
    if (mode !== LOCKED) return `its mode was changed to ${mode.toString(8).padStart(4, '0')}`;
    const added = extras(names);
    if (added !== undefined) return `it now holds ${added}`;
    try {
      stat = lstatSync(this.socketPath);
    } catch {
      return `${SOCKET_NAME} was removed`;
    }
    if (!stat.isSocket()) return `${SOCKET_NAME} was replaced by ${describe(stat)}`;
    if (stat.dev !== this.#socket.dev || stat.ino !== this.#socket.ino) return `${SOCKET_NAME} was replaced by another socket`;
    return undefined;
  }

  /** Closes the descriptor the engine connects through: only once nothing connects any more (its number is reused). */
  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/**
 * The socket opened O_PATH|O_NOFOLLOW (a symlink is opened as itself, never followed), or `undefined` where that
 * is not available (not Linux, no /proc): the engine then connects by path, which the lock alone protects.
 */
function openPath(path: string): number | undefined {
  if (process.platform !== 'linux' || !existsSync('/proc/self/fd')) return undefined;
  return openSync(path, O_PATH | constants.O_NOFOLLOW);
}

/** The names in the folder besides the socket, for a message; `undefined` when there are none. */
function extras(names: readonly string[]): string | undefined {
  const added = names.filter((n) => n !== SOCKET_NAME).sort();
  if (added.length === 0) return undefined;
  return `${added.slice(0, 5).join(', ')}${added.length > 5 ? `, … (${added.length} entries)` : ''}`;
}

function describe(stat: Stats): string {
  if (stat.isSymbolicLink()) return 'a symbolic link';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFile()) return 'a file';
  return 'something else';
}
