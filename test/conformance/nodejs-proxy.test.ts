/**
 * Conformance suite for EdgeWhisk's Node.js action proxy (docs/action-protocol.md#conformance-tests: cases P01-P34,
 * plus the other rules of docs/action-protocol.md a Node proxy must keep). Every case starts a FRESH proxy process
 * through the shared harness and stops it afterwards; only the archive fixtures below are built once.
 *
 * The proxy under test is a parameter: `PROXY_COMMAND` (argv), overridable with `EW_NODE_PROXY_COMMAND` as a JSON
 * array, so the same case list runs against another launcher: test/docker/conformance-nodejs.test.ts points it at
 * test/docker/docker-proxy-launcher.cjs, which runs EdgeWhisk's image and relays a loopback port to it. Cases marked
 * "local process" look at the host file system (TMPDIR, the working directory) or at process ids, which a proxy in
 * a container does not share: with `EW_PROXY_IS_REMOTE=1` they are not registered at all, and the host-side checks
 * of the other cases are replaced by their remote equivalents (`EW_PROXY_TMPDIR`: the proxy's own temp dir).
 *
 * Run: cd /work/main && npm run build >/dev/null && npx vitest run test/conformance/nodejs-proxy.test.ts
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isBinary, sleep, startProxy, stopAll, type InitValue, type ProxyProcess, type ProxyStreams, type Reply } from './harness';
import { tarGz } from './tar';
import { zip } from './zip';

// ---------------------------------------------------------------------------------------------------------------
// The proxy under test.
// ---------------------------------------------------------------------------------------------------------------

const ROOT = join(__dirname, '..', '..');
const PROXY_COMMAND: readonly string[] = process.env['EW_NODE_PROXY_COMMAND']
  ? (JSON.parse(process.env['EW_NODE_PROXY_COMMAND']) as string[])
  : [process.execPath, join(ROOT, 'dist', 'proxy', 'nodejs', 'server.js')];
/** Whether the proxy shares this host's file system and process ids (not so in a container). */
const LOCAL = process.env['EW_PROXY_IS_REMOTE'] !== '1';
/** A remote proxy's temp dir (where it unpacks archives), as the proxy sees it; the host's is given by TMPDIR. */
const REMOTE_TMPDIR = (process.env['EW_PROXY_TMPDIR'] ?? '').replace(/\/$/, '');

/** Registers a "local process" case only where the proxy is local: not registered is not skipped, it does not apply. */
function itLocal(name: string, fn: () => Promise<void>): void {
  if (LOCAL) it(name, fn);
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers: every reply goes through `expectFramed` (docs/action-protocol.md#transport: Content-Length, never chunked).
// ---------------------------------------------------------------------------------------------------------------

const scratch: string[] = [];

function scratchDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'ew-node-conformance-')));
  scratch.push(dir);
  return dir;
}

let suiteTmp: string | undefined;

/** A fresh proxy; archives unpack under a scratch TMPDIR (removed after the suite) unless `env` names another. */
function fresh(env: Readonly<Record<string, string>> = {}, cwd?: string): Promise<ProxyProcess> {
  suiteTmp ??= scratchDir();
  return startProxy(PROXY_COMMAND, { TMPDIR: suiteTmp, ...env }, cwd === undefined ? {} : { cwd });
}

/** The invoker needs a Content-Length (no length → "no response received") and no chunked encoding. */
function expectFramed(reply: Reply): Reply {
  expect(reply.headers['transfer-encoding'], 'response must not be chunked').toBeUndefined();
  expect(reply.headers['content-length'], 'response must carry Content-Length').toBeDefined();
  expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.text, 'utf8'));
  return reply;
}

async function init(proxy: ProxyProcess, value: InitValue): Promise<Reply> {
  return expectFramed(await proxy.init(value));
}

/** `/init` with `binary` computed by OpenWhisk's base64 rule (docs/semantics.md#actions), as the harness does. */
function initCode(proxy: ProxyProcess, code: string, main?: string, env?: Readonly<Record<string, unknown>>): Promise<Reply> {
  return init(proxy, { code, binary: isBinary(code), ...(main === undefined ? {} : { main }), ...(env === undefined ? {} : { env }) });
}

async function run(proxy: ProxyProcess, value: unknown, context: Readonly<Record<string, unknown>> = {}): Promise<Reply> {
  return expectFramed(await proxy.run(value, context));
}

async function raw(proxy: ProxyProcess, method: string, path: string, data?: string): Promise<Reply> {
  return expectFramed(await proxy.request(method, path, data));
}

/** Both streams once `count` sentinels arrived on each, checked for exactly `count` per stream. */
async function streamsAfter(proxy: ProxyProcess, count: number): Promise<ProxyStreams> {
  const streams = await proxy.waitForSentinels(count, 10_000, count === 0 ? 150 : 50);
  expect(streams.stdoutSentinels, `stdout sentinels; stdout was:\n${streams.rawStdout}`).toBe(count);
  expect(streams.stderrSentinels, `stderr sentinels; stderr was:\n${streams.rawStderr}`).toBe(count);
  return streams;
}

async function expectEmptyStreams(proxy: ProxyProcess, count = 1): Promise<void> {
  const streams = await streamsAfter(proxy, count);
  expect(streams.stdout).toBe('');
  expect(streams.stderr).toBe('');
}

