// The Docker runtime on the real daemon, each figure next to its physical limit measured in the same run:
// - cold start through the engine (invoke of a new action → result: create, start, proxy listening, /init, /run)
//   against the same steps done bare with dockerode (same image, same hardened create body, same socket);
// - warm no-op invocations through the engine against a bare /run to the same container over the same Unix socket,
//   call by call alternately;
// - resume from pause through the engine against a bare unpause + /run;
// - throughput at concurrency 8 and 32 (no-op, and Lean OpenWhisk's `sleepy` 30 ms action).
//
//   node bench/docker.bench.mjs [--quick] [--round=N]
//
// Needs a running daemon and EdgeWhisk's images (`npm run build:images -- --offline`). Prints one result line.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, emit, loadEngine, log, now, parseArgs, settleGc, sleep, summarize } from './lib/common.mjs';

const args = parseArgs();
const quick = args.quick === true;
const round = Number(args.round ?? 0);
const cfg = quick
  ? { cold: 3, warmCalls: 400, warmReps: 3, pauses: 4, thrCalls: 600 }
  : { cold: 8, warmCalls: 1500, warmReps: 5, pauses: 10, thrCalls: 2000 };
const NOOP = 'function main() { return {}; }';
const SLEEPY = 'function main(p) { return new Promise((r) => setTimeout(() => r({ slept: p.timeout }), Number(p.timeout) || 0)); }';

const require = createRequire(import.meta.url);
const { createEngine, DEFAULTS } = loadEngine();
const Dockerode = require('dockerode');
const { containerConfig } = require(join(DIST, '..', 'runtimes', 'docker', 'container-config.js'));
const docker = new Dockerode();
// The image of the Node.js major running the benchmark (npm run build:images -- --offline builds it from this node).
const KIND = `nodejs:${process.versions.node.split('.')[0]}`;
const IMAGE = DEFAULTS.docker.images[KIND];
const instance = `bench-${process.pid}`;

const ms = (t0) => Number(now() - t0) / 1e6;

