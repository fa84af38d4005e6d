// Warm invocation cost of the worker runtime versus the physical limit (a bare worker_threads echo), measured in
// the same process and run, with the order of engine and bare segments alternated between repetitions.
//
//   node --expose-gc bench/invoke-worker.bench.mjs [--quick] [--round=N]
//
// Prints one result line (see lib/common.mjs). Figures are medians over repetitions of each repetition's figure.
import { Worker } from 'node:worker_threads';
import { ECHO_WORKER, emit, loadEngine, log, median, now, parseArgs, settleGc, summarize } from './lib/common.mjs';

const args = parseArgs();
const quick = args.quick === true;
const round = Number(args.round ?? 0);
const cfg = quick
  ? { reps: 3, warmup: 1500, latencyCalls: 2000, c32Calls: 8000, pipelined: 50000, callers: 32 }
  : { reps: 5, warmup: 3000, latencyCalls: 5000, c32Calls: 20000, pipelined: 100000, callers: 32 };

const { createEngine } = loadEngine();
// Same thread settings as the engine's WorkerRuntime gives a 256 MB action (src/runtimes/worker/worker-runtime.ts).
const WORKER_OPTIONS = { resourceLimits: { maxOldGenerationSizeMb: 256, stackSizeMb: 4 }, env: {}, stdin: false };
const CODE = 'function main(){return {}}';

// ---- engine -------------------------------------------------------------------------------------------------
const ENGINE_OPTIONS = { prewarmCount: 0 }; // warm containers only; defaults otherwise (memoryBudget 1024, dispatchConcurrency 64)
// Two engines, so the two actions never evict each other's containers from one 1024 MB budget.
// `noop`: default limits (256 MB, concurrency 1): 32 callers spread over memoryBudget / 256 = 4 worker containers.
const engine = createEngine(ENGINE_OPTIONS);
await engine.actions.create({ name: 'noop', action: CODE });
// `noop32`: intra-container concurrency 32 (limits.concurrency, range max 200): 32 callers share one worker.
const engine32 = createEngine(ENGINE_OPTIONS);
await engine32.actions.create({ name: 'noop32', action: CODE, limits: { concurrency: 32 } });
let engineErrors = 0;

function invokeOnce(name) {
  return (name === 'noop32' ? engine32 : engine).actions.invoke({ name, blocking: true, result: true });
}

/** `calls` sequential blocking invokes; per-call latency in µs, plus throughput. */
async function engineSequential(name, calls) {
  const lat = new Float64Array(calls);
  const t0 = now();
  for (let i = 0; i < calls; i++) {
    const s = now();
    try {
      await invokeOnce(name);
    } catch {
      engineErrors++;
    }
    lat[i] = Number(now() - s) / 1e3;
  }
  const elapsedS = Number(now() - t0) / 1e9;
  return { ...summarize(lat), throughput: calls / elapsedS };
}

/** `callers` async callers, each looping blocking invokes until `calls` have been issued in total. */
async function engineConcurrent(name, calls, callers) {
  const lat = new Float64Array(calls);
  let issued = 0;
  const t0 = now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (issued < calls) {
        const i = issued++;
        const s = now();
        try {
          await invokeOnce(name);
        } catch {
          engineErrors++;
        }
        lat[i] = Number(now() - s) / 1e3;
      }
    }),
  );
  const elapsedS = Number(now() - t0) / 1e9;
  return { ...summarize(lat), throughput: calls / elapsedS };
}

// ---- bare worker ----------------------------------------------------------------------------------------------
const bare = new Worker(ECHO_WORKER, WORKER_OPTIONS);
await new Promise((resolve, reject) => {
  bare.once('message', resolve);
  bare.once('error', reject);
});
const waiting = new Map();
const byId = (m) => {
  const resolve = waiting.get(m.id);
  waiting.delete(m.id);
  resolve(m);
};
let onBareMessage = byId; // swapped for a plain counter during the pipelined segment
bare.on('message', (m) => onBareMessage(m));
let nextId = 0;
function roundTrip() {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    bare.postMessage({ id, value: {} });
  });
}

async function bareSequential(calls) {
  const lat = new Float64Array(calls);
  const t0 = now();
  for (let i = 0; i < calls; i++) {
    const s = now();
    await roundTrip();
    lat[i] = Number(now() - s) / 1e3;
  }
  const elapsedS = Number(now() - t0) / 1e9;
  return { ...summarize(lat), throughput: calls / elapsedS };
}

