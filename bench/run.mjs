// EdgeWhisk benchmark runner: every scenario in a fresh child process, compared variants in alternating order
// across rounds, medians across rounds, a readable table with anchors, targets and ratios.
//
//   npm run bench                      (= npm run build && node bench/run.mjs)
//   node bench/run.mjs [--quick] [--rounds=N] [--write] [--json=path] [--no-docker]
//
// --quick   one short round (< 40 s); default: 3 rounds (< 3 min); the feeds scenario adds ~15 s (quick) or ~55 s per
//           round: its alarm fires once a second
// --write   write BENCHMARKS.md at the repository root (fresh file: machine, date, method, figures)
// --json    also save the raw results (every child's JSON) to a file
// --no-docker  leave out the Docker runtime (it needs a daemon and EdgeWhisk's images)
// --compare-node=PATH  run every scenario but Docker's again on that Node.js binary (e.g. Node 22 beside the Node 24
//              that runs npm scripts); the table gets a column with its figures, rounds interleaved
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ANCHOR_SOURCES } from './lib/anchors.mjs';
import { BENCH_DIR, DIST, RESULT_PREFIX, ROOT, median, parseArgs } from './lib/common.mjs';

const args = parseArgs();
const quick = args.quick === true;
const rounds = Number(args.rounds ?? (quick ? 1 : 3));
const CHILD_TIMEOUT_MS = 300_000;

if (!existsSync(DIST)) {
  console.error(`${DIST} is missing: run \`npm run build\` first (npm run bench does).`);
  process.exit(1);
}

// ---- machine facts ------------------------------------------------------------------------------------------------
function machine() {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1].trim();
  } catch {}
  let cgroupCpu;
  try {
    cgroupCpu = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim();
  } catch {}
  let osName = `${os.type()} ${os.release()}`;
  try {
    const m = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) osName = `${m[1]} (${os.type()} ${os.release()})`;
  } catch {}
  return {
    cpuModel,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    cpuMHz: os.cpus()[0]?.speed || undefined,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    os: osName,
    arch: os.arch(),
    ...(cgroupCpu === undefined ? {} : { cgroupCpuMax: cgroupCpu }),
    loadAvgAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** The engine state measured: commit, and whether src/ differs from it (benchmarks may run on a dirty tree). */
function engineRevision() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return `${commit}${dirty ? ' + uncommitted changes under src/' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

// ---- children -----------------------------------------------------------------------------------------------------
function runChild(file, childArgs, node = process.execPath) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(node, ['--expose-gc', join(BENCH_DIR, file), ...childArgs], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => process.stderr.write(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${file} ${childArgs.join(' ')} failed (code ${code}, signal ${signal})\n${stdout.slice(-2000)}`));
        return;
      }
      const result = JSON.parse(line.slice(RESULT_PREFIX.length));
      result.wallSeconds = (Date.now() - started) / 1000;
      resolve(result);
    });
  });
}

const facts = machine();
const revision = engineRevision();
const startedAt = new Date();
const t0 = Date.now();
console.error(`EdgeWhisk benchmarks (${quick ? 'quick' : 'full'}, ${rounds} round${rounds === 1 ? '' : 's'}) on ${facts.cpuModel}, ${facts.cores} cores, Node ${facts.node}`);
if (facts.loadAvgAtStart[0] > 0.5) console.error(`warning: load average ${facts.loadAvgAtStart[0]} at start: the machine is busy, expect noise`);

const emptyRaw = () => ({ invoke: [], backlog: { small: [], large: [] }, cold: { cold: [], prewarm: [], bare: [] }, flow: [], process: [], rest: [], durable: [], feeds: [], docker: [] });
const raw = emptyRaw();
const withDocker = args['no-docker'] !== true;
const owProxy = typeof args['ow-proxy'] === 'string' ? args['ow-proxy'] : process.env.EW_OPENWHISK_PROXY;
const compareNode = typeof args['compare-node'] === 'string' ? args['compare-node'] : undefined;
const compareVersion = compareNode === undefined ? undefined : execFileSync(compareNode, ['--version'], { encoding: 'utf8' }).trim();
const rawCompare = compareNode === undefined ? undefined : emptyRaw();
const q = quick ? ['--quick'] : [];

/** One round of every scenario on `node`, into `into`; Docker only on the main Node (its figures are the image's). */
async function round(r, node, into, docker) {
  into.invoke.push(await runChild('invoke-worker.bench.mjs', [...q, `--round=${r}`], node));
  for (const size of r % 2 === 0 ? ['small', 'large'] : ['large', 'small']) {
    into.backlog[size].push(await runChild('queue-backlog.bench.mjs', [...q, `--size=${size}`], node));
  }
  const variants = ['cold', 'prewarm', 'bare'];
  for (let i = 0; i < variants.length; i++) {
    const variant = variants[(i + r) % variants.length];
    into.cold[variant].push(await runChild('cold-start.bench.mjs', [...q, `--variant=${variant}`], node));
  }
  into.flow.push(await runChild('flow.bench.mjs', [...q, `--round=${r}`], node));
  into.rest.push(await runChild('rest.bench.mjs', [...q, `--round=${r}`], node));
  into.process.push(await runChild('process.bench.mjs', [...q, `--round=${r}`, ...(owProxy ? [`--ow-proxy=${owProxy}`] : [])], node));
  into.durable.push(await runChild('durable-store.bench.mjs', [...q, `--round=${r}`], node));
  into.feeds.push(await runChild('feeds.bench.mjs', [...q, `--round=${r}`], node));
  if (docker) into.docker.push(await runChild('docker.bench.mjs', [...q, `--round=${r}`], node));
}

for (let r = 0; r < rounds; r++) {
  console.error(`\n== round ${r + 1}/${rounds}`);
  // With a second Node, the two alternate which goes first, like every other compared pair.
  const legs = [[process.execPath, raw, withDocker], ...(rawCompare === undefined ? [] : [[compareNode, rawCompare, false]])];
  for (const [node, into, docker] of r % 2 === 0 ? legs : [...legs].reverse()) {
    if (legs.length > 1) console.error(`-- on ${node === process.execPath ? process.version : compareVersion}`);
    await round(r, node, into, docker);
  }
}
const wallSeconds = (Date.now() - t0) / 1000;
const loadAvgAtEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);

