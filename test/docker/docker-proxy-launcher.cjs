#!/usr/bin/env node
'use strict';
/**
 * Runs one of EdgeWhisk's action images as if it were a local proxy process, for the conformance harness
 * (test/conformance/harness.ts) and anything else that follows the proxies' process conventions:
 *
 *   node test/docker/docker-proxy-launcher.cjs [--instance NAME] [--socket-base DIR] [--memory MB]
 *                                              [--start-timeout MS] [--stop-grace MS] IMAGE
 *
 * - The container is created with the Docker runtime's own `containerConfig()` and defaults (read from dist/, so
 *   `npm run build` first): uid 65534, read-only root, tmpfs /tmp, no capabilities, no-new-privileges, network
 *   none, memory, pids and nofile limits, and a fresh 0777 directory bind-mounted at /run/edgewhisk where the
 *   proxy listens on SOCKET=/run/edgewhisk/proxy.sock. It carries the runtime's labels with `--instance` as its
 *   instance (default `launcher`), so a test can find what a launcher left, and any engine's sweep in this pid
 *   namespace removes it once this process is gone.
 * - The container's environment is the runtime's plus this process's own, less the launcher's conventions (HOST,
 *   PORT, EW_READY_FD, EW_PARENT_PID, SOCKET) and what only means something on the host (PATH, HOME, TMPDIR, …).
 * - Its stdout and stderr are forwarded to this process's, byte for byte. Nothing else is ever written there,
 *   except the reason when the launcher cannot start.
 * - Once the proxy's socket accepts connections, a TCP relay listens on 127.0.0.1 (port 0, or PORT) and its port is
 *   written as `{"port": n}\n` to the descriptor named by EW_READY_FD.
 * - Lifetime: exits with the container's exit code when the container exits; forwards SIGTERM/SIGINT/SIGHUP to
 *   the container and exits with its code (after `--stop-grace` ms it is removed regardless); exits when its parent
 *   (or the process named by EW_PARENT_PID, like the proxies) is gone. On every way out the container is
 *   force-removed and the socket directory deleted before the process ends. Only SIGKILL of the launcher itself
 *   leaves the container behind (its labels name this dead process as owner, so a sweep finds it).
 */
const { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeSync } = require('node:fs');
const { connect, createServer } = require('node:net');
const { tmpdir } = require('node:os');
const { randomBytes } = require('node:crypto');
const { join } = require('node:path');
const Dockerode = require('dockerode');

const NAME = 'docker-proxy-launcher';
const ROOT = join(__dirname, '..', '..');

/** What the launcher reads itself, or what names a place on the host: never given to the container. */
const LAUNCHER_ENV = new Set(['HOST', 'PORT', 'EW_READY_FD', 'EW_PARENT_PID', 'SOCKET']);
const HOST_ENV = new Set(['PATH', 'HOME', 'PWD', 'OLDPWD', 'SHLVL', '_', 'TMPDIR', 'TMP', 'TEMP', 'USER', 'LOGNAME', 'SHELL', 'HOSTNAME', 'TERM', 'NODE_OPTIONS']);
const HOST_ENV_PREFIXES = ['DOCKER_', 'LC_', 'LD_', 'NODE_', 'NPM_', 'npm_', 'PYTHON', 'VITEST', 'EDGEWHISK_'];

const POLL_MS = 5;
const PARENT_POLL_MS = 200;

function parseArgs(argv) {
  const options = { instance: 'launcher', socketBase: '', memory: 0, startTimeout: 8000, stopGrace: 1000, image: '' };
  const numeric = { '--memory': 'memory', '--start-timeout': 'startTimeout', '--stop-grace': 'stopGrace' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '--instance' || arg === '--socket-base') {
      if (value === undefined) throw new Error(`${arg} needs a value`);
      options[arg === '--instance' ? 'instance' : 'socketBase'] = value;
      i++;
    } else if (arg in numeric) {
      if (value === undefined || !/^\d+$/.test(value)) throw new Error(`${arg} needs a whole number`);
      options[numeric[arg]] = Number(value);
      i++;
    } else if (arg.startsWith('--')) {
      throw new Error(`unknown option ${arg}`);
    } else if (options.image === '') {
      options.image = arg;
    } else {
      throw new Error(`one image only (got ${options.image} and ${arg})`);
    }
  }
  if (options.image === '') throw new Error('usage: docker-proxy-launcher.cjs [options] IMAGE');
  return options;
}

