// Prints the top self-time functions of .cpuprofile files (from `node --cpu-prof`).
//
//   node --cpu-prof --cpu-prof-dir=/tmp/ew-prof bench/invoke-worker.bench.mjs --quick
//   node bench/tools/cpuprofile-top.mjs /tmp/ew-prof [--top=25]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from '../lib/common.mjs';

const args = parseArgs();
const top = Number(args.top ?? 25);
const targets = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = targets.flatMap((t) => (statSync(t).isDirectory() ? readdirSync(t).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(t, f)) : [t]));

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const d = dt[i] ?? 0;
    total += d;
    const cf = node.callFrame;
    const url = cf.url ? relative(process.cwd(), cf.url.replace(/^file:\/\//, '')) : '';
    const key = `${cf.functionName || '(anonymous)'}  ${url}${url ? `:${cf.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + d);
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`\n${file}: ${(total / 1e6).toFixed(2)} s sampled`);
  for (const [key, us] of rows) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`);
}
