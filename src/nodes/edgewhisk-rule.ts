/**
 * `edgewhisk-rule`: binds a trigger to an action by name, active or inactive. A message toggles it: `enable` /
 * `disable` (in `msg.payload` or `msg.topic`), or `msg.payload` true / false. The status shows the state.
 */
import { leaseEngineFor } from './lib/engine-source';
import { asError, isMissingEntity, shortText } from './lib/node-errors';
import type { DoneFn, Node, NodeDef, NodeMessage, RedApi, SendFn } from './lib/red-types';

interface RuleNodeDef extends NodeDef {
  engine?: string;
  rule?: string;
  trigger?: string;
  action?: string;
  active?: boolean;
}

/** `true` to enable, `false` to disable, `undefined` if the message says neither. */
export function desiredState(msg: NodeMessage): boolean | undefined {
  for (const value of [msg.payload, msg.topic]) {
    if (value === true || value === 'enable' || value === 'active' || value === 'on') return true;
    if (value === false || value === 'disable' || value === 'inactive' || value === 'off') return false;
  }
  return undefined;
}

export default function register(RED: RedApi): void {
  function EdgeWhiskRuleNode(this: Node, def: RuleNodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const ruleName = (def.rule ?? '').trim() || `rule-${def.id.replace(/[^\w]/g, '')}`;
    const trigger = (def.trigger ?? '').trim();
    const action = (def.action ?? '').trim();
    let active = def.active !== false;
    let lease = leaseEngineFor(RED, node, def.engine);
    let defined: Promise<void> | undefined;
    if (lease === undefined) return;
    const engine = lease.engine;
    const show = (): void => node.status(active ? { fill: 'green', shape: 'dot', text: 'active' } : { fill: 'grey', shape: 'ring', text: 'inactive' });

    // The action may be defined by a node that starts after this one: definition is retried until it succeeds.
    const ensureDefined = (): Promise<void> => {
      defined ??= (async () => {
        if (trigger === '' || action === '') throw new Error('A rule needs a trigger name and an action name.');
        try {
          await engine.triggers.get({ name: trigger });
        } catch {
          // A trigger node may create the same trigger meanwhile, and this create is then refused (409): the trigger
          // exists, which is all the rule needs. On a remote engine the two requests race, and this one can lose.
          await engine.triggers.create({ name: trigger }).catch(async (error: unknown) => {
            await engine.triggers.get({ name: trigger }).catch(() => Promise.reject(error));
          });
        }
        try {
          await engine.rules.disable({ name: ruleName });
          await engine.rules.update({ name: ruleName, trigger, action, status: active ? 'active' : 'inactive' });
        } catch {
          await engine.rules.create({ name: ruleName, trigger, action, status: active ? 'active' : 'inactive', overwrite: true });
        }
      })().catch((error: unknown) => {
        defined = undefined;
        throw error;
      });
      return defined;
    };
    const defineNow = (): void => {
      ensureDefined().then(show, (error: unknown) => {
        const message = asError(error).message;
        const waiting = isMissingEntity(error, ['EW_RULE_ACTION_MISSING', 'EW_RULE_TRIGGER_MISSING', 'EW_ENTITY_NOT_FOUND'], /does not exist/);
        node.status({ fill: 'grey', shape: 'ring', text: shortText(waiting ? 'waiting for action' : message) });
      });
    };
    defineNow();
    // Once every node of the deploy has started, the action exists if anything defines it.
    const onFlowsStarted = (): void => {
      if (defined === undefined) defineNow();
    };
    RED.events?.on('flows:started', onFlowsStarted);

    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      const wanted = desiredState(msg);
      if (wanted === undefined) {
        done(new Error("Send 'enable' or 'disable' (or true / false) in msg.payload to toggle the rule."));
        return;
      }
      active = wanted;
      ensureDefined()
        .then(() => (wanted ? engine.rules.enable({ name: ruleName }) : engine.rules.disable({ name: ruleName })))
        .then(() => {
          show();
          msg.payload = { rule: ruleName, trigger, action, status: wanted ? 'active' : 'inactive' };
          send(msg);
          done();
        })
        .catch((error: unknown) => {
          node.status({ fill: 'red', shape: 'ring', text: shortText(asError(error).message) });
          done(asError(error));
        });
    });

    node.on('close', (removed: boolean, done: () => void) => {
      RED.events?.removeListener('flows:started', onFlowsStarted);
      const current = lease;
      lease = undefined;
      const finish = async (): Promise<void> => {
        if (removed && !engine.closed) await engine.rules.delete({ name: ruleName }).catch(() => undefined);
        await current?.release();
      };
      finish().then(done, done);
    });
  }
  RED.nodes.registerType('edgewhisk-rule', EdgeWhiskRuleNode as unknown as new (def: NodeDef) => unknown);
}