/** The runtime's own container configuration and defaults, from the build. */
function loadRuntime() {
  try {
    return {
      containerConfig: require(join(ROOT, 'dist', 'runtimes', 'docker', 'container-config.js')).containerConfig,
      SOCKET_MOUNT: require(join(ROOT, 'dist', 'runtimes', 'docker', 'container-config.js')).SOCKET_MOUNT,
      DEFAULTS: require(join(ROOT, 'dist', 'options.js')).DEFAULTS,
      ownerIdentity: require(join(ROOT, 'dist', 'runtimes', 'docker', 'ownership.js')).ownerIdentity,
    };
  } catch (error) {
    throw new Error(`cannot load the Docker runtime from dist/ (run npm run build): ${describe(error)}`);
  }
}

function passedEnv() {
  return Object.entries(process.env)
    .filter(([key, value]) => value !== undefined && !LAUNCHER_ENV.has(key) && !HOST_ENV.has(key) && !HOST_ENV_PREFIXES.some((p) => key.startsWith(p)))
    .map(([key, value]) => `${key}=${value}`);
}

function describe(error) {
  const json = error && error.json;
  if (json && typeof json.message === 'string') return json.message.trim();
  return error instanceof Error ? error.message : String(error);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function canConnect(path) {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The current parent pid (it changes when the parent dies and this process is re-parented). */
function currentParent() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Field 4; the command name (field 2) may hold spaces and parentheses, so count from the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Whether `pid` is gone; a zombie (exited, not yet reaped) counts as gone, as in the proxies' parent watch. */
function gone(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error.code !== 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

/**
 * TCP on 127.0.0.1 → the proxy's Unix socket: one upstream connection per downstream connection. An end is passed
 * on as an end (half-close), so a request and its response flow as they would on one connection; an error or an
 * abrupt close on either side destroys both.
 */
function startRelay(socketPath, port) {
  const connections = new Set();
  const server = createServer({ allowHalfOpen: true }, (down) => {
    const up = connect({ path: socketPath, allowHalfOpen: true });
    connections.add(down);
    connections.add(up);
    down.setNoDelay(true);
    const destroyBoth = () => {
      down.destroy();
      up.destroy();
    };
    down.on('error', destroyBoth);
    up.on('error', destroyBoth);
    // A side that closed without having been ended by its peer ended abruptly; a side that closed after both ends
    // were passed on leaves the other to finish writing what it still holds.
    down.on('close', () => {
      connections.delete(down);
      if (!up.writableEnded) up.destroy();
    });
    up.on('close', () => {
      connections.delete(up);
      if (!down.writableEnded) down.destroy();
    });
    down.pipe(up);
    up.pipe(down);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve({
        port: server.address().port,
        close: () => {
          server.close();
          for (const socket of connections) socket.destroy();
        },
      });
    });
  });
}

function announce(port) {
  const fd = Number(process.env['EW_READY_FD']);
  if (!Number.isInteger(fd) || fd < 0 || process.env['EW_READY_FD'] === '') return;
  try {
    writeSync(fd, `${JSON.stringify({ port })}\n`);
    closeSync(fd);
  } catch {
    // Nobody listens on that descriptor; the relay still serves.
  }
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${NAME}: ${describe(error)}\n`);
    process.exit(2);
  }
  const docker = new Dockerode();

  let dir;
  /** Resolves with the container once created (undefined when creation failed or never began). */
  let created = Promise.resolve(undefined);
  let relay;
  let output;
  let exitCode;
  let finishing;

  /** The one way out: removes the container and the directory, then ends the process with `code`. */
  const finish = (code, reason) => {
    finishing ??= (async () => {
      if (reason !== undefined) process.stderr.write(`${NAME}: ${reason}\n`);
      relay?.close();
      const container = await created.catch(() => undefined);
      if (container !== undefined) {
        await container.remove({ force: true, v: true }).catch((error) => {
          if (error && error.statusCode !== 404) process.stderr.write(`${NAME}: could not remove container ${container.id}: ${describe(error)}\n`);
        });
      }
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      process.exit(code);
    })();
    return finishing;
  };

  // A stop request is passed to the proxy (it answers SIGTERM itself); the container is removed after `stopGrace`
  // at the latest, well inside the harness's 2 s before SIGKILL.
  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    const number = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal];
    setTimeout(() => void finish(exitCode ?? 128 + number), options.stopGrace).unref();
    void created.then((container) => {
      if (container === undefined || exitCode !== undefined || finishing !== undefined) return finish(128 + number);
      return container.kill({ signal }).catch(() => finish(128 + number));
    });
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => stop(signal));
  process.on('uncaughtException', (error) => void finish(1, `internal error: ${describe(error)}`));
  process.on('unhandledRejection', (error) => void finish(1, `internal error: ${describe(error)}`));
  // Whoever reads these is gone: nothing to do but wait for the parent watch.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);

  // Parent watch: never outlive whoever started this (re-parented = the parent died), nor EW_PARENT_PID.
  const parent = currentParent() ?? process.ppid;
  const named = Number(process.env['EW_PARENT_PID']);
  setInterval(() => {
    const now = currentParent();
    if ((now !== undefined ? now !== parent : gone(parent)) || (Number.isInteger(named) && named > 0 && gone(named))) void finish(0);
  }, PARENT_POLL_MS).unref();

  try {
    const runtime = loadRuntime();
    const image = await docker
      .getImage(options.image)
      .inspect()
      .catch((error) => {
        throw new Error(error && error.statusCode === 404 ? `no image ${options.image} (build it: node dist/cli.js build-images --offline)` : describe(error));
      });
    const labels = image.Config?.Labels ?? {};
    if (labels['org.edgewhisk.transport'] !== 'unix') throw new Error(`${options.image} is not one of EdgeWhisk's images (it does not listen on SOCKET)`);
    const kind = labels['org.edgewhisk.kind'] ?? 'blackbox';

    const base = options.socketBase === '' ? tmpdir() : options.socketBase;
    mkdirSync(base, { recursive: true });
    dir = mkdtempSync(join(base, 'ew-launcher-'));
    // The container's user (uid 65534) creates its socket here; mkdtemp makes it 0700.
    chmodSync(dir, 0o777);

    const defaults = runtime.DEFAULTS;
    const memory = options.memory > 0 ? options.memory : defaults.limits.memory.default;
    const name = `ew-${options.instance}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const config = runtime.containerConfig(
      {
        name,
        image: options.image,
        spec: { kind, memory, concurrency: 1 },
        transport: { type: 'unix', hostDir: dir },
        network: defaults.docker.network,
        instance: options.instance,
        owner: runtime.ownerIdentity(),
        memoryBudget: defaults.memoryBudget,
      },
      defaults.docker,
    );
    config.Env = [...config.Env, ...passedEnv()];

    if (finishing !== undefined) return;
    created = docker.createContainer(config);
    const container = await created;
    // Attached before start, so not a byte of output is missed.
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    output = new Promise((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', resolve);
    });
    docker.modem.demuxStream(stream, process.stdout, process.stderr);
    if (finishing !== undefined || stopping) return;
    await container.start();
    void container.wait({ condition: 'not-running' }).then(
      async (result) => {
        exitCode = Number(result?.StatusCode ?? 1);
        // Everything the container wrote is forwarded before the process ends.
        await Promise.race([output, sleep(2000)]);
        await finish(exitCode);
      },
      (error) => finish(1, `lost the container: ${describe(error)}`),
    );

    const socketPath = join(dir, 'proxy.sock');
    const deadline = Date.now() + options.startTimeout;
    for (;;) {
      if (finishing !== undefined || stopping) return;
      if (exitCode !== undefined) throw new Error(`the container exited with code ${exitCode} before its proxy listened`);
      if (existsSync(socketPath) && (await canConnect(socketPath))) break;
      if (Date.now() > deadline) throw new Error(`the proxy did not listen on ${runtime.SOCKET_MOUNT}/proxy.sock within ${options.startTimeout} ms`);
      await sleep(POLL_MS);
    }
    const requested = Number(process.env['PORT'] ?? 0);
    relay = await startRelay(socketPath, Number.isInteger(requested) && requested >= 0 && requested <= 65535 ? requested : 0);
    if (finishing !== undefined || stopping) return relay.close();
    announce(relay.port);
  } catch (error) {
    await finish(exitCode !== undefined && exitCode !== 0 ? exitCode : 1, `cannot start ${options.image}: ${describe(error)}`);
  }
}

void main();
