/**
 * The entity store. Actions, triggers and rules share one key space per namespace, as in OpenWhisk where they are
 * documents in one database keyed by `namespace/name`. Reads are served from memory; with a journal (the durable
 * store), every write goes to it first, so a write the journal refuses (a full disk) changes nothing.
 */
import { ewError } from '../errors';
import { rootNamespace, type QualifiedName } from './names';
import type { ActionDoc, PackageDoc, RuleDoc, TriggerDoc } from './types';

export type EntityType = 'action' | 'trigger' | 'rule' | 'package';
interface DocByType {
  action: ActionDoc;
  trigger: TriggerDoc;
  rule: RuleDoc;
  package: PackageDoc;
}

interface Entry {
  readonly type: EntityType;
  readonly doc: ActionDoc | TriggerDoc | RuleDoc | PackageDoc;
}

export interface JournalEntry extends Entry {
  readonly key: string;
}

/** Where entities persist (store/sqlite-entity-journal.ts); writes must be durable when they return. */
export interface EntityJournal {
  load(): JournalEntry[];
  put(entry: JournalEntry): void;
  delete(key: string): void;
}

/**
 * The namespace of the built-in packages (`/whisk.system/alarms`, `/whisk.system/mqtt`): readable by everyone, written
 * by no one, as OpenWhisk's system namespace is to an ordinary key.
 */
export const SYSTEM_NAMESPACE = 'whisk.system';

export class EntityStore {
  readonly #entries = new Map<string, Entry>();
  readonly #journal: EntityJournal | undefined;

  constructor(journal?: EntityJournal) {
    this.#journal = journal;
    for (const entry of journal?.load() ?? []) this.#entries.set(entry.key, { type: entry.type, doc: entry.doc });
  }

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

  /** Adds a built-in entity of the system namespace: in memory only, made again by every engine. */
  putSystem<T extends EntityType>(type: T, doc: DocByType[T]): void {
    if (rootNamespace(doc.namespace) !== SYSTEM_NAMESPACE) throw new TypeError(`Expected a ${SYSTEM_NAMESPACE} entity, got ${doc.namespace}`);
    this.#entries.set(EntityStore.key(doc), { type, doc });
  }

  put<T extends EntityType>(type: T, doc: DocByType[T]): void {
    refuseSystem(doc);
    const key = EntityStore.key(doc);
    this.#journal?.put({ key, type, doc });
    this.#entries.set(key, { type, doc });
  }

  delete(type: EntityType, q: QualifiedName): void {
    refuseSystem(q);
    this.get(type, q);
    const key = EntityStore.key(q);
    this.#journal?.delete(key);
    this.#entries.delete(key);
  }

  /**
   * Entities of one type in a namespace, packaged ones included (their namespace is `ns/pkg`), most recently
   * updated first (as OpenWhisk lists them). `exact` keeps only those whose namespace is exactly `namespace`.
   */
  list<T extends EntityType>(type: T, namespace: string, exact = false): DocByType[T][] {
    const out: DocByType[T][] = [];
    const prefix = `${namespace}/`;
    for (const entry of this.#entries.values()) {
      const ns = entry.doc.namespace;
      if (entry.type === type && (ns === namespace || (!exact && ns.startsWith(prefix)))) out.push(entry.doc as DocByType[T]);
    }
    return out.sort((a, b) => b.updated - a.updated);
  }
}

/** Nobody writes to the system namespace; its entities come with the engine. The APIs check first, before validating. */
export function refuseSystem<Q extends QualifiedName>(q: Q): Q {
  if (rootNamespace(q.namespace) === SYSTEM_NAMESPACE) throw ewError('EW_AUTH_FORBIDDEN', []);
  return q;
}
