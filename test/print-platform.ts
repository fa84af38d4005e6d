/**
 * vitest global setup: prints which Node.js and Node-RED the suite runs on, once per run, so a CI log shows the
 * platform each leg tested.
 */
import { NODE_RED_PACKAGE, NODE_RED_VERSION } from './helpers/node-red-under-test';

export default function printPlatform(): void {
  console.log(`== EdgeWhisk tests on Node.js ${process.version} (${process.execPath}) with Node-RED ${NODE_RED_VERSION} (${NODE_RED_PACKAGE})`);
}
