/** Resolves the engine for a node: its configured `edgewhisk-engine` node, or the shared default engine. */
import { watchEngine } from './editor-feed';
import { acquireSharedEngine, type EngineLease } from './engine-registry';
import { followFlows, openEngine } from './engine-store';
import type { Node, RedApi } from './red-types';

/** What an `edgewhisk-engine` config node offers the nodes that use it. */
export interface EngineProvider {
  acquire(): EngineLease;
}

export function isEngineProvider(value: unknown): value is EngineProvider {
  return typeof value === 'object' && value !== null && typeof (value as EngineProvider).acquire === 'function';
}

/** The lease for a node's engine; throws a clear error if the selected config node is missing. */
export function engineFor(RED: RedApi, configId: unknown): EngineLease {
  if (typeof configId === 'string' && configId !== '') {
    const provider = RED.nodes.getNode(configId);
    if (!isEngineProvider(provider)) throw new Error(`The selected EdgeWhisk engine (${configId}) is not deployed.`);
    return provider.acquire();
  }
  followFlows(RED.events);
  const lease = acquireSharedEngine({}, (config, previousClosed) =>
    openEngine(config, {
      settings: RED.settings,
      events: RED.events,
      file: SHARED_STORE,
      label: 'default engine',
      log: { log: (m) => RED.log.info(m), warn: (m) => RED.log.warn(m) },
      after: previousClosed,
    }),
  );
  // Once per shared engine: the feed stops by itself when the engine closes.
  watchEngine(lease.engine, { key: SHARED_ENGINE_KEY, label: 'default engine' }, RED.comms);
  return lease;
}

/** What the editor calls the shared engine of nodes that select none. */
export const SHARED_ENGINE_KEY = 'default';
/** The shared engine's database under `<userDir>/edgewhisk/` (engine nodes' are named by their id). */
export const SHARED_STORE = 'shared';

/**
 * The lease for a node's engine, or `undefined` after reporting why there is none on the node (a deploy-time error
 * and a red status), so every node handles a missing or misconfigured engine the same way.
 */
export function leaseEngineFor(RED: RedApi, node: Node, configId: unknown): EngineLease | undefined {
  try {
    return engineFor(RED, configId);
  } catch (error) {
    node.error(error instanceof Error ? error.message : String(error));
    node.status({ fill: 'red', shape: 'ring', text: 'no engine' });
    return undefined;
  }
}