// ---- aggregate ----------------------------------------------------------------------------------------------------
const get = (list, path) => median(list.map((x) => path.split('.').reduce((o, k) => o?.[k], x)));
function figures(raw) {
  const inv = (p) => get(raw.invoke, p);
  return {
    engP50: inv('engine.c1.p50'),
    engP95: inv('engine.c1.p95'),
    engP99: inv('engine.c1.p99'),
    engMean: inv('engine.c1.mean'),
    engThrC1: inv('engine.c1.throughput'),
    engThrC32conc: inv('engine.c32conc.throughput'),
    engC32concP50: inv('engine.c32conc.p50'),
    engC32concP99: inv('engine.c32conc.p99'),
    engThrC32pool: inv('engine.c32pool.throughput'),
    engC32poolP50: inv('engine.c32pool.p50'),
    engC32poolP99: inv('engine.c32pool.p99'),
    bareP50: inv('bare.c1.p50'),
    bareP95: inv('bare.c1.p95'),
    bareP99: inv('bare.c1.p99'),
    bareThrC1: inv('bare.c1.throughput'),
    bareThrC32: inv('bare.c32.throughput'),
    barePipelined: inv('bare.pipelined.throughput'),
    smallCost: get(raw.backlog.small, 'perInvocationUs'),
    smallCostMean: get(raw.backlog.small, 'perInvocationMeanUs'),
    largeCost: get(raw.backlog.large, 'perInvocationUs'),
    smallEnq: get(raw.backlog.small, 'enqueuePerInvocationUs'),
    largeEnq: get(raw.backlog.large, 'enqueuePerInvocationUs'),
    largePeakRssMiB: get(raw.backlog.large, 'peakMemory.rss') / 2 ** 20,
    coldFirst: get(raw.cold.cold, 'cold.firstMs'),
    coldWait: get(raw.cold.cold, 'cold.waitTime'),
    coldInit: get(raw.cold.cold, 'cold.initTime'),
    coldSecond: get(raw.cold.cold, 'cold.secondMs'),
    preReady: get(raw.cold.prewarm, 'prewarmImmediate.prewarmReadyMs'),
    preFirst: get(raw.cold.prewarm, 'prewarmImmediate.firstMs'),
    preWait: get(raw.cold.prewarm, 'prewarmImmediate.waitTime'),
    preInit: get(raw.cold.prewarm, 'prewarmImmediate.initTime'),
    setFirst: get(raw.cold.prewarm, 'prewarmSettled.firstMs'),
    setWait: get(raw.cold.prewarm, 'prewarmSettled.waitTime'),
    setInit: get(raw.cold.prewarm, 'prewarmSettled.initTime'),
    bareStart: get(raw.cold.bare, 'bare.firstMessageMs'),
    bareFirstRt: get(raw.cold.bare, 'bare.firstRoundTripMs'),
    flowAction: get(raw.flow, 'action.msgsPerSec'),
    flowFunction: get(raw.flow, 'functionNode.msgsPerSec'),
    flowRatio: get(raw.flow, 'throughputRatio'),
    flowActionP50: get(raw.flow, 'action.p50us'),
    flowFunctionP50: get(raw.flow, 'functionNode.p50us'),
    flowActionP99: get(raw.flow, 'action.p99us'),
    flowFunctionP99: get(raw.flow, 'functionNode.p99us'),
    procEngineP50: get(raw.process, 'warm.engineP50us'),
    procEngineP99: get(raw.process, 'warm.engineP99us'),
    procBareP50: get(raw.process, 'warm.bareP50us'),
    procBareP99: get(raw.process, 'warm.bareP99us'),
    procRatio: get(raw.process, 'warm.ratio'),
    proxyListen: get(raw.process, 'proxy.edgewhisk.listeningMs'),
    proxyAnswer: get(raw.process, 'proxy.edgewhisk.answeredMs'),
    proxyRunP50: get(raw.process, 'proxy.edgewhisk.runP50us'),
    proxyRunP99: get(raw.process, 'proxy.edgewhisk.runP99us'),
    owListen: get(raw.process, 'proxy.openwhisk.listeningMs'),
    owAnswer: get(raw.process, 'proxy.openwhisk.answeredMs'),
    owRunP50: get(raw.process, 'proxy.openwhisk.runP50us'),
    owRunP99: get(raw.process, 'proxy.openwhisk.runP99us'),
    procCold: get(raw.process, 'start.coldMs'),
    procPrewarmed: get(raw.process, 'start.prewarmedMs'),
    procColdInit: get(raw.process, 'start.coldInitMs'),
    procPrewarmedInit: get(raw.process, 'start.prewarmedInitMs'),
    dkColdEngine: get(raw.docker, 'cold.engine.p50'),
    dkColdBare: get(raw.docker, 'cold.bare.p50'),
    dkColdBareListening: get(raw.docker, 'cold.bareListening.p50'),
    dkWarmEngineP50: get(raw.docker, 'warm.engine.p50'),
    dkWarmEngineP99: get(raw.docker, 'warm.engine.p99'),
    dkWarmBareP50: get(raw.docker, 'warm.bare.p50'),
    dkWarmBareP99: get(raw.docker, 'warm.bare.p99'),
    dkResumeEngine: get(raw.docker, 'resume.engine.p50'),
    dkResumeBare: get(raw.docker, 'resume.bare.p50'),
    dkNoopC8: get(raw.docker, 'throughput.noop_c8.perSecond'),
    dkNoopC32: get(raw.docker, 'throughput.noop_c32.perSecond'),
    dkSleepyC8: get(raw.docker, 'throughput.sleepy_c8.perSecond'),
    dkSleepyC32: get(raw.docker, 'throughput.sleepy_c32.perSecond'),
    dkSharedC8: get(raw.docker, 'throughput.shared_c8.perSecond'),
    dkSharedC32: get(raw.docker, 'throughput.shared_c32.perSecond'),
    dkNoopC8P50: get(raw.docker, 'throughput.noop_c8.latency.p50'),
    dkNoopC32P50: get(raw.docker, 'throughput.noop_c32.latency.p50'),
    dkSleepyC8P50: get(raw.docker, 'throughput.sleepy_c8.latency.p50'),
    restP50: get(raw.rest, 'http.p50us'),
    restP99: get(raw.rest, 'http.p99us'),
    restC1: get(raw.rest, 'http.c1PerSec'),
    restC32: get(raw.rest, 'http.c32PerSec'),
    restEngineP50: get(raw.rest, 'engine.p50us'),
    restEngineC32: get(raw.rest, 'engine.c32PerSec'),
    dsFdatasyncP50: get(raw.durable, 'physical.fdatasync.p50'),
    dsFdatasyncP99: get(raw.durable, 'physical.fdatasync.p99'),
    dsFsyncP50: get(raw.durable, 'physical.fsync.p50'),
    dsFsyncP99: get(raw.durable, 'physical.fsync.p99'),
    dsCommitP50: get(raw.durable, 'physical.sqliteCommit.p50'),
    dsCommitP99: get(raw.durable, 'physical.sqliteCommit.p99'),
    dsSporMemP50: get(raw.durable, 'sporadic.memory.p50'),
    dsSporMemP99: get(raw.durable, 'sporadic.memory.p99'),
    dsSporDurP50: get(raw.durable, 'sporadic.durable.p50'),
    dsSporDurP99: get(raw.durable, 'sporadic.durable.p99'),
    dsSporDiffP50: get(raw.durable, 'sporadic.durableMinusMemoryP50'),
    dsSporDiffP99: get(raw.durable, 'sporadic.durableMinusMemoryP99'),
    dsSporFsyncP50: get(raw.durable, 'sporadic.fsync.p50'),
    dsSporCommitP50: get(raw.durable, 'sporadic.sqliteCommit.p50'),
    dsMemNb: get(raw.durable, 'c32.memoryNonBlocking'),
    dsDurNb: get(raw.durable, 'c32.durableNonBlocking'),
    dsNbRatio: get(raw.durable, 'c32.nonBlockingRatio'),
    dsMemB: get(raw.durable, 'c32.memoryBlocking'),
    dsDurB: get(raw.durable, 'c32.durableBlocking'),
    dsBRatio: get(raw.durable, 'c32.blockingRatio'),
    dsWriteBytes: get(raw.durable, 'bytes.writeBytesPerActivation'),
    dsWchar: get(raw.durable, 'bytes.wcharPerActivation'),
    dsCommits: get(raw.durable, 'bytes.commitsPerActivation'),
    dsAutocommits: get(raw.durable, 'bytes.autocommitsPerActivation'),
    dsFirstDb: get(raw.durable, 'bytes.afterFirstRetention.db'),
    dsFirstWal: get(raw.durable, 'bytes.afterFirstRetention.wal'),
    dsEndDb: get(raw.durable, 'bytes.atEnd.db'),
    dsEndWal: get(raw.durable, 'bytes.atEnd.wal'),
    dsBlMemAccept: get(raw.durable, 'backlog.memory.acceptSeconds'),
    dsBlMemTotal: get(raw.durable, 'backlog.memory.totalSeconds'),
    dsBlMemPeak: get(raw.durable, 'backlog.memory.rss.peak') / 2 ** 20,
    dsBlDurAccept: get(raw.durable, 'backlog.durable.acceptSeconds'),
    dsBlDurClose: get(raw.durable, 'backlog.durable.closeSeconds'),
    dsBlDurReplay: get(raw.durable, 'backlog.durable.replaySeconds'),
    dsBlDurDrain: get(raw.durable, 'backlog.durable.drainSeconds'),
    dsBlDurReplayed: get(raw.durable, 'backlog.durable.replayed'),
    dsBlDurPeak: get(raw.durable, 'backlog.durable.rss.peak') / 2 ** 20,
    dsBlDurAcceptDb: get(raw.durable, 'backlog.durable.afterAccept.db'),
    dsBlDurAcceptWal: get(raw.durable, 'backlog.durable.afterAccept.wal'),
    dsBlDurDrainDb: get(raw.durable, 'backlog.durable.afterDrain.db'),
    dsBlDurDrainWal: get(raw.durable, 'backlog.durable.afterDrain.wal'),
    ...feedFigures(raw.feeds),
  };
}
/** The feeds scenario's figures (bench/feeds.bench.mjs): alarm lateness in ms, MQTT latency in µs. */
function feedFigures(list) {
  const g = (p) => get(list, p);
  const out = {};
  for (const [key, kind] of [['alMem', 'memory'], ['alDur', 'durable']]) {
    Object.assign(out, {
      [`${key}QueuedP50`]: g(`alarm.${kind}.fireQueued.p50`),
      [`${key}QueuedP99`]: g(`alarm.${kind}.fireQueued.p99`),
      [`${key}StartP50`]: g(`alarm.${kind}.fireStartMs.p50`),
      [`${key}AcceptedP50`]: g(`alarm.${kind}.fireAccepted.p50`),
      [`${key}AcceptedP99`]: g(`alarm.${kind}.fireAccepted.p99`),
      [`${key}EndP50`]: g(`alarm.${kind}.endToEndMs.p50`),
      [`${key}EndP99`]: g(`alarm.${kind}.endToEndMs.p99`),
      [`${key}CompletedP50`]: g(`alarm.${kind}.endToEndCompleted.p50`),
      [`${key}BareP50`]: g(`alarm.${kind}.bare.hi.p50`),
      [`${key}BareP99`]: g(`alarm.${kind}.bare.hi.p99`),
      [`${key}BareMsP50`]: g(`alarm.${kind}.bare.ms.p50`),
      [`${key}Ratio`]: g(`alarm.${kind}.ratioQueuedP50`),
      [`${key}Diff`]: g(`alarm.${kind}.diffQueuedP50`),
      [`${key}DiffP99`]: g(`alarm.${kind}.diffQueuedP99`),
      [`${key}DiffStart`]: g(`alarm.${kind}.diffStartMsP50`),
      [`${key}Slope`]: g(`alarm.${kind}.trend.queuedSlopeMsPerFire`),
      [`${key}Missed`]: list.reduce((a, x) => a + (x.alarm?.[kind]?.missedBoundaries ?? 0), 0),
      [`${key}Spanned`]: list.reduce((a, x) => a + (x.alarm?.[kind]?.boundariesSpanned ?? 0), 0),
    });
  }
  out.alDurMinusMemQueued = g('alarm.durableMinusMemoryQueuedP50');
  out.alDurMinusMemAccepted = g('alarm.durableMinusMemoryAcceptedP50');
  out.alDurMinusMemEnd = g('alarm.durableMinusMemoryEndToEndP50');
  for (const qos of [0, 1]) {
    Object.assign(out, {
      [`mq${qos}FeedP50`]: g(`mqtt.qos.${qos}.feed.p50`),
      [`mq${qos}FeedP99`]: g(`mqtt.qos.${qos}.feed.p99`),
      [`mq${qos}FireP50`]: g(`mqtt.qos.${qos}.fire.p50`),
      [`mq${qos}BareP50`]: g(`mqtt.qos.${qos}.bare.p50`),
      [`mq${qos}BareP99`]: g(`mqtt.qos.${qos}.bare.p99`),
      [`mq${qos}Ratio`]: g(`mqtt.qos.${qos}.ratioP50`),
      [`mq${qos}RatioP99`]: g(`mqtt.qos.${qos}.ratioP99`),
      [`mq${qos}Diff`]: g(`mqtt.qos.${qos}.diffP50`),
      [`mq${qos}Lost`]: list.reduce((a, x) => a + (x.mqtt?.qos?.[qos]?.lostFeed ?? 0), 0),
      [`mq${qos}LostBare`]: list.reduce((a, x) => a + (x.mqtt?.qos?.[qos]?.lostBare ?? 0), 0),
    });
  }
  out.mqBurstFeed = g('mqtt.qos.0.burst.feedPerSecond');
  out.mqBurstBare = g('mqtt.qos.0.burst.barePerSecond');
  out.mqBurstRatio = g('mqtt.qos.0.burst.ratio');
  out.mqSent = list.reduce((a, x) => a + (x.config?.messages ?? 0) * 2, 0);
  return out;
}
const F = figures(raw);
const FC = rawCompare === undefined ? undefined : figures(rawCompare);
// The reference proxy: measured in this run when a checkout was given, else anchor #37b (bench/lib/anchors.mjs).
const owMeasured = Number.isFinite(F.owListen);
const ow = owMeasured ? { listen: F.owListen, answer: F.owAnswer, runP50: F.owRunP50 } : { listen: 110, answer: NaN, runP50: 330 };
const errors =
  raw.invoke.reduce((a, x) => a + x.errors, 0) +
  [...raw.backlog.small, ...raw.backlog.large].reduce((a, x) => a + x.failed + x.rejected, 0) +
  Object.values(raw.cold).flat().reduce((a, x) => a + x.errors, 0) +
  raw.durable.reduce((a, x) => a + x.errors, 0) +
  raw.feeds.reduce((a, x) => a + x.errors, 0);
