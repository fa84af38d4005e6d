/**
 * Parameter merging for one invocation (docs/semantics.md#parameters): action defaults < invocation payload; array
 * payloads pass through unmerged; `init` parameters go to init as environment variables, never to runs.
 */
import { ewError } from '../errors';
import { annotation, type ActionDoc } from '../entities/types';

export interface MergedArguments {
  readonly params: unknown;
  readonly initEnv: Record<string, string>;
}

function isFinal(action: ActionDoc): boolean {
  // Web-exported actions finalize their parameters automatically ("Parameters are automatically finalized").
  return Boolean(annotation(action.annotations, 'final')) || Boolean(annotation(action.annotations, 'web-export'));
}

/** Environment variable values are strings; objects are exported as JSON, as the action proxy does. */
export function envValue(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}

const NO_ENV: Record<string, string> = Object.freeze({}) as Record<string, string>;

export function mergeArguments(action: ActionDoc, payload: unknown): MergedArguments {
  if (payload !== undefined && payload !== null && typeof payload !== 'object') {
    throw ewError('EW_PAYLOAD_INVALID', [typeof payload]);
  }
  // Most actions have no init parameters: they share one empty object instead of holding one each while queued.
  const initEnv: Record<string, string> = action.parameters.some((p) => p.init === true) ? {} : NO_ENV;
  const defaults: Record<string, unknown> = {};
  for (const p of action.parameters) {
    // The __OW_ prefix is reserved for the per-activation context, which user parameters must not overwrite.
    if (p.init === true) {
      if (!p.key.startsWith('__OW_') && !p.key.includes('=') && !p.key.includes('\0')) initEnv[p.key] = envValue(p.value);
    } else {
      defaults[p.key] = p.value;
    }
  }
  if (Array.isArray(payload)) return { params: payload, initEnv };
  const given = (payload ?? {}) as Record<string, unknown>;
  if (isFinal(action)) {
    // Only defined parameters are final: one whose default is null is meant to be supplied (OpenWhisk's definedParameters).
    for (const p of action.parameters) {
      if (p.value !== null && p.value !== undefined && Object.prototype.hasOwnProperty.call(given, p.key)) throw ewError('EW_PARAMETERS_NOT_ALLOWED', [], { parameter: p.key });
    }
  }
  return { params: { ...defaults, ...given }, initEnv };
}