function post(agent, socketPath, path, body) {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, socketPath, path, method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': data.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function connectable(path) {
  return new Promise((resolve) => {
    const socket = net.connect(path, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

const RUN = (value = {}) => ({ value, namespace: 'guest', action_name: '/guest/bare', action_version: '0.0.1', activation_id: 'bare', transaction_id: 'bare', deadline: String(Date.now() + 60_000) });

/** The engine's steps without the engine: same create body, same socket; resolves with timings and a handle. */
async function bareContainer(code = NOOP) {
  const hostDir = mkdtempSync(join(tmpdir(), 'ew-bench-'));
  chmodSync(hostDir, 0o777);
  const spec = { kind: KIND, memory: 256, concurrency: 1 };
  const body = containerConfig(
    { name: `ew-${instance}-bare-${Math.random().toString(36).slice(2, 8)}`, image: IMAGE, spec, transport: { type: 'unix', hostDir }, network: 'none', instance, owner: 'bench', memoryBudget: 1024 },
    DEFAULTS.docker,
  );
  const socketPath = join(hostDir, 'proxy.sock');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const t0 = now();
  const container = await docker.createContainer(body);
  await container.start();
  while (!(await connectable(socketPath))) await sleep(1);
  const listening = ms(t0);
  const init = await post(agent, socketPath, '/init', { value: { name: 'bare', main: 'main', code, binary: false } });
  const run = await post(agent, socketPath, '/run', RUN());
  const firstResult = ms(t0);
  if (init.status !== 200 || run.status !== 200) throw new Error(`bare container failed: ${init.status} ${run.status} ${run.body}`);
  return {
    container,
    agent,
    socketPath,
    listening,
    firstResult,
    async remove() {
      agent.destroy();
      await container.remove({ force: true });
      rmSync(hostDir, { recursive: true, force: true });
    },
  };
}

function engine(options = {}) {
  return createEngine({ defaultRuntime: 'docker', prewarmCount: 0, ...options, docker: { instance, ...(options.docker ?? {}) } });
}

const invoke = (e, name, params = {}) => e.actions.invoke({ name, params, blocking: true, result: true });

async function coldStarts() {
  const e = engine();
  await e.actions.create({ name: 'warmup', action: NOOP });
  await invoke(e, 'warmup'); // the runtime's first contact: ping, info, sweep, image inspection
  const engineMs = [];
  const bareMs = [];
  const bareListening = [];
  for (let i = 0; i < cfg.cold; i++) {
    // Alternate which goes first, so neither always runs on a daemon that just did the other's work.
    const order = (i + round) % 2 === 0 ? ['engine', 'bare'] : ['bare', 'engine'];
    for (const which of order) {
      settleGc();
      if (which === 'engine') {
        await e.actions.create({ name: `cold${i}`, action: NOOP });
        const t0 = now();
        await invoke(e, `cold${i}`);
        engineMs.push(ms(t0));
      } else {
        const bare = await bareContainer();
        bareMs.push(bare.firstResult);
        bareListening.push(bare.listening);
        await bare.remove();
      }
    }
  }
  await e.close();
  return { engine: summarize(engineMs), bare: summarize(bareMs), bareListening: summarize(bareListening) };
}

async function warm() {
  const e = engine();
  await e.actions.create({ name: 'noop', action: NOOP });
  await invoke(e, 'noop');
  const [info] = await docker.listContainers({ filters: JSON.stringify({ label: [`org.edgewhisk.instance=${instance}`] }) });
  const socketPath = join(info.Labels['org.edgewhisk.socket-dir'], 'proxy.sock');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const engineUs = [];
  const bareUs = [];
  for (let rep = 0; rep < cfg.warmReps; rep++) {
    settleGc();
    for (let i = 0; i < 200; i++) {
      await invoke(e, 'noop');
      await post(agent, socketPath, '/run', RUN());
    }
    for (let i = 0; i < cfg.warmCalls; i++) {
      const engineFirst = (i + rep) % 2 === 0;
      for (const which of engineFirst ? ['engine', 'bare'] : ['bare', 'engine']) {
        const t0 = now();
        if (which === 'engine') {
          await invoke(e, 'noop');
          engineUs.push(Number(now() - t0) / 1e3);
        } else {
          const reply = await post(agent, socketPath, '/run', RUN());
          if (reply.status !== 200) throw new Error(`bare /run ${reply.status}`);
          bareUs.push(Number(now() - t0) / 1e3);
        }
      }
    }
  }
  agent.destroy();
  await e.close();
  return { engine: summarize(engineUs), bare: summarize(bareUs) };
}

async function resumes() {
  const e = engine({ pauseGrace: 50 });
  await e.actions.create({ name: 'noop', action: NOOP });
  await invoke(e, 'noop');
  const engineMs = [];
  for (let i = 0; i < cfg.pauses; i++) {
    while (e.stats().pool.paused < 1) await sleep(5);
    await sleep(100); // the daemon has frozen the cgroup by now
    const t0 = now();
    await invoke(e, 'noop');
    engineMs.push(ms(t0));
  }
  await e.close();
  const bare = await bareContainer();
  const bareMs = [];
  for (let i = 0; i < cfg.pauses; i++) {
    await bare.container.pause();
    await sleep(100);
    const t0 = now();
    await bare.container.unpause();
    await post(bare.agent, bare.socketPath, '/run', RUN());
    bareMs.push(ms(t0));
  }
  await bare.remove();
  return { engine: summarize(engineMs), bare: summarize(bareMs) };
}

async function throughput(concurrency, code, params, shared = false) {
  // Either room for one container per caller at 128 MB each, or one container taking all callers at once.
  const e = engine({ memoryBudget: shared ? 1024 : 128 * concurrency, maxParallelStarts: 8 });
  await e.actions.create({ name: 't', action: code, limits: { memory: 128, ...(shared ? { concurrency } : {}) } });
  const burst = async (calls) => {
    let left = calls;
    const latencies = [];
    const worker = async () => {
      while (left-- > 0) {
        const t0 = now();
        await invoke(e, 't', params);
        latencies.push(ms(t0));
      }
    };
    const t0 = now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { perSecond: calls / (ms(t0) / 1000), latency: summarize(latencies) };
  };
  // Start the containers first: cold starts are measured above, not here.
  for (let i = 0; i < 10 && e.stats().pool.containers < (shared ? 1 : concurrency); i++) await burst(concurrency * 4);
  settleGc();
  const measured = await burst(params.timeout ? Math.min(cfg.thrCalls, concurrency * 30) : cfg.thrCalls);
  const containers = e.stats().pool.containers;
  await e.close();
  return { ...measured, containers };
}

log(`round ${round}: image ${IMAGE}`);
await docker.ping();
const cold = await coldStarts();
log(`cold engine p50 ${cold.engine.p50.toFixed(0)} ms, bare ${cold.bare.p50.toFixed(0)} ms`);
const warmResult = await warm();
log(`warm engine p50 ${warmResult.engine.p50.toFixed(0)} µs, bare ${warmResult.bare.p50.toFixed(0)} µs`);
const resume = await resumes();
log(`resume engine p50 ${resume.engine.p50.toFixed(1)} ms, bare ${resume.bare.p50.toFixed(1)} ms`);
const thr = {};
for (const c of [8, 32]) {
  thr[`noop_c${c}`] = await throughput(c, NOOP, {});
  thr[`sleepy_c${c}`] = await throughput(c, SLEEPY, { timeout: '30' });
  thr[`shared_c${c}`] = await throughput(c, NOOP, {}, true);
  log(`c${c}: noop ${thr[`noop_c${c}`].perSecond.toFixed(0)}/s (${thr[`noop_c${c}`].containers} containers), sleepy ${thr[`sleepy_c${c}`].perSecond.toFixed(0)}/s, one container ${thr[`shared_c${c}`].perSecond.toFixed(0)}/s`);
}
const info = await docker.version();
const daemon = await docker.info();
emit({
  scenario: 'docker',
  config: { ...cfg, image: IMAGE, dockerVersion: info.Version, storageDriver: daemon.Driver, cgroupVersion: daemon.CgroupVersion, ociRuntime: daemon.DefaultRuntime, round },
  cold,
  warm: warmResult,
  resume,
  throughput: thr,
});
