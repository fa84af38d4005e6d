/**
 * Entity names and fully qualified names (docs/semantics.md#names; apache/openwhisk docs/reference.md).
 *
 * The regex is OpenWhisk's `EntityPath` regex in JavaScript form: JS `\w` is ASCII-only like Java's, and without the
 * `m` flag `$` matches only at the very end, like `\z`, so a trailing newline is rejected.
 */
import { ewError } from '../errors';

export const ENTITY_NAME_MAX_LENGTH = 256;
export const ENTITY_NAME = /^(?:\w|\w[\w@ .&-]{0,254}[\w@.&-])$/;

/**
 * Namespace and name of an entity. As in OpenWhisk's `EntityPath`, an entity inside a package carries the package
 * in its namespace path: `{namespace: 'guest/weather', name: 'forecast'}`.
 */
export interface QualifiedName {
  readonly namespace: string;
  readonly name: string;
}

/** `guest/weather` → `guest`. */
export function rootNamespace(namespace: string): string {
  const slash = namespace.indexOf('/');
  return slash < 0 ? namespace : namespace.slice(0, slash);
}

/** `guest/weather` → `weather`; `guest` → undefined. */
export function packageOf(namespace: string): string | undefined {
  const slash = namespace.indexOf('/');
  return slash < 0 ? undefined : namespace.slice(slash + 1);
}

export function isValidEntityName(name: string): boolean {
  return typeof name === 'string' && name.length <= ENTITY_NAME_MAX_LENGTH && ENTITY_NAME.test(name);
}

function checkSegment(segment: string, isNamespace: boolean): void {
  if (segment.length > ENTITY_NAME_MAX_LENGTH) {
    throw isNamespace
      ? ewError('EW_NAMESPACE_TOO_LONG', [segment.length, ENTITY_NAME_MAX_LENGTH])
      : ewError('EW_NAME_TOO_LONG', [segment.length, ENTITY_NAME_MAX_LENGTH]);
  }
  if (!ENTITY_NAME.test(segment)) {
    throw isNamespace ? ewError('EW_NAMESPACE_ILLEGAL', []) : ewError('EW_NAME_ILLEGAL', []);
  }
}

/**
 * Parses `name`, `pkg/name`, `/ns/name`, `/ns/pkg/name` or `/_/…` into a namespace path and a name, validating
 * every segment. `_` and a missing namespace stand for `defaultNamespace`. Packages do not nest.
 */
export function parseName(input: unknown, defaultNamespace: string): QualifiedName {
  if (typeof input !== 'string') throw ewError('EW_NAME_ILLEGAL', [], { name: input });
  let namespace = defaultNamespace;
  let rest: string[];
  if (input.startsWith('/')) {
    const parts = input.slice(1).split('/');
    if (parts.length < 2) throw ewError('EW_NAME_MALFORMED', [], { name: input });
    const [first, ...others] = parts as [string, ...string[]];
    namespace = first === '_' ? defaultNamespace : first;
    checkSegment(namespace, true);
    rest = others;
  } else {
    rest = input.split('/');
  }
  rest.forEach((part) => checkSegment(part, false));
  if (rest.length > 2) throw ewError('EW_NAME_MALFORMED', [], { name: input });
  if (rest.length === 2) return { namespace: `${namespace}/${rest[0] as string}`, name: rest[1] as string };
  return { namespace, name: rest[0] as string };
}

/** Throws unless `q` names an entity outside any package (triggers, rules and packages themselves). */
export function requireNoPackage(q: QualifiedName, kind: string): QualifiedName {
  if (packageOf(q.namespace) !== undefined) throw ewError('EW_PACKAGE_NOT_ALLOWED', [kind, fqn(q)], { name: fqn(q) });
  return q;
}

/** `/ns/name`, the form OpenWhisk stores in rules and sequence components. */
export function fqn(q: QualifiedName): string {
  return `/${q.namespace}/${q.name}`;
}

/** `ns/name`, the form of the `path` annotation and trigger logs. */
export function entityPath(q: QualifiedName): string {
  return `${q.namespace}/${q.name}`;
}
