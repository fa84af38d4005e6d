/**
 * Issue 11, finding 8: `edgewhisk serve` printed the full `uuid:key` (twice), so it ended up in terminals' scroll-back
 * and in whatever captured the output (a service manager's journal, CI logs). It now prints where the key is kept,
 * and the key masked; the commands it suggests read the key from that file.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = resolve(__dirname, '../../dist/cli.js');

/** Starts `edgewhisk serve` on a free port, returns what it printed once ready, and stops it. */
async function serveOutput(args: string[], home: string): Promise<string> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--host', '127.0.0.1', ...args], {
    env: { ...process.env, EDGEWHISK_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`not ready within 15 s: ${stdout} ${stderr}`)), 15_000);
      child.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
        // The banner is one write; wait for its last line.
        if (/\n\s+wsk:[^\n]*\n/.test(stdout) && (stdout.includes('openwhisk:') || stdout.includes('--auth <'))) {
          clearTimeout(timer);
          ok();
        }
      });
      child.once('exit', (code) => fail(new Error(`exited with ${String(code)}: ${stderr}`)));
    });
    return stdout;
  } finally {
    const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
    child.kill('SIGTERM');
    await exited;
  }
}

describe('edgewhisk serve output', () => {
  it('names the file that holds the generated key and never prints the key', async () => {
    const home = mkdtempSync(join(tmpdir(), 'edgewhisk-serve-out-'));
    try {
      const out = await serveOutput([], home);
      const file = join(home, 'auth');
      const auth = readFileSync(file, 'utf8').trim();
      const [uuid = '', key = ''] = auth.split(':');
      expect(out).not.toContain(key);
      expect(out).not.toContain(uuid);
      expect(out).toContain(`kept in ${file}`);
      expect(out).toContain(`${uuid.slice(0, 4)}…:…${key.slice(-4)}`);
      expect(out).toContain(`--auth "$(cat '${file}')"`);
      expect(out).toContain(`fs.readFileSync(${JSON.stringify(file)}, 'utf8').trim()`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('does not echo a key given with --auth', async () => {
    const home = mkdtempSync(join(tmpdir(), 'edgewhisk-serve-out-'));
    const auth = `11112222-3333-4444-5555-666677778888:${'9'.repeat(60)}abcd`;
    try {
      const out = await serveOutput(['--auth', auth], home);
      expect(out).not.toContain(auth.split(':')[1]);
      expect(out).not.toContain(auth.split(':')[0]);
      expect(out).toContain('1111…:…abcd (the one given with --auth)');
      expect(existsSync(join(home, 'auth'))).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
