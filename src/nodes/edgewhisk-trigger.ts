/**
 * `edgewhisk-trigger`: fires a named trigger with the message's payload. Outputs the trigger activation id and the
 * activation id of every rule it fired; optionally waits for those activations and outputs their results together.
 */
import type { Activation } from '../activations/record';
import { isValidEntityName } from '../entities/names';
import { noteOrigin } from './lib/activation-origins';
import { leaseEngineFor } from './lib/engine-source';
import { asError, errorStatus, shortText } from './lib/node-errors';
import type { DoneFn, Node, NodeDef, NodeMessage, RedApi, SendFn } from './lib/red-types';

interface TriggerNodeDef extends NodeDef {
  engine?: string;
  trigger?: string;
  /** Wait for the rule activations and output their results. */
  wait?: boolean;
  /** Seconds to wait for rule activations. */
  waitTimeout?: string | number;
  blockOverrides?: boolean;
}

export interface RuleOutcome {
  readonly rule: string;
  readonly action: string;
  readonly success: boolean;
  readonly activationId?: string;
  readonly error?: string;
}

export default function register(RED: RedApi): void {
  function EdgeWhiskTriggerNode(this: Node, def: TriggerNodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const configured = (def.trigger ?? '').trim();
    const waitMs = Math.max(1, Number(def.waitTimeout ?? 60)) * 1000;
    let lease = leaseEngineFor(RED, node, def.engine);
    if (lease === undefined) return;
    const engine = lease.engine;

    const ensureTrigger = async (name: string): Promise<void> => {
      try {
        await engine.triggers.get({ name });
      } catch {
        await engine.triggers.create({ name }).catch(() => undefined);
      }
    };
    if (configured !== '') {
      if (!isValidEntityName(configured)) {
        node.error(`Invalid trigger name '${configured}'.`);
        node.status({ fill: 'red', shape: 'ring', text: 'invalid name' });
      } else {
        ensureTrigger(configured).catch(() => undefined);
      }
    }

    const handle = async (msg: NodeMessage, send: SendFn, done: DoneFn): Promise<void> => {
      const override = typeof msg['trigger'] === 'string' && msg['trigger'] !== '' && def.blockOverrides !== true;
      const name = override ? (msg['trigger'] as string) : configured;
      if (name === '') throw new Error('No trigger name: set one on the node or in msg.trigger.');
      await ensureTrigger(name);
      const payload = msg.payload;
      const params = payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : payload === undefined ? {} : { payload };
      const fired = await engine.triggers.invoke({ name, params });
      if (fired.activationId !== undefined) noteOrigin(engine, fired.activationId, { node: node.id });
      if (fired.activationId === undefined) {
        msg.payload = { activationId: null, rules: [] };
        node.status({ fill: 'grey', shape: 'ring', text: 'no active rule' });
        send(msg);
        done();
        return;
      }
      const record = await engine.activations.get(fired.activationId);
      const rules = record.logs.map((line) => JSON.parse(line) as RuleOutcome);
      msg['activation'] = record;
      if (def.wait === true) {
        const results = await Promise.all(
          rules.map(async (rule) => {
            if (rule.activationId === undefined) return { ...rule, result: undefined };
            const activation: Activation = await engine.activations.wait({ activationId: rule.activationId, timeout: waitMs });
            return { ...rule, success: activation.response.success, status: activation.response.status, result: activation.response.result, activation };
          }),
        );
        msg.payload = { activationId: fired.activationId, results };
      } else {
        msg.payload = { activationId: fired.activationId, rules };
      }
      const ok = rules.filter((r) => r.success).length;
      node.status({ fill: 'green', shape: 'dot', text: shortText(`fired ${ok}/${rules.length} rules`) });
      send(msg);
      done();
    };

    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      handle(msg, send, done).catch((error: unknown) => {
        node.status(errorStatus(error));
        done(asError(error));
      });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      const current = lease;
      lease = undefined;
      (current?.release() ?? Promise.resolve()).then(done, done);
    });
  }
  RED.nodes.registerType('edgewhisk-trigger', EdgeWhiskTriggerNode as unknown as new (def: NodeDef) => unknown);
}
