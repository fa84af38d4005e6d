// Cold versus prewarmed first invocation on the worker runtime, and the bare floor (new Worker → first message).
//
//   node --expose-gc bench/cold-start.bench.mjs --variant=cold|prewarm|bare [--quick]
//
// cold:    fresh engine with prewarmCount 0, fresh action, time of the first blocking invoke (container start +
//          init + run), plus the activation's waitTime / initTime / duration annotations.
// prewarm: fresh engine with prewarmCount 1; wait until engine.stats().pool.prewarm >= 1, then time the first
//          invoke of a fresh action at once ("immediate") and, alternately, after a further 250 ms ("settled").
// bare:    new Worker(echo) with the engine's worker options → its first message; then one echo round trip.
// A fresh engine per sample; one unmeasured sample first (module load and JIT of the first engine in a process).
import { Worker } from 'node:worker_threads';
import { ECHO_WORKER, emit, loadEngine, log, median, now, parseArgs, settleGc, sleep, summarize } from './lib/common.mjs';

const args = parseArgs();
const quick = args.quick === true;
const variant = args.variant ?? 'cold';
const samples = Number(args.samples ?? (quick ? 6 : 10));
const SETTLE_MS = 250;
const CODE = 'function main(){return {}}';
const WORKER_OPTIONS = { resourceLimits: { maxOldGenerationSizeMb: 256, stackSizeMb: 4 }, env: {}, stdin: false };

const ms = (t0, t1 = now()) => Number(t1 - t0) / 1e6;
const ann = (activation, key) => activation.annotations.find((a) => a.key === key)?.value;

let errors = 0;
let nextAction = 0;

async function engineSample(prewarmCount, settleMs) {
  const { createEngine } = loadEngine();
  const tCreate = now();
  const engine = createEngine({ prewarmCount });
  const name = `fresh${++nextAction}`;
  await engine.actions.create({ name, action: CODE });
  let prewarmReadyMs;
  if (prewarmCount > 0) {
    while (engine.stats().pool.prewarm < 1) await sleep(1);
    prewarmReadyMs = ms(tCreate);
    if (settleMs > 0) await sleep(settleMs);
  }
  const poolBefore = engine.stats().pool;
  const t0 = now();
  let first;
  try {
    first = await engine.actions.invoke({ name, blocking: true });
  } catch (error) {
    errors++;
    first = error.activation;
  }
  const firstMs = ms(t0);
  const t1 = now();
  await engine.actions.invoke({ name, blocking: true, result: true }).catch(() => errors++);
  const secondMs = ms(t1);
  await engine.close();
  return {
    firstMs,
    secondMs,
    waitTime: ann(first, 'waitTime'),
    initTime: ann(first, 'initTime'),
    duration: first?.duration,
    ...(prewarmReadyMs === undefined ? {} : { prewarmReadyMs }),
    usedPrewarm: poolBefore.prewarm > 0,
  };
}

async function bareSample() {
  const t0 = now();
  const worker = new Worker(ECHO_WORKER, WORKER_OPTIONS);
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const firstMessageMs = ms(t0);
  const t1 = now();
  await new Promise((resolve) => {
    worker.once('message', resolve);
    worker.postMessage({ id: 1, value: {} });
  });
  const firstRoundTripMs = ms(t1);
  await worker.terminate();
  return { firstMessageMs, firstRoundTripMs };
}

const sampleFns = {
  cold: [['cold', () => engineSample(0, 0)]],
  prewarm: [
    ['prewarmImmediate', () => engineSample(1, 0)],
    ['prewarmSettled', () => engineSample(1, SETTLE_MS)],
  ],
  bare: [['bare', bareSample]],
}[variant];
if (sampleFns === undefined) throw new Error('--variant must be cold, prewarm or bare');

// Unmeasured first sample of each kind.
for (const [, fn] of sampleFns) await fn();
const results = Object.fromEntries(sampleFns.map(([k]) => [k, []]));
for (let i = 0; i < samples; i++) {
  const order = i % 2 === 0 ? sampleFns : [...sampleFns].reverse();
  for (const [key, fn] of order) {
    settleGc();
    await sleep(20); // let terminated threads from the previous sample go away
    results[key].push(await fn());
  }
}

const out = { scenario: 'cold-start', variant, quick, samples, errors, settleMs: SETTLE_MS, workerOptions: WORKER_OPTIONS };
for (const [key, list] of Object.entries(results)) {
  const fields = Object.keys(list[0]).filter((f) => typeof list[0][f] === 'number');
  out[key] = Object.fromEntries(fields.map((f) => [f, median(list.map((s) => s[f]))]));
  if ('usedPrewarm' in list[0]) out[key].usedPrewarm = list.filter((s) => s.usedPrewarm).length;
  out[key].firstSummary = summarize(list.map((s) => s.firstMs ?? s.firstMessageMs));
  log(`${key}: ${JSON.stringify(out[key], (k, v) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}`);
}
emit(out);
