/**
 * Both proxies listen on a Unix socket when `SOCKET` is set (how the Docker runtime reaches its own images with no
 * network): they announce the path, make it connectable by any user, replace a stale socket file, and speak the
 * same protocol there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const PROXIES = {
  nodejs: { command: [process.execPath, join(ROOT, 'dist', 'proxy', 'nodejs', 'server.js')], code: 'function main(a) { console.log("hi"); return { x: a.x + 1 }; }' },
  python: { command: ['python3', join(ROOT, 'dist', 'proxy', 'python', 'proxy.py')], code: 'def main(a):\n    print("hi")\n    return {"x": a["x"] + 1}\n' },
} as const;

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function post(socketPath: string, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': data.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function start(command: readonly string[], socket: string): Promise<{ announced: unknown; stdout: () => string }> {
  const [file, ...args] = command as [string, ...string[]];
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '', SOCKET: socket, EW_READY_FD: '3' } });
  children.push(child);
  let out = '';
  (child.stdout as Readable).on('data', (c: Buffer) => (out += c.toString('utf8')));
  return new Promise((resolve, reject) => {
    let text = '';
    (child.stdio[3] as Readable).on('data', (c: Buffer) => {
      text += c.toString('utf8');
      if (text.includes('\n')) resolve({ announced: JSON.parse(text.split('\n')[0] as string), stdout: () => out });
    });
    child.on('exit', (code) => reject(new Error(`exited with ${String(code)}`)));
  });
}

describe.each(Object.entries(PROXIES))('%s proxy on a Unix socket', (_name, proxy) => {
  it('announces the socket, opens it to every user, and serves /init and /run there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ew-sock-'));
    dirs.push(dir);
    const socket = join(dir, 'proxy.sock');
    // A stale socket file from an earlier proxy must not stop the new one.
    writeFileSync(socket, '');
    const { announced, stdout } = await start(proxy.command, socket);
    expect(announced).toEqual({ socket });
    const stat = statSync(socket);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o666).toBe(0o666);
    expect((await post(socket, '/init', { value: { code: proxy.code, main: 'main', binary: false } })).status).toBe(200);
    const run = await post(socket, '/run', { value: { x: 41 } });
    expect(run).toEqual({ status: 200, body: { x: 42 } });
    await new Promise((r) => setTimeout(r, 100));
    expect(stdout()).toContain('hi\nXXX_THE_END_OF_A_WHISK_ACTIVATION_XXX');
  });
});
