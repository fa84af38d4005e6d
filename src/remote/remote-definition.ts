/**
 * Whether an action stored on a remote OpenWhisk already has the definition a caller asks for: the remote
 * engine's side of `keepIfUnchanged` (see `ActionOptions`).
 *
 * The platform normalises what it stores in its own way (fully qualified sequence components, default limits,
 * annotations it adds, the kind an alias became), and cannot be asked to compare. So this checks only what the
 * caller asked for: every field given must be found in the stored action; anything the caller left out is the
 * platform's business.
 */
import type { ActionOptions } from '../api/actions-api';
import type { ActionView } from '../entities/views';

function keyValues(list: unknown): Record<string, unknown> {
  if (!Array.isArray(list)) return typeof list === 'object' && list !== null ? (list as Record<string, unknown>) : {};
  return Object.fromEntries(list.map((e: { key: string; value: unknown }) => [e.key, e.value]));
}

/** `/ns/pkg/name`, `/_/name` or `name` → `pkg/name` / `name`: a component without the namespace the platform filled in. */
function withoutNamespace(name: string): string {
  return name.startsWith('/') ? name.split('/').slice(2).join('/') : name;
}

/** An alias (`nodejs:default`, `python:default`) matches the concrete kind of its language the platform chose. */
function sameKind(stored: unknown, wanted: unknown): boolean {
  if (wanted === undefined || stored === wanted) return true;
  if (typeof stored !== 'string' || typeof wanted !== 'string') return false;
  const [language, version] = wanted.split(':');
  return version === 'default' && stored.split(':')[0] === language;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function remoteDefinitionMatches(stored: ActionView, wanted: ActionOptions): boolean {
  const exec = stored.exec;
  const sequence = wanted.sequence;
  if (sequence !== undefined) {
    return exec.kind === 'sequence' && same((exec.components ?? []).map(withoutNamespace), sequence.map((c) => withoutNamespace(String(c))));
  }
  if (exec.kind === 'sequence') return false;
  if (wanted.action !== undefined && exec.code !== wanted.action) return false;
  if (!sameKind(exec.kind, wanted.kind)) return false;
  if ((exec.main ?? 'main') !== (wanted.exec?.main ?? 'main')) return false;
  if (exec.image !== wanted.exec?.image) return false;
  if (wanted.params !== undefined && !same(keyValues(stored.parameters), keyValues(wanted.params))) return false;
  const limits: Readonly<Record<string, number>> = { ...stored.limits };
  for (const [key, value] of Object.entries(wanted.limits ?? {})) if (limits[key] !== value) return false;
  const annotations = keyValues(stored.annotations);
  for (const [key, value] of Object.entries(keyValues(wanted.annotations))) if (!same(annotations[key], value)) return false;
  return true;
}
