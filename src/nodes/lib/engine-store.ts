/**
 * Where Node-RED's embedded engines keep what they have accepted, and when they run again what a previous process
 * left unfinished.
 *
 * Each `edgewhisk-engine` node has its own database, `<userDir>/edgewhisk/<node id>.db`, and the shared default
 * engine has `<userDir>/edgewhisk/shared.db`: entities, activation records and accepted invocations (a
 * non-blocking action node's messages) outlive a restart or a crash of Node-RED. Without a user directory (test
 * harnesses that run Node-RED in memory) the engine keeps everything in memory, never in the real home.
 *
 * The flows define the actions, so the engine is made with `replay: 'manual'` and replays once the flows have
 * started (Node-RED's `flows:started`), after the action nodes have defined their actions and the actions of nodes
 * that are gone from the flows have been removed (their invocations then become dead letters, shown in the sidebar).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, type Engine, type EngineConfig } from '../../engine';
import type { ReplaySummary } from '../../queue/replay';
import { settleDefinitions, sweepOrphanActions } from './engine-registry';

/** The folder under Node-RED's user directory that holds the engines' databases. */
export const STORE_FOLDER = 'edgewhisk';

type Events = { on(event: string, listener: (...args: unknown[]) => void): void } | undefined;

/** What an engine is made with: a database file, or `'memory'` when Node-RED has no user directory. */
export function storeFor(settings: Record<string, unknown>, name: string): string {
  const userDir = settings['userDir'];
  if (typeof userDir !== 'string' || userDir === '') return 'memory';
  const folder = join(userDir, STORE_FOLDER);
  mkdirSync(folder, { recursive: true });
  // Node-RED's ids are hex with an optional dot; anything else is made safe for a file name rather than refused.
  return join(folder, `${name.replace(/[^\w.-]/g, '_')}.db`);
}

export interface EngineLog {
  log(message: string): void;
  warn(message: string): void;
}

export interface OpenOptions {
  /** Node-RED's runtime settings (`userDir`). */
  readonly settings: Record<string, unknown>;
  /** Node-RED's runtime events, for `flows:started`; absent: replay on the next turn. */
  readonly events: Events;
  /** The database's name under `<userDir>/edgewhisk/`. */
  readonly file: string;
  /** How log lines name the engine. */
  readonly label: string;
  readonly log: EngineLog;
  /** Resolves once a previous engine on the same file has closed: until then it may still finish what it ran. */
  readonly after?: Promise<unknown>;
}

/**
 * Makes an engine on its store and schedules its replay for when the flows have started. Throws what
 * `createEngine` throws (invalid settings, a store that cannot be opened), for the node that needed the engine.
 */
export function openEngine(config: EngineConfig, options: OpenOptions): Engine {
  const store = storeFor(options.settings, options.file);
  // The engine reports a damaged store it moved aside as a process warning, on a later tick: it is said on the
  // node too, where a user looks, and nothing else happens (a fresh store is in use).
  const onWarning = (warning: Error): void => {
    if (warning.name === 'EdgeWhiskWarning' && store !== 'memory' && warning.message.includes(store)) options.log.warn(warning.message);
  };
  process.on('warning', onWarning);
  setImmediate(() => process.off('warning', onWarning));
  const engine = createEngine({ ...config, store, replay: 'manual' });
  options.log.log(
    store === 'memory'
      ? `EdgeWhisk ${options.label}: store in memory (Node-RED has no user directory): accepted invocations do not outlive a restart`
      : `EdgeWhisk ${options.label}: store ${store}`,
  );
  if (store !== 'memory') whenFlowsStarted(options.events, () => void replay(engine, options));
  return engine;
}

/** Defines what was pending, removes the actions of nodes that are gone, then replays; never rejects. */
async function replay(engine: Engine, options: OpenOptions): Promise<void> {
  try {
    await options.after;
    if (engine.closed) return;
    await settleDefinitions(engine);
    await sweepOrphanActions(engine);
    if (engine.closed) return;
    const summary = await engine.replay();
    if (replayed(summary) > 0) options.log.log(`EdgeWhisk ${options.label}: accepted invocations from before the restart: ${describe(summary)}`);
    const feeds = engine.feeds.list();
    if (feeds.length > 0) options.log.log(`EdgeWhisk ${options.label}: ${feeds.length} feed${feeds.length === 1 ? '' : 's'} resumed (${feeds.map((f) => f.trigger).join(', ')})`);
  } catch (error) {
    options.log.warn(`EdgeWhisk ${options.label}: could not replay accepted invocations: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function replayed(summary: ReplaySummary): number {
  return summary.queued + summary.rerun + summary.expired + summary.gone + summary.finished;
}

export function describe(summary: ReplaySummary): string {
  return `${summary.queued} queued again, ${summary.rerun} run again (were running), ${summary.expired} expired and ${summary.gone} whose action is gone (dead letters), ${summary.finished} already finished`;
}

// Whether the flows of a runtime are running, per runtime (test harnesses load the node modules into several).
const flowStates = new WeakMap<object, { running: boolean; waiting: (() => void)[] }>();

/** Follows a runtime's flows from the moment the node modules load (before any flow starts). */
export function followFlows(events: Events): void {
  if (events === undefined || flowStates.has(events)) return;
  const state = { running: false, waiting: [] as (() => void)[] };
  flowStates.set(events, state);
  const stop = (): void => {
    state.running = false;
  };
  events.on('flows:starting', stop);
  events.on('flows:stopping', stop);
  events.on('flows:started', () => {
    state.running = true;
    for (const run of state.waiting.splice(0)) run();
  });
}

/**
 * Runs `run` once the flows have started: at the next `flows:started`, or on the next turn when they are running
 * already (an engine made lazily, after the deploy, by an editor route).
 */
export function whenFlowsStarted(events: Events, run: () => void): void {
  const state = events === undefined ? undefined : flowStates.get(events);
  if (state === undefined || state.running) {
    setImmediate(run);
    return;
  }
  state.waiting.push(run);
}
