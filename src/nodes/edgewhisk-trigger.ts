/**
 * `edgewhisk-trigger`: fires a named trigger with the message's payload. Outputs the trigger activation id and the
 * activation id of every rule it fired; optionally waits for those activations and outputs their results together.
 * With a schedule (cron, time zone) the trigger's alarm feed fires it too, and each of those fires is output the same
 * way with `topic: 'schedule'` (lib/trigger-schedule.ts).
 */
import type { Activation } from '../activations/record';
import { isValidEntityName } from '../entities/names';
import { noteOrigin } from './lib/activation-origins';
import { leaseEngineFor } from './lib/engine-source';
import { asError, errorStatus, shortText } from './lib/node-errors';
import type { DoneFn, Node, NodeDef, NodeMessage, RedApi, SendFn } from './lib/red-types';
import { startSchedule, type ScheduleFields } from './lib/trigger-schedule';

interface TriggerNodeDef extends NodeDef, ScheduleFields {
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
    let ready = Promise.resolve();
    if (configured !== '') {
      if (!isValidEntityName(configured)) {
        node.error(`Invalid trigger name '${configured}'.`);
        node.status({ fill: 'red', shape: 'ring', text: 'invalid name' });
      } else {
        ready = ensureTrigger(configured).catch(() => undefined);
      }
    }

    /** What a fire became, as the node outputs it: the rules it started, or with "wait" their results. */
    const outcome = async (activationId: string | undefined): Promise<{ payload: unknown; activation?: Activation; rules: readonly RuleOutcome[] }> => {
      if (activationId === undefined) return { payload: { activationId: null, rules: [] }, rules: [] };
      noteOrigin(engine, activationId, { node: node.id });
      const record = await engine.activations.get(activationId);
      const rules = record.logs.map((line) => JSON.parse(line) as RuleOutcome);
      if (def.wait !== true) return { payload: { activationId, rules }, activation: record, rules };
      const results = await Promise.all(
        rules.map(async (rule) => {
          if (rule.activationId === undefined) return { ...rule, result: undefined };
          const activation: Activation = await engine.activations.wait({ activationId: rule.activationId, timeout: waitMs });
          return { ...rule, success: activation.response.success, status: activation.response.status, result: activation.response.result, activation };
        }),
      );
      return { payload: { activationId, results }, activation: record, rules };
    };

    const handle = async (msg: NodeMessage, send: SendFn, done: DoneFn): Promise<void> => {
      const override = typeof msg['trigger'] === 'string' && msg['trigger'] !== '' && def.blockOverrides !== true;
      const name = override ? (msg['trigger'] as string) : configured;
      if (name === '') throw new Error('No trigger name: set one on the node or in msg.trigger.');
      await ensureTrigger(name);
      const payload = msg.payload;
      const params = payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : payload === undefined ? {} : { payload };
      const fired = await engine.triggers.invoke({ name, params });
      const result = await outcome(fired.activationId);
      msg.payload = result.payload;
      if (result.activation === undefined) {
        node.status({ fill: 'grey', shape: 'ring', text: 'no active rule' });
      } else {
        msg['activation'] = result.activation;
        const ok = result.rules.filter((r) => r.success).length;
        // A scheduled node keeps saying when it fires next: that is what its status is looked at for.
        const next = schedule.next();
        node.status({ fill: 'green', shape: 'dot', text: next === undefined ? shortText(`fired ${ok}/${result.rules.length} rules`) : `fired ${ok}/${result.rules.length}, ${next}` });
      }
      send(msg);
      done();
    };

    // A fire of the schedule: output like a message's, with no message to answer (its status stays the schedule's).
    // An invalid name was reported above; its schedule has nothing to fire.
    const schedule = startSchedule({
      RED,
      node,
      engine,
      trigger: isValidEntityName(configured) ? configured : '',
      valid: configured === '' || isValidEntityName(configured),
      fields: def,
      ready,
      fired: (activationId) => {
        outcome(activationId).then(
          (result) => node.send({ topic: 'schedule', payload: result.payload, ...(result.activation === undefined ? {} : { activation: result.activation }) }),
          (error: unknown) => node.error(asError(error)),
        );
      },
    });

    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      handle(msg, send, done).catch((error: unknown) => {
        node.status(errorStatus(error));
        done(asError(error));
      });
    });

    node.on('close', (removed: boolean, done: () => void) => {
      const current = lease;
      lease = undefined;
      schedule
        .close(removed === true)
        .then(() => current?.release())
        .then(done, done);
    });
  }
  RED.nodes.registerType('edgewhisk-trigger', EdgeWhiskTriggerNode as unknown as new (def: NodeDef) => unknown);
}
