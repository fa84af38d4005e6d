// Engine-only load for CPU profiling (no bare-worker segments to dilute the profile).
//
//   node --cpu-prof --cpu-prof-dir=/tmp/ew-prof bench/tools/profile-invoke.mjs [--mode=c1|c32] [--calls=50000]
//   node bench/tools/cpuprofile-top.mjs /tmp/ew-prof
import { loadEngine, now, parseArgs } from '../lib/common.mjs';

const args = parseArgs();
const mode = args.mode ?? 'c1';
const calls = Number(args.calls ?? 50_000);
const { createEngine } = loadEngine();
const engine = createEngine({ prewarmCount: 0 });
await engine.actions.create({ name: 'noop', action: 'function main(){return {}}', limits: { concurrency: mode === 'c32' ? 32 : 1 } });
const callers = mode === 'c32' ? 32 : 1;
let issued = 0;
const t0 = now();
await Promise.all(
  Array.from({ length: callers }, async () => {
    while (issued < calls) {
      issued++;
      await engine.actions.invoke({ name: 'noop', blocking: true, result: true });
    }
  }),
);
const s = Number(now() - t0) / 1e9;
console.log(`${mode}: ${calls} calls in ${s.toFixed(2)} s = ${Math.round(calls / s)}/s`);
await engine.close();
