/**
 * `engine.rules`: the `openwhisk` client's `ow.rules`. A rule's status lives in its trigger's rule map, as in
 * OpenWhisk, so firing a trigger reads one document.
 */
import type { EntityContext } from '../engine-context';
import { entityPath, fqn, requireNoPackage } from '../entities/names';
import { resolveAction } from '../entities/resolve-action';
import type { KeyValue, RuleDoc, RuleStatus, TriggerDoc } from '../entities/types';
import { nextVersion, resolveAnnotations } from '../entities/validate';
import { ewError } from '../errors';
import { monotonicNow } from '../util/monotonic-now';
import { pickName } from './pick-name';
import { listWindow, type ListOptions } from './list-options';
import { splitFqn } from './triggers-api';
import type { RuleView } from '../entities/views';

export interface RuleOptions {
  readonly name?: string;
  readonly ruleName?: string;
  /** Trigger name (`t`, `/ns/t`). */
  readonly trigger?: string;
  /** Action name (`a`, `/ns/a`). */
  readonly action?: string;
  readonly annotations?: Record<string, unknown> | readonly KeyValue[];
  readonly overwrite?: boolean;
  /** EdgeWhisk: create the rule inactive. @default 'active' */
  readonly status?: RuleStatus;
}


export class RulesApi {
  readonly #core: EntityContext;

  constructor(core: EntityContext) {
    this.#core = core;
  }

  /** The entities (newest first), or with `count: true` only how many there are, as `{rules: n}`. */
  list(options: ListOptions & { readonly count: true }): Promise<{ rules: number }>;
  list(options?: ListOptions): Promise<RuleView[]>;
  async list(options: ListOptions = {}): Promise<RuleView[] | { rules: number }> {
    const { skip, limit } = listWindow(options, 'rules');
    const namespace = options.namespace === undefined || options.namespace === '_' ? this.#core.options.namespace : options.namespace;
    if (options.count === true) return { rules: this.#core.entities.list('rule', namespace).length };
    return this.#core.entities.list('rule', namespace).slice(skip, skip + limit).map((r) => this.#view(r));
  }

  async get(options: RuleOptions | string): Promise<RuleView> {
    return this.#view(this.#core.entities.get('rule', requireNoPackage(this.#core.name(pickName(options, 'ruleName')), 'rule')));
  }

  async create(options: RuleOptions): Promise<RuleView> {
    return this.#view(this.#put(options, options.overwrite === true));
  }

  async update(options: RuleOptions): Promise<RuleView> {
    return this.#view(this.#put(options, true));
  }

  async delete(options: RuleOptions | string): Promise<RuleView> {
    const core = this.#core;
    const q = requireNoPackage(core.name(pickName(options, 'ruleName')), 'rule');
    const rule = core.entities.get('rule', q);
    const view = this.#view(rule);
    this.#setTriggerEntry(rule, undefined);
    core.entities.delete('rule', q);
    return view;
  }

  async enable(options: RuleOptions | string): Promise<RuleView> {
    return this.#setStatus(options, 'active');
  }

  async disable(options: RuleOptions | string): Promise<RuleView> {
    return this.#setStatus(options, 'inactive');
  }

  #setStatus(options: RuleOptions | string, status: RuleStatus): RuleView {
    const core = this.#core;
    const rule = core.entities.get('rule', requireNoPackage(core.name(pickName(options, 'ruleName')), 'rule'));
    // Only rules whose trigger exists can change state (OpenWhisk's Rules.activate).
    const trigger = core.entities.find('trigger', { namespace: rule.trigger.path, name: rule.trigger.name });
    if (trigger === undefined) throw ewError('EW_ENTITY_NOT_FOUND', [], { trigger: `/${rule.trigger.path}/${rule.trigger.name}` });
    const updated: RuleDoc = { ...rule, status, updated: monotonicNow() };
    core.entities.put('rule', updated);
    this.#setTriggerEntry(updated, status);
    return this.#view(updated);
  }

