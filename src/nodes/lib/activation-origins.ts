/**
 * Which flow node caused each recent activation, for the editor's sidebar: an action node that invoked its action,
 * a trigger node whose fire started rule activations, or the editor's "run" button. The engine knows nothing of
 * nodes, so the Node-RED layer notes it here as it starts work.
 *
 * Bounded per engine (oldest forgotten first): the sidebar shows recent activity, and an entry must not outlive
 * the history anyone can still look at. Noted only while an editor shows the sidebar (editor-feed.ts): otherwise it
 * would cost every activation a map update for nobody (about 5 % of the flow benchmark's action throughput). Older
 * records still name the node that defines their action, from the engine's own annotations.
 */
import { BoundedMap } from '../../util/bounded-map';
import type { NodeEngine } from './node-engine';

let isWatched: () => boolean = () => false;

/** Set by the editor feed: whether an editor shows the sidebar now. */
export function originsWhile(watched: () => boolean): void {
  isWatched = watched;
}

/** How many activations per engine keep their origin. */
export const ORIGINS_KEPT = 5_000;

export interface Origin {
  /** The node that caused the activation. */
  readonly node: string;
  /** Set when it was run from the editor's action dialog, before deploy. */
  readonly editor?: true;
}

const origins = new WeakMap<NodeEngine, BoundedMap<string, Origin>>();

export function noteOrigin(engine: NodeEngine, activationId: string, origin: Origin): void {
  // A run from the editor is noted always: it is rare, and the dialog's user looks for it.
  if (origin.editor !== true && !isWatched()) return;
  let map = origins.get(engine);
  if (map === undefined) {
    map = new BoundedMap(ORIGINS_KEPT);
    origins.set(engine, map);
  }
  map.set(activationId, origin);
}

export function originOf(engine: NodeEngine, activationId: string): Origin | undefined {
  return origins.get(engine)?.get(activationId);
}
