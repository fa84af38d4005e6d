/**
 * Which engine a node talks to. A node with an `edgewhisk-engine` config node uses that node's engine; a node
 * without one shares a single default engine, so dragging an action in and deploying just works.
 *
 * The shared engine is reference-counted and closed a short grace period after its last user goes, so a full
 * redeploy (every node closed, then started again) keeps warm containers instead of starting from cold.
 */
import { createEngine, type Engine, type EngineConfig } from '../../engine';
import type { NodeEngine } from './node-engine';

const SHARED_GRACE_MS = 5_000;

let shared: Engine | undefined;
let sharedRefs = 0;
let sharedTimer: NodeJS.Timeout | undefined;
/** The previous shared engine's close: the next one on the same store replays only after it (see engine-store.ts). */
let sharedClosing: Promise<void> = Promise.resolve();

/** A runtime an engine node asked for and Node-RED's settings refused (Docker without adminAuth). */
export interface RuntimeRefusal {
  readonly runtime: string;
  /**
   * It was to be the engine's default runtime. The engine then runs with `worker` as its default, so action nodes
   * that name no runtime name the refused one instead: they fail at deploy rather than run with less isolation.
   */
  readonly wasDefault: boolean;
  /** Why, and how to allow it, for the errors of the nodes that needed it. */
  readonly message: string;
}

/** A reference to an engine; `release()` once, on the node's close. */
export interface EngineLease {
  readonly engine: NodeEngine;
  readonly refused?: RuntimeRefusal;
  release(): Promise<void>;
}

/** Makes the shared engine; `previousClosed` resolves once the one before it has closed. */
export type SharedEngineFactory = (config: EngineConfig, previousClosed: Promise<void>) => Engine;

export function acquireSharedEngine(config: EngineConfig = {}, create: SharedEngineFactory = (c) => createEngine(c)): EngineLease & { readonly engine: Engine } {
  if (sharedTimer !== undefined) {
    clearTimeout(sharedTimer);
    sharedTimer = undefined;
  }
  if (shared === undefined || shared.closed) shared = create(config, sharedClosing);
  const engine = shared;
  sharedRefs++;
  let released = false;
  return {
    engine,
    release: async () => {
      if (released) return;
      released = true;
      sharedRefs--;
      if (sharedRefs > 0 || engine !== shared) return;
      sharedTimer = setTimeout(() => {
        sharedTimer = undefined;
        if (sharedRefs === 0 && shared === engine) {
          shared = undefined;
          sharedClosing = engine.close().catch(() => undefined);
        }
      }, SHARED_GRACE_MS);
      sharedTimer.unref();
    },
  };
}

/** Closes the shared engine now (tests, and Node-RED shutting down). */
export async function closeSharedEngine(): Promise<void> {
  if (sharedTimer !== undefined) clearTimeout(sharedTimer);
  sharedTimer = undefined;
  const engine = shared;
  shared = undefined;
  sharedRefs = 0;
  const closing = engine?.close(2_000) ?? Promise.resolve();
  sharedClosing = closing.catch(() => undefined);
  await closing;
}

// Action names are unique per engine: the first node to claim a name owns it until it closes.
const owners = new WeakMap<NodeEngine, Map<string, string>>();

/** The per-engine map in `maps`, created on first use. */
function mapFor(maps: WeakMap<NodeEngine, Map<string, string>>, engine: NodeEngine): Map<string, string> {
  let map = maps.get(engine);
  if (map === undefined) {
    map = new Map();
    maps.set(engine, map);
  }
  return map;
}

/** Claims `name` in `engine` for `nodeId`; returns the id of another node that already owns it, if any. */
export function claimActionName(engine: NodeEngine, name: string, nodeId: string): string | undefined {
  const names = mapFor(owners, engine);
  const owner = names.get(name);
  if (owner !== undefined && owner !== nodeId) return owner;
  names.set(name, nodeId);
  return undefined;
}

/** The node that defines action `name` in `engine`, if a node does. */
export function ownerOf(engine: NodeEngine, name: string): string | undefined {
  return owners.get(engine)?.get(name);
}

export function releaseActionName(engine: NodeEngine, name: string, nodeId: string): void {
  const names = owners.get(engine);
  if (names?.get(name) === nodeId) names.delete(name);
}

// The action name each node defined last, per engine: when a redeployed node defines a different name, the action
// under its old name would otherwise linger in the engine, invisible in the flows.
const lastNames = new WeakMap<NodeEngine, Map<string, string>>();

/**
 * Records that `nodeId` now defines `name`; returns the name it defined before if that differs and no node owns
 * it any more (the caller deletes that action).
 */
export function renamedFrom(engine: NodeEngine, nodeId: string, name: string): string | undefined {
  const names = mapFor(lastNames, engine);
  const previous = names.get(nodeId);
  names.set(nodeId, name);
  if (previous === undefined || previous === name || owners.get(engine)?.has(previous) === true) return undefined;
  return previous;
}

/** Forgets a node that was removed from the flows (its action is deleted with it). */
export function forgetNode(engine: NodeEngine, nodeId: string): void {
  lastNames.get(engine)?.delete(nodeId);
}

// The definitions action nodes have started, per engine: a replay waits for them, so what was accepted runs the
// action as the flows now define it.
const definitions = new WeakMap<NodeEngine, Set<Promise<unknown>>>();

/** Notes an action definition in progress (it is forgotten once settled). */
export function noteDefinition(engine: NodeEngine, definition: Promise<unknown>): void {
  let pending = definitions.get(engine);
  if (pending === undefined) {
    pending = new Set();
    definitions.set(engine, pending);
  }
  const set = pending;
  set.add(definition);
  const forget = (): void => void set.delete(definition);
  definition.then(forget, forget);
}

/** Resolves once the definitions in progress have settled, however they end. */
export async function settleDefinitions(engine: NodeEngine): Promise<void> {
  await Promise.allSettled([...(definitions.get(engine) ?? [])]);
}

/** The annotation action nodes mark their actions with (edgewhisk-action.ts). */
const NODE_ANNOTATION = 'edgewhisk-node';

/**
 * Deletes the actions an action node defined and no deployed node defines any more: with a durable store they
 * outlive the node (a node removed while Node-RED was down, or whose close could not delete it), and would otherwise
 * linger in the engine, invisible in the flows, and run what was accepted for them. Actions made otherwise (the
 * REST API) are left alone. Returns the names deleted.
 */
export async function sweepOrphanActions(engine: Engine): Promise<string[]> {
  const orphans: string[] = [];
  const total = (await engine.actions.list({ count: true })).actions;
  for (let skip = 0; skip < total; skip += 200) {
    for (const action of await engine.actions.list({ skip, limit: 200 })) {
      const byNode = action.annotations.some((a) => a.key === NODE_ANNOTATION);
      // An action in a package is named `pkg/name` by its node, as in the engine's API.
      const slash = action.namespace.indexOf('/');
      const name = slash < 0 ? action.name : `${action.namespace.slice(slash + 1)}/${action.name}`;
      if (byNode && ownerOf(engine, name) === undefined) orphans.push(name);
    }
  }
  for (const name of orphans) await engine.actions.delete({ name }).catch(() => undefined);
  return orphans;
}
