/**
 * The OpenWhisk action document a remote `actions.create` sends (`PUT actions/{name}`), built from `ActionOptions`
 * the way the official `openwhisk` client built it (its lib/actions.js and lib/resources.js), so a deployment stores
 * what it stored when remote mode used that client:
 *
 * - `action` as code: `exec` is `{kind, code}` (kind `nodejs:default` unless given) with `exec` merged over it; a
 *   Buffer (an archive) is sent as base64. `action` as an object is the whole document, sent as given.
 * - `sequence`: `exec` is `{kind: 'sequence', components}`.
 * - `params` and `annotations`, objects or `[{key, value}]` lists, become OpenWhisk's key/value lists; `limits` and
 *   `version` are sent as given. `parameters` and `publish` are not sent: the client never sent them either.
 *
 * The engine-only options (`runtime`, `keepIfUnchanged`) are the caller's to drop.
 */
import type { ActionOptions } from '../api/actions-api';

type KeyValue = { key: string; value: unknown };

/**
 * An object or a `[{key, value}]` list as OpenWhisk's list. A list goes through an object first, as it did when the
 * remote engine handed the client objects: a repeated key keeps its last value.
 */
function keyValues(values: Readonly<Record<string, unknown>> | readonly KeyValue[]): KeyValue[] {
  const object = Array.isArray(values) ? Object.fromEntries((values as readonly KeyValue[]).map((kv) => [kv.key, kv.value])) : (values as Readonly<Record<string, unknown>>);
  return Object.entries(object).map(([key, value]) => ({ key, value }));
}

function execBody(options: ActionOptions): Record<string, unknown> {
  const hasCode = options.action !== undefined;
  const hasSequence = options.sequence !== undefined;
  if (hasCode && hasSequence) throw new Error('Invalid options parameters, contains both "action" and "sequence" parameters in options.');
  if (hasSequence) {
    if (!Array.isArray(options.sequence)) throw new Error('Invalid sequence parameter from options. Must be an array.');
    if (options.sequence.length === 0) throw new Error('Invalid sequence parameter from options. Array must not be empty.');
    return { exec: { kind: 'sequence', components: options.sequence } };
  }
  if (hasCode) {
    const exec: Record<string, unknown> = { kind: options.kind || 'nodejs:default', code: options.action, ...options.exec };
    if (Buffer.isBuffer(options.action)) exec['code'] = options.action.toString('base64');
    return { exec };
  }
  // An update may change only parameters, limits or annotations.
  if (options.overwrite === true) return {};
  throw new Error('Missing mandatory action or sequence parameter from options.');
}

export function remoteActionBody(options: ActionOptions): Record<string, unknown> {
  const action = options.action;
  // A whole document given by the caller is theirs: nothing is added to it but annotations it does not name.
  const whole = typeof action === 'object' && action !== null && !Buffer.isBuffer(action) && options.sequence === undefined;
  const body: Record<string, unknown> = whole ? { ...action } : execBody(options);
  if (!whole) {
    if (typeof options.params === 'object' && options.params !== null) body['parameters'] = keyValues(options.params);
    if (options.version) body['version'] = options.version;
    if (options.limits) body['limits'] = options.limits;
  }
  if (typeof options.annotations === 'object' && options.annotations !== null && body['annotations'] === undefined) {
    body['annotations'] = keyValues(options.annotations);
  }
  return body;
}
