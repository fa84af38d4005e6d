/**
 * The Python action proxy's conformance suite (test/conformance/python-proxy.test.ts) against EdgeWhisk's image
 * edgewhisk/action-python:3: every case starts a fresh hardened container through the launcher. The suite's
 * "local process" cases (EW_PARENT_PID) are not registered here.
 */
import { describe } from 'vitest';
import { useDockerProxy } from './proxy-launcher';

useDockerProxy('EW_PYTHON_PROXY_COMMAND', 'edgewhisk/action-python:3');
// The suite reads its proxy command as it loads, so it is loaded here, after the environment is set; loaded while
// this describe collects, its cases (and its hooks) register in this file, under the image's name.
describe('edgewhisk/action-python:3', async () => {
  await import('../conformance/python-proxy.test.js');
});