/** An `/init` that must succeed with the Node proxy's `{"OK":true}`. */
async function initOk(proxy: ProxyProcess, code: string, main?: string, env?: Readonly<Record<string, unknown>>): Promise<void> {
  const reply = await initCode(proxy, code, main, env);
  expect(reply.text, `init failed: ${reply.text}`).toBe('{"OK":true}');
  expect(reply.status).toBe(200);
}

const b64 = (data: Buffer): string => data.toString('base64');
const logsOf = (s: ProxyStreams): string => `${s.stdout}\n${s.stderr}`;

// ---------------------------------------------------------------------------------------------------------------
// Fixtures (built once).
// ---------------------------------------------------------------------------------------------------------------

const ECHO = 'function main(args) { return args; }';

const ZIP_PACKAGE = b64(
  zip({
    'package.json': JSON.stringify({ name: 'test-action', version: '1.0.0', main: 'index.js' }),
    'index.js': `function main(args) {
      return { greeting: 'Hello ' + (args.name || 'stranger') + ', from an npm package action.' };
    }
    exports.main = main;`,
  }),
);

const ZIP_INDEX_ONLY = b64(
  zip({
    'index.js': `exports.main = function (args) {
      return { greeting: 'Hello ' + (args.name || 'stranger') + ', from an npm package action without a package.json.' };
    };`,
  }),
);

const ZIP_OTHER_NIAM = b64(
  zip({
    'other.js': `exports.niam = function (args) {
      return { greeting: 'Hello ' + (args.name || 'stranger') + ', from other.niam.' };
    };`,
  }),
);

const ZIP_PACKAGE_AND_OTHER = b64(
  zip({
    'package.json': JSON.stringify({ name: 'test-action', main: 'index.js' }),
    'index.js': `exports.main = function () { return { result: 'package.json should not win' }; };
    exports.niam = function () { return { result: 'package.json should not win' }; };`,
    'other.js': `exports.niam = function () { return { result: 'it should also work' }; };`,
  }),
);

const ZIP_ONLY_HELLO = b64(zip({ hello: 'hello\n' }));

const ZIP_PACKAGE_NIAM = b64(
  zip({
    'package.json': JSON.stringify({ name: 'test-action', main: 'index.js' }),
    'index.js': `exports.niam = function () { return { result: 'it works' }; };`,
  }),
);

const ZIP_LOCAL_LIBRARY = b64(
  zip([
    { name: 'package.json', data: JSON.stringify({ name: 'uses-local-lib', main: 'index.js', dependencies: { abcxyz: '1.0.0' } }) },
    { name: 'index.js', data: `const lib = require('abcxyz');\nexports.main = function () { return { message: lib.hello() }; };` },
    { name: 'node_modules/' },
    { name: 'node_modules/abcxyz/' },
    { name: 'node_modules/abcxyz/package.json', data: JSON.stringify({ name: 'abcxyz', version: '1.0.0', main: 'lib/abcxyz.js' }) },
    { name: 'node_modules/abcxyz/lib/abcxyz.js', data: `exports.hello = function () { return 'hello local library'; };` },
  ]),
);

const ZIP_NO_MAIN = b64(
  zip({
    'index.js': `exports.main = function () { console.log('hello from the zipped action'); return { msg: 'hello zip' }; };`,
  }),
);

const ZIP_CWD = b64(
  zip({
    'index.js': `const fs = require('fs');
    exports.main = function () {
      return { cwd: process.cwd(), dirname: __dirname, file: fs.readFileSync('./test.txt', 'utf8') };
    };`,
    'test.txt': 'read relative to the action directory',
  }),
);

const TGZ_ACTION = b64(
  tarGz([
    { name: 'lib/' },
    { name: 'lib/greet.js', data: `module.exports = function (name) { return 'Hello ' + name + ', from a tar.gz action ☃'; };` },
    { name: 'index.js', data: `const greet = require('./lib/greet');\nexports.main = function (args) { return { greeting: greet(args.name || 'stranger') }; };` },
  ]),
);

// ---------------------------------------------------------------------------------------------------------------