const usedPrewarm = raw.cold.prewarm.reduce((a, x) => a + x.prewarmImmediate.usedPrewarm + x.prewarmSettled.usedPrewarm, 0);
const prewarmSamples = raw.cold.prewarm.reduce((a, x) => a + 2 * x.samples, 0);

// ---- table --------------------------------------------------------------------------------------------------------
const fmt = (v, digits) => {
  if (!Number.isFinite(v)) return 'n/a';
  if (digits === undefined) digits = Math.abs(v) >= 1000 ? 0 : Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
};
const ratio = (a, b) => a / b;
const check = (ok) => (ok ? 'PASS' : 'FAIL');
const invCfg = raw.invoke[0].config;
const nodeRed = raw.flow[0]?.config?.nodeRed ?? '?';
let mqttVersion = '?';
try {
  mqttVersion = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'mqtt', 'package.json'), 'utf8')).version;
} catch {}
const dsCfg = raw.durable[0]?.config;
const dsFs = dsCfg?.filesystem?.type === undefined ? '?' : `${dsCfg.filesystem.type} (${dsCfg.filesystem.device})`;
const mib = (bytes) => bytes / 2 ** 20;
const fdCfg = raw.feeds[0]?.config;
const brokerVersion = raw.feeds[0]?.mqtt?.broker?.version ?? '?';
const signed = (v, digits) => `${v >= 0 ? '+' : ''}${fmt(v, digits)}`;
function rowsFor(F, withDocker) {
  return [
    { section: 'Warm invoke, worker runtime (no-op action, blocking, result only)' },
    { metric: 'engine latency c1 p50', value: `${fmt(F.engP50)} µs`, anchor: 'OpenWhisk warm /run 2 ms (#12); container HTTP 107 µs (#36)' },
    { metric: 'engine latency c1 p99', value: `${fmt(F.engP99)} µs`, anchor: `p95 ${fmt(F.engP95)} µs, mean ${fmt(F.engMean)} µs` },
    { metric: 'bare worker round trip p50', value: `${fmt(F.bareP50)} µs`, anchor: '~10 µs (#45, Node 14 desktop); 48.7 µs (#46)' },
    { metric: 'bare worker round trip p99', value: `${fmt(F.bareP99)} µs`, anchor: '71 µs (#46)' },
    { metric: 'ratio engine p50 / bare p50', value: `${fmt(ratio(F.engP50, F.bareP50), 2)}×`, target: '≤ 2×', verdict: check(ratio(F.engP50, F.bareP50) <= 2) },
    { metric: 'ratio engine p99 / bare p99', value: `${fmt(ratio(F.engP99, F.bareP99), 2)}×`, anchor: 'informational' },
    { metric: 'engine throughput c1', value: `${fmt(F.engThrC1)} /s`, anchor: `bare c1 ${fmt(F.bareThrC1)} /s (ratio ${fmt(ratio(F.bareThrC1, F.engThrC1), 2)}×)` },
    {
      metric: 'engine throughput c32, 1 worker (limits.concurrency 32)',
      value: `${fmt(F.engThrC32conc)} /s`,
      target: '≥ 10,000 /s',
      verdict: check(F.engThrC32conc >= 10_000),
      anchor: `latency p50 ${fmt(F.engC32concP50 / 1000, 2)} ms, p99 ${fmt(F.engC32concP99 / 1000, 2)} ms`,
    },
    {
      metric: 'engine throughput c32, 4 workers (concurrency 1, budget 1024/256 MB)',
      value: `${fmt(F.engThrC32pool)} /s`,
      target: '≥ 10,000 /s',
      verdict: check(F.engThrC32pool >= 10_000),
      anchor: `latency p50 ${fmt(F.engC32poolP50 / 1000, 2)} ms, p99 ${fmt(F.engC32poolP99 / 1000, 2)} ms`,
    },
    { metric: 'bare throughput c32 (32 in flight)', value: `${fmt(F.bareThrC32)} /s`, anchor: `engine best c32 / bare c32 = ${fmt(Math.max(F.engThrC32conc, F.engThrC32pool) / F.bareThrC32, 3)}` },
    { metric: 'bare throughput pipelined', value: `${fmt(F.barePipelined)} /s`, anchor: '1.4 M/s (#46)' },
    { section: 'Queue backlog (non-blocking no-op invocations, wait for all activation:completed)' },
    { metric: 'cost per invocation, N = 100', value: `${fmt(F.smallCost, 2)} µs`, anchor: `median of ${raw.backlog.small[0].batches}×${rounds} batches; mean ${fmt(F.smallCostMean, 2)} µs` },
    { metric: 'cost per invocation, N = 100,000', value: `${fmt(F.largeCost, 2)} µs`, anchor: `${rounds} batch(es); peak RSS ${fmt(F.largePeakRssMiB, 0)} MiB` },
    { metric: 'ratio 100,000 / 100', value: `${fmt(ratio(F.largeCost, F.smallCost), 2)}×`, target: '≤ 1.5×', verdict: check(ratio(F.largeCost, F.smallCost) <= 1.5) },
    { metric: 'ratio 100,000 / 100 (vs mean of N = 100)', value: `${fmt(ratio(F.largeCost, F.smallCostMean), 2)}×`, anchor: 'informational' },
    { metric: 'enqueue only per invocation, N = 100', value: `${fmt(F.smallEnq, 2)} µs`, anchor: 'p-queue 0.5-1.8 µs/task at small backlogs (#57)' },
    { metric: 'enqueue only per invocation, N = 100,000', value: `${fmt(F.largeEnq, 2)} µs`, anchor: 'denque push+shift 4 ns (#56)' },
    { metric: 'ratio enqueue 100,000 / 100', value: `${fmt(ratio(F.largeEnq, F.smallEnq), 2)}×`, anchor: 'informational' },
    { section: 'Cold start, worker runtime (fresh engine and action per sample)' },
    { metric: 'bare new Worker() → first message', value: `${fmt(F.bareStart)} ms`, anchor: '15.9 ms (#48); 43 ms (#47)' },
    { metric: 'bare first round trip after start', value: `${fmt(F.bareFirstRt, 2)} ms`, anchor: 'informational' },
    { metric: 'cold first invoke (prewarmCount 0)', value: `${fmt(F.coldFirst)} ms`, anchor: `waitTime ${fmt(F.coldWait, 0)} ms, initTime ${fmt(F.coldInit, 0)} ms; next invoke ${fmt(F.coldSecond, 2)} ms` },
    { metric: 'ratio cold / bare worker start', value: `${fmt(ratio(F.coldFirst, F.bareStart), 2)}×`, anchor: 'informational' },
    { metric: 'prewarm ready after createEngine', value: `${fmt(F.preReady)} ms`, anchor: 'pool.prewarm ≥ 1' },
    { metric: 'prewarmed first invoke, immediately', value: `${fmt(F.preFirst)} ms`, anchor: `waitTime ${fmt(F.preWait, 0)} ms, initTime ${fmt(F.preInit, 0)} ms; OpenWhisk nodejs:6 init 44 / wait 27 ms (#13)` },
    { metric: 'prewarmed first invoke, 250 ms after ready', value: `${fmt(F.setFirst)} ms`, anchor: `waitTime ${fmt(F.setWait, 0)} ms, initTime ${fmt(F.setInit, 0)} ms` },
    { metric: 'ratio cold / prewarmed (immediate)', value: `${fmt(ratio(F.coldFirst, F.preFirst), 2)}×`, anchor: `settled: ${fmt(ratio(F.coldFirst, F.setFirst), 2)}×` },
    {
      metric: 'ratio prewarmed first invoke (250 ms after ready) / bare worker start',
      value: `${fmt(ratio(F.setFirst, F.bareStart), 2)}×`,
      target: '≤ 0.25×',
      verdict: check(ratio(F.setFirst, F.bareStart) <= 0.25),
      anchor: `immediately after ready: ${fmt(ratio(F.preFirst, F.bareStart), 2)}×`,
    },
    { section: `Through Node-RED ${nodeRed} (embedded runtime): source → node → sink, no-op` },
    { metric: 'edgewhisk-action throughput (burst)', value: `${fmt(F.flowAction)} msg/s`, anchor: 'worker runtime, action limits.concurrency 64' },
    { metric: 'function node throughput (burst)', value: `${fmt(F.flowFunction)} msg/s`, anchor: 'one pass-through function node 57k msg/s (#52)' },
    { metric: 'ratio action / function node', value: `${fmt(F.flowRatio, 2)}×`, target: '≥ 0.5×', verdict: check(F.flowRatio >= 0.5) },
    { metric: 'edgewhisk-action latency p50 / p99', value: `${fmt(F.flowActionP50)} / ${fmt(F.flowActionP99)} µs`, anchor: 'one message in flight' },
    { metric: 'function node latency p50 / p99', value: `${fmt(F.flowFunctionP50)} / ${fmt(F.flowFunctionP99)} µs`, anchor: '~8 µs per function-node hop (#53)' },
    { section: `Process runtime and the Node.js action proxy (reference proxy: ${owMeasured ? 'apache/openwhisk-runtime-nodejs core/nodejsActionBase, measured in this run' : 'anchor #37b, not measured here'})` },
    { metric: 'engine latency, process runtime, p50 / p99', value: `${fmt(F.procEngineP50)} / ${fmt(F.procEngineP99)} µs`, anchor: 'no-op, blocking, keep-alive HTTP on loopback' },
    { metric: 'bare round trip to a running proxy, p50 / p99', value: `${fmt(F.procBareP50)} / ${fmt(F.procBareP99)} µs`, anchor: 'same transport; calls interleaved with the engine\'s' },
    { metric: 'ratio engine p50 / bare p50', value: `${fmt(F.procRatio, 2)}×`, target: '≤ 2×', verdict: check(F.procRatio <= 2) },
    { metric: 'EdgeWhisk proxy: spawn → listening', value: `${fmt(F.proxyListen)} ms`, anchor: `reference ${fmt(ow.listen)} ms` },
    { metric: 'EdgeWhisk proxy: spawn → first /run answered', value: `${fmt(F.proxyAnswer)} ms`, anchor: `reference ${fmt(ow.answer)} ms` },
    { metric: 'ratio start (listening) EdgeWhisk / reference', value: `${fmt(F.proxyListen / ow.listen, 2)}×`, target: '≤ 0.5×', verdict: check(F.proxyListen / ow.listen <= 0.5) },
    { metric: 'EdgeWhisk proxy warm /run p50 / p99', value: `${fmt(F.proxyRunP50)} / ${fmt(F.proxyRunP99)} µs`, anchor: `reference ${fmt(ow.runP50)} µs p50${owMeasured ? `, p99 ${fmt(F.owRunP99)} µs` : ''}` },
    { metric: 'ratio warm /run p50 EdgeWhisk / reference', value: `${fmt(F.proxyRunP50 / ow.runP50, 2)}×`, target: '≤ 0.5×', verdict: check(F.proxyRunP50 / ow.runP50 <= 0.5) },
    { metric: 'cold start, process container', value: `${fmt(F.procCold)} ms`, anchor: `initTime ${fmt(F.procColdInit, 0)} ms; Docker Node cold ~212-381 ms (#26, #34)` },
    { metric: 'prewarmed process container', value: `${fmt(F.procPrewarmed)} ms`, anchor: `initTime ${fmt(F.procPrewarmedInit, 0)} ms` },
    ...(withDocker
      ? [
          { section: `Docker runtime (${raw.docker[0]?.config?.image ?? '?'}, Docker ${raw.docker[0]?.config?.dockerVersion ?? '?'}, runc, Unix socket per container)` },
          { metric: 'cold start: invoke of a new action → result', value: `${fmt(F.dkColdEngine)} ms`, anchor: 'create, start, proxy listening, /init, /run; Lean OpenWhisk on a Pi 4 3.37-3.55 s (#6)' },
          { metric: 'bare: same create body → first /run answered (dockerode)', value: `${fmt(F.dkColdBare)} ms`, anchor: `listening after ${fmt(F.dkColdBareListening)} ms; docker run → first HTTP 200 212 ms (#34)` },
          { metric: 'ratio cold engine / bare', value: `${fmt(ratio(F.dkColdEngine, F.dkColdBare), 2)}×`, target: '≤ 1.5×', verdict: check(ratio(F.dkColdEngine, F.dkColdBare) <= 1.5) },
          { metric: 'warm invoke p50 / p99 (no-op, blocking)', value: `${fmt(F.dkWarmEngineP50)} / ${fmt(F.dkWarmEngineP99)} µs`, anchor: 'Lean OpenWhisk warm hop 31-39 ms on a Pi 4 (#5); OpenWhisk warm /run 2 ms (#12)' },
          { metric: 'bare /run to the same container, same socket, p50 / p99', value: `${fmt(F.dkWarmBareP50)} / ${fmt(F.dkWarmBareP99)} µs`, anchor: 'calls interleaved with the engine\'s' },
          { metric: 'ratio warm engine p50 / bare p50', value: `${fmt(ratio(F.dkWarmEngineP50, F.dkWarmBareP50), 2)}×`, target: '≤ 3×', verdict: check(ratio(F.dkWarmEngineP50, F.dkWarmBareP50) <= 3) },
          { metric: 'resume from pause → result', value: `${fmt(F.dkResumeEngine)} ms`, anchor: `bare unpause + /run ${fmt(F.dkResumeBare)} ms; CLI unpause + /run 20.6 ms (#35)` },
          { metric: 'throughput c8 / c32, one container per caller (no-op)', value: `${fmt(F.dkNoopC8)} / ${fmt(F.dkNoopC32)} /s`, anchor: `latency p50 ${fmt(F.dkNoopC8P50, 2)} / ${fmt(F.dkNoopC32P50, 2)} ms` },
          { metric: 'throughput c8 / c32, one container (limits.concurrency = c)', value: `${fmt(F.dkSharedC8)} / ${fmt(F.dkSharedC32)} /s`, anchor: 'no-op' },
          { metric: 'throughput c8 / c32, `sleepy` 30 ms action', value: `${fmt(F.dkSleepyC8)} / ${fmt(F.dkSleepyC32)} /s`, anchor: `p50 ${fmt(F.dkSleepyC8P50)} ms at c8; Lean OpenWhisk 31-35 req/s VM (#7), 13.5-22 req/s Pi 4 (#3)` },
        ]
      : []),
    { section: 'REST API: blocking no-op invokes over HTTP keep-alive on loopback (client in the same process)' },
    { metric: 'HTTP invoke latency c1 p50 / p99', value: `${fmt(F.restP50)} / ${fmt(F.restP99)} µs`, anchor: `in-process engine p50 ${fmt(F.restEngineP50)} µs (same run); Lean OpenWhisk 84-97 ms mean on a VM (#7)` },
    { metric: 'HTTP invokes per second, c1 / c32', value: `${fmt(F.restC1)} / ${fmt(F.restC32)} /s`, anchor: `in-process c32 ${fmt(F.restEngineC32)} /s; Lean OpenWhisk 31-35 req/s VM (#7), 13.5-22 req/s Pi 4 (#3)` },
    { section: `Durable store (SQLite WAL, synchronous=FULL, file on ${dsFs}; memory engine beside it in the same process, no-op, worker runtime)` },
    { metric: 'disk: write 4 KiB + fsync, back to back, p50 / p99', value: `${fmt(F.dsFsyncP50)} / ${fmt(F.dsFsyncP99)} µs`, anchor: `+ fdatasync ${fmt(F.dsFdatasyncP50)} / ${fmt(F.dsFdatasyncP99)} µs; SQLite syncs with fsync (strace)` },
    { metric: 'SQLite commit of one small row, back to back, p50 / p99', value: `${fmt(F.dsCommitP50)} / ${fmt(F.dsCommitP99)} µs`, anchor: 'floor of one durable acceptance' },
    { metric: 'sporadic non-blocking invoke (20 ms apart) → id, memory p50 / p99', value: `${fmt(F.dsSporMemP50)} / ${fmt(F.dsSporMemP99)} µs`, anchor: 'back to back it is ~20-50 µs: the pause makes every call cold' },
    { metric: 'sporadic non-blocking invoke (20 ms apart) → id, durable p50 / p99', value: `${fmt(F.dsSporDurP50)} / ${fmt(F.dsSporDurP99)} µs`, anchor: `in the same rotation: write 4 KiB + fsync p50 ${fmt(F.dsSporFsyncP50)} µs, SQLite commit p50 ${fmt(F.dsSporCommitP50)} µs` },
    {
      metric: 'sporadic durable − memory, p50',
      value: `${fmt(F.dsSporDiffP50)} µs`,
      target: '≤ 1 fsync (sporadic p50)',
      verdict: check(F.dsSporDiffP50 <= F.dsSporFsyncP50),
      anchor: `${fmt(F.dsSporDiffP50 / F.dsSporFsyncP50, 2)}× the sporadic fsync (${fmt(F.dsSporFsyncP50)} µs), ${fmt(F.dsSporDiffP50 / F.dsFsyncP50, 2)}× the back-to-back one; p99 difference ${fmt(F.dsSporDiffP99)} µs`,
    },
    { metric: 'c32 non-blocking until all completed, memory / durable', value: `${fmt(F.dsMemNb)} / ${fmt(F.dsDurNb)} /s`, anchor: '32 callers; limits.concurrency 1, 4 workers' },
    { metric: 'ratio durable / memory, c32 non-blocking', value: `${fmt(F.dsNbRatio, 2)}×`, target: '≥ 0.5×', verdict: check(F.dsNbRatio >= 0.5) },
    { metric: 'c32 blocking (records only), memory / durable', value: `${fmt(F.dsMemB)} / ${fmt(F.dsDurB)} /s`, anchor: `ratio ${fmt(F.dsBRatio, 2)}×` },
    {
      metric: 'disk writes per activation, c32 non-blocking',
      value: `${fmt(F.dsWriteBytes / 1024, 1)} KiB`,
      anchor: `/proc/self/io write_bytes (WAL + checkpoints); wchar ${fmt(F.dsWchar / 1024, 1)} KiB; ${fmt(F.dsCommits, 3)} transactions + ${fmt(F.dsAutocommits, 4)} autocommit prunes per activation (${fmt(1 / F.dsCommits, 2)} activations per commit)`,
    },
    {
      metric: `store file after 1× / 10× activationRetention (${fmt(dsCfg?.retention ?? NaN, 0)})`,
      value: `${fmt(mib(F.dsFirstDb + F.dsFirstWal), 1)} / ${fmt(mib(F.dsEndDb + F.dsEndWal), 1)} MiB`,
      anchor: `database ${fmt(mib(F.dsFirstDb), 2)} → ${fmt(mib(F.dsEndDb), 2)} MiB, WAL ${fmt(mib(F.dsFirstWal), 2)} → ${fmt(mib(F.dsEndWal), 2)} MiB`,
    },
    { metric: `backlog ${fmt(dsCfg?.backlogN ?? NaN, 0)}, memory: ids returned / all completed`, value: `${fmt(F.dsBlMemAccept, 2)} / ${fmt(F.dsBlMemTotal, 2)} s`, anchor: `peak RSS ${fmt(F.dsBlMemPeak, 0)} MiB` },
    {
      metric: `backlog ${fmt(dsCfg?.backlogN ?? NaN, 0)}, durable: ids returned (on disk)`,
      value: `${fmt(F.dsBlDurAccept, 2)} s`,
      anchor: `${fmt(F.dsBlDurAccept / F.dsBlMemAccept, 2)}× memory; then close(0) ${fmt(F.dsBlDurClose, 2)} s; file ${fmt(mib(F.dsBlDurAcceptDb + F.dsBlDurAcceptWal), 1)} MiB holding them`,
    },
    {
      metric: `backlog ${fmt(dsCfg?.backlogN ?? NaN, 0)}, durable: new engine, replay() / all completed`,
      value: `${fmt(F.dsBlDurReplay, 2)} / ${fmt(F.dsBlDurDrain, 2)} s`,
      anchor: `${fmt(F.dsBlDurReplayed, 0)} replayed; drain ${fmt(F.dsBlDurDrain / F.dsBlMemTotal, 2)}× memory's; peak RSS ${fmt(F.dsBlDurPeak, 0)} MiB; file ${fmt(mib(F.dsBlDurDrainDb + F.dsBlDurDrainWal), 1)} MiB after`,
    },
    { section: `Feeds: alarm \`* * * * * *\` and MQTT (mosquitto ${brokerVersion} on 127.0.0.1), rule to a no-op action (worker runtime, prewarmCount 1)` },
    {
      metric: 'bare setTimeout aimed at a boundary: late by p50 / p99',
      value: `${fmt(F.alMemBareP50, 3)} / ${fmt(F.alMemBareP99, 3)} ms`,
      anchor: `same event loop, half-second boundaries, during the memory alarm; during the durable one ${fmt(F.alDurBareP50, 3)} / ${fmt(F.alDurBareP99, 3)} ms`,
    },
    {
      metric: 'alarm, memory store: fire late by p50 / p99',
      value: `${fmt(F.alMemQueuedP50, 3)} / ${fmt(F.alMemQueuedP99, 3)} ms`,
      anchor: `rule invocation queued − second boundary; trigger activation start (Date.now) p50 ${fmt(F.alMemStartP50, 0)} ms vs bare ${fmt(F.alMemBareMsP50, 0)} ms on that clock; accepted (feed:fired) p50 ${fmt(F.alMemAcceptedP50, 3)} ms`,
    },
    {
      metric: 'alarm, memory: fire lateness p50 / bare timer p50',
      value: `${fmt(F.alMemRatio, 2)}×`,
      anchor: `difference ${signed(F.alMemDiff, 3)} ms at p50, ${signed(F.alMemDiffP99, 3)} ms at p99 (the difference is the figure; the ratio divides by ~1 ms)`,
    },
    { metric: 'alarm, memory: end to end (action activation end − boundary) p50 / p99', value: `${fmt(F.alMemEndP50, 0)} / ${fmt(F.alMemEndP99, 0)} ms`, anchor: `activation:completed heard ${fmt(F.alMemCompletedP50, 3)} ms after the boundary (p50)` },
    {
      metric: 'alarm, durable store: fire late by p50 / p99',
      value: `${fmt(F.alDurQueuedP50, 3)} / ${fmt(F.alDurQueuedP99, 3)} ms`,
      anchor: `accepted (feed:fired, rule invocation committed) p50 ${fmt(F.alDurAcceptedP50, 3)} ms, p99 ${fmt(F.alDurAcceptedP99, 3)} ms; trigger start p50 ${fmt(F.alDurStartP50, 0)} ms`,
    },
    {
      metric: 'alarm, durable: fire lateness p50 / bare timer p50',
      value: `${fmt(F.alDurRatio, 2)}×`,
      anchor: `difference ${signed(F.alDurDiff, 3)} ms at p50, ${signed(F.alDurDiffP99, 3)} ms at p99`,
    },
    { metric: 'alarm, durable: end to end p50 / p99', value: `${fmt(F.alDurEndP50, 0)} / ${fmt(F.alDurEndP99, 0)} ms`, anchor: `durable − memory at p50: fire ${signed(F.alDurMinusMemQueued, 3)}, accepted ${signed(F.alDurMinusMemAccepted, 3)}, end to end ${signed(F.alDurMinusMemEnd, 3)} ms` },
    {
      metric: 'alarm: second boundaries with no fire, memory / durable (all rounds)',
      value: `${fmt(F.alMemMissed, 0)} of ${fmt(F.alMemSpanned, 0)} / ${fmt(F.alDurMissed, 0)} of ${fmt(F.alDurSpanned, 0)}`,
      anchor: `counted as errors; lateness trend ${signed(F.alMemSlope, 3)} / ${signed(F.alDurSlope, 3)} ms per fire (least squares)`,
    },
    { metric: 'MQTT qos 0: publish → rule action completed p50 / p99', value: `${fmt(F.mq0FeedP50)} / ${fmt(F.mq0FeedP99)} µs`, anchor: `publish → feed:fired (fire accepted) p50 ${fmt(F.mq0FireP50)} µs` },
    { metric: 'MQTT qos 0: bare subscriber, publish → message p50 / p99', value: `${fmt(F.mq0BareP50)} / ${fmt(F.mq0BareP99)} µs`, anchor: 'same broker and publisher, alternating message by message with the feed\'s' },
    { metric: 'MQTT qos 0: ratio feed p50 / bare p50', value: `${fmt(F.mq0Ratio, 2)}×`, anchor: `difference ${signed(F.mq0Diff)} µs; p99 ratio ${fmt(F.mq0RatioP99, 2)}×` },
    { metric: 'MQTT qos 1: publish → rule action completed p50 / p99', value: `${fmt(F.mq1FeedP50)} / ${fmt(F.mq1FeedP99)} µs`, anchor: `publish → feed:fired p50 ${fmt(F.mq1FireP50)} µs; bare subscriber ${fmt(F.mq1BareP50)} / ${fmt(F.mq1BareP99)} µs` },
    { metric: 'MQTT qos 1: ratio feed p50 / bare p50', value: `${fmt(F.mq1Ratio, 2)}×`, anchor: `difference ${signed(F.mq1Diff)} µs; p99 ratio ${fmt(F.mq1RatioP99, 2)}×` },
    {
      metric: `MQTT burst of ${fmt(fdCfg?.burst ?? NaN, 0)} qos 0 messages: feed → actions completed / bare received`,
      value: `${fmt(F.mqBurstFeed)} / ${fmt(F.mqBurstBare)} msg/s`,
      anchor: `ratio ${fmt(F.mqBurstRatio, 2)}×; default pool (4 workers of 256 MB, limits.concurrency 1)`,
    },
    {
      metric: 'MQTT messages lost, feed / bare (all rounds)',
      value: `${fmt(F.mq0Lost + F.mq1Lost, 0)} / ${fmt(F.mq0LostBare + F.mq1LostBare, 0)}`,
      anchor: `of ${fmt(F.mqSent, 0)} each (qos 0 + qos 1, one at a time; bursts count their own); counted as errors`,
    },
  ];
}
const rows = rowsFor(F, withDocker);
// The same rows measured on the compared Node: only their values are shown, in a column of their own.
if (FC !== undefined) rowsFor(FC, false).forEach((row, i) => { if (!row.section && rows[i]?.metric === row.metric) rows[i].compare = row.value; });

