// What the durable store (`createEngine({store: file})`, docs/durability.md) costs, next to the physical limit of
// the disk it writes to, measured in the same process and run:
//
//   1. fsync cost: write 4 KiB + fdatasync / fsync, and one SQLite commit of one small row (WAL, synchronous=FULL):
//      the floor of a durable acceptance.
//   2. sporadic non-blocking invokes (one at a time, a pause between): time until the id is returned, memory engine
//      vs durable engine vs the bare SQLite commit, call by call in rotation.
//   3. throughput at c32: 32 callers looping non-blocking invokes until N activations have completed, and the same
//      with blocking invokes (records only); memory vs durable, order alternated per repetition.
//   4. disk writes per activation (/proc/self/io) and SQLite transactions per activation under the c32 load, with a
//      small activationRetention, and the database + WAL sizes as 10× the retention goes through.
//   5. a backlog of 100,000 accepted invocations: accept, close the engine with all of them queued, open a new engine
//      on the file and replay + drain them; the memory engine's 100,000 backlog in the same process for comparison.
//
//   node --expose-gc bench/durable-store.bench.mjs [--quick] [--round=N]
//
// The store files live in a fresh folder under os.tmpdir() (its filesystem is reported), removed at the end.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, StatementSync } from 'node:sqlite';
import { emit, loadEngine, log, median, now, parseArgs, settleGc, sleep, summarize } from './lib/common.mjs';

const args = parseArgs();
const quick = args.quick === true;
const round = Number(args.round ?? 0);
const cfg = quick
  ? { syncCalls: 100, sporadic: 40, pauseMs: 20, c32N: 5000, c32Reps: 1, callers: 32, bytesN: 10_000, retention: 1000, backlogN: 20_000 }
  : { syncCalls: 200, sporadic: 100, pauseMs: 20, c32N: 10_000, c32Reps: 3, callers: 32, bytesN: 20_000, retention: 2000, backlogN: 100_000 };
const CODE = 'function main(){return {}}';

const { createEngine } = loadEngine();
const dir = fs.mkdtempSync(join(os.tmpdir(), 'ew-bench-durable-'));
const file = (name) => join(dir, name);
// Queue bounds above every burst here (as queue-backlog): 32 callers of non-blocking invokes on the memory engine
// outrun the workers and build a backlog of up to N, which must not be refused.
const ENGINE_OPTIONS = { prewarmCount: 0, maxQueued: 200_000, concurrentInvocations: 200_000 };

function filesystem(path) {
  try {
    const [, line] = execFileSync('df', ['-PT', path], { encoding: 'utf8' }).trim().split('\n');
    const [device, type, , , , , mount] = line.split(/\s+/);
    return { device, type, mount };
  } catch (error) {
    return { error: String(error) };
  }
}

/** /proc/self/io counters (Linux); undefined elsewhere. write_bytes: bytes this process dirtied in the page cache
 * for the storage layer (the WAL, the checkpoints into the database file); wchar: bytes passed to write(). */
function processIo() {
  try {
    const out = {};
    for (const line of fs.readFileSync('/proc/self/io', 'utf8').split('\n')) {
      const [k, v] = line.split(':');
      if (v !== undefined) out[k.trim()] = Number(v);
    }
    return out;
  } catch {
    return undefined;
  }
}

const sizeOf = (path) => {
  try {
    return fs.statSync(path).size;
  } catch {
    return 0;
  }
};
const storeSize = (path) => ({ db: sizeOf(path), wal: sizeOf(`${path}-wal`) });

let errors = 0;

// ---- 1. the physical limit ------------------------------------------------------------------------------------------
function syncLoop(sync, calls) {
  const path = file(`sync-${sync.name}`);
  const fd = fs.openSync(path, 'w');
  const block = Buffer.alloc(4096, 7);
  // 64 KiB written and synced first, then 4 KiB blocks rewritten in place: the file does not grow, as a WAL that
  // has been reset after a checkpoint (appending would add a metadata update to every sync).
  fs.writeSync(fd, Buffer.alloc(65536, 1), 0, 65536, 0);
  fs.fsyncSync(fd);
  const lat = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const s = now();
    fs.writeSync(fd, block, 0, 4096, (i % 16) * 4096);
    sync(fd);
    lat[i] = Number(now() - s) / 1e3;
  }
  fs.closeSync(fd);
  fs.rmSync(path);
  return summarize(lat);
}