afterEach(async () => {
  await stopAll();
});

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('Node.js action proxy conformance (P01-P34)', () => {
  it('P01: /init with empty code and main is refused with 403 "Missing main/no code to execute." and the runtime stays ready', async () => {
    const proxy = await fresh();
    const reply = await init(proxy, { code: '', main: '' });
    expect(reply.status).not.toBe(200);
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual({ error: 'Missing main/no code to execute.' });
    // A refusal is not an activation: no sentinel, and the state went back to ready.
    await expectEmptyStreams(proxy, 0);
    await initOk(proxy, ECHO, 'main');
    expect((await run(proxy, { after: 'refusal' })).body).toEqual({ after: 'refusal' });
  });

  it('P02: a string result is 502 "The action did not return a dictionary." with stdout empty', async () => {
    const proxy = await fresh();
    await initOk(proxy, 'function main(args) { return "not a json object"; }', 'main');
    const reply = await run(proxy, {});
    expect(reply.status).not.toBe(200);
    expect(reply.status).toBe(502);
    expect(reply.text).toBe('{"error":"The action did not return a dictionary."}');
    const streams = await streamsAfter(proxy, 1);
    expect(streams.stdout).toBe('');
  });

  it('P03: a non-default entry point "niam" echoes its input with both streams empty', async () => {
    const proxy = await fresh();
    await initOk(proxy, 'function niam(args) { return args; }', 'niam');
    const reply = await run(proxy, { string: 'hello' });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ string: 'hello' });
    await expectEmptyStreams(proxy, 1);
  });

  it('P04: four echo runs keep UTF-8 and log to both streams, four sentinels per stream', async () => {
    const proxy = await fresh();
    await initOk(proxy, `function main(args) { console.log('hello stdout'); console.error('hello stderr'); return args; }`, 'main');
    const inputs = [{ string: 'hello' }, { string: '❄ ☃ ❄' }, { numbers: [42, 1] }, { object: { a: 'A' } }];
    for (const input of inputs) {
      const reply = await run(proxy, input);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual(input);
    }
    const streams = await streamsAfter(proxy, 4);
    expect(streams.stdout).toContain('hello stdout');
    expect(streams.stderr).toContain('hello stderr');
  });

  it('P05: UTF-8 survives source, input, log and result', async () => {
    const proxy = await fresh();
    await initOk(proxy, `function main(args) { var str = args.delimiter + " ☃ " + args.delimiter; console.log(str); return { winter: str }; }`, 'main');
    const reply = await run(proxy, { delimiter: '❄' });
    expect(reply.status).toBe(200);
    expect(reply.body.winter).toBe('❄ ☃ ❄');
    const streams = await streamsAfter(proxy, 1);
    expect(streams.stdout).toContain('❄ ☃ ❄');
  });

  it('P06: the activation context is exported as __OW_* variables, with __OW_API_HOST from the process environment', async () => {
    const proxy = await fresh({ __OW_API_HOST: 'xyz' });
    await initOk(
      proxy,
      `function main(args) {
        return {
          api_host: process.env.__OW_API_HOST, api_key: process.env.__OW_API_KEY, namespace: process.env.__OW_NAMESPACE,
          action_name: process.env.__OW_ACTION_NAME, action_version: process.env.__OW_ACTION_VERSION,
          activation_id: process.env.__OW_ACTIVATION_ID, deadline: process.env.__OW_DEADLINE,
        };
      }`,
      'main',
    );
    const reply = await run(proxy, {}, { api_key: 'abc', namespace: 'zzz', action_name: 'xxx', action_version: '0.0.1', activation_id: 'iii', deadline: '123' });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ api_host: 'xyz', api_key: 'abc', namespace: 'zzz', action_name: 'xxx', action_version: '0.0.1', activation_id: 'iii', deadline: '123' });
    await expectEmptyStreams(proxy, 1);
  });

  it('P07: code that is not JavaScript fails init with 502 SyntaxError; logs mention error and syntax; one sentinel per stream', async () => {
    const proxy = await fresh();
    const reply = await initCode(proxy, '10 PRINT "Hello world!"\n20 GOTO 10', 'main');
    expect(reply.status).not.toBe(200);
    expect(reply.status).toBe(502);
    expect(String(reply.body?.error)).toMatch(/^Initialization has failed due to: SyntaxError/);
    const streams = await streamsAfter(proxy, 1);
    const logs = logsOf(streams).toLowerCase();
    expect(logs).toContain('error');
    expect(logs).toContain('syntax');
  });

  it('P08: /init with empty code and main "main" is refused: "no code to execute"', async () => {
    const proxy = await fresh();
    const reply = await init(proxy, { code: '', main: 'main' });
    expect(reply.status).not.toBe(200);
    expect(String(reply.body?.error)).toContain('no code to execute');
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual({ error: 'Missing main/no code to execute.' });
  });

  it('P09: a synchronous throw is 502 "An error has occurred: nooooo" and stops the runtime', async () => {
    const proxy = await fresh();
    await initOk(proxy, 'function main(args) { throw "nooooo"; }', 'main');
    const reply = await run(proxy, {});
    expect(reply.status).not.toBe(200);
    expect(reply.status).toBe(502);
    expect(reply.body).toEqual({ error: 'An error has occurred: nooooo' });
    expect(String(reply.body.error)).toContain('nooooo');
    const streams = await streamsAfter(proxy, 1);
    expect(streams.stderr).toContain('nooooo');
    const after = await run(proxy, {});
    expect(after.status).toBe(403);
    expect(after.body).toEqual({ error: 'System not ready, status is stopped.' });
    // The refused run is no activation: still one sentinel per stream.
    await streamsAfter(proxy, 1);
  });

  it('P10: a returned {error} is a 200 application error and the runtime stays healthy', async () => {
    const proxy = await fresh();
    await initOk(proxy, 'function main(args) { return { error: "sorry" }; }', 'main');
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body).toHaveProperty('error', 'sorry');
    const again = await run(proxy, {});
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ error: 'sorry' });
    await expectEmptyStreams(proxy, 2);
  });

  it('P11: the documentation example: bare return → {}, a payload, and an {error}; three sentinels per stream', async () => {
    const proxy = await fresh();
    await initOk(
      proxy,
      `function main(params) {
        if (params.payload == 0) {
          return;
        } else if (params.payload == 1) {
          return { payload: 'Hello, World!' };
        } else if (params.payload == 2) {
          return { error: 'payload must be 0 or 1' };
        }
      }`,
      'main',
    );
    const first = await run(proxy, { payload: 0 });
    const second = await run(proxy, { payload: 1 });
    const third = await run(proxy, { payload: 2 });
    expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
    expect(first.body).toEqual({});
    expect(second.body).toEqual({ payload: 'Hello, World!' });
    expect(third.body.error).toBe('payload must be 0 or 1');
    await expectEmptyStreams(proxy, 3);
  });

  it('P12: a direct result and a promise result both answer {"done":true}', async () => {
    const proxy = await fresh();
    await initOk(
      proxy,
      `function main(args) {
        if (args.payload) {
          return new Promise(function (resolve) { setTimeout(function () { resolve({ done: true }); }, 100); });
        }
        return { done: true };
      }`,
      'main',
    );
    const direct = await run(proxy, {});
    const later = await run(proxy, { payload: 'later' });
    expect(direct.status).toBe(200);
    expect(direct.body).toEqual({ done: true });
    expect(later.status).toBe(200);
    expect(later.body).toEqual({ done: true });
    await expectEmptyStreams(proxy, 2);
  });

  it('P13: plain code runs in sloppy mode (an undeclared assignment creates a global)', async () => {
    const proxy = await fresh();
    await initOk(
      proxy,
      `function main(params) {
        greeting = 'hello, ' + params.payload + '!';
        console.log(greeting);
        return { payload: greeting };
      }`,
      'main',
    );
    const reply = await run(proxy, { payload: 'test' });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ payload: 'hello, test!' });
    const streams = await streamsAfter(proxy, 1);
    expect(streams.stdout).toBe('hello, test!');
    expect(streams.stderr).toBe('');
  });

  it('P14: exports.main is found', async () => {
    const proxy = await fresh();
    await initOk(proxy, 'exports.main = p => p;', 'main');
    const reply = await run(proxy, { payload: 'Hello exports!' });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ payload: 'Hello exports!' });
    await expectEmptyStreams(proxy, 1);
  });

  it('P15: module.exports.main is found', async () => {
    const proxy = await fresh();
    await initOk(proxy, 'module.exports.main = function (args) { return args; };', 'main');
    const reply = await run(proxy, { payload: 'Hello exports!' });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ payload: 'Hello exports!' });
    await expectEmptyStreams(proxy, 1);
  });

  it('P16: a require of a missing package inside main fails at /run, not at /init, and is logged', async () => {
    const proxy = await fresh();
    await initOk(proxy, `function main(args) { require('edgewhisk-conformance-no-such-package'); return {}; }`, 'main');
    const reply = await run(proxy, {});
    expect(reply.status).not.toBe(200);
    const streams = await streamsAfter(proxy, 1);
    expect(logsOf(streams)).toMatch(/Error|error/);
  });

  it('P17: a promise resolving after 100 ms answers {"done":true}', async () => {
    const proxy = await fresh();
    await initOk(proxy, `function main() { return new Promise(function (resolve) { setTimeout(function () { resolve({ done: true }); }, 100); }); }`, 'main');
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ done: true });
    await expectEmptyStreams(proxy, 1);
  });

  it('P18: a source of 500,000+ characters loads and runs', async () => {
    const proxy = await fresh();
    const lines = ['var x = "hello";'];
    for (let i = 0; lines.join('\n').length < 520_000; i++) {
      const block: string[] = [];
      for (let j = 0; j < 1000; j++) block.push(`x = "hello ${String(i * 1000 + j).padStart(7, '0')}";`);
      lines.push(...block);
    }
    lines.push('x = "world";', 'function main(args) { return { message: x }; }');
    const source = lines.join('\n');
    expect(source.length).toBeGreaterThanOrEqual(500_000);
    await initOk(proxy, source, 'main');
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ message: 'world' });
    await expectEmptyStreams(proxy, 1);
  });

  it('P19: zip with package.json and index.js', async () => {
    const proxy = await fresh();
    await initOk(proxy, ZIP_PACKAGE, 'main');
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body.greeting).toBe('Hello stranger, from an npm package action.');
    await expectEmptyStreams(proxy, 1);
  });

  it('P20: zip holding only index.js', async () => {
    const proxy = await fresh();
    await initOk(proxy, ZIP_INDEX_ONLY, 'main');
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body.greeting).toBe('Hello stranger, from an npm package action without a package.json.');
    await expectEmptyStreams(proxy, 1);
  });

  it('P21: zip holding other.js, main "other.niam"', async () => {
    const proxy = await fresh();
    await initOk(proxy, ZIP_OTHER_NIAM, 'other.niam');
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body.greeting).toBe('Hello stranger, from other.niam.');
    await expectEmptyStreams(proxy, 1);
  });

  it('P22: the module named in main wins over package.json', async () => {
    const proxy = await fresh();
    await initOk(proxy, ZIP_PACKAGE_AND_OTHER, 'other.niam');
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body.result).toBe('it should also work');
    await expectEmptyStreams(proxy, 1);
  });

  it('P23: a zip with neither package.json nor index.js fails init with the OpenWhisk message', async () => {
    const proxy = await fresh();
    const reply = await initCode(proxy, ZIP_ONLY_HELLO, 'main');
    expect(reply.status).not.toBe(200);
    expect(reply.status).toBe(502);
    const streams = await streamsAfter(proxy, 1);
    // Compared case-insensitively, as the OpenWhisk test does (it lowercases the logs before looking).
    const logs = logsOf(streams).toLowerCase();
    expect(logs).toMatch(/error|exited/);
    expect(logs).toContain('zipped actions must contain either package.json or index.js at the root.');
  });

  it('P24: zip with package.json and index.js exporting niam, main "niam"', async () => {
    const proxy = await fresh();
    await initOk(proxy, ZIP_PACKAGE_NIAM, 'niam');
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body.result).toBe('it works');
    await expectEmptyStreams(proxy, 1);
  });

  it('P25: ES2015 default parameters work', async () => {
    const proxy = await fresh();
    await initOk(proxy, `function main() { return (function (a, b = 2) { return { isValid: a === 3 && b === 2 }; }(3)); }`, 'main');
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ isValid: true });
    await expectEmptyStreams(proxy, 1);
  });

  it('P26: a zip carrying its own node_modules/abcxyz uses it', async () => {
    const proxy = await fresh();
    await initOk(proxy, ZIP_LOCAL_LIBRARY, 'main');
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body.message).toBe('hello local library');
    await expectEmptyStreams(proxy, 1);
  });

  it('P27: async main awaiting a promisified fs.stat returns the stats', async () => {
    const proxy = await fresh();
    await initOk(
      proxy,
      `const { promisify } = require('util');
      const fs = require('fs');
      async function main() { return await promisify(fs.stat)('.'); }`,
      'main',
    );
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body).toHaveProperty('uid');
    await expectEmptyStreams(proxy, 1);
  });

  it('P28: a throw inside async main is a 200 application error containing "Error: app error"', async () => {
    const proxy = await fresh();
    await initOk(proxy, `async function main() { throw new Error('app error'); }`, 'main');
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body).toHaveProperty('error');
    expect(JSON.stringify(reply.body.error).toLowerCase()).toContain('error: app error');
    // A rejection does not stop the runtime (docs/action-protocol.md#states).
    expect((await run(proxy, {})).status).toBe(200);
    await streamsAfter(proxy, 2);
  });

  it('P29: with __OW_ALLOW_CONCURRENT=true, 120 parallel runs each get their own result; logs interleave, sentinels contiguous', async () => {
    const N = 120;
    const proxy = await fresh({ __OW_ALLOW_CONCURRENT: 'true' });
    await initOk(
      proxy,
      `var count = 0;
      var waiting = [];
      function main(args) {
        console.log('interleave me');
        count += 1;
        return new Promise(function (resolve) {
          var timer = setTimeout(function () { resolve({ error: 'only ' + count + ' of ${N} runs arrived' }); }, 30000);
          waiting.push(function () { clearTimeout(timer); resolve({ args: args }); });
          if (count >= ${N}) waiting.splice(0).forEach(function (wake) { wake(); });
        });
      }`,
      'main',
    );
    const inputs = Array.from({ length: N }, (_, i) => ({ run: i, tag: `run-${i}` }));
    const replies = await Promise.all(inputs.map((input) => run(proxy, input)));
    replies.forEach((reply, i) => {
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ args: inputs[i] });
    });
    const streams = await streamsAfter(proxy, N);
    expect(streams.stdout.replace(/\n/g, '')).toBe('interleave me'.repeat(N));
    expect(streams.stderr).toBe('');
    expect(streams.stdoutContiguous).toBe(true);
    expect(streams.stderrContiguous).toBe(true);
  });

  it('P30: /run before /init is 403 "System not initialized." (no stub), logged, no sentinel', async () => {
    const proxy = await fresh();
    const reply = await run(proxy, {});
    expect(reply.status).toBe(403);
    expect(reply.text).toBe('{"error":"System not initialized."}');
    const streams = await streamsAfter(proxy, 0);
    expect(streams.stderr).toContain('Internal system error: System not initialized.');
  });

  it('P31 (non-stub): /init with code null is 403 "Missing main/no code to execute." and no stub is installed', async () => {
    const proxy = await fresh();
    const reply = await init(proxy, { code: null, main: 'main' });
    expect(reply.status).toBe(403);
    expect(reply.text).toBe('{"error":"Missing main/no code to execute."}');
    const after = await run(proxy, {});
    expect(after.status).toBe(403);
    expect(after.body).toEqual({ error: 'System not initialized.' });
  });

  it('P32 (non-stub): an empty code string is refused and a /run whose body is JSON null is a 500 "Bad request."', async () => {
    const proxy = await fresh();
    const refused = await init(proxy, { code: '' });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ error: 'Missing main/no code to execute.' });
    const reply = await raw(proxy, 'POST', '/run', 'null');
    expect(reply.status).not.toBe(200);
    expect(reply.status).toBe(500);
    expect(reply.body).toEqual({ error: 'Bad request.' });
  });

  it('P33: a binary zip without main runs index.js main (main defaults to "main"); stdout is the one logged line', async () => {
    const proxy = await fresh();
    const reply = await init(proxy, { code: ZIP_NO_MAIN, binary: true });
    expect(reply.status).toBe(200);
    const result = await run(proxy, {});
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ msg: 'hello zip' });
    const streams = await streamsAfter(proxy, 1);
    expect(streams.stdout).toBe('hello from the zipped action');
    expect(streams.stderr).toBe('');
  });

  it('P34: a zipped action runs in its extracted directory (cwd = __dirname; relative reads work)', async () => {
    const base = scratchDir();
    const launchDir = scratchDir();
    const proxy = await fresh({ TMPDIR: base }, launchDir);
    await initOk(proxy, ZIP_CWD, 'main');
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body.cwd).toBe(reply.body.dirname);
    expect(reply.body.file).toBe('read relative to the action directory');
    // The action directory is a fresh directory under the proxy's temp dir, not where it was started. A local
    // process was given `base` as TMPDIR; a remote one has its own temp dir, and no part of the host's.
    expect(reply.body.cwd).not.toBe(launchDir);
    if (LOCAL) expect(String(reply.body.cwd).startsWith(`${base}/`)).toBe(true);
    else if (REMOTE_TMPDIR !== '') expect(String(reply.body.cwd).startsWith(`${REMOTE_TMPDIR}/`)).toBe(true);
    await expectEmptyStreams(proxy, 1);
  });
});

