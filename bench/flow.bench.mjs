// Messages through a real Node-RED runtime (the `node-red` dev dependency, 5.x): source → edgewhisk-action (no-op, worker runtime) → sink, next to
// source → core function node (no-op) → sink, in the same process and run, order alternated between repetitions.
//
//   node bench/flow.bench.mjs [--quick] [--round=N]
//
// Node-RED runs embedded (no editor, no HTTP admin): messages enter with node.receive() on the first node and the
// sink is a function node that hands each message to the harness through functionGlobalContext. Reported: burst
// throughput (N messages sent at once, time until the sink has all N) and per-message latency (one message in
// flight at a time). Prints one result line (see lib/common.mjs).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, emit, log, median, now, parseArgs, summarize } from './lib/common.mjs';

const args = parseArgs();
const quick = args.quick === true;
const round = Number(args.round ?? 0);
const cfg = quick ? { reps: 3, burst: 5000, latency: 1000, warmup: 2000 } : { reps: 5, burst: 20000, latency: 3000, warmup: 5000 };

const require = createRequire(import.meta.url);
const RED = require('node-red');
const http = require('node:http');

let onSink = () => {};
const userDir = mkdtempSync(join(tmpdir(), 'edgewhisk-flow-bench-'));
// The bundle is loaded from this checkout, exactly as Node-RED loads an installed package.
const nodesDir = join(userDir, 'nodes');
const flows = [
  { id: 'tab', type: 'tab', label: 'bench' },
  {
    id: 'engine',
    type: 'edgewhisk-engine',
    memoryBudget: 1024,
    maxQueued: 100000,
    concurrentInvocations: 100000,
    prewarmCount: 0,
  },
  // Action path. Intra-container concurrency lets one worker take many in-flight messages.
  { id: 'action', type: 'edgewhisk-action', z: 'tab', engine: 'engine', action: 'noop', code: 'function main(p) { return p; }', concurrency: 64, wires: [['sinkA']] },
  { id: 'sinkA', type: 'function', z: 'tab', func: "global.get('sink')(msg); return null;", outputs: 1, wires: [[]] },
  // Function-node path.
  { id: 'fn', type: 'function', z: 'tab', func: 'return msg;', outputs: 1, wires: [['sinkF']] },
  { id: 'sinkF', type: 'function', z: 'tab', func: "global.get('sink')(msg); return null;", outputs: 1, wires: [[]] },
];
writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flows));

const settings = {
  userDir,
  flowFile: 'flows.json',
  nodesDir,
  httpAdminRoot: false,
  httpNodeRoot: false,
  disableEditor: true,
  credentialSecret: false,
  functionGlobalContext: { sink: (msg) => onSink(msg) },
  logging: { console: { level: 'warn' } },
};
// Node-RED finds the bundle the way a user install does: as a module in the user directory.
const { mkdirSync, symlinkSync } = await import('node:fs');
mkdirSync(join(userDir, 'node_modules'), { recursive: true });
symlinkSync(ROOT, join(userDir, 'node_modules', 'node-red-contrib-edgewhisk'), 'dir');

const server = http.createServer();
RED.init(server, settings);
await RED.start();
const entry = (id) => RED.nodes.getNode(id);
for (let i = 0; i < 200 && (!entry('action') || !entry('fn')); i++) await new Promise((r) => setTimeout(r, 25));
if (!entry('action')) throw new Error('the edgewhisk-action node did not start: is the bundle built?');

/** Sends `count` messages at once into node `id`; resolves with the elapsed ns when the sink has them all. */
function burst(id, count) {
  return new Promise((resolve) => {
    let got = 0;
    const t0 = now();
    onSink = () => {
      if (++got === count) resolve(Number(now() - t0));
    };
    const node = entry(id);
    for (let i = 0; i < count; i++) node.receive({ payload: { i } });
  });
}

/** One message in flight at a time: per-message latency in µs. */
async function latency(id, count) {
  const node = entry(id);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = now();
    await new Promise((resolve) => {
      onSink = resolve;
      node.receive({ payload: { i } });
    });
    out[i] = Number(now() - t0) / 1e3;
  }
  return out;
}

log('warm-up');
await burst('action', cfg.warmup);
await burst('fn', cfg.warmup);
await latency('action', 500);
await latency('fn', 500);

const reps = { action: { rate: [], p50: [], p99: [] }, fn: { rate: [], p50: [], p99: [] } };
for (let rep = 0; rep < cfg.reps; rep++) {
  const order = (rep + round) % 2 === 0 ? ['action', 'fn'] : ['fn', 'action'];
  for (const id of order) {
    const ns = await burst(id, cfg.burst);
    reps[id].rate.push(cfg.burst / (ns / 1e9));
    const lat = summarize(await latency(id, cfg.latency));
    reps[id].p50.push(lat.p50);
    reps[id].p99.push(lat.p99);
  }
  log(`rep ${rep + 1}/${cfg.reps}: action ${Math.round(reps.action.rate.at(-1))} msg/s, function ${Math.round(reps.fn.rate.at(-1))} msg/s`);
}

const result = {
  scenario: 'flow',
  config: { ...cfg, nodeRed: require('node-red/package.json').version },
  action: { msgsPerSec: median(reps.action.rate), p50us: median(reps.action.p50), p99us: median(reps.action.p99) },
  functionNode: { msgsPerSec: median(reps.fn.rate), p50us: median(reps.fn.p50), p99us: median(reps.fn.p99) },
};
result.throughputRatio = result.action.msgsPerSec / result.functionNode.msgsPerSec;
result.latencyRatio = result.action.p50us / result.functionNode.p50us;
emit(result);
await RED.stop();
process.exit(0);
