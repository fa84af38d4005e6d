/**
 * Every activation record is built here: an action's run (the invoker), a job that never ran (the engine closed, or
 * its web caller left), a sequence and a trigger's fire. One builder, so they all have OpenWhisk's fields and each
 * kind its annotations in the same order (docs/semantics.md#record-fields, docs/semantics.md#activation-annotations).
 */
import { entityPath } from '../entities/names';
import type { ActionDoc, KeyValue, TriggerDoc } from '../entities/types';
import type { StatusCode, StoredActivation } from './record';

/** What was activated: an action, a sequence or a trigger. */
interface Activated {
  /** `ns` or `ns/pkg`. */
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  readonly publish: boolean;
}

export interface RecordParts {
  readonly entity: Activated;
  /** The invoking namespace, which is also the subject: an engine has one key per namespace. */
  readonly namespace: string;
  readonly activationId: string;
  readonly start: number;
  /** 0 for a trigger's activation, which OpenWhisk shows with neither `end` nor `duration`. */
  readonly end: number;
  /** @default end - start (a sequence's is the sum of its components') */
  readonly duration?: number;
  /** The parent sequence's activation id. */
  readonly cause?: string | undefined;
  readonly response: { readonly statusCode: StatusCode; readonly result: unknown; readonly size?: number | undefined };
  readonly logs: readonly string[];
  readonly annotations: readonly KeyValue[];
}

export function activationRecord(parts: RecordParts): StoredActivation {
  const { statusCode, result, size } = parts.response;
  return {
    namespace: parts.namespace,
    name: parts.entity.name,
    subject: parts.namespace,
    activationId: parts.activationId,
    version: parts.entity.version,
    publish: parts.entity.publish,
    start: parts.start,
    end: parts.end,
    ...(parts.end === 0 ? {} : { duration: parts.duration ?? parts.end - parts.start }),
    ...(parts.cause === undefined ? {} : { cause: parts.cause }),
    response: size === undefined ? { statusCode, result } : { statusCode, result, size },
    logs: parts.logs,
    annotations: parts.annotations,
  };
}

export interface ActionRun {
  /** ms from acceptance to the start of init or run (never negative, should the wall clock step back). */
  readonly waitTime: number;
  /** Whether the time limit ended it. */
  readonly timedOut: boolean;
  /** Set when `/init` ran. */
  readonly initTime?: number | undefined;
  /** `sequence` for a sequence's component. */
  readonly causedBy?: string | undefined;
  /** `ns/binding` when reached through a package binding. */
  readonly binding?: string | undefined;
  /** Which run of an accepted invocation this is; annotated from the second on (docs/durability.md). */
  readonly attempt?: number | undefined;
}

/** The annotations of an action's activation, in the invoker's order. */
export function actionAnnotations(action: ActionDoc, kind: string, run: ActionRun): KeyValue[] {
  const annotations: KeyValue[] = [
    { key: 'path', value: entityPath(action) },
    { key: 'waitTime', value: Math.max(0, run.waitTime) },
    { key: 'kind', value: kind },
    { key: 'timeout', value: run.timedOut },
    { key: 'limits', value: { ...action.limits } },
  ];
  if (run.initTime !== undefined) annotations.push({ key: 'initTime', value: run.initTime });
  if (run.causedBy !== undefined) annotations.push({ key: 'causedBy', value: run.causedBy });
  if (run.binding !== undefined) annotations.push({ key: 'binding', value: run.binding });
  if (run.attempt !== undefined && run.attempt > 1) annotations.push({ key: 'attempt', value: run.attempt });
  return annotations;
}

/**
 * The annotations of a sequence's activation: `topmost` unless it runs inside another sequence, and the largest
 * memory limit of its components as its own.
 */
export function sequenceAnnotations(
  sequence: ActionDoc,
  run: { readonly memory: number; readonly causedBy?: string | undefined; readonly attempt?: number | undefined },
): KeyValue[] {
  const annotations: KeyValue[] = [
    { key: 'topmost', value: run.causedBy === undefined },
    { key: 'path', value: entityPath(sequence) },
    { key: 'kind', value: 'sequence' },
    { key: 'waitTime', value: 0 },
    { key: 'limits', value: { ...sequence.limits, memory: run.memory } },
  ];
  if (run.causedBy !== undefined) annotations.push({ key: 'causedBy', value: run.causedBy });
  if (run.attempt !== undefined && run.attempt > 1) annotations.push({ key: 'attempt', value: run.attempt });
  return annotations;
}

export function triggerAnnotations(trigger: TriggerDoc): KeyValue[] {
  return [{ key: 'path', value: entityPath(trigger) }];
}
