// Blocking no-op invocations over the REST API (HTTP keep-alive on loopback) at concurrency 1 and 32, next to the
// same invocations through the in-process engine API, in the same process and run (order alternated).
//
//   node bench/rest.bench.mjs [--quick] [--round=N]
//
// Prints one result line (see lib/common.mjs).
import http from 'node:http';
import { emit, loadEngine, log, median, now, parseArgs, summarize } from './lib/common.mjs';

const args = parseArgs();
const quick = args.quick === true;
const round = Number(args.round ?? 0);
const cfg = quick ? { reps: 3, calls: 2000, c32Calls: 6000 } : { reps: 5, calls: 4000, c32Calls: 15000 };
const AUTH = 'bench-uuid:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

const { startStandalone } = loadEngine();
const server = await startStandalone({ port: 0, auth: AUTH, engine: { prewarmCount: 0 } });
const engine = server.engine;
await engine.actions.create({ name: 'noop', action: 'function main() { return {}; }', limits: { concurrency: 32 } });
const url = new URL(server.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const authorization = `Basic ${Buffer.from(AUTH).toString('base64')}`;
const body = Buffer.from('{}');

function invokeHttp() {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, method: 'POST', path: '/api/v1/namespaces/_/actions/noop?blocking=true&result=true', headers: { Authorization: authorization, 'Content-Type': 'application/json', 'Content-Length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const invokeEngine = () => engine.actions.invoke({ name: 'noop', blocking: true, result: true });

async function sequential(fn, calls) {
  const lat = new Float64Array(calls);
  const t0 = now();
  for (let i = 0; i < calls; i++) {
    const t = now();
    await fn();
    lat[i] = Number(now() - t) / 1e3;
  }
  return { ...summarize(lat), throughput: calls / (Number(now() - t0) / 1e9) };
}

async function concurrent(fn, calls, callers = 32) {
  let left = calls;
  const t0 = now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (left-- > 0) await fn();
    }),
  );
  return calls / (Number(now() - t0) / 1e9);
}

log('warm-up');
await sequential(invokeHttp, 500);
await sequential(invokeEngine, 500);
const reps = { http: { p50: [], p99: [], c1: [], c32: [] }, engine: { p50: [], p99: [], c1: [], c32: [] } };
for (let rep = 0; rep < cfg.reps; rep++) {
  for (const which of (rep + round) % 2 === 0 ? ['http', 'engine'] : ['engine', 'http']) {
    const fn = which === 'http' ? invokeHttp : invokeEngine;
    const s = await sequential(fn, cfg.calls);
    reps[which].p50.push(s.p50);
    reps[which].p99.push(s.p99);
    reps[which].c1.push(s.throughput);
    reps[which].c32.push(await concurrent(fn, cfg.c32Calls));
  }
  log(`rep ${rep + 1}/${cfg.reps}: http p50 ${reps.http.p50.at(-1).toFixed(1)} µs, ${Math.round(reps.http.c32.at(-1))}/s at c32; engine p50 ${reps.engine.p50.at(-1).toFixed(1)} µs`);
}
const pick = (r) => ({ p50us: median(r.p50), p99us: median(r.p99), c1PerSec: median(r.c1), c32PerSec: median(r.c32) });
const result = { scenario: 'rest', config: cfg, http: pick(reps.http), engine: pick(reps.engine) };
result.latencyRatio = result.http.p50us / result.engine.p50us;
emit(result);
agent.destroy();
await server.close();
process.exit(0);