async function bareConcurrent(calls, callers) {
  let issued = 0;
  const t0 = now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (issued < calls) {
        issued++;
        await roundTrip();
      }
    }),
  );
  return { throughput: calls / (Number(now() - t0) / 1e9) };
}

/** Posts `count` messages back to back and waits for every echo: the pipelined round-trip rate. */
function barePipelined(count) {
  return new Promise((resolve) => {
    let received = 0;
    const t0 = now();
    onBareMessage = () => {
      if (++received === count) {
        onBareMessage = byId;
        resolve({ throughput: count / (Number(now() - t0) / 1e9) });
      }
    };
    for (let i = 0; i < count; i++) bare.postMessage({ id: i, value: {} });
  });
}

// ---- run ------------------------------------------------------------------------------------------------------
log(`warm-up (${cfg.warmup} calls each)`);
await engineSequential('noop', cfg.warmup);
await engineSequential('noop32', 200);
await engineConcurrent('noop', cfg.warmup, cfg.callers); // starts the 4 containers of `noop`
await engineConcurrent('noop32', cfg.warmup, cfg.callers);
await bareSequential(cfg.warmup);
await bareConcurrent(cfg.warmup, cfg.callers);
await barePipelined(10000);
engineErrors = 0;

const reps = [];
for (let r = 0; r < cfg.reps; r++) {
  const engineFirst = (r + round) % 2 === 0;
  const rep = {};
  const segments = [
    ['engineC1', () => engineSequential('noop', cfg.latencyCalls)],
    ['engineC32conc', () => engineConcurrent('noop32', cfg.c32Calls, cfg.callers)],
    ['engineC32pool', () => engineConcurrent('noop', cfg.c32Calls, cfg.callers)],
  ];
  const bareSegments = [
    ['bareC1', () => bareSequential(cfg.latencyCalls)],
    ['bareC32', () => bareConcurrent(cfg.c32Calls, cfg.callers)],
    ['barePipelined', () => barePipelined(cfg.pipelined)],
  ];
  for (const [key, fn] of engineFirst ? [...segments, ...bareSegments] : [...bareSegments, ...segments]) {
    settleGc();
    rep[key] = await fn();
  }
  log(
    `rep ${r + 1}/${cfg.reps} (${engineFirst ? 'engine first' : 'bare first'}): engine p50 ${rep.engineC1.p50.toFixed(1)} µs, ` +
      `bare p50 ${rep.bareC1.p50.toFixed(1)} µs, c32 ${Math.round(rep.engineC32conc.throughput)}/s (1 worker) ` +
      `${Math.round(rep.engineC32pool.throughput)}/s (pool)`,
  );
  reps.push(rep);
}
const stats = engine.stats();
const stats32 = engine32.stats();
await engine.close();
await engine32.close();
await bare.terminate();

const med = (key, field) => median(reps.map((r) => r[key][field]));
emit({
  scenario: 'invoke-worker',
  quick,
  round,
  config: {
    ...cfg,
    engineOptions: ENGINE_OPTIONS,
    actions: {
      noop: 'limits default (memory 256 MB, concurrency 1) → up to memoryBudget 1024 / 256 = 4 worker containers',
      noop32: 'limits.concurrency 32 → one worker container runs all 32 callers',
    },
    poolAtEnd: { noop: stats.pool, noop32: stats32.pool },
  },
  errors: engineErrors,
  engine: {
    c1: { p50: med('engineC1', 'p50'), p95: med('engineC1', 'p95'), p99: med('engineC1', 'p99'), mean: med('engineC1', 'mean'), throughput: med('engineC1', 'throughput') },
    c32conc: { p50: med('engineC32conc', 'p50'), p99: med('engineC32conc', 'p99'), throughput: med('engineC32conc', 'throughput') },
    c32pool: { p50: med('engineC32pool', 'p50'), p99: med('engineC32pool', 'p99'), throughput: med('engineC32pool', 'throughput') },
  },
  bare: {
    c1: { p50: med('bareC1', 'p50'), p95: med('bareC1', 'p95'), p99: med('bareC1', 'p99'), mean: med('bareC1', 'mean'), throughput: med('bareC1', 'throughput') },
    c32: { throughput: med('bareC32', 'throughput') },
    pipelined: { throughput: med('barePipelined', 'throughput') },
  },
  reps,
});
