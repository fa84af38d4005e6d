/**
 * Conformance of EdgeWhisk's Python action proxy (src/proxy/python/proxy.py) with the action-proxy protocol
 * (docs/action-protocol.md): the language-neutral cases of the Node.js suite (#conformance-tests) ported to Python
 * actions, plus the proxy's own guarantees (Content-Length, UTF-8, refusals, archive safety, entry-point lookup,
 * parent watch). Every case starts a fresh `python3 proxy.py` process. The interpreter is `python3` from PATH unless
 * env EDGEWHISK_PYTHON names another (the same variable the process runtime reads).
 *
 * The proxy under test is a parameter, like the Node.js suite's: env `EW_PYTHON_PROXY_COMMAND` (a JSON argv)
 * replaces `python3 proxy.py`, e.g. with test/docker/docker-proxy-launcher.cjs running EdgeWhisk's image
 * (test/docker/conformance-python.test.ts). With `EW_PROXY_IS_REMOTE=1` the proxy shares neither this host's file
 * system nor its process ids: cases marked "local process" are not registered, and host-side checks of the other
 * cases give way to their remote equivalents (`EW_PROXY_TMPDIR`: the proxy's own temp dir).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SENTINEL, initBody, sleep, startProxy, stopAll, type ProxyProcess, type ProxyStreams, type Reply } from './harness';
import { tarGz } from './tar';
import { zip } from './zip';

const PROXY = join(__dirname, '..', '..', 'src', 'proxy', 'python', 'proxy.py');

/** The interpreter's own path, resolved once: a version manager's shim (pyenv) costs ~300 ms on every start. */
function resolvePython(command: string): string {
  try {
    return execFileSync(command, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim() || command;
  } catch {
    return command;
  }
}
const PROXY_COMMAND: readonly string[] = process.env['EW_PYTHON_PROXY_COMMAND']
  ? (JSON.parse(process.env['EW_PYTHON_PROXY_COMMAND']) as string[])
  : [resolvePython(process.env['EDGEWHISK_PYTHON'] || 'python3'), PROXY];
/** Whether the proxy shares this host's file system and process ids (not so in a container). */
const LOCAL = process.env['EW_PROXY_IS_REMOTE'] !== '1';
/** A remote proxy's temp dir (where it unpacks archives), as the proxy sees it. */
const REMOTE_TMPDIR = (process.env['EW_PROXY_TMPDIR'] ?? '').replace(/\/$/, '');

/** Registers a "local process" case only where the proxy is local: not registered is not skipped, it does not apply. */
function itLocal(name: string, fn: () => Promise<void>): void {
  if (LOCAL) it(name, fn);
}

/** A fresh proxy; the temporary directory is pinned so tests can look where archives are unpacked. */
const start = (env: Readonly<Record<string, string>> = {}): Promise<ProxyProcess> => startProxy(PROXY_COMMAND, { TMPDIR: tmpdir(), ...env });

/** A fresh proxy initialised with `code`; fails the test unless the init answers 200. */
async function started(code: string, main?: string, env: Readonly<Record<string, string>> = {}): Promise<ProxyProcess> {
  const proxy = await start(env);
  const reply = await proxy.post('/init', initBody(code, main));
  expect(reply.status, reply.text).toBe(200);
  expect(reply.body).toEqual({ ok: true });
  return proxy;
}

/** The streams once `count` sentinels arrived, asserting exactly that many on each stream. */
async function sentinels(proxy: ProxyProcess, count: number): Promise<ProxyStreams> {
  const streams = await proxy.waitForSentinels(count);
  expect(streams.stdoutSentinels, streams.rawStdout).toBe(count);
  expect(streams.stderrSentinels, streams.rawStderr).toBe(count);
  return streams;
}

const base64 = (data: Buffer): string => data.toString('base64');
const uniqueName = (): string => `ew-escape-${randomBytes(6).toString('hex')}.py`;

const ECHO = 'def main(args):\n    return args\n';

afterEach(stopAll);

describe('python proxy: initialisation', () => {
  it('P01 refuses an init whose code and main are empty (403 Missing main/no code to execute.), writes no sentinel and stays ready', async () => {
    const proxy = await start();
    const reply = await proxy.init({ code: '', main: '' });
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual({ error: 'Missing main/no code to execute.' });
    const noValue = await proxy.post('/init', {});
    expect(noValue.status).toBe(403);
    expect(noValue.body).toEqual({ error: 'Missing main/no code to execute.' });
    // Back to ready: a valid init still succeeds.
    expect((await proxy.post('/init', initBody(ECHO, 'main'))).status).toBe(200);
    expect((await proxy.run({ a: 1 })).body).toEqual({ a: 1 });
    const streams = await sentinels(proxy, 1);
    expect(streams.stdout).toBe('');
    expect(streams.stderr).toBe('');
  });

  it('P07 fails the init of code that is not Python (502 SyntaxError), logs error and syntax, and writes one sentinel per stream', async () => {
    const proxy = await start();
    const reply = await proxy.post('/init', initBody('10 PRINT "HELLO WORLD"\n20 GOTO 10\n', 'main'));
    expect(reply.status).toBe(502);
    expect(reply.body.error).toMatch(/^Initialization has failed due to: SyntaxError/);
    const streams = await sentinels(proxy, 1);
    const logs = `${streams.stdout}\n${streams.stderr}`.toLowerCase();
    expect(logs).toContain('error');
    expect(logs).toContain('syntax');
    expect(streams.stderr).toMatch(/^Error during initialization: /);
    // Stopped: no second init, and no run.
    const again = await proxy.post('/init', initBody(ECHO, 'main'));
    expect(again.status).toBe(403);
    expect(again.body).toEqual({ error: 'System not ready, status is stopped.' });
    const run = await proxy.run({});
    expect(run.status).toBe(403);
    expect(run.body).toEqual({ error: 'System not initialized.' });
  });

  it('P08 refuses an init with empty code and main "main" (not 200, no code to execute)', async () => {
    const proxy = await start();
    const reply = await proxy.init({ code: '', main: 'main' });
    expect(reply.status).toBe(403);
    expect(reply.body.error).toContain('no code to execute');
  });

  it('refuses a second init (403 Cannot initialize the action more than once.) with a stderr line and no sentinel; the action keeps running', async () => {
    const proxy = await started(ECHO);
    const again = await proxy.post('/init', initBody('def main(args):\n    return {"replaced": True}\n'));
    expect(again.status).toBe(403);
    expect(again.body).toEqual({ error: 'Cannot initialize the action more than once.' });
    // The refusal's stderr line may reach us after the reply: wait for it, then give a wrong sentinel time to follow.
    await vi.waitFor(() => expect(proxy.streams().stderr).toContain('Cannot initialize the action more than once.'), { timeout: 10_000, interval: 20 });
    await sleep(50);
    const before = proxy.streams();
    expect(before.stdoutSentinels + before.stderrSentinels).toBe(0);
    expect(before.stderr).toBe('Internal system error: Cannot initialize the action more than once.');
    expect((await proxy.run({ still: 'echo' })).body).toEqual({ still: 'echo' });
    await sentinels(proxy, 1);
  });

  it('exports the init env, stringified, before the code loads; invalid keys are ignored', async () => {
    const code = [
      'import os',
      "AT_LOAD = {k: os.environ.get(k) for k in ['S', 'N', 'F', 'B', 'T', 'Z', 'O', 'A', 'E', 'bad=key']}",
      'def main(args):',
      '    return AT_LOAD',
    ].join('\n');
    const proxy = await start();
    const env = { S: 'text ☃', N: 42, F: 1.5, B: false, T: true, Z: null, O: { k: [1, 'x'] }, A: [1, 2], E: '', 'bad=key': 'v' };
    expect((await proxy.post('/init', initBody(code, 'main', env))).status).toBe(200);
    const reply = await proxy.run({});
    expect(reply.body).toEqual({ S: 'text ☃', N: '42', F: '1.5', B: 'false', T: 'true', Z: '', O: '{"k":[1,"x"]}', A: '[1,2]', E: '', 'bad=key': null });
  });

  it('finds a dotted entry point through a dict or a class of the action', async () => {
    const viaDict = await started('handlers = {"go": lambda args: {"via": "dict", "args": args}}\n', 'handlers.go');
    expect((await viaDict.run({ n: 1 })).body).toEqual({ via: 'dict', args: { n: 1 } });
    const viaClass = await started('class Api:\n    @staticmethod\n    def run(args):\n        return {"via": "class"}\n', 'Api.run');
    expect((await viaClass.run({})).body).toEqual({ via: 'class' });
  });

  it('finds nothing for a hostile main (os.system, __import__, builtins, code text): init 502 not a function', async () => {
    const code = 'import os\ndef main(args):\n    return args\n';
    for (const main of ['os.system', '__import__', '__builtins__.eval', 'eval', 'print', 'main; import os', 'main()', 'os.path.join', 'main.__globals__']) {
      const proxy = await start();
      const reply = await proxy.post('/init', initBody(code, main));
      expect(reply.status, main).toBe(502);
      expect(reply.body, main).toEqual({ error: `Initialization has failed due to: Action entrypoint '${main}' is not a function.` });
      await sentinels(proxy, 1);
      await proxy.stop();
    }
  });

  it('P18 loads a source of more than 500,000 characters', async () => {
    const code = `${'x = "hello"\n'.repeat(42_000)}x = "world"\ndef main(args):\n    return {"message": x}\n`;
    expect(code.length).toBeGreaterThanOrEqual(500_000);
    const proxy = await started(code);
    const reply = await proxy.run({});
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ message: 'world' });
    const streams = await sentinels(proxy, 1);
    expect(streams.stdout).toBe('');
    expect(streams.stderr).toBe('');
  });
});