/** One SQLite database configured as the engine's (src/store/sqlite-database.ts), one small row per commit. */
function openFloor() {
  const db = new DatabaseSync(file('floor.db'));
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS t (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, v TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO t (id, v) VALUES (?, ?)');
  let n = 0;
  return {
    /** µs for one autocommit INSERT: one transaction, one WAL append, one sync of the WAL. */
    commit() {
      const s = now();
      insert.run(`row-${n++}-${round}`, '{"payload":{}}');
      return Number(now() - s) / 1e3;
    },
    close: () => db.close(),
  };
}

function sqliteCommitLoop(floor, calls) {
  const lat = new Float64Array(calls);
  for (let i = 0; i < calls; i++) lat[i] = floor.commit();
  return summarize(lat);
}

// ---- engines --------------------------------------------------------------------------------------------------------
async function makeEngine(options) {
  const engine = createEngine({ ...ENGINE_OPTIONS, ...options });
  // An action already in a reopened store is kept (entities are durable); creating it again would be a conflict.
  if ((await engine.actions.list()).every((a) => a.name !== 'noop')) await engine.actions.create({ name: 'noop', action: CODE });
  // One counting listener per engine: completions by id (sporadic) and a running count (bursts). Any listener makes
  // the engine build the API view of each record: the same for the memory and the durable engine.
  const state = { engine, completed: 0, failed: 0, waiting: new Map(), until: undefined };
  engine.on('activation:completed', (activation) => {
    if (!activation.response.success) state.failed++;
    count(state);
    const resolve = state.waiting.get(activation.activationId);
    if (resolve !== undefined) {
      state.waiting.delete(activation.activationId);
      resolve();
    }
  });
  return state;
}

/** One more activation done (or refused, so that no wait hangs on it). */
function count(state) {
  state.completed++;
  if (state.until !== undefined && state.completed >= state.until.target) {
    state.until.resolve();
    state.until = undefined;
  }
}

/** Resolves once `state` has counted `target` completions in total (told by the listener, no polling). */
function completions(state, target) {
  if (state.completed >= target) return Promise.resolve();
  return new Promise((resolve) => (state.until = { target, resolve }));
}

/** `callers` async callers looping non-blocking invokes until `n` are issued; times ids and completions. */
async function burstNonBlocking(state, n, callers = cfg.callers) {
  const target = state.completed + n;
  let issued = 0;
  const t0 = now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (issued < n) {
        issued++;
        try {
          await state.engine.actions.invoke({ name: 'noop' });
        } catch {
          errors++;
          count(state); // a refused invoke never completes: counted so the wait below ends
        }
      }
    }),
  );
  const tIds = now();
  await completions(state, target);
  const t2 = now();
  const seconds = Number(t2 - t0) / 1e9;
  return { seconds, idsSeconds: Number(tIds - t0) / 1e9, perSecond: n / seconds };
}

