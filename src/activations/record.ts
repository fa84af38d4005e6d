/**
 * Activation records in OpenWhisk's shape (docs/semantics.md#record-fields): the stored form with a numeric
 * `statusCode`, and the API view (`toApiView`) that clients see.
 */
import type { KeyValue } from '../entities/types';

export const STATUS = Object.freeze({ SUCCESS: 0, APPLICATION_ERROR: 1, DEVELOPER_ERROR: 2, INTERNAL_ERROR: 3 } as const);
export type StatusCode = (typeof STATUS)[keyof typeof STATUS];

/** OpenWhisk's `messageForCode`: the string in `response.status`. */
export const STATUS_MESSAGES: Readonly<Record<StatusCode, string>> = Object.freeze({
  0: 'success',
  1: 'application error',
  2: 'action developer error',
  3: 'whisk internal error',
});

/** OpenWhisk's `statusForCode`: the machine form. */
export const STATUS_NAMES: Readonly<Record<StatusCode, string>> = Object.freeze({
  0: 'success',
  1: 'application_error',
  2: 'action_developer_error',
  3: 'whisk_internal_error',
});

/**
 * The HTTP status a blocking invoke of an activation with this status code is answered with, as OpenWhisk answers
 * it: 200 on success, 500 for a whisk internal error, 502 for an application or developer error
 * (docs/semantics.md#http-status-of-a-blocking-invoke).
 */
export function httpStatusOf(statusCode: StatusCode): 200 | 500 | 502 {
  if (statusCode === STATUS.SUCCESS) return 200;
  return statusCode === STATUS.INTERNAL_ERROR ? 500 : 502;
}

export interface StoredResponse {
  readonly statusCode: StatusCode;
  readonly result: unknown;
  readonly size?: number;
}

/** The stored activation: OpenWhisk's 13 fields. `end` is 0 for trigger activations. */
export interface StoredActivation {
  readonly namespace: string;
  readonly name: string;
  readonly subject: string;
  readonly activationId: string;
  readonly version: string;
  readonly publish: boolean;
  readonly start: number;
  readonly end: number;
  readonly duration?: number;
  readonly cause?: string;
  readonly response: StoredResponse;
  readonly logs: readonly string[];
  readonly annotations: readonly KeyValue[];
}

export interface ActivationResponse {
  readonly status: string;
  readonly statusCode: StatusCode;
  readonly success: boolean;
  readonly result: unknown;
  readonly size?: number;
}

/** What `activations.get` and a blocking invoke return: the stored record with OpenWhisk's response view. */
export interface Activation extends Omit<StoredActivation, 'end' | 'response'> {
  /** Absent while the activation has not ended (a trigger's record has no end). */
  readonly end?: number;
  readonly response: ActivationResponse;
}

/** The list view (`GET /activations` without `docs`): the record without its response, logs and subject. */
export interface ActivationSummary extends Omit<Activation, 'subject' | 'response' | 'logs'> {
  readonly statusCode: StatusCode;
}

/**
 * OpenWhisk's `toExtendedJson`. Besides `status` and `success` the response keeps the numeric `statusCode`: the
 * client and wsk ignore it, and it saves every consumer a string comparison.
 */
export function toApiView(a: StoredActivation): Activation {
  const { statusCode, result, size } = a.response;
  const response: ActivationResponse =
    size === undefined
      ? { status: STATUS_MESSAGES[statusCode], statusCode, success: statusCode === 0, result }
      : { status: STATUS_MESSAGES[statusCode], statusCode, success: statusCode === 0, result, size };
  return {
    namespace: a.namespace,
    name: a.name,
    subject: a.subject,
    activationId: a.activationId,
    version: a.version,
    publish: a.publish,
    start: a.start,
    ...endAndCause(a),
    response,
    logs: a.logs,
    annotations: a.annotations,
  };
}

/**
 * `end`, `duration` and `cause` as OpenWhisk shows them: a trigger activation ends at the epoch, and then shows
 * neither `end` nor `duration`.
 */
function endAndCause(a: StoredActivation): { end?: number; duration?: number; cause?: string } {
  return {
    ...(a.end === 0 ? {} : { end: a.end, duration: a.duration ?? a.end - a.start }),
    ...(a.cause === undefined ? {} : { cause: a.cause }),
  };
}

export function toSummary(a: StoredActivation): ActivationSummary {
  return {
    activationId: a.activationId,
    namespace: a.namespace,
    name: a.name,
    version: a.version,
    publish: a.publish,
    start: a.start,
    ...endAndCause(a),
    statusCode: a.response.statusCode,
    annotations: a.annotations,
  };
}

/** `{error}` results carry a string or an object; this gives the text users should read. */
export function errorText(result: unknown): string {
  if (typeof result === 'object' && result !== null && 'error' in result) {
    const error = (result as { error: unknown }).error;
    if (typeof error === 'string') return error;
    if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
      return (error as { message: string }).message;
    }
    return JSON.stringify(error) ?? 'unknown error';
  }
  return 'unknown error';
}
