/**
 * A real Node-RED in its own process, as a user runs it: the selected Node-RED (node-red-under-test.ts) with this
 * checkout installed as the bundle in a fresh user directory, listening on 127.0.0.1 only. For tests of what only
 * the whole product shows: the editor in a browser, admin authentication, the editor's resources.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { NODE_RED_MAIN, nodeRedRequire } from './node-red-under-test';

const ROOT = join(__dirname, '..', '..');

export interface NodeRedProcess {
  readonly url: string;
  readonly userDir: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Ends the process and removes its user directory. */
  stop(): Promise<void>;
  /** Ends the process at once with SIGKILL, as a crash or a power cut would; the user directory stays. */
  kill(): Promise<void>;
  /** Starts Node-RED again on the same user directory and port (killing it first if it runs). */
  restart(options?: NodeRedRestartOptions): Promise<void>;
}

export interface NodeRedRestartOptions {
  /** Flows to start with instead of the saved ones: as if they had been edited while Node-RED was down. */
  readonly flows?: readonly object[];
}

export interface NodeRedProcessOptions {
  readonly flows?: readonly object[];
  /** Extra settings.js properties, as JavaScript source (e.g. an adminAuth block). */
  readonly settings?: string;
  /** Files to write into the user directory before Node-RED starts (e.g. flows_cred.json), by relative path. */
  readonly files?: Readonly<Record<string, string>>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** A bcrypt hash of `password`, made with the bcrypt module the selected Node-RED checks passwords with. */
export function bcryptHash(password: string): string {
  const editorApi = createRequire(nodeRedRequire.resolve('@node-red/editor-api'));
  const bcrypt = editorApi('bcryptjs') as { hashSync(text: string, rounds: number): string };
  return bcrypt.hashSync(password, 8);
}

export async function startNodeRed(options: NodeRedProcessOptions = {}): Promise<NodeRedProcess> {
  const userDir = mkdtempSync(join(tmpdir(), 'edgewhisk-node-red-'));
  mkdirSync(join(userDir, 'node_modules'), { recursive: true });
  // Installed "from the working tree", as `npm start` does: Node-RED follows the link when it scans modules.
  symlinkSync(ROOT, join(userDir, 'node_modules', 'node-red-contrib-edgewhisk'), 'dir');
  writeFileSync(join(userDir, 'package.json'), JSON.stringify({ name: 'edgewhisk-test-user-dir', private: true, dependencies: { 'node-red-contrib-edgewhisk': '*' } }));
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(options.flows ?? []));
  for (const [path, text] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(userDir, path)), { recursive: true });
    writeFileSync(join(userDir, path), text);
  }
  const port = await freePort();
  writeFileSync(
    join(userDir, 'settings.js'),
    `module.exports = {
  uiHost: '127.0.0.1',
  uiPort: ${port},
  flowFile: 'flows.json',
  credentialSecret: false,
  logging: { console: { level: 'info', metrics: false, audit: false } },
  editorTheme: { projects: { enabled: false }, tours: false },
  telemetry: { enabled: false },
  ${options.settings ?? ''}
};
`,
  );
  const red = join(dirname(NODE_RED_MAIN), '..', 'red.js');
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  let output = '';
  /** Starts the process on the user directory and resolves once its flows have started. */
  const launch = async (): Promise<void> => {
    const proc = spawn(process.execPath, [red, '--userDir', userDir, '--settings', join(userDir, 'settings.js')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    // What this run wrote: an earlier run's "Started flows" must not count.
    let run = '';
    proc.stdout?.on('data', (d: Buffer) => ((run += d.toString()), (output += d.toString())));
    proc.stderr?.on('data', (d: Buffer) => ((run += d.toString()), (output += d.toString())));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Node-RED did not start within 60 s:\n${run}`)), 60_000);
      const check = setInterval(() => {
        if (/Started flows/.test(run)) {
          clearTimeout(timer);
          clearInterval(check);
          resolve();
        }
      }, 50);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        clearInterval(check);
        reject(new Error(`Node-RED exited with ${code}:\n${run}`));
      });
    });
  };
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const kill = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (exited()) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  await launch();
  let stopped: Promise<void> | undefined;
  return {
    url,
    userDir,
    output: () => output,
    kill,
    restart: async (again: NodeRedRestartOptions = {}) => {
      await kill();
      if (again.flows !== undefined) writeFileSync(join(userDir, 'flows.json'), JSON.stringify(again.flows));
      output += '\n--- restarted ---\n';
      await launch();
    },
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        if (exited()) return resolve();
        const hard = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('exit', () => {
          clearTimeout(hard);
          resolve();
        });
        child.kill('SIGTERM');
      }).then(() => rmSync(userDir, { recursive: true, force: true }))),
  };
}
