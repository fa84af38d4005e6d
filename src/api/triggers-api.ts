/**
 * `engine.triggers`: the `openwhisk` client's `ow.triggers` (create/get/list/update/delete, and `invoke` to fire).
 *
 * Firing (docs/semantics.md#firing-a-trigger): no active rule → no activation and `{}` (OpenWhisk's 204);
 * otherwise one trigger activation whose logs hold one JSON line per rule, and one non-blocking invocation per
 * active rule.
 */
import { activationRecord, triggerAnnotations } from '../activations/record-builder';
import { STATUS } from '../activations/record';
import type { TriggersContext } from '../engine-context';
import { fqn, requireNoPackage } from '../entities/names';
import { resolveAction } from '../entities/resolve-action';
import type { TriggerDoc } from '../entities/types';
import { ewError, isEdgeWhiskError } from '../errors';
import { entityFields, type EntityWriteOptions } from './entity-fields';
import { newActivationId } from '../util/ids';
import { jsonSize } from '../util/json-size';
import { pickName } from './pick-name';
import { listWindow, type ListOptions } from './list-options';
import { entityViewFields, type TriggerView } from '../entities/views';

export interface TriggerOptions extends EntityWriteOptions {
  readonly triggerName?: string;
  /** An OpenWhisk trigger body `{parameters, annotations, version, publish}`, as the client passes it. */
  readonly trigger?: Record<string, unknown>;
}

export interface FireOptions {
  readonly name?: string;
  readonly triggerName?: string;
  /** The event payload; keys override the trigger's parameters. */
  readonly params?: Record<string, unknown>;
}

export function triggerView(doc: TriggerDoc): TriggerView {
  const rules: Record<string, TriggerView['rules'][string]> = {};
  for (const [rule, entry] of Object.entries(doc.rules)) rules[rule] = { action: { ...splitFqn(entry.action) }, status: entry.status };
  return {
    ...entityViewFields(doc),
    parameters: doc.parameters.map((p) => ({ ...p })),
    limits: {},
    rules,
  };
}

/** `/ns/name` → `{path: 'ns', name}` and `/ns/pkg/name` → `{path: 'ns/pkg', name}`, OpenWhisk's rule references. */
export function splitFqn(value: string): { path: string; name: string } {
  const parts = value.split('/').filter((p) => p !== '');
  return { path: parts.slice(0, -1).join('/'), name: parts.at(-1) ?? '' };
}


/** A rule whose action invoke was refused: a 5xx is a whisk error (3), any other refusal an application error (1). */
function refusalLine(base: { rule: string; action: string }, error: unknown): string {
  const refusal = isEdgeWhiskError(error) ? error : ewError('EW_SERVER_ERROR', []);
  return JSON.stringify({ ...base, statusCode: refusal.statusCode >= 500 ? 3 : 1, success: false, error: refusal.message });
}

export class TriggersApi {
  readonly #core: TriggersContext;
  readonly #deleted: (trigger: string) => void;

  /** `deleted` hears of every deleted trigger (`/ns/name`): its feed stops with it. */
  constructor(core: TriggersContext, deleted: (trigger: string) => void = () => undefined) {
    this.#core = core;
    this.#deleted = deleted;
  }

