/**
 * One `activation:started` listener per engine for all its action nodes, instead of one per node: each node only
 * cares about the activations it queued, so the dispatcher routes each event by activation id in O(1). With a
 * listener per node, every activation visited every node, and eleven nodes tripped Node's MaxListenersExceeded
 * warning on each deploy.
 */
import type { NodeEngine } from './node-engine';

type OnStarted = (activationId: string) => void;

interface Dispatcher {
  readonly listener: (info: { activationId: string }) => void;
  /** Activation id → the node callback waiting for its start. */
  readonly waiting: Map<string, OnStarted>;
  subscribers: number;
}

const dispatchers = new WeakMap<NodeEngine, Dispatcher>();

export interface StartedSubscription {
  /** Calls `onStarted` once when `activationId` starts. */
  expect(activationId: string): void;
  /** The activation ended (or was never going to start): stop waiting for it. */
  forget(activationId: string): void;
  /** The node is closing: forgets its activations; the engine listener goes with the last subscriber. */
  release(): void;
}

export function subscribeStarted(engine: NodeEngine, onStarted: OnStarted): StartedSubscription {
  let dispatcher = dispatchers.get(engine);
  if (dispatcher === undefined) {
    const waiting = new Map<string, OnStarted>();
    const created: Dispatcher = {
      waiting,
      subscribers: 0,
      listener: (info) => {
        const callback = waiting.get(info.activationId);
        if (callback === undefined) return;
        waiting.delete(info.activationId);
        callback(info.activationId);
      },
    };
    engine.on('activation:started', created.listener);
    dispatchers.set(engine, created);
    dispatcher = created;
  }
  const d = dispatcher;
  d.subscribers++;
  const mine = new Set<string>();
  let released = false;
  return {
    expect(activationId) {
      if (released) return;
      mine.add(activationId);
      d.waiting.set(activationId, (id) => {
        mine.delete(id);
        onStarted(id);
      });
    },
    forget(activationId) {
      mine.delete(activationId);
      d.waiting.delete(activationId);
    },
    release() {
      if (released) return;
      released = true;
      for (const id of mine) d.waiting.delete(id);
      mine.clear();
      if (--d.subscribers === 0) {
        engine.off('activation:started', d.listener);
        dispatchers.delete(engine);
      }
    },
  };
}