describe('python proxy: runs', () => {
  it('P02 answers 502 "did not return a dictionary or array" for a string result, with a stderr diagnostic, and stays healthy', async () => {
    const proxy = await started('def main(args):\n    return "not a json object"\n');
    const reply = await proxy.run({});
    expect(reply.status).toBe(502);
    expect(reply.text).toBe('{"error":"The action did not return a dictionary or array."}');
    const streams = await sentinels(proxy, 1);
    expect(streams.stdout).toBe('');
    expect(streams.stderr).toContain('Result must be of type dict or list but has type "str"');
    // A non-object result does not stop the runtime.
    expect((await proxy.run({})).status).toBe(502);
  });

  it('P03 runs a custom entry point `niam`: echo, empty streams, one sentinel per stream', async () => {
    const proxy = await started('def niam(args):\n    return args\n', 'niam');
    const reply = await proxy.run({ string: 'hello' });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ string: 'hello' });
    const streams = await sentinels(proxy, 1);
    expect(streams.stdout).toBe('');
    expect(streams.stderr).toBe('');
  });

  it('P04 echoes four inputs and logs each run before its sentinel: four sentinels per stream', async () => {
    const code = "import sys\ndef main(args):\n    print('hello stdout')\n    print('hello stderr', file=sys.stderr)\n    return args\n";
    const proxy = await started(code);
    const inputs = [{ string: 'hello' }, { string: '❄ ☃ ❄' }, { numbers: [42, 1] }, { object: { a: 'A' } }];
    for (const input of inputs) {
      const reply = await proxy.run(input);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual(input);
    }
    const streams = await sentinels(proxy, 4);
    expect(streams.stdout).toContain('hello stdout');
    expect(streams.stderr).toContain('hello stderr');
    expect(streams.rawStdout).toBe(`hello stdout\n${SENTINEL}\n`.repeat(4));
    expect(streams.rawStderr).toBe(`hello stderr\n${SENTINEL}\n`.repeat(4));
  });

  it('P05 keeps UTF-8 intact in source, input, logs and result', async () => {
    const code = "def main(args):\n    s = args['delimiter'] + ' ☃ ' + args['delimiter']\n    print(s)\n    return {'winter': s}\n";
    const proxy = await started(code);
    const reply = await proxy.run({ delimiter: '❄' });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ winter: '❄ ☃ ❄' });
    const streams = await sentinels(proxy, 1);
    expect(streams.stdout).toBe('❄ ☃ ❄');
    expect(streams.stderr).toBe('');
  });

  it('P06 exports the activation context as __OW_* variables for the duration of the run, beside __OW_API_HOST', async () => {
    const code = [
      'import os',
      "KEYS = ['api_host', 'api_key', 'namespace', 'action_name', 'action_version', 'activation_id', 'deadline']",
      'def main(args):',
      "    return {k: os.environ.get('__OW_' + k.upper()) for k in KEYS}",
    ].join('\n');
    const proxy = await started(code, 'main', { __OW_API_HOST: 'xyz' });
    const context = { api_key: 'abc', namespace: 'zzz', action_name: 'xxx', action_version: '0.0.1', activation_id: 'iii', deadline: '123' };
    const reply = await proxy.run({}, context);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ api_host: 'xyz', ...context });
    // The next activation does not inherit this one's context.
    const next = await proxy.run({});
    expect(next.body).toEqual({ api_host: 'xyz', api_key: null, namespace: null, action_name: null, action_version: null, activation_id: null, deadline: null });
    const streams = await sentinels(proxy, 2);
    expect(streams.stdout).toBe('');
    expect(streams.stderr).toBe('');
  });

  it('P09 answers 502 for an exception raised by main, logs the traceback, then refuses runs: status is stopped', async () => {
    const proxy = await started("def main(args):\n    raise Exception('nooooo')\n");
    const reply = await proxy.run({});
    expect(reply.status).toBe(502);
    expect(reply.body).toEqual({ error: 'An error has occurred: Exception: nooooo' });
    const after = await proxy.run({});
    expect(after.status).toBe(403);
    expect(after.body).toEqual({ error: 'System not ready, status is stopped.' });
    const streams = await sentinels(proxy, 1);
    expect(streams.stdout).toBe('');
    expect(streams.stderr).toContain('Traceback (most recent call last)');
    expect(streams.stderr).toContain("raise Exception('nooooo')");
    expect(streams.stderr).toContain('Internal system error: System not ready, status is stopped.');
  });

  it('P10 answers 200 for a result with an error key (an application error) and stays healthy', async () => {
    const proxy = await started("def main(args):\n    return {'error': 'sorry'}\n");
    const reply = await proxy.run({});
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ error: 'sorry' });
    expect((await proxy.run({})).status).toBe(200);
    await sentinels(proxy, 2);
  });

  it('P11 normalises a bare return to {}: three runs, three sentinels, empty streams', async () => {
    const code = [
      'def main(params):',
      "    if params.get('payload') == 0:",
      '        return',
      "    elif params.get('payload') == 1:",
      "        return {'payload': 'Hello, World!'}",
      "    elif params.get('payload') == 2:",
      "        return {'error': 'payload must be 0 or 1'}",
    ].join('\n');
    const proxy = await started(code);
    const zero = await proxy.run({ payload: 0 });
    const one = await proxy.run({ payload: 1 });
    const two = await proxy.run({ payload: 2 });
    expect([zero.status, one.status, two.status]).toEqual([200, 200, 200]);
    expect(zero.body).toEqual({});
    expect(one.body).toEqual({ payload: 'Hello, World!' });
    expect(two.body.error).toBe('payload must be 0 or 1');
    const streams = await sentinels(proxy, 3);
    expect(streams.stdout).toBe('');
    expect(streams.stderr).toBe('');
  });

  it('P12 returns a result directly or through a coroutine that sleeps 100 ms: two runs, two sentinels', async () => {
    const code = [
      'import asyncio',
      'async def later():',
      '    await asyncio.sleep(0.1)',
      "    return {'done': True}",
      'def main(args):',
      "    if args.get('payload'):",
      '        return later()',
      "    return {'done': True}",
    ].join('\n');
    const proxy = await started(code);
    const direct = await proxy.run({});
    const begun = Date.now();
    const delayed = await proxy.run({ payload: true });
    expect(Date.now() - begun).toBeGreaterThanOrEqual(90);
    expect(direct.status).toBe(200);
    expect(direct.body).toEqual({ done: true });
    expect(delayed.status).toBe(200);
    expect(delayed.body).toEqual({ done: true });
    const streams = await sentinels(proxy, 2);
    expect(streams.stdout).toBe('');
    expect(streams.stderr).toBe('');
  });

  it('P16 initialises an action that imports a missing module inside main, and fails its run with the error logged', async () => {
    const proxy = await started('def main(args):\n    import edgewhisk_no_such_module_xyz\n    return {}\n');
    const reply = await proxy.run({});
    expect(reply.status).not.toBe(200);
    expect(reply.body.error).toContain('ModuleNotFoundError');
    const streams = await sentinels(proxy, 1);
    expect(`${streams.stdout}\n${streams.stderr}`).toMatch(/Error|error/);
    expect(streams.stderr).toContain('edgewhisk_no_such_module_xyz');
  });

  it('P28 puts the exception message in the error and its source line in the traceback', async () => {
    const code = "def check(args):\n    raise ValueError('app error')\n\ndef main(args):\n    check(args)\n";
    const proxy = await started(code);
    const reply = await proxy.run({});
    expect(reply.status).toBe(502);
    expect(String(reply.body.error).toLowerCase()).toContain('error: app error');
    const streams = await sentinels(proxy, 1);
    expect(streams.stderr).toContain("raise ValueError('app error')");
    expect(streams.stderr).toContain('ValueError: app error');
  });

  it('treats an exception from an async main like a raise: 502 with its message, then stopped', async () => {
    const proxy = await started("async def main(args):\n    raise RuntimeError('async app error')\n");
    const reply = await proxy.run({});
    expect(reply.status).toBe(502);
    expect(reply.body).toEqual({ error: 'An error has occurred: RuntimeError: async app error' });
    expect((await proxy.run({})).status).toBe(403);
  });

  it('P30 refuses a run before init: 403 System not initialized., a stderr line, no sentinel, nothing printed at startup', async () => {
    const proxy = await start();
    await sleep(50);
    expect(proxy.streams().rawStdout + proxy.streams().rawStderr).toBe('');
    const reply = await proxy.run({});
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual({ error: 'System not initialized.' });
    // The refusal's stderr line may reach us after the reply: wait for it, then give a wrong sentinel time to follow.
    await vi.waitFor(() => expect(proxy.streams().stderr).toContain('System not initialized.'), { timeout: 10_000, interval: 20 });
    await sleep(50);
    const streams = proxy.streams();
    expect(streams.stdoutSentinels + streams.stderrSentinels).toBe(0);
    expect(streams.stdout).toBe('');
    expect(streams.stderr).toBe('Internal system error: System not initialized.');
  });

  it('accepts arrays as input and result, treats a null or missing value as {}, and refuses other values with 403', async () => {
    const proxy = await started(ECHO);
    const array = [1, 'two', { three: 3 }];
    const echoed = await proxy.run(array);
    expect(echoed.status).toBe(200);
    expect(echoed.body).toEqual(array);
    expect((await proxy.run(null)).body).toEqual({});
    expect((await proxy.post('/run', {})).body).toEqual({});
    for (const [value, type] of [['text', 'string'], [42, 'number'], [true, 'boolean']] as const) {
      const reply = await proxy.run(value);
      expect(reply.status).toBe(403);
      expect(reply.body).toEqual({ error: `Internal system error: the argument must be a dictionary but has type '${type}'.` });
    }
    // Only the three runs that reached the action end with sentinels.
    await sentinels(proxy, 3);
  });

  it('round-trips a 1 MiB argument unchanged', async () => {
    const proxy = await started(ECHO);
    const input = { p: 'a'.repeat(1024 * 1024 - 8), snow: '☃'.repeat(1000) };
    const reply = await proxy.run(input);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual(input);
  });

  it('answers 502 with a clear error for a result that is not JSON, and stays healthy', async () => {
    const proxy = await started("def main(args):\n    return {'s': {1, 2}} if args.get('set') else {'n': float('nan')}\n");
    const set = await proxy.run({ set: true });
    expect(set.status).toBe(502);
    expect(set.body.error).toMatch(/JSON.*set/);
    const nan = await proxy.run({});
    expect(nan.status).toBe(502);
    expect(nan.body.error).toMatch(/JSON/);
    await sentinels(proxy, 2);
  });

  it('keeps a sentinel on its own line after output without a trailing newline', async () => {
    const proxy = await started("import sys\ndef main(args):\n    print('no newline', end='')\n    sys.stderr.write('partial')\n    return {}\n");
    await proxy.run({});
    const streams = await sentinels(proxy, 1);
    expect(streams.rawStdout).toBe(`no newline\n${SENTINEL}\n`);
    expect(streams.rawStderr).toBe(`partial\n${SENTINEL}\n`);
  });

  it('refuses an overlapping run without __OW_ALLOW_CONCURRENT: 403 System not ready, status is running.', async () => {
    const proxy = await started("import time\ndef main(args):\n    if args.get('sleep'):\n        print('slow run started')\n    time.sleep(args.get('sleep', 0))\n    return args\n");
    const slow = proxy.run({ sleep: 1 });
    // The second run must arrive while the first is inside the action: wait until it says so.
    await vi.waitFor(() => expect(proxy.streams().stdout).toContain('slow run started'), { timeout: 10_000, interval: 5 });
    const refused = await proxy.run({});
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ error: 'System not ready, status is running.' });
    expect((await slow).body).toEqual({ sleep: 1 });
    expect((await proxy.run({ again: true })).status).toBe(200);
    const streams = await sentinels(proxy, 2);
    expect(streams.stderr).toBe('Internal system error: System not ready, status is running.');
  });

  it('P29 overlaps 120 runs with __OW_ALLOW_CONCURRENT=true: each gets its own input; N sentinels per stream, contiguous', async () => {
    const n = 120;
    const code = [
      'import threading',
      'cond = threading.Condition()',
      'count = 0',
      'def main(args):',
      '    global count',
      "    print('interleave me')",
      '    with cond:',
      '        count += 1',
      '        cond.notify_all()',
      `        cond.wait_for(lambda: count >= ${n}, timeout=30)`,
      "    return {'args': args}",
    ].join('\n');
    const proxy = await started(code, 'main', { __OW_ALLOW_CONCURRENT: 'true' });
    const replies: Reply[] = await Promise.all(Array.from({ length: n }, (_, i) => proxy.run({ i, text: `run ${i}` })));
    replies.forEach((reply, i) => {
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ args: { i, text: `run ${i}` } });
    });
    const streams = await sentinels(proxy, n);
    expect(streams.stdout.replace(/\n/g, '')).toBe('interleave me'.repeat(n));
    expect(streams.stderr).toBe('');
    expect(streams.stdoutContiguous).toBe(true);
    expect(streams.stderrContiguous).toBe(true);
  });
});

