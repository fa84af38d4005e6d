// `npm test`'s last step: runs the vitest suite on the Node.js chosen for it. By default that is the Node.js running
// this script — Node 24 from the `node` dev dependency, which npm puts first on the PATH of its scripts.
// EDGEWHISK_TEST_NODE names another Node.js binary (CI runs the suite again on Node 22 this way); it also comes first
// on the PATH of the run, so child processes the tests start as `node` run on it too. Arguments are passed to vitest.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const node = process.env.EDGEWHISK_TEST_NODE || process.execPath;
// vitest's command, as its package.json `bin` names it (the file is not an export of the package).
const vitestPackage = require.resolve('vitest/package.json');
const vitest = join(dirname(vitestPackage), require(vitestPackage).bin.vitest);
const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` };
const child = spawn(node, [vitest, 'run', ...process.argv.slice(2)], { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('error', (error) => {
  console.error(`Cannot run the tests on ${node}: ${error.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
