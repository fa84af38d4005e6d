/**
 * Finding the action's entry point by name without ever evaluating the name (docs/action-protocol.md#entry-points):
 * `main` is an identifier path validated by the engine and walked over own properties only.
 */

const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);
const PATH = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;

export function isEntryPath(main: string): boolean {
  return PATH.test(main) && !main.split('.').some((s) => FORBIDDEN.has(s));
}

export function lookup(root: unknown, path: readonly string[]): unknown {
  let value: unknown = root;
  for (const segment of path) {
    if (FORBIDDEN.has(segment)) return undefined;
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
    if (!Object.prototype.hasOwnProperty.call(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

export const notAFunction = (main: string): string => `Action entrypoint '${main}' is not a function.`;
