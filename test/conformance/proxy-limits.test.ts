/**
 * Limits EdgeWhisk's two action proxies (Node.js and Python) enforce themselves, whoever runs them (the process
 * runtime, the Docker images): a client must send its request in time (`EW_HEADERS_TIMEOUT`,
 * `EW_REQUEST_TIMEOUT`), a proxy started with `EW_PROXY_SECRET` serves only requests carrying it, and an
 * activation's output is bounded at its log limit (`X-EdgeWhisk-Log-Limit`) with OpenWhisk's truncation line,
 * the sentinels intact. Each case starts a fresh proxy process; the commands can be replaced like the suites'
 * (`EW_NODE_PROXY_COMMAND`, `EW_PYTHON_PROXY_COMMAND`), e.g. to run these cases against another build.
 */
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOG_LINE_OVERHEAD, LOG_TRUNCATED } from '../../src/activations/log-collector';
import { LINE_OVERHEAD, LOG_TRUNCATED as NODE_PROXY_LOG_TRUNCATED } from '../../src/proxy/nodejs/bounded-output';
import { SENTINEL, sleep, startProxy, stopAll, type ProxyProcess } from './harness';

const ROOT = join(__dirname, '..', '..');
const python = ((): string => {
  try {
    return execFileSync(process.env['EDGEWHISK_PYTHON'] || 'python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  } catch {
    return 'python3';
  }
})();

interface Flavour {
  readonly name: string;
  readonly command: readonly string[];
  /** Source of an action that logs `n` numbered lines (`line <i>`) to stdout and returns `{done: n}`. */
  readonly logLines: (n: number) => string;
  /** An action returning what its environment says of `EW_PROXY_SECRET` (`{secret: null}` when unset). */
  readonly readSecret: string;
  /** An action that sleeps `ms` before answering `{slept: true}`. */
  readonly sleep: (ms: number) => string;
  /** An action that logs one line at init (top level) and `n` numbered lines when run. */
  readonly logAtInit: (n: number) => string;
}

const FLAVOURS: readonly Flavour[] = [
  {
    name: 'Node.js',
    command: process.env['EW_NODE_PROXY_COMMAND']
      ? (JSON.parse(process.env['EW_NODE_PROXY_COMMAND']) as string[])
      : [process.execPath, join(ROOT, 'dist', 'proxy', 'nodejs', 'server.js')],
    logLines: (n) => `function main() { for (let i = 0; i < ${n}; i++) console.log('line ' + i); return { done: ${n} }; }`,
    readSecret: 'function main() { return { secret: process.env.EW_PROXY_SECRET ?? null }; }',
    sleep: (ms) => `async function main() { await new Promise((r) => setTimeout(r, ${ms})); return { slept: true }; }`,
    logAtInit: (n) => `console.log('at init'); function main() { for (let i = 0; i < ${n}; i++) console.log('line ' + i); return {}; }`,
  },
  {
    name: 'Python',
    command: process.env['EW_PYTHON_PROXY_COMMAND']
      ? (JSON.parse(process.env['EW_PYTHON_PROXY_COMMAND']) as string[])
      : [python, join(ROOT, 'src', 'proxy', 'python', 'proxy.py')],
    logLines: (n) => `def main(args):\n    for i in range(${n}):\n        print('line %d' % i)\n    return {'done': ${n}}\n`,
    readSecret: 'import os\ndef main(args):\n    return {"secret": os.environ.get("EW_PROXY_SECRET")}\n',
    sleep: (ms) => `import time\ndef main(args):\n    time.sleep(${ms / 1000})\n    return {"slept": True}\n`,
    logAtInit: (n) => `print('at init')\ndef main(args):\n    for i in range(${n}):\n        print('line %d' % i)\n    return {}\n`,
  },
];

interface Answer {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary result fields
  readonly body: any;
  readonly connection: string | undefined;
}

/** One POST on its own connection, with EdgeWhisk's own headers. */
function post(proxy: ProxyProcess, path: string, body: unknown, headers: Readonly<Record<string, string>> = {}): Promise<Answer> {
  const data = Buffer.from(JSON.stringify(body), 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: proxy.port, path, method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': data.length, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = text;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, connection: res.headers.connection });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** A raw connection that sends `text` (maybe nothing) and resolves with how long the proxy took to close it. */
function heldConnection(proxy: ProxyProcess, text: string, within: number): Promise<{ closedAfter: number | undefined; received: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    let received = '';
    const socket: Socket = connect(proxy.port, '127.0.0.1', () => {
      if (text !== '') socket.write(text);
    });
    // Read what comes, or a close after a response would never be seen.
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closedAfter: undefined, received });
    }, within);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closedAfter: Date.now() - started, received });
    });
  });
}

