// Where a durable engine's time goes under c32 load: every group commit (GroupCommit#flush in dist/, the same module
// instance the engine loads) is timed, so the time the main thread spends blocked in SQLite's commit + fsync can be set
// against the wall time. Diagnostic only (hooks in the timed path).
//
//   node bench/tools/profile-durable.mjs [--store=durable|memory] [--mode=nonblocking|blocking] [--n=10000]
//        [--concurrency=1] [--sync=FULL|NORMAL|OFF]
//   node --cpu-prof --cpu-prof-dir=/tmp/ew-prof bench/tools/profile-durable.mjs ... ; node bench/tools/cpuprofile-top.mjs /tmp/ew-prof
//
// --concurrency: the action's limits.concurrency (1: 4 workers of 256 MB; 32: one worker runs all 32 callers).
// --sync: rewrites the engine's `PRAGMA synchronous = FULL` for the experiment (NORMAL: no fsync per commit in WAL
// mode), to tell the fsync apart from SQLite's other work. Never a setting the engine offers.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DIST, loadEngine, now, parseArgs, summarize } from '../lib/common.mjs';

const args = parseArgs();
const store = args.store ?? 'durable';
const mode = args.mode ?? 'nonblocking';
const n = Number(args.n ?? 10_000);
const concurrency = Number(args.concurrency ?? 1);
const sync = args.sync ?? 'FULL';

if (sync !== 'FULL') {
  const { exec } = DatabaseSync.prototype;
  DatabaseSync.prototype.exec = function (sql) {
    return exec.call(this, /^PRAGMA synchronous = FULL$/.test(sql) ? `PRAGMA synchronous = ${sync}` : sql);
  };
}

const { GroupCommit } = createRequire(DIST)('./store/group-commit.js');
const flushes = [];
let inFlush = 0;
const { flush } = GroupCommit.prototype;
GroupCommit.prototype.flush = function () {
  const before = this.commits;
  const s = now();
  flush.call(this);
  const us = Number(now() - s) / 1e3;
  inFlush += us;
  if (this.commits > before) flushes.push(us);
};

const { createEngine } = loadEngine();
const dir = fs.mkdtempSync(join(os.tmpdir(), 'ew-prof-durable-'));
const engine = createEngine({ prewarmCount: 0, maxQueued: 200_000, concurrentInvocations: 200_000, store: store === 'durable' ? join(dir, 'e.db') : 'memory' });
await engine.actions.create({ name: 'noop', action: 'function main(){return {}}', limits: { concurrency } });
let completed = 0;
let until;
engine.on('activation:completed', () => {
  if (++completed === until?.target) until.resolve();
});

async function load(count) {
  const target = completed + count;
  const done = mode === 'nonblocking' ? new Promise((resolve) => (until = { target, resolve })) : undefined;
  let issued = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (issued < count) {
        issued++;
        await engine.actions.invoke(mode === 'nonblocking' ? { name: 'noop' } : { name: 'noop', blocking: true, result: true });
      }
    }),
  );
  await done;
}

await load(2000);
flushes.length = 0;
inFlush = 0;
const cpu0 = process.cpuUsage();
const t0 = now();
await load(n);
const wallUs = Number(now() - t0) / 1e3;
const cpu = process.cpuUsage(cpu0);
const f = summarize(flushes);
console.log(
  JSON.stringify({
    store,
    mode,
    concurrency,
    sync,
    perSecond: Math.round(n / (wallUs / 1e6)),
    wallMs: Math.round(wallUs / 1e3),
    mainThreadCpuMs: Math.round((cpu.user + cpu.system) / 1e3),
    commits: flushes.length,
    activationsPerCommit: +(n / flushes.length).toFixed(2),
    flushUs: { p50: Math.round(f.p50), p99: Math.round(f.p99), mean: Math.round(f.mean) },
    shareOfWallInFlush: +(inFlush / wallUs).toFixed(3),
  }),
);
await engine.close();
fs.rmSync(dir, { recursive: true, force: true });
