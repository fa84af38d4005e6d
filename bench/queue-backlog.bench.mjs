// Per-invocation engine cost with a small versus a huge backlog. N non-blocking invocations of a no-op action are
// enqueued as fast as possible (synchronous loop), then the run waits until N `activation:completed` events have
// arrived. Cost per invocation = (enqueue + drain time) / N; enqueue-only = loop time / N.
//
//   node --expose-gc bench/queue-backlog.bench.mjs --size=small|large [--quick]
//
// small: N = 100, repeated many times (median); large: N = 100,000 (one or two batches). Both sizes run on an
// engine warmed up the same way, in separate fresh processes (bench/run.mjs alternates their order).
import { emit, loadEngine, log, median, now, parseArgs, settleGc, summarize } from './lib/common.mjs';

const args = parseArgs();
const quick = args.quick === true;
const size = args.size ?? 'small';
if (size !== 'small' && size !== 'large') throw new Error('--size must be small or large');
const N = Number(args.n ?? (size === 'small' ? 100 : 100_000));
const batches = Number(args.batches ?? (size === 'small' ? (quick ? 150 : 400) : 1));

const { createEngine } = loadEngine();
const ENGINE_OPTIONS = {
  prewarmCount: 0,
  maxQueued: 200_000, // above the largest N, so admission never refuses
  concurrentInvocations: 200_000,
  // everything else default: dispatchConcurrency 64, memoryBudget 1024 (4 worker containers of 256 MB),
  // activationRetention 10000
};
const engine = createEngine(ENGINE_OPTIONS);
await engine.actions.create({ name: 'noop', action: 'function main(){return {}}' });

let failed = 0;
let rejected = 0;
const onRejected = () => {
  rejected++;
};

/** One batch: returns µs totals. Completion is observed through the engine's own event, counted. */
function batch(n) {
  return new Promise((resolve) => {
    let completed = 0;
    let t0 = 0n;
    let t1 = 0n;
    const onCompleted = (activation) => {
      if (!activation.response.success) failed++;
      if (++completed === n) {
        const t2 = now();
        engine.off('activation:completed', onCompleted);
        resolve({ enqueueUs: Number(t1 - t0) / 1e3, totalUs: Number(t2 - t0) / 1e3 });
      }
    };
    engine.on('activation:completed', onCompleted);
    t0 = now();
    for (let i = 0; i < n; i++) engine.actions.invoke({ name: 'noop' }).catch(onRejected);
    t1 = now();
  });
}

// Identical warm-up for both sizes: JIT, the four worker containers, a few thousand records in the store.
log('warm-up');
for (let i = 0; i < 40; i++) await batch(100);
await batch(5000);
for (let i = 0; i < 20; i++) await batch(100);
failed = 0;
rejected = 0;
settleGc();

const runs = [];
let peak = { rss: 0, heapUsed: 0 };
for (let b = 0; b < batches; b++) {
  const r = await batch(N);
  runs.push(r);
  if (size === 'large') {
    const m = process.memoryUsage();
    peak = { rss: Math.max(peak.rss, m.rss), heapUsed: Math.max(peak.heapUsed, m.heapUsed) };
    log(`N=${N}: ${(r.totalUs / N).toFixed(2)} µs/invocation, enqueue ${(r.enqueueUs / N).toFixed(2)} µs/invocation`);
    settleGc();
  }
}
const stats = engine.stats();
await engine.close();

const perInv = runs.map((r) => r.totalUs / N);
const enqPerInv = runs.map((r) => r.enqueueUs / N);
const result = {
  scenario: 'queue-backlog',
  size,
  quick,
  n: N,
  batches,
  config: { engineOptions: ENGINE_OPTIONS, poolAtEnd: stats.pool, wait: "count of 'activation:completed' events" },
  failed,
  rejected,
  perInvocationUs: median(perInv),
  perInvocationMeanUs: perInv.reduce((a, b) => a + b, 0) / perInv.length,
  perInvocation: summarize(perInv),
  enqueuePerInvocationUs: median(enqPerInv),
  enqueuePerInvocation: summarize(enqPerInv),
  throughput: 1e6 / median(perInv),
  ...(size === 'large' ? { peakMemory: peak } : {}),
};
log(`N=${N} x${batches}: median ${result.perInvocationUs.toFixed(2)} µs/invocation (mean ${result.perInvocationMeanUs.toFixed(2)}), enqueue ${result.enqueuePerInvocationUs.toFixed(2)} µs`);
emit(result);
