// The process runtime and the Node.js action proxy, in one run:
// - the proxy alone: spawn → listening, spawn → first /run answered, warm /run p50/p99 (echo action, one keep-alive
//   connection), next to OpenWhisk's own Node.js proxy when a checkout of it is given (same client, same run);
// - warm no-op invocations through the engine on the process runtime next to the bare round trip to an already
//   running proxy over the same transport (keep-alive HTTP on loopback), order alternated;
// - cold start of a process container and of a prewarmed one.
//
//   node bench/process.bench.mjs [--quick] [--round=N] [--ow-proxy=/path/to/openwhisk-runtime-nodejs/core/nodejsActionBase]
//
// The OpenWhisk proxy needs its dependencies installed in that folder (express, body-parser, serialize-error) and
// listens on port 8080. Prints one result line (see lib/common.mjs).
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { ROOT, emit, loadEngine, log, median, now, parseArgs, sleep, summarize } from './lib/common.mjs';

const args = parseArgs();
const quick = args.quick === true;
const round = Number(args.round ?? 0);
const owProxy = typeof args['ow-proxy'] === 'string' ? args['ow-proxy'] : process.env.EW_OPENWHISK_PROXY;
const cfg = quick ? { starts: 5, runs: 1500, engineCalls: 1500, reps: 3, cold: 4 } : { starts: 12, runs: 3000, engineCalls: 3000, reps: 5, cold: 8 };
const OUR_PROXY = join(ROOT, 'dist', 'proxy', 'nodejs', 'server.js');
const ECHO = 'function main(params) { return params; }';

function post(agent, port, path, body) {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: '127.0.0.1', port, path, method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': data.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function connectable(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Spawns a proxy; resolves with the child and the ms until its port accepted a connection (polled every 1 ms). */
async function startProxy(kind, port) {
  const t0 = now();
  const child =
    kind === 'edgewhisk'
      ? spawn(process.execPath, [OUR_PROXY], { env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, ['app.js'], { cwd: owProxy, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.resume();
  child.stderr.resume();
  for (;;) {
    if (await connectable(port)) break;
    if (child.exitCode !== null) throw new Error(`${kind} proxy exited while starting`);
    await sleep(1);
  }
  return { child, listeningMs: Number(now() - t0) / 1e6, t0 };
}

async function stopProxy(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Start-up and warm /run figures of one proxy implementation. */
async function measureProxy(kind) {
  const port = kind === 'edgewhisk' ? 18181 : 8080;
  const listening = [];
  const answered = [];
  for (let i = 0; i < cfg.starts; i++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const { child, listeningMs, t0 } = await startProxy(kind, port);
    listening.push(listeningMs);
    await post(agent, port, '/init', { value: { main: 'main', code: ECHO } });
    await post(agent, port, '/run', { value: { hello: 'world' } });
    answered.push(Number(now() - t0) / 1e6);
    agent.destroy();
    await stopProxy(child);
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { child } = await startProxy(kind, port);
  await post(agent, port, '/init', { value: { main: 'main', code: ECHO } });
  for (let i = 0; i < 300; i++) await post(agent, port, '/run', { value: { i } });
  const lat = new Float64Array(cfg.runs);
  for (let i = 0; i < cfg.runs; i++) {
    const t = now();
    await post(agent, port, '/run', { value: { i } });
    lat[i] = Number(now() - t) / 1e3;
  }
  agent.destroy();
  await stopProxy(child);
  const warm = summarize(lat);
  return { listeningMs: median(listening), answeredMs: median(answered), runP50us: warm.p50, runP99us: warm.p99 };
}

const result = { scenario: 'process', config: { ...cfg, openwhiskProxy: owProxy !== undefined } };
log('proxy start-up and warm /run');
result.proxy = { edgewhisk: await measureProxy('edgewhisk') };
if (owProxy !== undefined) result.proxy.openwhisk = await measureProxy('openwhisk');

// ---- engine on the process runtime vs the bare round trip over the same transport ----------------------------
const { createEngine } = loadEngine();
const engine = createEngine({ prewarmCount: 0, defaultRuntime: 'process' });
await engine.actions.create({ name: 'noop', action: 'function main() { return {}; }' });
for (let i = 0; i < 300; i++) await engine.actions.invoke({ name: 'noop', blocking: true, result: true });
const bareAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const bare = await startProxy('edgewhisk', 18182);
await post(bareAgent, 18182, '/init', { value: { main: 'main', code: 'function main() { return {}; }' } });
for (let i = 0; i < 300; i++) await post(bareAgent, 18182, '/run', { value: {} });

// Engine and bare calls alternate one by one: two processes ping-ponging are scheduled differently from run to run
// on a shared 2-core machine, and interleaving puts both variants under the same conditions.
const seg = { engine: { p50: [], p99: [] }, bare: { p50: [], p99: [] } };
for (let rep = 0; rep < cfg.reps; rep++) {
  const engineLat = new Float64Array(cfg.engineCalls);
  const bareLat = new Float64Array(cfg.engineCalls);
  const engineFirst = (rep + round) % 2 === 0;
  for (let i = 0; i < cfg.engineCalls; i++) {
    for (const which of engineFirst ? ['engine', 'bare'] : ['bare', 'engine']) {
      const t = now();
      if (which === 'engine') await engine.actions.invoke({ name: 'noop', blocking: true, result: true });
      else await post(bareAgent, 18182, '/run', { value: {} });
      (which === 'engine' ? engineLat : bareLat)[i] = Number(now() - t) / 1e3;
    }
  }
  for (const [which, lat] of [['engine', engineLat], ['bare', bareLat]]) {
    const s = summarize(lat);
    seg[which].p50.push(s.p50);
    seg[which].p99.push(s.p99);
  }
  log(`rep ${rep + 1}/${cfg.reps}: engine p50 ${seg.engine.p50.at(-1).toFixed(1)} µs, bare p50 ${seg.bare.p50.at(-1).toFixed(1)} µs`);
}
bareAgent.destroy();
await stopProxy(bare.child);
await engine.close();
result.warm = {
  engineP50us: median(seg.engine.p50),
  engineP99us: median(seg.engine.p99),
  bareP50us: median(seg.bare.p50),
  bareP99us: median(seg.bare.p99),
};
result.warm.ratio = result.warm.engineP50us / result.warm.bareP50us;

// ---- cold and prewarmed process containers --------------------------------------------------------------------
log('cold and prewarmed starts');
const cold = [];
const prewarmed = [];
const initTimes = { cold: [], prewarmed: [] };
for (let i = 0; i < cfg.cold; i++) {
  for (const variant of (i + round) % 2 === 0 ? ['cold', 'prewarmed'] : ['prewarmed', 'cold']) {
    const e = createEngine({ defaultRuntime: 'process', prewarmCount: variant === 'cold' ? 0 : 1 });
    if (variant === 'prewarmed') {
      while (e.stats().pool.prewarm < 1) await sleep(2);
    }
    await e.actions.create({ name: `a${i}`, action: 'function main() { return { ok: true }; }' });
    const t = now();
    const record = await e.actions.invoke({ name: `a${i}`, blocking: true });
    (variant === 'cold' ? cold : prewarmed).push(Number(now() - t) / 1e6);
    initTimes[variant].push(record.annotations.find((a) => a.key === 'initTime')?.value ?? NaN);
    await e.close();
  }
}
result.start = {
  coldMs: median(cold),
  prewarmedMs: median(prewarmed),
  coldInitMs: median(initTimes.cold),
  prewarmedInitMs: median(initTimes.prewarmed),
};
emit(result);
process.exit(0);
