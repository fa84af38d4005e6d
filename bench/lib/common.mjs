// Shared helpers for the EdgeWhisk benchmarks: argument parsing, timing, statistics, result emission.
// Plain ESM, no dependencies. Every scenario prints exactly one line starting with RESULT_PREFIX on stdout
// (a JSON object); progress goes to stderr.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const ROOT = dirname(BENCH_DIR);
export const DIST = join(ROOT, 'dist', 'index.js');
export const ECHO_WORKER = join(BENCH_DIR, 'lib', 'echo-worker.cjs');
export const RESULT_PREFIX = '@@EDGEWHISK_BENCH@@ ';

/** The built engine (CommonJS), loaded from dist/. */
export function loadEngine() {
  const require = createRequire(import.meta.url);
  try {
    return require(DIST);
  } catch (error) {
    throw new Error(`Cannot load ${DIST}: run \`npm run build\` first (${error.message})`);
  }
}

/** `--flag` → true, `--key=value` → 'value'. */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = {};
  for (const arg of argv) {
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    if (eq < 0) out[arg.slice(2)] = true;
    else out[arg.slice(2, eq)] = arg.slice(eq + 1);
  }
  return out;
}

export const now = process.hrtime.bigint;
/** Nanoseconds (bigint difference) → microseconds (number). */
export const usSince = (t0) => Number(now() - t0) / 1e3;
export const nsToUs = (ns) => Number(ns) / 1e3;

/** Nearest-rank percentile of an already sorted numeric array (p in 0..100). */
export function percentileSorted(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    min: sorted[0],
    p50: percentileSorted(sorted, 50),
    p95: percentileSorted(sorted, 95),
    p99: percentileSorted(sorted, 99),
    max: sorted[sorted.length - 1],
    mean: sum / sorted.length,
  };
}

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Runs a full GC when the process was started with --expose-gc (never inside a measured section). */
export function settleGc() {
  if (typeof globalThis.gc === 'function') globalThis.gc();
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function log(...args) {
  process.stderr.write(`[${process.argv[1].split('/').pop()}] ${args.join(' ')}\n`);
}

export function emit(result) {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}
