/** Turns engine outcomes into what a Node-RED flow sees: Errors for `done(err)` and short status texts. */
import { errorText, STATUS, type Activation } from '../../activations/record';
import { annotation } from '../../entities/types';
import { isEdgeWhiskError, type ErrorCode } from '../../errors';
import { MESSAGES } from '../../invoker/judge';
import type { NodeStatus } from './red-types';

/** An Error for `done(err)`: Catch nodes get its message, `code` and, on the message, the activation. */
export class ActivationError extends Error {
  override readonly name = 'ActivationError';
  readonly code: string;
  readonly activation: Activation;

  constructor(activation: Activation) {
    super(errorText(activation.response.result));
    this.activation = activation;
    this.code = activation.response.status.replace(/ /g, '_');
  }

  /** Node-RED shows `err.toString()` in `msg.error.message`: keep it the activation's own words, unprefixed. */
  override toString(): string {
    return this.message;
  }
}

/** An engine refusal (400, 404, 413, 429, 503) as a flow sees it: the message unprefixed, the code kept. */
export class EngineRefusal extends Error {
  override readonly name = 'EngineRefusal';
  readonly code: string;
  readonly statusCode: number;

  constructor(error: { message: string; code: string; statusCode: number }) {
    super(error.message, { cause: error });
    this.code = error.code;
    this.statusCode = error.statusCode;
  }

  override toString(): string {
    return this.message;
  }
}

/** Any thrown value as an Error for `done(err)`; engine errors keep their code and read as their message alone. */
export function asError(value: unknown): Error {
  if (value instanceof ActivationError || value instanceof EngineRefusal) return value;
  if (isEdgeWhiskError(value)) return new EngineRefusal(value);
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value) ?? String(value));
}

/** A status text of at most ~20 characters, as Node-RED's conventions ask. */
export function shortText(text: string, max = 24): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * What a failed activation is called on its node, read from the record rather than from what its error says: an
 * action's own `{error: "low memory"}` is an application error, whatever its words. A time-out is the record's
 * `timeout` annotation, and running out of memory the developer error whose result is OpenWhisk's message for it
 * (docs/semantics.md#activation-annotations, #how-runtime-answers-are-judged); a remote OpenWhisk writes both the same.
 */
export function failureLabel(activation: Activation): string {
  const { response } = activation;
  if (annotation(activation.annotations, 'timeout') === true) return 'timeout';
  if (response.statusCode === STATUS.DEVELOPER_ERROR && errorText(response.result) === MESSAGES.oom) return 'out of memory';
  return response.status;
}

export function errorStatus(error: unknown): NodeStatus {
  if (error instanceof ActivationError) return { fill: 'red', shape: 'ring', text: shortText(failureLabel(error.activation)) };
  if ((isEdgeWhiskError(error) || error instanceof EngineRefusal) && error.statusCode === 429) return { fill: 'yellow', shape: 'ring', text: 'throttled' };
  return { fill: 'red', shape: 'ring', text: shortText(asError(error).message) };
}

/**
 * Whether `error` says that something a definition depends on does not exist yet (it may be defined by a node that
 * starts later): one of `codes` from an embedded engine. A remote OpenWhisk's refusals carry no EdgeWhisk code, only
 * OpenWhisk's message, so for those alone the text is read (`remoteText`, e.g. its "Sequence component does not
 * exist.").
 */
export function isMissingEntity(error: unknown, codes: readonly ErrorCode[], remoteText: RegExp): boolean {
  if (isEdgeWhiskError(error, 'EW_REMOTE_ERROR')) return remoteText.test(error.message);
  return codes.some((code) => isEdgeWhiskError(error, code));
}
