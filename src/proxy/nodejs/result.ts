/**
 * Result normalisation of the Node.js action proxy (docs/action-protocol.md#result-normalisation), shared by the
 * HTTP proxy and the worker runtime so both answer in the same words: `undefined` → `{}`; an object or array → 200;
 * anything else → 502 "did not return a dictionary"; a rejection → 200 `{error}` (an application error, judged by
 * the engine).
 */

export interface ProxyResponse {
  readonly status: number;
  /** JSON text. */
  readonly body: string;
}

export function reply(status: number, body: unknown): ProxyResponse {
  return { status, body: JSON.stringify(body) };
}

/** `serialize-error`'s shape: name, message, stack and own enumerable properties (and `cause`). */
export function serializeError(reason: unknown): unknown {
  if (!reason) return {};
  if (reason instanceof Error) {
    const out: Record<string, unknown> = { name: reason.name, message: reason.message, stack: reason.stack };
    for (const [key, value] of Object.entries(reason)) out[key] = value;
    if (reason.cause !== undefined) out['cause'] = serializeError(reason.cause);
    return out;
  }
  return reason;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? String(error)) : String(error);
}

/** Normalises what `main` returned (already awaited); `diagnose` receives the stderr line for a non-object. */
export function normaliseResult(result: unknown, diagnose: (line: string) => void): ProxyResponse {
  if (result === undefined) return { status: 200, body: '{}' };
  if (typeof result !== 'object' || result === null) {
    diagnose(`Result must be of type object but has type "${result === null ? 'null' : typeof result}": ${String(result)}`);
    return reply(502, { error: 'The action did not return a dictionary.' });
  }
  try {
    return { status: 200, body: JSON.stringify(result) };
  } catch (error) {
    return reply(502, { error: `The action did not produce a valid JSON response: ${(error as Error).message}` });
  }
}

/** The answer for a rejected promise: the action's own error, so 200 and a healthy runtime. */
export function rejectionResponse(reason: unknown): ProxyResponse {
  try {
    return { status: 200, body: JSON.stringify({ error: serializeError(reason) }) };
  } catch {
    return { status: 200, body: JSON.stringify({ error: String(reason) }) };
  }
}

/** Calls `main` and normalises the outcome; a synchronous throw reports `threw` so the caller can stop the runtime. */
export async function invokeMain(
  main: (params: unknown) => unknown,
  value: unknown,
  diagnose: (line: string) => void,
): Promise<ProxyResponse & { threw?: true }> {
  let returned: unknown;
  try {
    returned = main(value);
  } catch (error) {
    diagnose(describeError(error));
    return { ...reply(502, { error: `An error has occurred: ${String(error)}` }), threw: true };
  }
  if (returned !== null && typeof returned === 'object' && typeof (returned as PromiseLike<unknown>).then === 'function') {
    try {
      returned = await (returned as PromiseLike<unknown>);
    } catch (reason) {
      return rejectionResponse(reason);
    }
  }
  return normaliseResult(returned, diagnose);
}