describe('Node.js action proxy: protocol rules beyond P01-P34', () => {
  it('keeps each sentinel on its own line after output without a trailing newline', async () => {
    const proxy = await fresh();
    await initOk(proxy, 'function main() { process.stdout.write("no newline"); process.stderr.write(Buffer.from("partial")); return {}; }');
    expect((await run(proxy, {})).status).toBe(200);
    const streams = await streamsAfter(proxy, 1);
    expect(streams.rawStdout).toBe('no newline\nXXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n');
    expect(streams.rawStderr).toBe('partial\nXXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n');
  });

  it('a tar.gz archive (index.js exporting main, requiring ./lib) loads and runs', async () => {
    const proxy = await fresh();
    expect(Buffer.from(TGZ_ACTION, 'base64').subarray(0, 4).toString('hex')).toBe('1f8b0800');
    await initOk(proxy, TGZ_ACTION, 'main');
    const reply = await run(proxy, { name: 'tarball' });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ greeting: 'Hello tarball, from a tar.gz action ☃' });
    await expectEmptyStreams(proxy, 1);
  });

  it('a second /init is refused once-only: 403, "Internal system error" on stderr, no sentinel, first action kept', async () => {
    const proxy = await fresh();
    await initOk(proxy, `function main() { return { which: 'first' }; }`, 'main');
    const second = await initCode(proxy, `function main() { return { which: 'second' }; }`, 'main');
    expect(second.status).toBe(403);
    expect(second.text).toBe('{"error":"Cannot initialize the action more than once."}');
    const streams = await streamsAfter(proxy, 0);
    expect(streams.stderr).toContain('Internal system error: Cannot initialize the action more than once.');
    const reply = await run(proxy, {});
    expect(reply.body).toEqual({ which: 'first' });
    await streamsAfter(proxy, 1);
  });

  it('a /run while another run is in flight (no __OW_ALLOW_CONCURRENT) is 403 "System not ready, status is running."', async () => {
    const proxy = await fresh();
    await initOk(
      proxy,
      `function main(args) {
        if (!args.slow) return { fast: true };
        console.log('slow run started');
        return new Promise(function (resolve) { setTimeout(function () { resolve({ slow: true }); }, 1000); });
      }`,
      'main',
    );
    const slow = run(proxy, { slow: true });
    const until = Date.now() + 10_000;
    while (!proxy.streams().stdout.includes('slow run started') && Date.now() < until) await sleep(5);
    const refused = await run(proxy, {});
    expect(refused.status).toBe(403);
    expect(refused.text).toBe('{"error":"System not ready, status is running."}');
    const first = await slow;
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ slow: true });
    // Only the run that reached the action ends with sentinels; the refusal is logged.
    const streams = await streamsAfter(proxy, 1);
    expect(streams.stderr).toContain('Internal system error: System not ready, status is running.');
    // The runtime is ready again once the slow run finished.
    const next = await run(proxy, {});
    expect(next.body).toEqual({ fast: true });
  });

  it('a binary payload that is no archive (base64 of plain text) fails init "…The file type is unsupported", logged', async () => {
    const proxy = await fresh();
    const code = Buffer.from('This is a plain text file, not an archive.\n', 'utf8').toString('base64');
    expect(isBinary(code)).toBe(true);
    const reply = await initCode(proxy, code, 'main');
    expect(reply.status).toBe(502);
    expect(reply.body).toEqual({
      error: 'Initialization has failed due to: There was an error uncompressing the action archive. The file type is unsupported',
    });
    const streams = await streamsAfter(proxy, 1);
    const logs = logsOf(streams).toLowerCase();
    expect(logs).toContain('error');
    expect(logs).toContain('uncompressing');
  });

  it('init env is exported before the code loads, stringified the Node way (object → JSON; null/0/false/"" → "")', async () => {
    const proxy = await fresh();
    const keys = ['PLAIN', 'OBJ', 'ARR', 'NUM', 'YES', 'NUL', 'ZERO', 'NO', 'EMPTY'];
    await initOk(
      proxy,
      `var seenAtLoad = {};
      ${JSON.stringify(keys)}.forEach(function (k) {
        seenAtLoad[k] = Object.prototype.hasOwnProperty.call(process.env, k) ? process.env[k] : '<unset>';
      });
      function main() { return seenAtLoad; }`,
      'main',
      { PLAIN: 'text', OBJ: { a: 1, b: [true] }, ARR: [1, 'b'], NUM: 42, YES: true, NUL: null, ZERO: 0, NO: false, EMPTY: '' },
    );
    const reply = await run(proxy, {});
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ PLAIN: 'text', OBJ: '{"a":1,"b":[true]}', ARR: '[1,"b"]', NUM: '42', YES: 'true', NUL: '', ZERO: '', NO: '', EMPTY: '' });
  });

  it('a hostile main naming builtins (process.exit, constructor, __proto__, toString, …) finds nothing: 502, proxy keeps serving', async () => {
    for (const main of ['process.exit', 'constructor', '__proto__', 'toString', 'global.process.exit', 'globalThis.process.exit', 'main.constructor']) {
      const proxy = await fresh();
      const reply = await initCode(proxy, ECHO, main);
      expect(reply.status, main).toBe(502);
      expect(reply.body, main).toEqual({ error: `Initialization has failed due to: Action entrypoint '${main}' is not a function.` });
      await sleep(20);
      expect(proxy.gone, `${main}: the proxy must still be running`).toBe(false);
      const after = await run(proxy, {});
      expect(after.status, main).toBe(403);
      expect(typeof after.body?.error, main).toBe('string');
      expect(proxy.gone, main).toBe(false);
      await proxy.stop();
    }
  });

  it('a hostile main naming what the proxy injected for the action (require, require.main.exports.startServer) finds nothing', async () => {
    // main is resolved by property lookup over what the ACTION defined (docs/action-protocol.md#entry-points); the
    // loader, like for process.exit, must not hand out the CommonJS helpers it placed on the global object (nor,
    // through them, the proxy's module).
    const names = ['require', 'require.resolve', 'require.main.exports.startServer'];
    const outcomes: { main: string; status: number; text: string }[] = [];
    for (const main of names) {
      const proxy = await fresh();
      const reply = await initCode(proxy, ECHO, main);
      outcomes.push({ main, status: reply.status, text: reply.text });
      expect(proxy.gone, main).toBe(false);
      await proxy.stop();
    }
    expect(outcomes).toEqual(
      names.map((main) => ({ main, status: 502, text: JSON.stringify({ error: `Initialization has failed due to: Action entrypoint '${main}' is not a function.` }) })),
    );
  });

  it('plain code: the entry point is looked up as an identifier in the action scope (const/let main, a function named like a global)', async () => {
    const cases = [
      { code: 'const main = (params) => ({ got: params.x });', main: 'main' },
      { code: 'let main = function (params) { return { got: params.x }; };', main: 'main' },
      { code: 'function fetch(params) { return { got: params.x }; }', main: 'fetch' },
    ];
    const outcomes: { code: string; init: string; run: unknown }[] = [];
    for (const { code, main } of cases) {
      const proxy = await fresh();
      const reply = await initCode(proxy, code, main);
      const result = reply.status === 200 ? (await run(proxy, { x: 1 })).body : undefined;
      outcomes.push({ code, init: reply.text, run: result });
      await proxy.stop();
    }
    expect(outcomes).toEqual(cases.map(({ code }) => ({ code, init: '{"OK":true}', run: { got: 1 } })));
  });

  itLocal('a zip entry with a ../ path is refused (init not 200) and nothing is written outside the temp dir (local process)', async () => {
    // TMPDIR sits two levels deep so that ../ and ../../ both land inside `base`, where the test can look.
    const base = scratchDir();
    const tmp = join(base, 'a', 'b');
    mkdirSync(tmp, { recursive: true });
    const launchDir = scratchDir();
    const evil = b64(
      zip([
        { name: 'index.js', data: 'exports.main = function (args) { return args; };' },
        { name: '../escape-one.txt', data: 'escaped one level' },
        { name: '../../escape-two.txt', data: 'escaped two levels' },
        { name: 'sub/../../escape-three.txt', data: 'escaped through a subfolder' },
      ]),
    );
    const proxy = await fresh({ TMPDIR: tmp }, launchDir);
    const reply = await initCode(proxy, evil, 'main');
    expect(reply.status).not.toBe(200);
    const everything = readdirSync(base, { recursive: true }).map(String);
    expect(everything.filter((path) => path.includes('escape'))).toEqual([]);
    expect(readdirSync(base)).toEqual(['a']);
    expect(readdirSync(join(base, 'a'))).toEqual(['b']);
    // Directly in the temp dir there may only be the proxy's fresh extraction folder(s), never a file.
    for (const name of readdirSync(tmp)) expect(statSync(join(tmp, name)).isDirectory(), name).toBe(true);
    expect(readdirSync(launchDir)).toEqual([]);
    // The failed init is an activation end: sentinels, and the proxy keeps answering.
    await streamsAfter(proxy, 1);
    expect((await run(proxy, {})).status).toBe(403);
  });

  it("a zip with a ../ entry fails init with OpenWhisk's Zip message (502, logged, sentinels) and the proxy keeps answering", async () => {
    const proxy = await fresh();
    const evil = b64(zip([{ name: 'index.js', data: 'exports.main = (args) => args;' }, { name: '../escape.js', data: 'escaped' }]));
    const reply = await initCode(proxy, evil, 'main');
    expect(reply.status).toBe(502);
    expect(reply.body).toEqual({ error: 'Initialization has failed due to: There was an error uncompressing the action Zip archive.' });
    const streams = await streamsAfter(proxy, 1);
    expect(streams.stderr).toContain('Error during initialization: Error: There was an error uncompressing the action Zip archive.');
    // The process is alive and answers as a runtime whose init failed: no action to run, no second init.
    const next = await run(proxy, {});
    expect([next.status, next.text]).toEqual([403, '{"error":"System not initialized."}']);
    const again = await initCode(proxy, b64(zip({ 'index.js': 'exports.main = (args) => args;' })), 'main');
    expect([again.status, again.text]).toEqual([403, '{"error":"System not ready, status is stopped."}']);
  });

  it('every response carries Content-Length and is not chunked (200, 403, 500, 502 and a large body)', async () => {
    const proxy = await fresh();
    const replies: Reply[] = [];
    replies.push(await proxy.run({}));
    replies.push(await proxy.request('GET', '/'));
    replies.push(await proxy.init({ code: `function main(a) { return a.big ? { big: 'x'.repeat(300000) } : a.bad ? 'bad' : a; }`, main: 'main' }));
    replies.push(await proxy.init({ code: ECHO, main: 'main' }));
    replies.push(await proxy.run({ a: 1 }));
    replies.push(await proxy.run({ big: true }));
    replies.push(await proxy.run({ bad: true }));
    expect(replies.map((r) => r.status)).toEqual([403, 500, 200, 403, 200, 200, 502]);
    for (const reply of replies) {
      expect(reply.headers['transfer-encoding']).toBeUndefined();
      expect(reply.headers['content-length']).toBe(String(Buffer.byteLength(reply.text, 'utf8')));
    }
    expect(String(replies[5]?.body?.big).length).toBe(300000);
  });

  it('invalid JSON and unknown routes answer 500 {"error":"Bad request."}, and the proxy still initialises afterwards', async () => {
    const proxy = await fresh();
    const bad = [
      await raw(proxy, 'POST', '/init', '{"value": {"code": '),
      await raw(proxy, 'POST', '/run', 'not json at all'),
      await raw(proxy, 'POST', '/nope', '{}'),
      await raw(proxy, 'POST', '/', '{}'),
      await raw(proxy, 'GET', '/run'),
      await raw(proxy, 'PUT', '/init', '{}'),
    ];
    for (const reply of bad) {
      expect(reply.status).toBe(500);
      expect(reply.text).toBe('{"error":"Bad request."}');
    }
    await initOk(proxy, ECHO, 'main');
    expect((await run(proxy, { ok: true })).body).toEqual({ ok: true });
  });

  it('a ~1 MiB argument round-trips unchanged', async () => {
    const proxy = await fresh();
    await initOk(proxy, ECHO, 'main');
    const unit = 'abcdefghij❄☃"\\\n\u0001';
    const big = unit.repeat(Math.ceil((1024 * 1024) / Buffer.byteLength(unit))).slice(0, 1024 * 1024 - 100);
    const input = { p: big, n: [1, 2.5, -3], nested: { ok: true } };
    expect(Buffer.byteLength(JSON.stringify(input))).toBeGreaterThan(1024 * 1024);
    const reply = await run(proxy, input);
    expect(reply.status).toBe(200);
    expect(reply.body.p === big).toBe(true);
    expect(reply.body).toEqual(input);
  });

  it('an array input is accepted and echoed, and an array result is a 200', async () => {
    const proxy = await fresh();
    await initOk(proxy, `function main(args) { return Array.isArray(args) ? args : [args.x, args.x]; }`, 'main');
    const input = [1, 'two', { three: 3 }, [4], null];
    const echoed = await run(proxy, input);
    expect(echoed.status).toBe(200);
    expect(echoed.body).toEqual(input);
    const made = await run(proxy, { x: 'y' });
    expect(made.status).toBe(200);
    expect(made.body).toEqual(['y', 'y']);
    await expectEmptyStreams(proxy, 2);
  });

  it('result edge cases: a non-object value is 403, null result is 502, reject() gives {"error":{}}', async () => {
    const proxy = await fresh();
    await initOk(proxy, `function main(args) { return args.kind === 'null' ? null : Promise.reject(); }`, 'main');
    const notDict = await run(proxy, 'a string');
    expect(notDict.status).toBe(403);
    expect(notDict.body).toEqual({ error: "Internal system error: the argument must be a dictionary but has type 'string'." });
    const nullResult = await run(proxy, { kind: 'null' });
    expect(nullResult.status).toBe(502);
    expect(nullResult.body).toEqual({ error: 'The action did not return a dictionary.' });
    const rejected = await run(proxy, { kind: 'reject' });
    expect(rejected.status).toBe(200);
    expect(rejected.text).toBe('{"error":{}}');
    await streamsAfter(proxy, 2);
  });

  itLocal('the proxy exits by itself within ~3 s once the EW_PARENT_PID process is gone (local process)', async () => {
    const parent = spawn('sleep', ['60'], { stdio: 'ignore' });
    const parentExited = new Promise<void>((resolve) => parent.on('exit', () => resolve()));
    try {
      const parentPid = parent.pid;
      expect(parentPid).toBeGreaterThan(0);
      const proxy = await fresh({ EW_PARENT_PID: String(parentPid) });
      await initOk(proxy, ECHO, 'main');
      await sleep(1_200);
      expect(proxy.gone, 'the proxy must live while its parent lives').toBe(false);
      parent.kill('SIGKILL');
      await parentExited;
      const killedAt = Date.now();
      // The proxy checks on its parent every second; the bound leaves room for a loaded machine.
      const outcome = await Promise.race([proxy.exited.then(() => 'exited' as const), sleep(10_000).then(() => 'still running' as const)]);
      expect(outcome).toBe('exited');
      expect(Date.now() - killedAt).toBeLessThanOrEqual(10_000);
    } finally {
      if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    }
  });
});