function textTable() {
  const cols = ['metric', 'value', ...(FC === undefined ? [] : ['compare']), 'target', 'verdict', 'anchor'];
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(c.length, ...rows.filter((r) => !r.section).map((r) => String(r[c] ?? '').length))]));
  width.anchor = Math.min(width.anchor, 90);
  const line = (r) => cols.map((c) => String(r[c] ?? '').padEnd(width[c])).join('  ').trimEnd();
  const heading = (c) => (c === 'value' ? `value (${process.version})` : c === 'compare' ? `${compareVersion}` : c);
  for (const c of cols) width[c] = Math.max(width[c], heading(c).length);
  const out = [line(Object.fromEntries(cols.map((c) => [c, heading(c)]))), cols.map((c) => '-'.repeat(width[c])).join('  ')];
  for (const r of rows) out.push(r.section ? `\n${r.section}` : line(r));
  return out.join('\n');
}

const machineLine = `${facts.cpuModel}, ${facts.cores} cores${facts.cpuMHz ? ` @ ${facts.cpuMHz} MHz` : ''}, ${facts.memoryGiB} GiB RAM, ${facts.os}, ${facts.arch}, Node ${facts.node} (V8 ${facts.v8})`;
console.log(`\nEdgeWhisk benchmarks, ${startedAt.toISOString()} (${quick ? 'quick' : 'full'}, ${rounds} round(s), ${fmt(wallSeconds, 1)} s)`);
console.log(`machine: ${machineLine}; load average at start ${facts.loadAvgAtStart.join(' ')}, at end ${loadAvgAtEnd.join(' ')}${facts.cgroupCpuMax ? `; cgroup cpu.max ${facts.cgroupCpuMax}` : ''}`);
console.log(`engine: ${revision} (dist/ as built before the run)${compareVersion === undefined ? '' : `; compared with Node ${compareVersion} (${compareNode})`}`);
console.log(`errors (failed or refused invocations, alarm fires missed, MQTT messages lost; all scenarios): ${errors}; prewarm samples that found a prewarm: ${usedPrewarm}/${prewarmSamples}`);
console.log(`invoke config: ${JSON.stringify(invCfg.engineOptions)}, ${invCfg.callers} callers; ${invCfg.reps} reps × ${invCfg.latencyCalls} sequential calls, ${invCfg.c32Calls} calls per c32 rep`);
console.log();
console.log(textTable());