describe('python proxy: archives', () => {
  it('P33 runs a zip with __main__.py and a helper module, with main defaulted: stdout is exactly its one line', async () => {
    const archive = zip({
      '__main__.py': "import helper\ndef main(args):\n    print('zip says hi')\n    return {'msg': helper.greeting()}\n",
      'helper.py': "def greeting():\n    return 'hello zip'\n",
    });
    const proxy = await start();
    const init = await proxy.init({ code: base64(archive), binary: true });
    expect(init.status, init.text).toBe(200);
    const reply = await proxy.run({});
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ msg: 'hello zip' });
    const streams = await sentinels(proxy, 1);
    expect(streams.stdout).toBe('zip says hi');
    expect(streams.stderr).toBe('');
  });

  it('runs a stored (method 0) zip whose dotted main names a function of one of its own packages', async () => {
    const archive = zip(
      [
        { name: '__main__.py', data: 'import handlers\n' },
        { name: 'handlers/', data: '' },
        { name: 'handlers/__init__.py', data: "def run(args):\n    return {'via': 'handlers.run', 'args': args}\n" },
      ],
      { method: 'store' },
    );
    const proxy = await start();
    expect((await proxy.post('/init', initBody(base64(archive), 'handlers.run'))).status).toBe(200);
    expect((await proxy.run({ x: 1 })).body).toEqual({ via: 'handlers.run', args: { x: 1 } });
  });

  it('runs a tar.gz action with a subfolder module', async () => {
    const archive = tarGz([
      { name: 'lib/' },
      { name: 'lib/util.py', data: "def shout(s):\n    return s.upper() + '!'\n" },
      { name: '__main__.py', data: "from lib.util import shout\ndef main(args):\n    return {'said': shout(args['word'])}\n" },
    ]);
    const proxy = await start();
    expect((await proxy.post('/init', initBody(base64(archive)))).status).toBe(200);
    expect((await proxy.run({ word: 'tar' })).body).toEqual({ said: 'TAR!' });
  });

  it('P23 fails the init of a zip without __main__.py with the message, error logs and sentinels', async () => {
    const proxy = await start();
    const reply = await proxy.post('/init', initBody(base64(zip({ hello: 'hello\n' })), 'main'));
    expect(reply.status).toBe(502);
    expect(reply.body).toEqual({ error: 'Initialization has failed due to: Zipped actions must contain __main__.py at the root.' });
    const streams = await sentinels(proxy, 1);
    const logs = `${streams.stdout}\n${streams.stderr}`.toLowerCase();
    expect(logs).toMatch(/error|exited/);
    expect(logs).toContain('zipped actions must contain __main__.py at the root.');
  });

  it('fails the init of base64 text that is no archive: unsupported file type, error and uncompressing logged', async () => {
    const proxy = await start();
    const code = base64(Buffer.from('this is plain text, not an archive at all!'));
    const reply = await proxy.post('/init', initBody(code, 'main'));
    expect(initBody(code).value.binary).toBe(true);
    expect(reply.status).toBe(502);
    expect(reply.body).toEqual({
      error: 'Initialization has failed due to: There was an error uncompressing the action archive. The file type is unsupported',
    });
    const streams = await sentinels(proxy, 1);
    const logs = `${streams.stdout}\n${streams.stderr}`.toLowerCase();
    expect(logs).toContain('error');
    expect(logs).toContain('uncompressing');
  });

  it('refuses zip and tar.gz entries that would land outside the action directory', async () => {
    const cases = [
      { archive: (name: string) => zip({ [`../${name}`]: 'x = 1\n', '__main__.py': ECHO }), message: 'There was an error uncompressing the action Zip archive.' },
      { archive: (name: string) => zip({ [join(tmpdir(), name)]: 'x = 1\n', '__main__.py': ECHO }), message: 'There was an error uncompressing the action Zip archive.' },
      { archive: (name: string) => tarGz([{ name: `../${name}`, data: 'x = 1\n' }, { name: '__main__.py', data: ECHO }]), message: 'There was an error uncompressing the action Tar GZ archive.' },
    ];
    for (const { archive, message } of cases) {
      const name = uniqueName();
      const proxy = await start();
      const reply = await proxy.post('/init', initBody(base64(archive(name)), 'main'));
      expect(reply.status).toBe(502);
      expect(reply.body).toEqual({ error: `Initialization has failed due to: ${message}` });
      // Only a local proxy could have written to this host's temp dir.
      if (LOCAL) expect(existsSync(join(tmpdir(), name))).toBe(false);
      await sentinels(proxy, 1);
      await proxy.stop();
    }
  });

  it('P34 runs a zip action in its extraction directory (cwd = the folder of __main__.py) and removes it on exit', async () => {
    const archive = zip({
      '__main__.py': [
        'import os',
        'def main(args):',
        "    with open('data.txt') as f:",
        '        data = f.read()',
        "    return {'cwd': os.getcwd(), 'dir': os.path.dirname(os.path.abspath(__file__)), 'data': data}",
      ].join('\n'),
      'data.txt': 'from the archive',
    });
    const proxy = await start();
    expect((await proxy.post('/init', initBody(base64(archive)))).status).toBe(200);
    const reply = await proxy.run({});
    expect(reply.status).toBe(200);
    expect(reply.body.cwd).toBe(reply.body.dir);
    expect(reply.body.data).toBe('from the archive');
    expect(reply.body.cwd).not.toBe(process.cwd());
    // A local proxy's directory is on this host, where the test can look; a remote one's is under its own temp dir.
    if (LOCAL) expect(existsSync(join(String(reply.body.cwd), '__main__.py'))).toBe(true);
    else if (REMOTE_TMPDIR !== '') expect(String(reply.body.cwd).startsWith(`${REMOTE_TMPDIR}/`)).toBe(true);
    expect(await proxy.stop()).toEqual({ code: 0, signal: null });
    if (LOCAL) expect(existsSync(String(reply.body.cwd))).toBe(false);
  });
});

