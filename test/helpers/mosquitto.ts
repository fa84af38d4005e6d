/**
 * A real MQTT broker for the MQTT feed's tests: Debian's mosquitto (package `mosquitto`, 2.0.x), on 127.0.0.1 and a
 * free port, with its config, password file, persistence and log in a temporary folder of its own. Persistence is on,
 * so a `restart()` (SIGTERM, which saves the database, then a start on the same port) keeps persistent sessions.
 *
 * A missing mosquitto fails the tests that need it, with the command that installs it: these tests are never skipped.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './node-red-process';

export interface MosquittoOptions {
  /** User name to password. With users the broker refuses anonymous clients; without, it accepts only them. */
  readonly users?: Readonly<Record<string, string>>;
}

export interface Mosquitto {
  readonly port: number;
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string;
  /** Everything the broker logged so far, across restarts (log_type all: connections, packets). */
  log(): string;
  /** Waits until the log matches `pattern` (it is flushed line by line). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGTERM, and waits for the exit: the broker saves its sessions first. */
  stop(): Promise<void>;
  /** Starts it again on the same port, with the same folder (and so the saved sessions). */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Replaces the password file and has the running broker reload it (SIGHUP). */
  setUsers(users: Readonly<Record<string, string>>): Promise<void>;
  /** Stops it (SIGKILL if it hangs) and removes its folder. */
  close(): Promise<void>;
}

const running = new Set<ChildProcess>();
// A test process that ends without its afterAll (a crash, a timeout) must not leave brokers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const broker = findBinary('mosquitto', ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto'], process.env['EDGEWHISK_MOSQUITTO']);
  const dir = mkdtempSync(join(tmpdir(), 'edgewhisk-mosquitto-'));
  const port = await freePort();
  const logFile = join(dir, 'mosquitto.log');
  const passwordFile = join(dir, 'passwords');
  const users = options.users;
  if (users !== undefined) writePasswords(passwordFile, users);
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    [
      `listener ${port} 127.0.0.1`,
      `allow_anonymous ${users === undefined}`,
      ...(users === undefined ? [] : [`password_file ${passwordFile}`]),
      'persistence true',
      `persistence_location ${dir}/`,
      `log_dest file ${logFile}`,
      'log_type all',
      'connection_messages true',
      // Started as root, mosquitto switches to this user: the current one, who owns the folder.
      `user ${userInfo().username}`,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let stderr = '';
  const log = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };

  const start = async (): Promise<void> => {
    if (child !== undefined) throw new Error('mosquitto is already running');
    const started = spawn(broker, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    running.add(started);
    started.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, fail) =>
      started.once('exit', (code, signal) => fail(new Error(`mosquitto exited (${code ?? signal}) before it accepted connections:\n${stderr}\n${log().slice(-2000)}`))),
    );
    started.once('exit', () => {
      running.delete(started);
      if (child === started) child = undefined;
    });
    exited.catch(() => undefined);
    await Promise.race([acceptsConnections(port, 10_000), exited]);
  };

  const stop = async (): Promise<void> => {
    const current = child;
    if (current === undefined) return;
    const gone = new Promise<void>((ok) => current.once('exit', () => ok()));
    current.kill('SIGTERM');
    const timer = setTimeout(() => current.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };

  try {
    await start();
  } catch (error) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    log,
    async waitForLog(pattern, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(log())) {
        if (Date.now() > deadline) throw new Error(`mosquitto did not log ${pattern} within ${timeoutMs} ms:\n${log().slice(-3000)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async setUsers(next) {
      writePasswords(passwordFile, next);
      const reloaded = log().split('\n').length;
      child?.kill('SIGHUP');
      // The reload is logged; wait for it so the next connection meets the new passwords.
      const deadline = Date.now() + 5000;
      while (!log().split('\n').slice(reloaded - 1).some((line) => /Reloading config/.test(line))) {
        if (Date.now() > deadline) throw new Error(`mosquitto did not reload its config:\n${log().slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };

  function writePasswords(file: string, entries: Readonly<Record<string, string>>): void {
    const passwd = findBinary('mosquitto_passwd', ['/usr/bin/mosquitto_passwd']);
    rmSync(file, { force: true });
    writeFileSync(file, '', { mode: 0o600 });
    for (const [user, password] of Object.entries(entries)) execFileSync(passwd, ['-b', file, user, password], { stdio: 'pipe' });
    chmodSync(file, 0o600);
  }
}

/** `override`, the usual places, or the PATH; else an error saying how to install it. */
function findBinary(name: string, places: readonly string[], override?: string): string {
  const candidates = [...(override === undefined || override === '' ? [] : [override]), ...places, ...(process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, name))];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(`${name} is not installed: the MQTT feed tests need a real broker. Install Debian's mosquitto (\`sudo apt-get install mosquitto\`), or set EDGEWHISK_MOSQUITTO to a mosquitto 2 binary.`);
}

async function acceptsConnections(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
