/**
 * Entity names and fully qualified names (openwhisk-semantics §1).
 *
 * The regex is OpenWhisk's `EntityPath` regex in JavaScript form: JS `\w` is ASCII-only like Java's, and without the
 * `m` flag `$` matches only at the very end, like `\z`, so a trailing newline is rejected.
 */
import { ewError } from '../errors';

export const ENTITY_NAME_MAX_LENGTH = 256;
export const ENTITY_NAME = /^(?:\w|\w[\w@ .&-]{0,254}[\w@.&-])$/;

/** Namespace and name of an entity; packages are not supported yet. */
export interface QualifiedName {
  readonly namespace: string;
  readonly name: string;
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
 * Parses `name`, `/ns/name` or `/_/name` into a namespace and a name, validating every segment. `_` and a missing
 * namespace stand for `defaultNamespace`.
 */
export function parseName(input: unknown, defaultNamespace: string): QualifiedName {
  if (typeof input !== 'string') throw ewError('EW_NAME_ILLEGAL', [], { name: input });
  if (!input.startsWith('/')) {
    if (input.includes('/')) {
      const parts = input.split('/');
      parts.forEach((part) => checkSegment(part, false));
      throw ewError('EW_PACKAGE_UNSUPPORTED', [input], { name: input });
    }
    checkSegment(input, false);
    return { namespace: defaultNamespace, name: input };
  }
  const parts = input.slice(1).split('/');
  if (parts.length < 2) throw ewError('EW_NAME_MALFORMED', [], { name: input });
  const [namespace, ...rest] = parts as [string, ...string[]];
  const resolvedNamespace = namespace === '_' ? defaultNamespace : namespace;
  checkSegment(resolvedNamespace, true);
  rest.forEach((part) => checkSegment(part, false));
  if (rest.length > 1) throw ewError('EW_PACKAGE_UNSUPPORTED', [input], { name: input });
  return { namespace: resolvedNamespace, name: rest[0] as string };
}

/** `/ns/name`, the form OpenWhisk stores in rules and sequence components. */
export function fqn(q: QualifiedName): string {
  return `/${q.namespace}/${q.name}`;
}

/** `ns/name`, the form of the `path` annotation and trigger logs. */
export function entityPath(q: QualifiedName): string {
  return `${q.namespace}/${q.name}`;
}
