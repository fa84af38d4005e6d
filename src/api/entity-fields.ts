/**
 * What creating or updating a trigger or a package shares: the options besides the entity's own body, and the
 * fields every entity document carries, each taken from the OpenWhisk body the client sends, else the options,
 * else what the existing entity has.
 */
import type { KeyValue } from '../entities/types';
import { nextVersion, resolveAnnotations, resolveParameters } from '../entities/validate';
import { ewError } from '../errors';
import { monotonicNow } from '../util/monotonic-now';

export interface EntityWriteOptions {
  readonly name?: string;
  readonly params?: Record<string, unknown> | readonly KeyValue[];
  readonly annotations?: Record<string, unknown> | readonly KeyValue[];
  readonly overwrite?: boolean;
}

/** `publish` as given (a boolean, nothing else: `Boolean("false")` is true), else `fallback`. */
export function publishFlag(given: unknown, fallback: boolean): boolean {
  if (given === undefined) return fallback;
  if (typeof given !== 'boolean') throw ewError('EW_FIELD_TYPE', ['publish', 'a boolean', JSON.stringify(given) ?? String(given)]);
  return given;
}

interface Existing {
  readonly parameters: readonly KeyValue[];
  readonly annotations: readonly KeyValue[];
  readonly version: string;
  readonly publish: boolean;
}

export function entityFields(
  body: Readonly<Record<string, unknown>>,
  options: EntityWriteOptions,
  existing: Existing | undefined,
  parametersLimit: number,
): { parameters: KeyValue[]; annotations: KeyValue[]; version: string; publish: boolean; updated: number } {
  const paramsInput = body['parameters'] ?? options.params;
  const annotationsInput = body['annotations'] ?? options.annotations;
  return {
    parameters: paramsInput === undefined ? [...(existing?.parameters ?? [])] : resolveParameters(paramsInput, parametersLimit),
    annotations: annotationsInput === undefined ? [...(existing?.annotations ?? [])] : resolveAnnotations(annotationsInput, parametersLimit),
    version: nextVersion(body['version'], existing?.version),
    publish: publishFlag(body['publish'], existing?.publish ?? false),
    updated: monotonicNow(),
  };
}
