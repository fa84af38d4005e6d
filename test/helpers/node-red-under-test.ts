/**
 * Which Node-RED the node tests run against. Both supported lines are dev dependencies: `node-red` (5.0, the Home
 * Assistant add-on's) and `node-red-4` (an npm alias of 4.1). `EDGEWHISK_NODE_RED=4` selects 4.1; the default is 5.
 * Everything the tests load from Node-RED (the runtime, its core nodes) is resolved from the selected package, so
 * its own nested `@node-red/*` modules are the ones used.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const PACKAGES: Readonly<Record<string, string>> = { '4': 'node-red-4', '5': 'node-red' };

const selected = process.env['EDGEWHISK_NODE_RED'] ?? '5';
const name = PACKAGES[selected];
if (name === undefined) throw new Error(`EDGEWHISK_NODE_RED must be one of ${Object.keys(PACKAGES).join(', ')}, not ${JSON.stringify(selected)}`);

/** The major version the run asked for (`EDGEWHISK_NODE_RED`). */
export const NODE_RED_MAJOR = Number(selected);
/** The installed package of the selected Node-RED. */
export const NODE_RED_PACKAGE: string = name;
/** Path of the selected Node-RED's main module (what `require('node-red')` would load). */
export const NODE_RED_MAIN: string = createRequire(__filename).resolve(name);
/** `require` as seen from inside the selected Node-RED: resolves its own `@node-red/*` modules. */
export const nodeRedRequire: NodeJS.Require = createRequire(NODE_RED_MAIN);
/** The version the selected package declares. */
export const NODE_RED_VERSION: string = (nodeRedRequire(`${dirname(NODE_RED_MAIN)}/../package.json`) as { version: string }).version;
