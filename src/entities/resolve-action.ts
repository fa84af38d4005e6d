/**
 * Which action a name runs, with which default parameters (docs/semantics.md#parameters): an action, an action in
 * a package (package parameters < action parameters), or an action reached through a package binding (package <
 * binding < action), the binding named in the activation's `binding` annotation.
 */
import { ewError } from '../errors';
import type { EntityStore } from './entity-store';
import { packageOf, rootNamespace, type QualifiedName } from './names';
import type { ActionDoc, KeyValue, PackageDoc, Parameter } from './types';

export interface ResolvedAction {
  /** The action with its effective default parameters. */
  readonly action: ActionDoc;
  /** `ns/binding` when reached through a binding. */
  readonly binding?: string;
}

function findQuiet<T extends 'action' | 'package'>(store: EntityStore, type: T, q: QualifiedName) {
  try {
    return store.find(type, q);
  } catch {
    return undefined;
  }
}

function withParameters(action: ActionDoc, layers: readonly (readonly KeyValue[])[]): ActionDoc {
  if (layers.every((l) => l.length === 0)) return action;
  const merged = new Map<string, Parameter>();
  for (const layer of layers) for (const p of layer) merged.set(p.key, p);
  for (const p of action.parameters) merged.set(p.key, p);
  return { ...action, parameters: [...merged.values()] };
}

export function resolveAction(store: EntityStore, q: QualifiedName): ResolvedAction {
  const pkgName = packageOf(q.namespace);
  const direct = findQuiet(store, 'action', q);
  if (pkgName === undefined) {
    if (direct === undefined) throw ewError('EW_ENTITY_NOT_FOUND', [], { name: `/${q.namespace}/${q.name}` });
    return { action: direct };
  }
  const pkg: PackageDoc | undefined = findQuiet(store, 'package', { namespace: rootNamespace(q.namespace), name: pkgName });
  if (direct !== undefined) return { action: withParameters(direct, [pkg?.parameters ?? []]) };
  if (pkg?.binding !== undefined) {
    const bound = findQuiet(store, 'package', pkg.binding);
    const target = findQuiet(store, 'action', { namespace: `${pkg.binding.namespace}/${pkg.binding.name}`, name: q.name });
    if (target !== undefined) {
      return { action: withParameters(target, [bound?.parameters ?? [], pkg.parameters]), binding: `${rootNamespace(q.namespace)}/${pkgName}` };
    }
  }
  throw ewError('EW_ENTITY_NOT_FOUND', [], { name: `/${q.namespace}/${q.name}` });
}
