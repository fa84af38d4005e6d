/** Resolves the engine for a node: its configured `edgewhisk-engine` node, or the shared default engine. */
import type { Engine } from '../../engine';
import { acquireSharedEngine, type EngineLease } from './engine-registry';
import type { RedApi } from './red-types';

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
  return acquireSharedEngine();
}

export type { Engine };
