/**
 * Validation and normalisation of entity input: limits, parameters, annotations, versions, exec.
 * Messages follow OpenWhisk (docs/semantics.md#entities, docs/semantics.md#limits).
 */
import { ewError, type ErrorCode } from '../errors';
import type { ActionLimitRanges, EngineOptions } from '../options';
import { jsonSize } from '../util/json-size';
import type { ActionLimits, KeyValue, Parameter } from './types';

const LIMIT_CODES: Record<keyof ActionLimits, readonly [ErrorCode, ErrorCode]> = {
  timeout: ['EW_LIMIT_TIMEOUT_LOW', 'EW_LIMIT_TIMEOUT_HIGH'],
  memory: ['EW_LIMIT_MEMORY_LOW', 'EW_LIMIT_MEMORY_HIGH'],
  logs: ['EW_LIMIT_LOGS_LOW', 'EW_LIMIT_LOGS_HIGH'],
  concurrency: ['EW_LIMIT_CONCURRENCY_LOW', 'EW_LIMIT_CONCURRENCY_HIGH'],
};

/** Fills missing limits from `base` (the stored action) or the engine defaults, and checks each against its range. */
export function resolveLimits(input: unknown, ranges: ActionLimitRanges, base?: ActionLimits): ActionLimits {
  if (input !== undefined && input !== null && (typeof input !== 'object' || Array.isArray(input))) {
    throw ewError('EW_LIMIT_INVALID', ['limits', JSON.stringify(input)]);
  }
  const given = (input ?? {}) as Record<string, unknown>;
  const out = {} as Record<keyof ActionLimits, number>;
  for (const key of Object.keys(LIMIT_CODES) as (keyof ActionLimits)[]) {
    const raw = given[key];
    const value = raw === undefined || raw === null ? (base?.[key] ?? ranges[key].default) : raw;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw ewError('EW_LIMIT_INVALID', [key, JSON.stringify(value) ?? String(value)]);
    }
    const [low, high] = LIMIT_CODES[key];
    if (value < ranges[key].min) throw ewError(low as 'EW_LIMIT_MEMORY_LOW', [value, ranges[key].min], { limit: key });
    if (value > ranges[key].max) throw ewError(high as 'EW_LIMIT_MEMORY_HIGH', [value, ranges[key].max], { limit: key });
    out[key] = value;
  }
  return out;
}

/**
 * Accepts parameters as the `openwhisk` client's `params` object or as OpenWhisk's `[{key, value, init?}]` array.
 */
export function resolveParameters(input: unknown, limit: number): Parameter[] {
  if (input === undefined || input === null) return [];
  let params: Parameter[];
  if (Array.isArray(input)) {
    params = input.map((p: unknown, i) => {
      if (typeof p !== 'object' || p === null || typeof (p as KeyValue).key !== 'string') {
        throw ewError('EW_PARAMETERS_INVALID', [`entry ${i} is not a {key, value} pair`]);
      }
      const { key, value, init } = p as Parameter;
      return init === true ? { key, value, init: true } : { key, value };
    });
  } else if (typeof input === 'object') {
    params = Object.entries(input as Record<string, unknown>).map(([key, value]) => ({ key, value }));
  } else {
    throw ewError('EW_PARAMETERS_INVALID', [`expected an object or an array of {key, value}, got ${typeof input}`]);
  }
  const size = jsonSize(params);
  if (size > limit) throw ewError('EW_PARAMETERS_TOO_LARGE', [size, limit]);
  return params;
}

export function resolveAnnotations(input: unknown, limit: number): KeyValue[] {
  if (input === undefined || input === null) return [];
  let annotations: KeyValue[];
  if (Array.isArray(input)) {
    annotations = input.map((a: unknown, i) => {
      if (typeof a !== 'object' || a === null || typeof (a as KeyValue).key !== 'string') {
        throw ewError('EW_PARAMETERS_INVALID', [`annotation ${i} is not a {key, value} pair`]);
      }
      return { key: (a as KeyValue).key, value: (a as KeyValue).value };
    });
  } else if (typeof input === 'object') {
    annotations = Object.entries(input as Record<string, unknown>).map(([key, value]) => ({ key, value }));
  } else {
    throw ewError('EW_PARAMETERS_INVALID', [`annotations must be an object or an array of {key, value}, got ${typeof input}`]);
  }
  const size = jsonSize(annotations);
  if (size > limit) throw ewError('EW_ANNOTATIONS_TOO_LARGE', [size, limit]);
  return annotations;
}

/** Merges annotation lists; later keys replace earlier ones, order of first appearance is kept. */
export function mergeKeyValues<T extends KeyValue>(base: readonly T[], overlay: readonly T[]): T[] {
  const map = new Map<string, T>();
  for (const kv of base) map.set(kv.key, kv);
  for (const kv of overlay) map.set(kv.key, kv);
  return [...map.values()];
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** The next version: the one supplied, else the stored one with its patch bumped, else 0.0.1. */
export function nextVersion(supplied: unknown, current: string | undefined): string {
  if (supplied !== undefined && supplied !== null) {
    if (typeof supplied !== 'string' || !SEMVER.test(supplied)) throw ewError('EW_VERSION_INVALID', [String(supplied)]);
    return supplied;
  }
  if (current === undefined) return '0.0.1';
  const [major, minor, patch] = current.split('.').map(Number) as [number, number, number];
  return `${major}.${minor}.${patch + 1}`;
}

const BASE64 = /^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$/;

/** OpenWhisk's `Exec.isBinaryCode`: non-empty, a multiple of 4 long, and base64. */
export function isBinaryCode(code: string): boolean {
  const trimmed = code.trim();
  return trimmed.length > 0 && trimmed.length % 4 === 0 && BASE64.test(trimmed);
}

export function checkCodeSize(code: string, options: Pick<EngineOptions, 'codeLimit'>): void {
  const size = Buffer.byteLength(code, 'utf8');
  if (size > options.codeLimit) throw ewError('EW_EXEC_TOO_LARGE', [size, options.codeLimit]);
}

/**
 * `main` is an identifier path resolved by property lookup, never spliced into source
 * (docs/action-protocol.md#entry-points).
 */
export const MAIN_PATTERN = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

export function isValidMain(main: string): boolean {
  return MAIN_PATTERN.test(main) && main.length <= 256 && !main.split('.').some((s) => FORBIDDEN_SEGMENTS.has(s));
}
