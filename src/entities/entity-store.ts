/**
 * In-memory entity store. Actions, triggers and rules share one key space per namespace, as in OpenWhisk where
 * they are documents in one database keyed by `namespace/name`.
 */
import { ewError } from '../errors';
import type { QualifiedName } from './names';
import type { ActionDoc, RuleDoc, TriggerDoc } from './types';

export type EntityType = 'action' | 'trigger' | 'rule';
interface DocByType {
  action: ActionDoc;
  trigger: TriggerDoc;
  rule: RuleDoc;
}

interface Entry {
  readonly type: EntityType;
  readonly doc: ActionDoc | TriggerDoc | RuleDoc;
}

export class EntityStore {
  readonly #entries = new Map<string, Entry>();

  static key(q: QualifiedName): string {
    return `${q.namespace}/${q.name}`;
  }

  /** The stored entity, or `undefined`; throws 409 when the name belongs to another type. */
  find<T extends EntityType>(type: T, q: QualifiedName): DocByType[T] | undefined {
    const entry = this.#entries.get(EntityStore.key(q));
    if (entry === undefined) return undefined;
    if (entry.type !== type) throw ewError('EW_ENTITY_WRONG_TYPE', [], { name: EntityStore.key(q), type: entry.type });
    return entry.doc as DocByType[T];
  }

  get<T extends EntityType>(type: T, q: QualifiedName): DocByType[T] {
    const doc = this.find(type, q);
    if (doc === undefined) throw ewError('EW_ENTITY_NOT_FOUND', [], { name: EntityStore.key(q), type });
    return doc;
  }

  put<T extends EntityType>(type: T, doc: DocByType[T]): void {
    this.#entries.set(EntityStore.key(doc), { type, doc });
  }

  delete(type: EntityType, q: QualifiedName): void {
    this.get(type, q);
    this.#entries.delete(EntityStore.key(q));
  }

  /** Entities of one type in a namespace, most recently updated first (as OpenWhisk lists them). */
  list<T extends EntityType>(type: T, namespace: string): DocByType[T][] {
    const out: DocByType[T][] = [];
    for (const entry of this.#entries.values()) {
      if (entry.type === type && entry.doc.namespace === namespace) out.push(entry.doc as DocByType[T]);
    }
    return out.sort((a, b) => b.updated - a.updated);
  }
}