describe('python proxy: HTTP and process', () => {
  it('answers unknown routes, other methods and invalid JSON with 500 Bad request., and keeps serving', async () => {
    const proxy = await start();
    const bad = [
      await proxy.post('/nope', {}),
      await proxy.request('GET', '/run'),
      await proxy.request('POST', '/init', '{"value": '),
      await proxy.request('POST', '/run', '[1, 2]'),
      await proxy.request('POST', '/run', Buffer.from([0xff, 0xfe, 0x7b, 0x7d])),
    ];
    for (const reply of bad) {
      expect(reply.status).toBe(500);
      expect(reply.body).toEqual({ error: 'Bad request.' });
    }
    expect((await proxy.post('/init', initBody(ECHO))).status).toBe(200);
    expect((await proxy.run({ fine: true })).body).toEqual({ fine: true });
    await sentinels(proxy, 1);
  });

  it('sends every response as JSON with a correct Content-Length and never chunked', async () => {
    const proxy = await start();
    const replies = [
      await proxy.run({}), // 403
      await proxy.post('/x', {}), // 500
      await proxy.post('/init', initBody("def main(args):\n    return args.get('r', args)\n")), // 200
      await proxy.run({ snow: '❄ ☃ ❄' }), // 200, multi-byte
      await proxy.run({ r: 'not a dict' }), // 502
      await proxy.run('text'), // 403
    ];
    expect(replies.map((r) => r.status)).toEqual([403, 500, 200, 200, 502, 403]);
    for (const reply of replies) {
      expect(reply.headers['content-length']).toBe(String(Buffer.byteLength(reply.text, 'utf8')));
      expect(reply.headers['transfer-encoding']).toBeUndefined();
      expect(reply.headers['content-type']).toBe('application/json');
      expect(reply.body).toBeTypeOf('object');
    }
  });

  it('accepts request bodies up to 48 MB and refuses a larger one with 413, then keeps serving', async () => {
    const proxy = await started("def main(args):\n    return {'length': len(args.get('p', ''))}\n");
    const accepted = 47 * 1024 * 1024;
    const within = await proxy.run({ p: 'a'.repeat(accepted) });
    expect(within.status).toBe(200);
    expect(within.body).toEqual({ length: accepted });
    const over = await proxy.run({ p: 'a'.repeat(49 * 1024 * 1024) });
    expect(over.status).toBe(413);
    expect(over.body).toEqual({ error: `Request larger than allowed: the limit is ${48 * 1024 * 1024} bytes.` });
    expect((await proxy.run({ p: 'ok' })).body).toEqual({ length: 2 });
    await sentinels(proxy, 2);
  });

  it('exits cleanly (code 0) on SIGTERM', async () => {
    const proxy = await started(ECHO);
    expect(await proxy.stop()).toEqual({ code: 0, signal: null });
  });

  itLocal('exits by itself once the process named by EW_PARENT_PID is gone (local process)', async () => {
    const parent = spawn('sleep', ['30'], { stdio: 'ignore' });
    const proxy = await start({ EW_PARENT_PID: String(parent.pid) });
    expect((await proxy.post('/init', initBody(ECHO))).status).toBe(200);
    await sleep(1_100); // a full watch interval with the parent alive
    expect(proxy.gone).toBe(false);
    parent.kill('SIGKILL');
    await once(parent, 'exit');
    // The proxy checks on its parent every second; the bound leaves room for a loaded machine.
    const outcome = await Promise.race([proxy.exited, sleep(10_000).then(() => 'still running' as const)]);
    expect(outcome).toEqual({ code: 0, signal: null });
  });
});
