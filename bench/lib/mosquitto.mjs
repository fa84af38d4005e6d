// A throwaway Mosquitto broker for the benchmarks: Debian's mosquitto (package `mosquitto`, 2.0.x) on 127.0.0.1 and a
// free port, its config and log in a temporary folder of its own, no persistence (sessions live in the broker's
// memory while it runs). A plain-ESM cousin of test/helpers/mosquitto.ts, which bench code must not import.
//
//   const broker = await startMosquitto();  // { url, port, pid, version, log(), stop() }
//   ...
//   await broker.stop();                    // SIGTERM (SIGKILL after 5 s), folder removed; safe to call twice
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';

const PLACES = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto'];

function findBroker() {
  const override = process.env.EDGEWHISK_MOSQUITTO;
  for (const candidate of [...(override ? [override] : []), ...PLACES]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new Error('mosquitto is not installed (Debian: `sudo apt-get install mosquitto`), or set EDGEWHISK_MOSQUITTO to a mosquitto 2 binary');
}

/** A port that was free a moment ago on 127.0.0.1 (the broker binds it right after). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startMosquitto() {
  const binary = findBroker();
  const help = spawnSync(binary, ['-h'], { encoding: 'utf8' });
  const version = /mosquitto version (\S+)/.exec(`${help.stdout}${help.stderr}`)?.[1] ?? 'unknown';
  const dir = mkdtempSync(join(os.tmpdir(), 'ew-bench-mosquitto-'));
  const port = await freePort();
  const logFile = join(dir, 'mosquitto.log');
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      `log_dest file ${logFile}`,
      // Connections and errors only: `log_type all` would write a line per packet, which is not the broker's cost.
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
      // Started as root, mosquitto switches to this user: the current one, who owns the folder.
      `user ${os.userInfo().username}`,
      '',
    ].join('\n'),
  );
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  let stderr = '';
  const child = spawn(binary, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  let exited = false;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => ((exited = true), resolve({ code, signal }))));
  // A benchmark process that ends without its cleanup (an exception, process.exit) must not leave the broker behind.
  const onExit = () => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', onExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    }
    process.removeListener('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      const why = await exit;
      const text = `${stderr}\n${log().slice(-2000)}`;
      await stop();
      throw new Error(`mosquitto exited (${why.code ?? why.signal}) before it accepted connections:\n${text}`);
    }
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`mosquitto did not accept connections on 127.0.0.1:${port} within 10 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { url: `mqtt://127.0.0.1:${port}`, port, pid: child.pid, version, log, stop, exited: () => exited };
}