if (typeof args.json === 'string') {
  writeFileSync(args.json, JSON.stringify({ machine: { ...facts, loadAvgAtEnd }, revision, startedAt, quick, rounds, wallSeconds, figures: F, errors, raw, ...(rawCompare === undefined ? {} : { compare: { node: compareVersion, figures: FC, raw: rawCompare } }) }, null, 2));
  console.log(`\nraw results: ${args.json}`);
}

// ---- BENCHMARKS.md ------------------------------------------------------------------------------------------------
if (args.write === true) {
  const md = [];
  md.push('# EdgeWhisk benchmarks', '');
  md.push(`Generated by \`npm run bench -- --write\`${quick ? ' with `--quick`' : ''} on ${startedAt.toISOString().slice(0, 10)} (${startedAt.toISOString()}); ${rounds} round(s), ${fmt(wallSeconds, 0)} s wall time.`);
  md.push('Indicative figures from one machine: compare ratios, not absolute numbers, across machines.', '');
  md.push(`Engine measured: ${revision}, from \`dist/\`.`, '');
  md.push('## Machine', '');
  md.push(`- CPU: ${facts.cpuModel}, ${facts.cores} cores${facts.cpuMHz ? ` @ ${facts.cpuMHz} MHz` : ''}${facts.cgroupCpuMax ? ` (cgroup cpu.max ${facts.cgroupCpuMax})` : ''}`);
  md.push(`- Memory: ${facts.memoryGiB} GiB`);
  md.push(`- OS: ${facts.os}, ${facts.arch}`);
  md.push(`- Node.js ${facts.node} (V8 ${facts.v8})${compareVersion === undefined ? '' : `; every scenario but Docker's also on Node.js ${compareVersion}, its figures in their own column`}`);
  md.push(`- Node-RED ${nodeRed} for the flow scenario`);
  const dockerCfg = raw.docker[0]?.config;
  if (dockerCfg) md.push(`- Docker ${dockerCfg.dockerVersion} (${dockerCfg.storageDriver}, cgroup v${dockerCfg.cgroupVersion}, ${dockerCfg.ociRuntime})`);
  md.push(`- Load average at start: ${facts.loadAvgAtStart.join(' ')}, at end: ${loadAvgAtEnd.join(' ')} (shared VM)`, '');
  md.push('## Method', '');
  md.push(
    '- Every scenario runs in a fresh `node --expose-gc` child process (`bench/run.mjs`); compared variants alternate their order across rounds (backlog small/large swap; cold/prewarm/bare rotate), and inside `invoke-worker` the engine and bare segments swap order every repetition. Figures are medians across rounds of per-process medians; GC is forced only between measured segments, never inside one.',
    `- \`bench/invoke-worker.bench.mjs\`: action \`function main(){return {}}\` on the worker runtime, \`engine.actions.invoke({name, blocking: true, result: true})\`; engine \`${JSON.stringify(invCfg.engineOptions)}\`, other options default. c1: ${invCfg.reps} repetitions × ${invCfg.latencyCalls} sequential calls after ${invCfg.warmup} warm-up calls, latency by \`process.hrtime.bigint\` per call. c32: 32 async callers each looping blocking invokes, ${invCfg.c32Calls} calls per repetition, two configurations: one worker with the action's \`limits.concurrency: 32\`, and the default \`limits.concurrency: 1\` where the 1024 MB budget holds 4 workers of 256 MB. Bare limit in the same process: a worker with the same options echoes \`{id, value: {}}\`; sequential round trips, 32 in flight, and pipelined (${invCfg.pipelined} posted back to back).`,
    `- \`bench/queue-backlog.bench.mjs\`: engine \`${JSON.stringify(raw.backlog.small[0].config.engineOptions)}\` (4 workers of 256 MB, dispatchConcurrency 64). N non-blocking invokes issued in one synchronous loop, then wait for N \`activation:completed\` events (a counting listener; note that any listener makes the engine build the API view of each record). Cost = (loop + drain) / N; enqueue only = loop / N. N = 100 repeated ${raw.backlog.small[0].batches} times per process; N = 100,000 once per process. Same warm-up for both sizes.`,
    `- \`bench/cold-start.bench.mjs\`: a fresh engine and a fresh action per sample (${raw.cold.cold[0].samples} samples per process after one unmeasured sample). Cold: \`prewarmCount: 0\`, time of the first blocking invoke. Prewarm: \`prewarmCount: 1\`, poll \`engine.stats().pool.prewarm\` until ≥ 1, then invoke at once or ${raw.cold.prewarm[0].settleMs} ms later. \`waitTime\`/\`initTime\` are the activation's annotations. Bare: \`new Worker()\` (same options) until its first message.`,
    `- \`bench/flow.bench.mjs\`: a real Node-RED ${nodeRed} runtime embedded in the process (no editor, no admin HTTP), the bundle loaded from this checkout as a user-directory module. Messages enter the first node with \`node.receive()\`; the sink is a function node handing each message to the harness. Burst: N messages sent at once, time until the sink has all N (${raw.flow[0]?.config?.burst ?? '?'} per repetition). Latency: one message in flight. Action: \`function main(p) { return p; }\`, blocking, worker runtime, \`limits.concurrency\` 64; function node: \`return msg;\`. Order alternates each repetition.`,
    `- \`bench/process.bench.mjs\`: the Node.js proxy alone (spawn until its port accepts a connection, polled every 1 ms; spawn until init + first /run answered; warm /run of an echo action over one keep-alive connection), next to OpenWhisk's own Node.js proxy (\`core/nodejsActionBase\` of apache/openwhisk-runtime-nodejs, run from a local checkout with \`--ow-proxy=…\`, not part of this repository) when given; engine invocations on the process runtime alternating call by call with bare /run calls to another running proxy over the same transport; cold and prewarmed process containers through the engine.`,
    ...(withDocker
      ? [
          '- `bench/docker.bench.mjs`: the Docker runtime on the local daemon with EdgeWhisk\'s Node.js image (built offline from this machine\'s node). Cold: a new action invoked through an engine that has reached the daemon once (ping, sweep, image inspected), until its result, alternating with the bare path done with dockerode: the same hardened create body, start, poll the per-container Unix socket every 1 ms, POST /init, POST /run; samples alternate which goes first. Warm: blocking no-op invocations through the engine alternating call by call with bare POST /run to the same container over the same socket (keep-alive). Resume: the engine pauses after a 50 ms grace; each sample waits for the pause plus 100 ms, then times the invocation; bare: dockerode unpause + POST /run. Throughput: callers looping blocking invocations after warm-up bursts that start every container, with 128 MB actions and a budget of one container per caller, or one container with `limits.concurrency` = callers; `sleepy` is Lean OpenWhisk\'s harness action (setTimeout 30 ms).',
        ]
      : []),
    '- `bench/rest.bench.mjs`: a standalone server (engine + REST API) in the benchmark process, `POST /api/v1/namespaces/_/actions/noop?blocking=true&result=true` over a keep-alive agent (32 sockets), the action with `limits.concurrency` 32; c1 sequential, c32 32 callers; the same calls through `engine.actions.invoke` alternate with them.',
    `- \`bench/durable-store.bench.mjs\`: one process per round; store files in a fresh folder under the OS temp folder (${dsFs}), engines \`${JSON.stringify(dsCfg?.engineOptions)}\` with \`store: <file>\` or \`'memory'\`, action \`function main(){return {}}\` (worker runtime, default limits: 4 workers). Physical limit first: ${dsCfg?.syncCalls} × (write 4 KiB in place + \`fs.fsyncSync\`, or \`fdatasyncSync\`), and ${dsCfg?.syncCalls} autocommit INSERTs of one small row into a SQLite database with the engine's settings (WAL, synchronous=FULL). Sporadic: ${dsCfg?.sporadic} rotations of four calls, each followed by a ${dsCfg?.pauseMs} ms pause — a non-blocking invoke on the memory engine and on the durable engine (time until the id is returned; each waits for its activation to complete before the pause), one bare SQLite commit, one bare write + fsync; the rotation's start moves every call. c32: 32 async callers loop non-blocking invokes until ${dsCfg?.c32N} are issued, time until ${dsCfg?.c32N} \`activation:completed\`; then 32 callers of blocking invokes (\`result: true\`); memory and durable alternate which goes first, ${dsCfg?.c32Reps} repetitions, medians. Disk writes: \`/proc/self/io\` before and after ${dsCfg?.bytesN} c32 non-blocking activations on an engine with \`activationRetention: ${dsCfg?.retention}\` (write_bytes: page-cache bytes dirtied for the disk, WAL and checkpoints included); transactions counted by hooks on \`node:sqlite\` installed for that segment only (\`COMMIT\` through \`DatabaseSync#exec\`, and \`StatementSync#run\` writes outside a transaction); database and WAL sizes after every ${dsCfg?.retention}. Backlog: ${dsCfg?.backlogN} non-blocking invokes issued in one loop, time until every id is returned; the durable engine is then closed with \`close(0)\` (all stay accepted on disk), a new engine opens the file with \`replay: 'manual'\`, time of \`replay()\` and until every replayed invocation has completed; the memory engine's backlog of the same size in the same process (time until all completed); order alternates per round; peak RSS sampled every 50 ms.`,
    `- \`bench/feeds.bench.mjs\`: one process per round, engines \`${JSON.stringify(fdCfg?.engineOptions)}\`, action \`function main(){return {}}\` (worker runtime, default limits), a trigger and a rule to it. Alarm: \`/whisk.system/alarms/alarm\` with \`cron: '* * * * * *'\` on a memory engine and on a durable one (\`store: <file>\` under the OS temp folder), one after the other, order alternated per round; ${fdCfg?.warmupFires} warm-up fires then ${fdCfg?.fires} measured fires each. Per fire, against the second boundary it fired for (the trigger activation's \`start\` floored to the second): "fire late by" = when the rule's invocation was queued (\`activation:queued\`, read with \`performance.now\` mapped onto Date.now at a ms step found by spinning, the mapping taken again at every bare timer wake, the largest of the last five used); trigger \`start\` (Date.now, ms); accepted = \`feed:fired\` (after the rule's invocation was durable); end to end = the rule's action activation \`end\` (Date.now, ms). Physical limit in the same process and event loop, all along: a bare setTimeout chain aimed at the half-second boundaries like the alarm's clock (\`setTimeout(target − Date.now())\`, unref'd, waiting on when it wakes before Date.now reaches the target), its lateness read the same two ways (mapped \`performance.now\`, and Date.now); ratio and difference use the samples taken during the same engine's measured fires. A second boundary between two measured fires with no fire counts as an error. MQTT: mosquitto ${brokerVersion} on 127.0.0.1 and a free port (no persistence, \`bench/lib/mosquitto.mjs\`), a memory engine with \`/whisk.system/mqtt/subscribe\` on \`bench/#\` at qos 0, then qos 1 (order alternated per round); MQTT.js ${mqttVersion} publisher and bare subscriber (\`bare/#\`, same qos), each on its own connection, as the feed's. ${fdCfg?.warmupMessages} warm-up then ${fdCfg?.messages} messages per path, one at a time, feed and bare alternating message by message (which goes first alternates); latency = publish call → the rule's action \`activation:completed\` (matched to the message by the id in its payload, through the trigger activation's result and logs), bare = publish call → the subscriber's 'message' event; a message not through within ${(fdCfg?.lostAfterMs ?? NaN) / 1000} s is lost (an error). Burst: ${fdCfg?.burst} qos 0 messages published back to back, time until ${fdCfg?.burst} action activations have completed, vs until the bare subscriber has received ${fdCfg?.burst}; one unmeasured burst each, then ${fdCfg?.burstReps} repetitions alternating which goes first, medians.`,
    '- Anchors (#n) are published or indicative figures, listed with their sources below; they are sanity checks, not targets, except where a target is given.',
    '',
  );
  md.push('## Results', '');
  md.push(`Errors (failed or refused invocations, alarm fires missed, MQTT messages lost; all scenarios): ${errors}. Prewarm samples that found a prewarmed container: ${usedPrewarm}/${prewarmSamples}.`, '');
  const compareHead = compareVersion === undefined ? '' : ` Node ${compareVersion} |`;
  md.push(`| metric | Node ${facts.node} |${compareHead} target | verdict | anchor / note |`, `|---|---|${compareVersion === undefined ? '' : '---|'}---|---|---|`);
  for (const r of rows) {
    const compare = compareVersion === undefined ? '' : ` ${r.compare ?? ''} |`;
    if (r.section) md.push(`| **${r.section}** | |${compareVersion === undefined ? '' : ' |'} | | |`);
    else md.push(`| ${r.metric} | ${r.value} |${compare} ${r.target ?? ''} | ${r.verdict ?? ''} | ${(r.anchor ?? '').replace(/\|/g, '\\|')} |`);
  }
  md.push('', '## Anchors', '', 'Indicative rows were measured by the project on a 2-vCPU AMD EPYC VM (Node 20, Docker 20.10 with runc, Node-RED 4.1): order-of-magnitude checks, not published results.', '', '| # | figure | source |', '|---|---|---|');
  for (const [id, figure, source] of ANCHOR_SOURCES) md.push(`| ${id} | ${figure} | ${source} |`);
  md.push('', '## Reproduce', '', '```sh', 'npm run bench               # full run, ~3 min', 'node bench/run.mjs --quick  # < 40 s', 'npm run bench -- --write    # rewrites this file', '# CPU profile of the warm invoke path (main thread and every worker):', 'node --cpu-prof --cpu-prof-dir=/tmp/ew-prof bench/tools/profile-invoke.mjs --mode=c1', 'node bench/tools/cpuprofile-top.mjs /tmp/ew-prof', '```', '');
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), md.join('\n'));
  console.log(`\nwrote ${join(ROOT, 'BENCHMARKS.md')}`);
}
