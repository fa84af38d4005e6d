/**
 * The Node.js action proxy's conformance suite (test/conformance/nodejs-proxy.test.ts) against EdgeWhisk's image
 * edgewhisk/action-nodejs:24: every case starts a fresh hardened container through the launcher. The suite's
 * "local process" cases (host TMPDIR, process ids, EW_PARENT_PID) are not registered here.
 */
import { describe } from 'vitest';
import { useDockerProxy } from './proxy-launcher';

useDockerProxy('EW_NODE_PROXY_COMMAND', 'edgewhisk/action-nodejs:24');
// The suite reads its proxy command as it loads, so it is loaded here, after the environment is set; loaded while
// this describe collects, its cases (and its hooks) register in this file, under the image's name.
describe('edgewhisk/action-nodejs:24', async () => {
  await import('../conformance/nodejs-proxy.test.js');
});
