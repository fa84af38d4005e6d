// Where the comparison figures (#n) in the benchmark table come from. "Indicative" rows were measured by the
// project on a 2-vCPU AMD EPYC VM with Node 20, Docker 20.10 (runc, cgroup v1) and Node-RED 4.1: order-of-magnitude
// checks, not published results. The numbers keep their historical labels so older BENCHMARKS.md files still read.
export const ANCHOR_SOURCES = [
  ['#3', 'Lean OpenWhisk on a Raspberry Pi 4: 13.5 req/s median, 22 max (`sleepy` 30 ms action)', 'razkey23/Serverless-On-Edge, Lean-Openwhisk-Evaluation results; "FaaS and Curious", ISC workshops 2021'],
  ['#5', 'Lean OpenWhisk warm action→action hop on a Pi 4: 31-39 ms', 'razkey23/Serverless-On-Edge, ServerlessBench test case 5 results'],
  ['#6', 'Lean OpenWhisk cold start of a sequence step on a Pi 4: 3.37-3.55 s', 'same'],
  ['#7', 'Lean OpenWhisk on a small VM: 84-97 ms mean at 31-35 req/s', 'kpavel/lean-openwhisk-performance, README'],
  ['#12', 'OpenWhisk warm /run inside the invoker: 2 ms', 'apache/openwhisk#3151'],
  ['#13', 'OpenWhisk nodejs:6 prewarm start: initTime 44 ms, waitTime 27 ms', 'apache/openwhisk#4414'],
  ['#26', 'Docker (runc) cold request→response of a Node function: 381 ms median', 'OpenFogStack/unikernel-edge-faas, experiments/cold_start; arXiv 2403.00515'],
  ['#34', '`docker run -d` → first HTTP 200 from a Node server: 212 ms', 'indicative'],
  ['#35', 'Docker CLI unpause + first /run: 20.6 ms', 'indicative'],
  ['#36', 'warm HTTP round trip into a container: 107 µs', 'indicative'],
  ['#37b', "OpenWhisk's own Node.js proxy (apache/openwhisk-runtime-nodejs core/nodejsActionBase) as a host process: listening after ~110 ms, warm /run ~330 µs", 'indicative'],
  ['#45', 'worker_threads round trip: ~10 µs (Node 14, desktop)', 'denoland/deno#11561'],
  ['#46', 'worker_threads round trip: 48.7 µs median, p99 71 µs; 1.4 M/s pipelined', 'indicative'],
  ['#47', 'Worker start until its code runs: 43 ms', 'oven-sh/bun#38055'],
  ['#48', 'Worker start → first message: 15.9 ms', 'indicative'],
  ['#52', 'Node-RED 4.1 function node: 57k msg/s through one pass-through node', 'indicative'],
  ['#53', 'Node-RED per function-node hop: ~8 µs', 'indicative'],
  ['#56', 'denque push + shift: 4 ns', 'indicative'],
  ['#57', 'p-queue 8.1: 0.55-1.9 M tasks/s at small backlogs', 'indicative; sindresorhus/p-queue bench.ts'],
];
