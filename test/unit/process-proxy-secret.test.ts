/**
 * The process runtime's proxies listen on a loopback port, which every local process can reach (issue 11,
 * finding 6): `curl -X POST 127.0.0.1:<port>/run` used to run the action. Each proxy now serves only requests
 * carrying its container's secret. The port is found here the way another local process would: from /proc.
 */
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childPids } from '../helpers/child-pids';
import { testEngine } from '../helpers/engine';

/** The TCP port process `pid` listens on, from its socket descriptors and /proc/net/tcp. */
function listeningPort(pid: number): number | undefined {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? ''];
      } catch {
        return [];
      }
    }),
  );
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // State 0A is LISTEN; field 9 is the socket's inode.
    if (fields[3] === '0A' && inodes.has(fields[9] ?? '')) return parseInt(fields[1]?.split(':')[1] ?? '', 16);
  }
  return undefined;
}

const KINDS = [
  { kind: 'nodejs:default', code: (file: string) => `const fs = require('fs'); function main(p) { fs.appendFileSync(${JSON.stringify(file)}, 'ran\\n'); return { ran: true, secret: process.env.EW_PROXY_SECRET ?? null }; }` },
  { kind: 'python:3', code: (file: string) => `import os\ndef main(args):\n    with open(${JSON.stringify(file)}, 'a') as f:\n        f.write('ran\\n')\n    return {'ran': True, 'secret': os.environ.get('EW_PROXY_SECRET')}\n` },
];

describe('process runtime: the proxy serves only its engine', () => {
  for (const { kind, code } of KINDS) {
    it(`refuses a local process's POST /run without the container's secret (${kind}): 403, nothing runs`, async () => {
      const ran = join(tmpdir(), `ew-secret-${process.pid}-${kind.replace(/\W/g, '')}.log`);
      rmSync(ran, { force: true });
      try {
        const engine = testEngine();
        await engine.actions.create({ name: 'a', runtime: 'process', kind, action: code(ran) });
        // The engine's own run: served, and the action cannot read the secret from its environment.
        expect(await engine.actions.invoke({ name: 'a', blocking: true, result: true })).toEqual({ ran: true, secret: null });
        const [proxy] = childPids();
        expect(proxy).toBeDefined();
        const port = listeningPort(proxy ?? 0);
        expect(port).toBeGreaterThan(0);
        // What `curl -X POST 127.0.0.1:<port>/run -d '{"value":{}}'` sends, with and without a guessed header.
        for (const headers of [{}, { 'X-EdgeWhisk-Secret': 'guess' }]) {
          const res = await fetch(`http://127.0.0.1:${port}/run`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: '{"value":{}}' });
          // Before: 200 {"ran":true}, the action run for the intruder.
          expect(res.status).toBe(403);
          expect(await res.json()).toEqual({ error: 'Forbidden: this action proxy serves only the engine that started it.' });
        }
        const init = await fetch(`http://127.0.0.1:${port}/init`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"value":{"code":"x"}}' });
        expect(init.status).toBe(403);
        expect(readFileSync(ran, 'utf8')).toBe('ran\n');
        // The engine keeps being served by the same container.
        expect(await engine.actions.invoke({ name: 'a', blocking: true, result: true })).toEqual({ ran: true, secret: null });
        expect(readFileSync(ran, 'utf8')).toBe('ran\nran\n');
        expect(childPids()).toEqual([proxy]);
      } finally {
        rmSync(ran, { force: true });
      }
    });
  }
});