/** What the stored logs of `lines` would weigh against the limit: each line's text, newline and prefix. */
function weight(lines: readonly string[]): number {
  return lines.reduce((sum, line) => sum + Buffer.byteLength(line, 'utf8') + 1 + LOG_LINE_OVERHEAD, 0);
}

/** The lines of one stream's output up to (not including) its `count`-th sentinel. */
function activationLines(raw: string, count = 1): string[] {
  const lines = raw.split('\n');
  let seen = 0;
  const out: string[] = [];
  for (const line of lines) {
    if (line === SENTINEL) {
      if (++seen === count) return out;
      out.length = 0;
      continue;
    }
    out.push(line);
  }
  return out;
}

afterEach(stopAll);

describe('proxy limits: shared constants', () => {
  it('the Node.js proxy words truncation and weighs lines exactly as the engine stores them', () => {
    expect(NODE_PROXY_LOG_TRUNCATED(1234)).toBe(LOG_TRUNCATED(1234));
    expect(LINE_OVERHEAD).toBe(LOG_LINE_OVERHEAD);
  });
});

for (const flavour of FLAVOURS) {
  const start = (env: Readonly<Record<string, string>> = {}): Promise<ProxyProcess> => startProxy(flavour.command, env);

  describe(`${flavour.name} proxy: request timeouts`, () => {
    it('closes a connection that never finishes its headers, or never sends any, and keeps serving', async () => {
      const proxy = await start({ EW_HEADERS_TIMEOUT: '500' });
      const [partial, silent] = await Promise.all([
        heldConnection(proxy, 'POST /init HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n', 15_000),
        heldConnection(proxy, '', 15_000),
      ]);
      // Before: both were still open after 20 s (headersTimeout 0, no deadline at all in Python).
      expect(partial.closedAfter).toBeDefined();
      expect(silent.closedAfter).toBeDefined();
      // Nothing of the cut-off request reached the state machine or the action's logs.
      expect(proxy.streams().rawStderr).toBe('');
      const init = await post(proxy, '/init', { value: { code: flavour.sleep(10), main: 'main', binary: false } });
      expect(init.status).toBe(200);
    });

    it('closes a connection whose body trickles in past the request timeout', async () => {
      const proxy = await start({ EW_HEADERS_TIMEOUT: '300', EW_REQUEST_TIMEOUT: '800' });
      const body = JSON.stringify({ value: { code: flavour.sleep(1), main: 'main', binary: false } });
      const socket = connect(proxy.port, '127.0.0.1');
      socket.resume();
      socket.on('error', () => undefined);
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write(`POST /init HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      // A byte every 100 ms: each read is quick, only the whole request is late.
      let sent = 0;
      const trickle = setInterval(() => {
        if (sent < body.length && !socket.destroyed) socket.write(body[sent++] ?? '');
      }, 100);
      const outcome = await Promise.race([closed.then(() => 'closed'), sleep(15_000).then(() => 'open')]);
      clearInterval(trickle);
      socket.destroy();
      expect(outcome).toBe('closed');
      expect(sent).toBeLessThan(body.length);
      // The action was never initialised: a proper init still works.
      expect((await post(proxy, '/init', { value: { code: flavour.sleep(1), main: 'main', binary: false } })).status).toBe(200);
    });

    it('does not time out an action that runs longer than the request timeout', async () => {
      const proxy = await start({ EW_HEADERS_TIMEOUT: '200', EW_REQUEST_TIMEOUT: '400' });
      expect((await post(proxy, '/init', { value: { code: flavour.sleep(1500), main: 'main', binary: false } })).status).toBe(200);
      const run = await post(proxy, '/run', { value: {} });
      expect(run).toMatchObject({ status: 200, body: { slept: true } });
    });
  });

  describe(`${flavour.name} proxy: the secret`, () => {
    const SECRET = 'c0ffee'.repeat(8);

    it('refuses requests without the secret with 403, runs nothing, and hides the secret from the action', async () => {
      const proxy = await start({ EW_PROXY_SECRET: SECRET });
      const code = flavour.readSecret;
      const init = { value: { code, main: 'main', binary: false } };
      // A stranger's init, then a curl-style /run: refused, the connection closed, nothing logged.
      const strangerInit = await post(proxy, '/init', init);
      expect(strangerInit.status).toBe(403);
      expect(strangerInit.body).toEqual({ error: 'Forbidden: this action proxy serves only the engine that started it.' });
      expect(strangerInit.connection).toBe('close');
      expect((await post(proxy, '/init', init, { 'X-EdgeWhisk-Secret': `${SECRET}x` })).status).toBe(403);
      expect((await post(proxy, '/init', init, { 'X-EdgeWhisk-Secret': SECRET })).status).toBe(200);
      expect((await post(proxy, '/run', { value: {} })).status).toBe(403);
      expect((await post(proxy, '/run', { value: {} }, { 'X-EdgeWhisk-Secret': SECRET.slice(1) })).status).toBe(403);
      expect(proxy.streams().rawStdout).toBe('');
      expect(proxy.streams().rawStderr).toBe('');
      // The engine's run: served, and the action does not see the secret in its environment.
      const run = await post(proxy, '/run', { value: {} }, { 'X-EdgeWhisk-Secret': SECRET });
      expect(run).toMatchObject({ status: 200, body: { secret: null } });
      const streams = await proxy.waitForSentinels(1);
      expect([streams.stdoutSentinels, streams.stderrSentinels]).toEqual([1, 1]);
    });
  });

  describe(`${flavour.name} proxy: log limit`, () => {
    it('bounds a flood at the log limit with one truncation line, the first lines kept in order, sentinels intact', async () => {
      const limit = 200_000;
      const proxy = await start();
      const headers = { 'X-EdgeWhisk-Log-Limit': String(limit) };
      expect((await post(proxy, '/init', { value: { code: flavour.logLines(100_000), main: 'main', binary: false } }, headers)).status).toBe(200);
      const run = await post(proxy, '/run', { value: {} }, headers);
      expect(run).toMatchObject({ status: 200, body: { done: 100_000 } });
      const streams = await proxy.waitForSentinels(1);
      expect([streams.stdoutSentinels, streams.stderrSentinels]).toEqual([1, 1]);
      const all = activationLines(streams.rawStdout);
      // One truncation line in OpenWhisk's words, right after the last line of the stream that reached the limit.
      expect(all.at(-1)).toBe(LOG_TRUNCATED(limit));
      expect(activationLines(streams.rawStderr)).toEqual([]);
      const stdout = all.slice(0, -1);
      // Within the limit as the engine weighs stored lines; and not far below it: nothing silently lost.
      expect(weight(stdout)).toBeLessThanOrEqual(limit);
      expect(weight(stdout)).toBeGreaterThan(limit - 100);
      expect(stdout.length).toBeLessThan(100_000);
      stdout.forEach((line, i) => expect(line).toBe(`line ${i}`));
      // The next activation starts a new count: its lines all get through.
      const small = await post(proxy, '/run', { value: {} }, { 'X-EdgeWhisk-Log-Limit': String(10 * 1024 * 1024) });
      expect(small.status).toBe(200);
      const next = await proxy.waitForSentinels(2, 30_000);
      expect(activationLines(next.rawStdout, 2)).toHaveLength(100_000);
      expect(activationLines(next.rawStderr, 2)).toEqual([]);
    }, 60_000);

    it('lets everything below the limit through, and counts a cold activation\'s init and run together', async () => {
      const proxy = await start();
      // Room for the init line and 99 of the run's: 100 lines of ~7 bytes each weigh ~4.7 kB.
      const limit = weight(['at init', ...Array.from({ length: 99 }, (_, i) => `line ${i}`)]);
      const headers = { 'X-EdgeWhisk-Log-Limit': String(limit) };
      expect((await post(proxy, '/init', { value: { code: flavour.logAtInit(120), main: 'main', binary: false } }, headers)).status).toBe(200);
      expect((await post(proxy, '/run', { value: {} }, headers)).status).toBe(200);
      const streams = await proxy.waitForSentinels(1);
      const stdout = activationLines(streams.rawStdout);
      expect(stdout).toEqual(['at init', ...Array.from({ length: 99 }, (_, i) => `line ${i}`), LOG_TRUNCATED(limit)]);
      expect(activationLines(streams.rawStderr)).toEqual([]);
    });

    it('carries a flood far past the limit across the pipe only up to the limit, and the run still answers', async () => {
      const proxy = await start();
      const headers = { 'X-EdgeWhisk-Log-Limit': '100000' };
      const code = flavour.name === 'Python'
        ? 'def main(args):\n    for i in range(1000000):\n        print(i)\n    return {"ok": True}\n'
        : 'function main() { for (let i = 0; i < 1e6; i++) console.log(i); return { ok: true }; }';
      expect((await post(proxy, '/init', { value: { code, main: 'main', binary: false } }, headers)).status).toBe(200);
      expect(await post(proxy, '/run', { value: {} }, headers)).toMatchObject({ status: 200, body: { ok: true } });
      const streams = await proxy.waitForSentinels(1);
      // Only the bounded part crossed the pipe.
      expect(streams.rawStdout.length + streams.rawStderr.length).toBeLessThan(200_000);
    }, 60_000);
  });
}
