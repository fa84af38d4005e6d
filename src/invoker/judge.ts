/**
 * How the invoker judges what a runtime answered (docs/semantics.md#how-runtime-answers-are-judged). Every runtime
 * is judged by these rules, so a worker thread, a child process and a Docker container fail in exactly the same
 * words.
 */
import { STATUS, type StatusCode } from '../activations/record';
import type { Outcome } from '../runtimes/runtime';

export interface Verdict {
  readonly statusCode: StatusCode;
  readonly result: unknown;
  readonly size?: number;
}

export const MESSAGES = Object.freeze({
  timeout: (ms: number) => `The action exceeded its time limits of ${ms} milliseconds.`,
  initTimeout: (ms: number) => `The action exceeded its time limits of ${ms} milliseconds during initialization.`,
  initExited: 'The action did not initialize and exited unexpectedly.',
  runExited: 'The action did not produce a valid response and exited unexpectedly.',
  oom: 'The action exhausted its memory and was aborted.',
  invalidJson: (body: string) =>
    body === '' ? 'The action did not produce a valid JSON or JSON Array response.' : `The action did not produce a valid JSON or JSON Array response: ${body}`,
  initFailed: (body: string) =>
    body === '' ? 'The action failed during initialization.' : `The action failed during initialization: ${body}`,
  tooLarge: (size: number, max: number, prefix: string) =>
    `The action produced a response that exceeded the allowed length: ${size} > ${max} bytes. The truncated response was: ${prefix}`,
  provisionFailed: 'Failed to provision resources to run the action.',
  internal: 'The activation failed because of an internal error in the engine.',
  shutdown: 'The engine shut down before the activation could complete.',
  lost: 'The activation failed because its container was lost: the container runtime became unavailable.',
});

function developerError(error: unknown): Verdict {
  return { statusCode: STATUS.DEVELOPER_ERROR, result: { error } };
}

function parse(body: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false };
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `undefined` means init succeeded; otherwise the developer error it caused. */
/** A container the runtime lost (not the action's doing) is a whisk internal error. */
function lost(): Verdict {
  return { statusCode: STATUS.INTERNAL_ERROR, result: { error: MESSAGES.lost } };
}

export function judgeInit(outcome: Outcome): Verdict | undefined {
  if (outcome.type === 'lost') return lost();
  if (outcome.type !== 'reply') return developerError(outcome.type === 'oom' ? MESSAGES.oom : MESSAGES.initExited);
  if (outcome.status === 200) return undefined;
  const parsed = parse(outcome.body);
  if (parsed.ok && isPlainObject(parsed.value) && 'error' in parsed.value) return developerError(parsed.value['error']);
  return developerError(MESSAGES.initFailed(outcome.body));
}

export function judgeRun(outcome: Outcome, resultLimit: number): Verdict {
  if (outcome.type === 'lost') return lost();
  if (outcome.type !== 'reply') return developerError(outcome.type === 'oom' ? MESSAGES.oom : MESSAGES.runExited);
  const size = Buffer.byteLength(outcome.body, 'utf8');
  const parsed = parse(outcome.body);
  if (outcome.status !== 200) {
    if (parsed.ok && isPlainObject(parsed.value) && 'error' in parsed.value) return developerError(parsed.value['error']);
    return developerError(MESSAGES.invalidJson(outcome.body));
  }
  if (size > resultLimit) {
    // Cut at a byte boundary, then drop a trailing partial UTF-8 sequence so the text stays valid.
    const prefix = Buffer.from(outcome.body, 'utf8').subarray(0, resultLimit).toString('utf8').replace(/\uFFFD$/, '');
    return { statusCode: STATUS.APPLICATION_ERROR, result: { error: MESSAGES.tooLarge(size, resultLimit, prefix) }, size };
  }
  if (!parsed.ok) return developerError(MESSAGES.invalidJson(outcome.body));
  if (Array.isArray(parsed.value)) return { statusCode: STATUS.SUCCESS, result: parsed.value, size };
  if (!isPlainObject(parsed.value)) return developerError(MESSAGES.invalidJson(outcome.body));
  const statusCode: StatusCode = 'error' in parsed.value ? STATUS.APPLICATION_ERROR : STATUS.SUCCESS;
  return { statusCode, result: parsed.value, size };
}
