/**
 * `edgewhisk-activations`: emits one message per completed activation, filtered by entity name and status. How
 * results of non-blocking invocations and trigger fan-out reach a flow, and how a flow monitors the engine.
 */
import type { Activation } from '../activations/record';
import { leaseEngineFor } from './lib/engine-source';
import type { Node, NodeDef, RedApi } from './lib/red-types';

interface ActivationsNodeDef extends NodeDef {
  engine?: string;
  /** Entity names to follow, comma separated; empty = all. */
  filter?: string;
  /** `any`, `success`, `failure`, or one status: `application error`, `action developer error`, `whisk internal error`. */
  outcome?: string;
  /**
   * Where nodes saved before 0.2 kept `outcome`. The editor uses a node's `status` for the status it shows, so a
   * redeploy saved that display object (`{text: "4 seen", …}`) here and the node filtered everything out. Only a
   * string that is a valid outcome is taken over; anything else means no filter.
   */
  status?: unknown;
  /** Also emit trigger activations. */
  triggers?: boolean;
}

export const OUTCOMES: readonly string[] = Object.freeze(['any', 'success', 'failure', 'application error', 'action developer error', 'whisk internal error']);

/** The node's outcome filter: `outcome`, else a legacy `status` string that names one, else `any`. */
export function outcomeFilter(def: { outcome?: unknown; status?: unknown }): string {
  if (typeof def.outcome === 'string' && OUTCOMES.includes(def.outcome)) return def.outcome;
  if (typeof def.status === 'string' && OUTCOMES.includes(def.status)) return def.status;
  return 'any';
}

export function matchesStatus(activation: Activation, wanted: string | undefined): boolean {
  if (wanted === undefined || wanted === '' || wanted === 'any') return true;
  if (wanted === 'success') return activation.response.success;
  if (wanted === 'failure') return !activation.response.success;
  return activation.response.status === wanted;
}

export default function register(RED: RedApi): void {
  function EdgeWhiskActivationsNode(this: Node, def: ActivationsNodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const names = new Set((def.filter ?? '').split(',').map((n) => n.trim()).filter((n) => n !== ''));
    let count = 0;
    let lease = leaseEngineFor(RED, node, def.engine);
    if (lease === undefined) return;
    const engine = lease.engine;
    const isTrigger = (a: Activation): boolean => a.end === undefined;
    const outcome = outcomeFilter(def);

    const onCompleted = (activation: Activation): void => {
      if (names.size > 0 && !names.has(activation.name)) return;
      if (isTrigger(activation) && def.triggers !== true) return;
      if (!matchesStatus(activation, outcome)) return;
      count++;
      node.status({ fill: 'green', shape: 'dot', text: `${count} seen` });
      node.send({ topic: activation.name, payload: activation.response.result, activation });
    };
    engine.on('activation:completed', onCompleted);

    node.on('close', (_removed: boolean, done: () => void) => {
      engine.off('activation:completed', onCompleted);
      const current = lease;
      lease = undefined;
      (current?.release() ?? Promise.resolve()).then(done, done);
    });
  }
  RED.nodes.registerType('edgewhisk-activations', EdgeWhiskActivationsNode as unknown as new (def: NodeDef) => unknown);
}