  /** The entities (newest first), or with `count: true` only how many there are, as `{triggers: n}`. */
  list(options: ListOptions & { readonly count: true }): Promise<{ triggers: number }>;
  list(options?: ListOptions): Promise<TriggerView[]>;
  async list(options: ListOptions = {}): Promise<TriggerView[] | { triggers: number }> {
    const { skip, limit } = listWindow(options, 'triggers');
    const namespace = options.namespace === undefined || options.namespace === '_' ? this.#core.options.namespace : options.namespace;
    if (options.count === true) return { triggers: this.#core.entities.list('trigger', namespace).length };
    return this.#core.entities.list('trigger', namespace).slice(skip, skip + limit).map(triggerView);
  }

  async get(options: TriggerOptions | string): Promise<TriggerView> {
    return triggerView(this.#core.entities.get('trigger', requireNoPackage(this.#core.name(pickName(options, 'triggerName')), 'trigger')));
  }

  async create(options: TriggerOptions | string): Promise<TriggerView> {
    const o = typeof options === 'string' ? { name: options } : options;
    return triggerView(this.#put(o, o.overwrite === true));
  }

  async update(options: TriggerOptions): Promise<TriggerView> {
    return triggerView(this.#put(options, true));
  }

  async delete(options: TriggerOptions | string): Promise<TriggerView> {
    const q = requireNoPackage(this.#core.name(pickName(options, 'triggerName')), 'trigger');
    const doc = this.#core.entities.get('trigger', q);
    this.#core.entities.delete('trigger', q);
    this.#deleted(fqn(q));
    return triggerView(doc);
  }

  /** Fires the trigger: `{activationId}`, or `{}` when no rule is active (no activation is recorded then). */
  async invoke(options: FireOptions | string): Promise<{ activationId?: string }> {
    const o: FireOptions = typeof options === 'string' ? { name: options } : options;
    const core = this.#core;
    if (core.closed) throw ewError('EW_ENGINE_CLOSED', []);
    const trigger = core.entities.get('trigger', requireNoPackage(core.name(pickName(o, 'triggerName')), 'trigger'));
    const payload = o.params ?? {};
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw ewError('EW_PAYLOAD_INVALID', [Array.isArray(payload) ? 'array' : typeof payload]);
    const size = jsonSize(payload);
    if (size > core.options.payloadLimit) throw ewError('EW_REQUEST_TOO_LARGE', [size, core.options.payloadLimit]);
    const rules = Object.entries(trigger.rules);
    if (!rules.some(([, r]) => r.status === 'active')) return {};

    const args: Record<string, unknown> = {};
    for (const p of trigger.parameters) args[p.key] = p.value;
    Object.assign(args, payload);
    const activationId = newActivationId();
    const start = Date.now();
    // Each rule's invocation is accepted work (docs/durability.md): the fire is answered once all are durable.
    const lines: Promise<string>[] = [];
    for (const [ruleName, rule] of rules) {
      const base = { rule: ruleName, action: rule.action.slice(1) };
      if (rule.status !== 'active') {
        lines.push(Promise.resolve(JSON.stringify({ ...base, statusCode: 1, success: false, error: `Rule '${base.rule}' is inactive, action '${base.action}' was not activated.` })));
        continue;
      }
      try {
        const { action, binding } = resolveAction(core.entities, core.name(rule.action));
        const started = core.start(action, args, { durable: true, ...(binding === undefined ? {} : { binding }) });
        lines.push(
          started.durable().then(
            () => JSON.stringify({ ...base, statusCode: 0, success: true, activationId: started.activationId }),
            (error: unknown) => refusalLine(base, error),
          ),
        );
      } catch (error) {
        lines.push(Promise.resolve(refusalLine(base, error)));
      }
    }
    const logs = await Promise.all(lines);
    await core.complete(
      activationRecord({
        entity: trigger,
        namespace: trigger.namespace,
        activationId,
        start,
        end: 0,
        response: { statusCode: STATUS.SUCCESS, result: payload },
        logs,
        annotations: triggerAnnotations(trigger),
      }),
    );
    return { activationId };
  }

  #put(o: TriggerOptions, overwrite: boolean): TriggerDoc {
    const core = this.#core;
    const q = requireNoPackage(core.name(pickName(o, 'triggerName')), 'trigger');
    const existing = core.entities.find('trigger', q);
    if (existing !== undefined && !overwrite) throw ewError('EW_ENTITY_EXISTS', [], { name: fqn(q) });
    const body = o.trigger ?? {};
    const doc: TriggerDoc = {
      namespace: q.namespace,
      name: q.name,
      ...entityFields(body, o, existing, core.options.parametersLimit),
      limits: {},
      rules: existing?.rules ?? {},
    };
    core.entities.put('trigger', doc);
    return doc;
  }
}
