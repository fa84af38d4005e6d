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
  stop(): Promise<void>;
}

export interface NodeRedProcessOptions {
  readonly flows?: readonly object[];
  /** Extra settings.js properties, as JavaScript source (e.g. an adminAuth block). */
  readonly settings?: string;
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
  const child: ChildProcess = spawn(process.execPath, [red, '--userDir', userDir, '--settings', join(userDir, 'settings.js')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Node-RED did not start within 60 s:\n${output}`)), 60_000);
    const check = setInterval(() => {
      if (/Started flows/.test(output)) {
        clearTimeout(timer);
        clearInterval(check);
        resolve();
      }
    }, 50);
    child.once('exit', (code) => {
      clearTimeout(timer);
      clearInterval(check);
      reject(new Error(`Node-RED exited with ${code}:\n${output}`));
    });
  });
  let stopped: Promise<void> | undefined;
  return {
    url,
    userDir,
    output: () => output,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }).then(() => rmSync(userDir, { recursive: true, force: true }))),
  };
}
