/**
 * Default parameters of an action node. String values may be Mustache templates rendered against the message,
 * with `flow.x`, `global.x` and `env.X` lookups as in the core template node: `{{payload.temp}}`, `{{flow.room}}`.
 * Values are not HTML-escaped: they are parameters, not markup.
 */
import Mustache from 'mustache';
import type { Node, NodeMessage, RedApi } from './red-types';

export type ParamType = 'str' | 'num' | 'bool' | 'json';

export interface ParamDef {
  readonly key: string;
  readonly value: string;
  readonly type?: ParamType;
}

const noEscape = (text: string): string => text;

function isTemplate(p: ParamDef): boolean {
  return (p.type ?? 'str') === 'str' && p.value.includes('{{');
}

/** Converts a non-template value to its type; throws a clear error for bad numbers or JSON. */
export function typedValue(p: ParamDef): unknown {
  switch (p.type ?? 'str') {
    case 'num': {
      const n = Number(p.value);
      if (p.value.trim() === '' || !Number.isFinite(n)) throw new Error(`Parameter '${p.key}' is not a number: ${p.value}`);
      return n;
    }
    case 'bool':
      return p.value === 'true';
    case 'json':
      try {
        return JSON.parse(p.value) as unknown;
      } catch (error) {
        throw new Error(`Parameter '${p.key}' is not valid JSON: ${(error as Error).message}`);
      }
    default:
      return p.value;
  }
}

/** Parameters that never change: stored with the action, so API callers get them too. */
export function staticParams(params: readonly ParamDef[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of params) if (p.key !== '' && !isTemplate(p)) out[p.key] = typedValue(p);
  return out;
}

export function hasTemplates(params: readonly ParamDef[]): boolean {
  return params.some((p) => p.key !== '' && isTemplate(p));
}

function contextView(store: { get(key: string): unknown }): object {
  return new Proxy({}, { get: (_t, key) => (typeof key === 'string' ? store.get(key) : undefined), has: () => true });
}

/** Renders the template parameters against `msg`. */
export function renderParams(RED: RedApi, node: Node, params: readonly ParamDef[], msg: NodeMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const templates = params.filter((p) => p.key !== '' && isTemplate(p));
  if (templates.length === 0) return out;
  const context = node.context();
  const view = {
    ...msg,
    flow: contextView(context.flow),
    global: contextView(context.global),
    env: contextView({ get: (key: string) => RED.util.getSetting(node, key) }),
  };
  for (const p of templates) out[p.key] = Mustache.render(p.value, view, {}, { escape: noEscape });
  return out;
}
