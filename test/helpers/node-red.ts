import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll } from 'vitest';
import registerActivations from '../../src/nodes/edgewhisk-activations';
import registerAction from '../../src/nodes/edgewhisk-action';
import registerEngine from '../../src/nodes/edgewhisk-engine';
import registerRule from '../../src/nodes/edgewhisk-rule';
import registerTrigger from '../../src/nodes/edgewhisk-trigger';
import { closeSharedEngine } from '../../src/nodes/lib/engine-registry';
import { NODE_RED_MAIN } from './node-red-under-test';

const require = createRequire(__filename);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the helper ships no types
export const helper: any = require('node-red-node-test-helper');
helper.init(NODE_RED_MAIN);

/** All EdgeWhisk node modules, as Node-RED would load them. */
export const NODES = [registerEngine, registerAction, registerTrigger, registerRule, registerActivations];

/** Registers the suite hooks: a real Node-RED test server, flows unloaded and the shared engine closed after each test. */
export function useNodeRed(): void {
  beforeAll(() => new Promise<void>((resolve) => helper.startServer(() => resolve())));
  afterEach(async () => {
    await helper.unload();
    await closeSharedEngine();
  });
  afterAll(() => new Promise<void>((resolve) => helper.stopServer(() => resolve())));
}

/** Resolves with the next message a node receives; rejects on timeout or when `check` throws. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function nextMessage(node: any, ms = 5000, check?: (msg: any) => void): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message at ${node?.id} within ${ms} ms`)), ms);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    node.once('input', (msg: any) => {
      clearTimeout(timer);
      try {
        check?.(msg);
        resolve(msg);
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** Collects `count` messages arriving at a node. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function messages(node: any, count: number, ms = 10000): Promise<any[]> {
  return new Promise((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const got: any[] = [];
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${count} messages within ${ms} ms`)), ms);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const onInput = (msg: any): void => {
      got.push(msg);
      if (got.length === count) {
        clearTimeout(timer);
        node.removeListener('input', onInput);
        resolve(got);
      }
    };
    node.on('input', onInput);
  });
}

/** The statuses a node has shown so far (the helper spies on Node.prototype.status). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function statuses(node: any): { fill?: string; shape?: string; text?: string }[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return node.status.getCalls().filter((c: any) => c.thisValue === node).map((c: any) => c.args[0]);
}

export const tab = { id: 'f1', type: 'tab', label: 'test' };

/** The status a node shows once its coalesced updates have been flushed (they are at most 100 ms apart). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function settledStatus(node: any): Promise<{ fill?: string; shape?: string; text?: string } | undefined> {
  await new Promise((resolve) => setTimeout(resolve, 150));
  return statuses(node).at(-1);
}