/** `callers` async callers looping blocking invokes (result only) until `n` are done. */
async function burstBlocking(state, n, callers = cfg.callers) {
  let issued = 0;
  const t0 = now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (issued < n) {
        issued++;
        try {
          await state.engine.actions.invoke({ name: 'noop', blocking: true, result: true });
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = Number(now() - t0) / 1e9;
  return { seconds, perSecond: n / seconds };
}

/** One non-blocking invoke: µs until its id is returned; then waits for its completion, so calls never overlap. */
async function sporadicOne(state) {
  const s = now();
  let activationId;
  try {
    ({ activationId } = await state.engine.actions.invoke({ name: 'noop' }));
  } catch {
    errors++;
    return NaN;
  }
  const us = Number(now() - s) / 1e3;
  await new Promise((resolve) => state.waiting.set(activationId, resolve));
  return us;
}

// ---- 4. transactions, counted at node:sqlite's API -----------------------------------------------------------------
// GroupCommit.commits is not public, so transactions are counted where every engine write passes: explicit COMMITs
// through DatabaseSync#exec, and statements that write outside a transaction (autocommit: the record pruning every
// 64 commits) through StatementSync#run with the connection not in a transaction. Hooks are installed only around
// segment 4, never around a timed segment, and see only connections opened while they are in place.
const hooks = { commits: 0, autocommits: 0 };
function installHooks() {
  const dbOf = new WeakMap();
  const { exec, prepare } = DatabaseSync.prototype;
  const { run } = StatementSync.prototype;
  DatabaseSync.prototype.exec = function (sql) {
    const result = exec.call(this, sql);
    if (/^\s*COMMIT\s*;?\s*$/i.test(sql)) hooks.commits++;
    return result;
  };
  DatabaseSync.prototype.prepare = function (sql) {
    const statement = prepare.call(this, sql);
    dbOf.set(statement, this);
    return statement;
  };
  StatementSync.prototype.run = function (...params) {
    const db = dbOf.get(this);
    const autocommit = db !== undefined && !db.isTransaction;
    const result = run.apply(this, params);
    if (autocommit && Number(result.changes) > 0) hooks.autocommits++;
    return result;
  };
  return () => {
    Object.assign(DatabaseSync.prototype, { exec, prepare });
    StatementSync.prototype.run = run;
  };
}

// ---- run ------------------------------------------------------------------------------------------------------------
const fsInfo = filesystem(dir);
log(`store folder ${dir} on ${fsInfo.device ?? '?'} (${fsInfo.type ?? '?'}, mounted on ${fsInfo.mount ?? '?'})`);
const result = { scenario: 'durable-store', quick, round, config: { ...cfg, engineOptions: ENGINE_OPTIONS, dir, filesystem: fsInfo } };

// 1. Physical limit, before anything else runs in this process.
const floor = openFloor();
sqliteCommitLoop(floor, 20); // the WAL file exists and the statement is warm
result.physical = {
  fdatasync: syncLoop(fs.fdatasyncSync, cfg.syncCalls),
  fsync: syncLoop(fs.fsyncSync, cfg.syncCalls),
  sqliteCommit: sqliteCommitLoop(floor, cfg.syncCalls),
};
log(
  `write 4 KiB + fdatasync p50 ${result.physical.fdatasync.p50.toFixed(0)} µs (p99 ${result.physical.fdatasync.p99.toFixed(0)}), ` +
    `+ fsync p50 ${result.physical.fsync.p50.toFixed(0)} µs, SQLite commit p50 ${result.physical.sqliteCommit.p50.toFixed(0)} µs`,
);

// 2. + 3. on one memory and one durable engine, both warmed up by the same bursts.
const mem = await makeEngine({ store: 'memory' });
const dur = await makeEngine({ store: file('engine.db') });
for (const state of [mem, dur]) {
  await burstNonBlocking(state, 2000);
  await burstBlocking(state, 2000);
  for (let i = 0; i < 20; i++) await sporadicOne(state);
}
settleGc();

// 2. Sporadic: memory, durable, the bare SQLite commit and a bare write + fsync (SQLite's sync call on Linux, seen with
// strace) in rotation, the start rotating with the call, so disk and machine noise fall on the four alike. After a
// pause every call is slower than back to back (the first call after 20 ms idle pays for cold caches and an idle
// disk queue): the fsync that a sporadic acceptance pays is the sporadic one, so both are reported.
const syncFd = fs.openSync(file('sporadic-sync'), 'w');
fs.writeSync(syncFd, Buffer.alloc(65536, 1), 0, 65536, 0);
fs.fsyncSync(syncFd);
const syncBlock = Buffer.alloc(4096, 7);
let syncCalls = 0;
const spor = { memory: [], durable: [], sqliteCommit: [], fsync: [] };
const sporadicSteps = [
  ['memory', () => sporadicOne(mem)],
  ['durable', () => sporadicOne(dur)],
  ['sqliteCommit', async () => floor.commit()],
  [
    'fsync',
    async () => {
      const s = now();
      fs.writeSync(syncFd, syncBlock, 0, 4096, (syncCalls++ % 16) * 4096);
      fs.fsyncSync(syncFd);
      return Number(now() - s) / 1e3;
    },
  ],
];
for (let i = 0; i < cfg.sporadic; i++) {
  for (let k = 0; k < sporadicSteps.length; k++) {
    const [key, fn] = sporadicSteps[(i + k + round) % sporadicSteps.length];
    spor[key].push(await fn());
    await sleep(cfg.pauseMs);
  }
}
fs.closeSync(syncFd);
floor.close();
result.sporadic = Object.fromEntries(Object.entries(spor).map(([k, v]) => [k, summarize(v.filter(Number.isFinite))]));
result.sporadic.durableMinusMemoryP50 = result.sporadic.durable.p50 - result.sporadic.memory.p50;
result.sporadic.durableMinusMemoryP99 = result.sporadic.durable.p99 - result.sporadic.memory.p99;
log(
  `sporadic id returned p50: memory ${result.sporadic.memory.p50.toFixed(0)} µs, durable ${result.sporadic.durable.p50.toFixed(0)} µs ` +
    `(+${result.sporadic.durableMinusMemoryP50.toFixed(0)}), bare commit ${result.sporadic.sqliteCommit.p50.toFixed(0)} µs, write + fsync ${result.sporadic.fsync.p50.toFixed(0)} µs`,
);

// 3. c32 throughput, memory and durable alternating which goes first.
const reps = [];
for (let r = 0; r < cfg.c32Reps; r++) {
  const order = (r + round) % 2 === 0 ? [['memory', mem], ['durable', dur]] : [['durable', dur], ['memory', mem]];
  const rep = {};
  for (const [key, state] of order) {
    settleGc();
    rep[`${key}NonBlocking`] = await burstNonBlocking(state, cfg.c32N);
  }
  for (const [key, state] of [...order].reverse()) {
    settleGc();
    rep[`${key}Blocking`] = await burstBlocking(state, cfg.c32N);
  }
  log(
    `c32 rep ${r + 1}/${cfg.c32Reps}: non-blocking memory ${Math.round(rep.memoryNonBlocking.perSecond)}/s, durable ${Math.round(rep.durableNonBlocking.perSecond)}/s; ` +
      `blocking memory ${Math.round(rep.memoryBlocking.perSecond)}/s, durable ${Math.round(rep.durableBlocking.perSecond)}/s`,
  );
  reps.push(rep);
}
const repMedian = (key) => median(reps.map((rep) => rep[key].perSecond));
result.c32 = {
  memoryNonBlocking: repMedian('memoryNonBlocking'),
  durableNonBlocking: repMedian('durableNonBlocking'),
  memoryBlocking: repMedian('memoryBlocking'),
  durableBlocking: repMedian('durableBlocking'),
  nonBlockingRatio: median(reps.map((rep) => rep.durableNonBlocking.perSecond / rep.memoryNonBlocking.perSecond)),
  blockingRatio: median(reps.map((rep) => rep.durableBlocking.perSecond / rep.memoryBlocking.perSecond)),
  reps,
};
errors += mem.failed + dur.failed;
await mem.engine.close();
await dur.engine.close();
result.c32.storeAfter = storeSize(file('engine.db'));
settleGc();

// 4. Bytes and transactions per activation under the c32 non-blocking load, with a small retention, 10 × retention
// activations in 10 steps: the file sizes after each show whether the file stays bounded.
{
  const uninstall = installHooks();
  const path = file('bytes.db');
  const state = await makeEngine({ store: path, activationRetention: cfg.retention });
  await burstNonBlocking(state, 500); // warm-up: workers started, statements prepared
  await sleep(20); // the warm-up's last records committed
  const io0 = processIo();
  const c0 = { ...hooks };
  const steps = [];
  const t0 = now();
  for (let done = 0; done < cfg.bytesN; ) {
    const n = Math.min(cfg.retention, cfg.bytesN - done);
    await burstNonBlocking(state, n);
    done += n;
    await sleep(5); // the records of the last turn are committed one turn after their completion
    steps.push({ activations: done, ...storeSize(path) });
  }
  const seconds = Number(now() - t0) / 1e9;
  const io1 = processIo();
  const n = cfg.bytesN;
  result.bytes = {
    activations: n,
    retention: cfg.retention,
    perSecond: n / seconds,
    writeBytesPerActivation: io0 && io1 ? (io1.write_bytes - io0.write_bytes) / n : NaN,
    wcharPerActivation: io0 && io1 ? (io1.wchar - io0.wchar) / n : NaN,
    syscwPerActivation: io0 && io1 ? (io1.syscw - io0.syscw) / n : NaN,
    commitsPerActivation: (hooks.commits - c0.commits) / n,
    autocommitsPerActivation: (hooks.autocommits - c0.autocommits) / n,
    commits: hooks.commits - c0.commits,
    autocommits: hooks.autocommits - c0.autocommits,
    steps,
    afterFirstRetention: steps[0],
    atEnd: steps.at(-1),
  };
  errors += state.failed;
  await state.engine.close();
  uninstall();
  log(
    `bytes: ${result.bytes.writeBytesPerActivation.toFixed(0)} B written per activation (wchar ${result.bytes.wcharPerActivation.toFixed(0)} B), ` +
      `${result.bytes.commitsPerActivation.toFixed(3)} commits + ${result.bytes.autocommitsPerActivation.toFixed(4)} autocommits per activation; ` +
      `db ${steps[0].db}→${steps.at(-1).db} B, wal ${steps[0].wal}→${steps.at(-1).wal} B`,
  );
  settleGc();
}

// 5. 100,000 accepted invocations. Peak RSS is sampled during each phase (the issuing loop itself is synchronous and
// is sampled at its end); it includes what earlier segments left, so the RSS at the phase's start is given too.
function rssSampler() {
  const sample = { start: process.memoryUsage().rss, peak: 0 };
  const take = () => (sample.peak = Math.max(sample.peak, process.memoryUsage().rss));
  take();
  const timer = setInterval(take, 50);
  return { take, stop: () => (clearInterval(timer), take(), sample) };
}

async function issueBacklog(state, n) {
  const t0 = now();
  const ids = new Array(n);
  for (let i = 0; i < n; i++) {
    ids[i] = state.engine.actions.invoke({ name: 'noop' }).catch(() => {
      errors++;
      count(state);
    });
  }
  const tLoop = now();
  await Promise.all(ids);
  const tIds = now();
  return { t0, loopSeconds: Number(tLoop - t0) / 1e9, acceptSeconds: Number(tIds - t0) / 1e9 };
}

async function backlogMemory() {
  const state = await makeEngine({ store: 'memory' });
  await burstNonBlocking(state, 2000);
  settleGc();
  const rss = rssSampler();
  const target = state.completed + cfg.backlogN;
  const { t0, loopSeconds, acceptSeconds } = await issueBacklog(state, cfg.backlogN);
  rss.take();
  await completions(state, target);
  const totalSeconds = Number(now() - t0) / 1e9;
  const memory = rss.stop();
  errors += state.failed;
  await state.engine.close();
  return { loopSeconds, acceptSeconds, totalSeconds, perInvocationUs: (totalSeconds * 1e6) / cfg.backlogN, rss: memory };
}

async function backlogDurable() {
  const path = file('backlog.db');
  const first = await makeEngine({ store: path });
  await burstNonBlocking(first, 2000);
  settleGc();
  const rss = rssSampler();
  const before = first.completed;
  const { loopSeconds, acceptSeconds } = await issueBacklog(first, cfg.backlogN);
  rss.take();
  // Closed at once: queued invocations stay accepted on disk, the few already running (4 containers) are stopped
  // and stay accepted too, as started (they replay as attempt 2).
  const completedBeforeClose = first.completed - before;
  const tc = now();
  await first.engine.close(0);
  const closeSeconds = Number(now() - tc) / 1e9;
  const afterAccept = storeSize(path);
  settleGc();

  const second = await makeEngine({ store: path, replay: 'manual' });
  const t0 = now();
  const summary = await second.engine.replay();
  const replaySeconds = Number(now() - t0) / 1e9;
  rss.take();
  const replayed = summary.queued + summary.rerun;
  await completions(second, replayed);
  const drainSeconds = Number(now() - t0) / 1e9;
  const memory = rss.stop();
  await sleep(20);
  const afterDrain = storeSize(path);
  errors += first.failed + second.failed;
  await second.engine.close();
  return {
    loopSeconds,
    acceptSeconds,
    acceptPerInvocationUs: (acceptSeconds * 1e6) / cfg.backlogN,
    completedBeforeClose,
    closeSeconds,
    replay: summary,
    replayed,
    replaySeconds,
    drainSeconds,
    drainPerInvocationUs: (drainSeconds * 1e6) / replayed,
    rss: memory,
    afterAccept,
    afterDrain,
  };
}

result.backlog = {};
for (const kind of round % 2 === 0 ? ['memory', 'durable'] : ['durable', 'memory']) {
  result.backlog[kind] = kind === 'memory' ? await backlogMemory() : await backlogDurable();
  settleGc();
}
const { memory: bm, durable: bd } = result.backlog;
log(
  `backlog ${cfg.backlogN}: memory ids ${bm.acceptSeconds.toFixed(2)} s, all done ${bm.totalSeconds.toFixed(2)} s; ` +
    `durable ids ${bd.acceptSeconds.toFixed(2)} s, replay ${bd.replaySeconds.toFixed(2)} s, drained ${bd.drainSeconds.toFixed(2)} s ` +
    `(${bd.replayed} replayed, ${bd.completedBeforeClose} done before close); peak RSS memory ${(bm.rss.peak / 2 ** 20).toFixed(0)} MiB, durable ${(bd.rss.peak / 2 ** 20).toFixed(0)} MiB`,
);

fs.rmSync(dir, { recursive: true, force: true });
result.errors = errors;
emit(result);
