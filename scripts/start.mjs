// `npm start`: Node-RED 5 from the dev dependency (EDGEWHISK_NODE_RED=4: 4.1, the `node-red-4` alias) on
// http://127.0.0.1:1880 (PORT overrides), with a user directory
// inside the checkout (.node-red-data, ignored by git), this working tree installed as the bundle, and a demo flow
// deployed on first start so an action runs within seconds. Docker is not needed: the demo uses worker threads.
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const userDir = join(root, '.node-red-data');
const port = Number(process.env.PORT ?? 1880);

mkdirSync(join(userDir, 'node_modules'), { recursive: true });

// Install the bundle "from the working tree": a link Node-RED follows when it scans the user directory's modules.
const link = join(userDir, 'node_modules', 'node-red-contrib-edgewhisk');
if (existsSync(link) || isBrokenLink(link)) rmSync(link, { recursive: true, force: true });
symlinkSync(root, link, 'dir');
writeFileSync(join(userDir, 'package.json'), `${JSON.stringify({ name: 'edgewhisk-dev-user-dir', private: true, dependencies: { 'node-red-contrib-edgewhisk': `file:${root}` } }, null, 2)}\n`);

writeFileSync(
  join(userDir, 'settings.js'),
  `// Written by scripts/start.mjs: a local development instance, reachable from this machine only.
module.exports = {
    uiHost: '127.0.0.1',
    uiPort: ${port},
    flowFile: 'flows.json',
    credentialSecret: false,
    logging: { console: { level: 'info', metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false }, tours: false },
    // No update-check prompt and no outbound calls from a local development instance.
    telemetry: { enabled: false }
};
`,
);

// The demo flow: deployed only on first start, so later edits in the editor are kept.
const flows = join(userDir, 'flows.json');
if (!existsSync(flows)) {
  const tab = { id: 'edgewhisk-demo', type: 'tab', label: 'EdgeWhisk demo', info: 'Import more examples from the menu: Import → Examples → node-red-contrib-edgewhisk.' };
  const place = (file, dy) =>
    JSON.parse(readFileSync(join(root, 'examples', file), 'utf8')).map((n) => (n.type === 'edgewhisk-engine' ? n : { ...n, z: tab.id, y: (n.y ?? 0) + dy }));
  const first = place('basics/01 - First action.json', 0).map((n) => (n.type === 'inject' ? { ...n, once: true, onceDelay: 1 } : n));
  const fanOut = place('rules/01 - Trigger fans out to two actions.json', 220).map((n) => (n.type === 'inject' ? { ...n, once: true, onceDelay: 2 } : n));
  writeFileSync(flows, `${JSON.stringify([tab, ...first, ...fanOut], null, 2)}\n`);
}

const NODE_RED_PACKAGES = { 4: 'node-red-4', 5: 'node-red' };
const redPackage = NODE_RED_PACKAGES[process.env.EDGEWHISK_NODE_RED ?? '5'];
if (redPackage === undefined) throw new Error(`EDGEWHISK_NODE_RED must be 4 or 5, not ${process.env.EDGEWHISK_NODE_RED}`);
const red = require.resolve(`${redPackage}/red.js`);
console.log(`EdgeWhisk: starting Node-RED ${require(`${redPackage}/package.json`).version} on Node.js ${process.version}, http://127.0.0.1:${port} (user directory ${userDir})`);
const child = spawn(process.execPath, [red, '--userDir', userDir, '--settings', join(userDir, 'settings.js')], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

function isBrokenLink(path) {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
