/**
 * `edgewhisk serve` as users run it: the built CLI in its own process, on 127.0.0.1 and a free port, with a
 * throwaway EDGEWHISK_HOME (never the user's ~/.edgewhisk).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './node-red-process';

const CLI = resolve(__dirname, '../../dist/cli.js');

export interface ServeProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `uuid:key`, the Basic credentials. */
  readonly auth: string;
  readonly home: string;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, SIGKILL after 12 s; removes the home folder unless `keepHome`. */
  stop(options?: { keepHome?: boolean }): Promise<void>;
}

export interface ServeOptions {
  readonly auth?: string;
  /** Reuse a home (a restart). */
  readonly home?: string;
  readonly args?: readonly string[];
  readonly port?: number;
}

export async function startServe(options: ServeOptions = {}): Promise<ServeProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const port = options.port ?? (await freePort());
  const auth = options.auth ?? `${randomUUID()}:${randomBytes(32).toString('hex')}`;
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'edgewhisk-serve-'));
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--host', '127.0.0.1', '--auth', auth, ...(options.args ?? [])], {
    env: { ...process.env, EDGEWHISK_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const stop = async (how: { keepHome?: boolean } = {}): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      await exited;
      clearTimeout(timer);
    }
    if (how.keepHome !== true) rmSync(home, { recursive: true, force: true });
  };
  const ready = new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start within 15 s: ${output}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      const match = /EdgeWhisk API on (http:\/\/\S+)\/api\/v1/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        ok(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`server exited with ${String(code)} before it was ready: ${output}`));
    });
  });
  let url: string;
  try {
    url = await ready;
  } catch (error) {
    await stop({ keepHome: options.home !== undefined });
    throw error;
  }
  return { child, url, auth, home, output: () => output, stop };
}