  #put(o: RuleOptions, overwrite: boolean): RuleDoc {
    const core = this.#core;
    if (typeof o !== 'object' || o === null) throw new TypeError('Expected `options` to be an object');
    const q = requireNoPackage(core.name(pickName(o, 'ruleName')), 'rule');
    const existing = core.entities.find('rule', q);
    if (existing !== undefined && !overwrite) throw ewError('EW_ENTITY_EXISTS', [], { name: fqn(q) });
    if (existing !== undefined && this.#status(existing) === 'active') throw ewError('EW_RULE_ACTIVE', [fqn(q)]);
    // An update keeps the rule's status unless told otherwise (OpenWhisk's Rules.update); new rules start active.
    const status = o.status ?? (existing === undefined ? 'active' : this.#status(existing));
    if (status !== 'active' && status !== 'inactive') throw ewError('EW_RULE_STATUS_INVALID', [String(status)]);
    const triggerName = o.trigger ?? (existing === undefined ? undefined : `/${existing.trigger.path}/${existing.trigger.name}`);
    const actionName = o.action ?? (existing === undefined ? undefined : `/${existing.action.path}/${existing.action.name}`);
    if (typeof triggerName !== 'string') throw ewError('EW_RULE_TRIGGER_REQUIRED', []);
    if (typeof actionName !== 'string') throw ewError('EW_RULE_ACTION_REQUIRED', []);
    const trigger = requireNoPackage(core.name(triggerName), 'trigger');
    const action = core.name(actionName);
    if (core.entities.find('trigger', trigger) === undefined) throw ewError('EW_RULE_TRIGGER_MISSING', [fqn(trigger)]);
    try {
      resolveAction(core.entities, action);
    } catch {
      throw ewError('EW_RULE_ACTION_MISSING', [fqn(action)]);
    }
    if (existing !== undefined) this.#setTriggerEntry(existing, undefined);
    const doc: RuleDoc = {
      namespace: q.namespace,
      name: q.name,
      trigger: splitFqn(fqn(trigger)),
      action: splitFqn(fqn(action)),
      status,
      annotations: o.annotations === undefined ? [...(existing?.annotations ?? [])] : resolveAnnotations(o.annotations, core.options.parametersLimit),
      version: nextVersion(undefined, existing?.version),
      publish: false,
      updated: monotonicNow(),
    };
    core.entities.put('rule', doc);
    this.#setTriggerEntry(doc, status);
    return doc;
  }

  /** Adds, updates (`status`) or removes (`undefined`) the rule's entry in its trigger's rule map. */
  #setTriggerEntry(rule: RuleDoc, status: RuleStatus | undefined): void {
    const core = this.#core;
    const triggerQ = { namespace: rule.trigger.path, name: rule.trigger.name };
    let trigger: TriggerDoc | undefined;
    try {
      trigger = core.entities.find('trigger', triggerQ);
    } catch {
      trigger = undefined;
    }
    if (trigger === undefined) return;
    const rules = { ...trigger.rules };
    // Keyed by the rule's document id (`ns/name`, no leading slash), as OpenWhisk writes the trigger's rule map.
    const key = entityPath(rule);
    if (status === undefined) delete rules[key];
    else rules[key] = { action: `/${rule.action.path}/${rule.action.name}`, status };
    core.entities.put('trigger', { ...trigger, rules });
  }

  #status(rule: RuleDoc): RuleStatus {
    try {
      const trigger = this.#core.entities.find('trigger', { namespace: rule.trigger.path, name: rule.trigger.name });
      return trigger?.rules[entityPath(rule)]?.status ?? 'inactive';
    } catch {
      return 'inactive';
    }
  }

  #view(rule: RuleDoc): RuleView {
    return {
      namespace: rule.namespace,
      name: rule.name,
      version: rule.version,
      publish: rule.publish,
      trigger: { ...rule.trigger },
      action: { ...rule.action },
      status: this.#status(rule),
      annotations: rule.annotations.map((a) => ({ ...a })),
      updated: rule.updated,
    };
  }
}
