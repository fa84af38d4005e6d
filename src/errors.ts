/**
 * Every error the engine raises on purpose, in one place.
 *
 * Each code maps to the HTTP status OpenWhisk's controller would answer with and to a message. Where OpenWhisk
 * has a message for the situation the text is OpenWhisk's, byte for byte (including its "segement" typo), so
 * that clients and tests written against OpenWhisk recognise it. The README's error table is checked against
 * this object by a test.
 */

type MessageFn<A extends unknown[]> = (...args: A) => string;

interface ErrorSpec<A extends unknown[]> {
  /** HTTP status OpenWhisk answers with (or would, for engine-only situations). */
  readonly status: number;
  readonly message: MessageFn<A>;
}

function spec<A extends unknown[]>(status: number, message: MessageFn<A>): ErrorSpec<A> {
  return { status, message };
}

export const ERROR_CODES = {
  // Names (docs/semantics.md#names)
  EW_NAME_ILLEGAL: spec(400, () => 'The name of the entity contains illegal characters.'),
  EW_NAMESPACE_ILLEGAL: spec(400, () => 'The namespace contains illegal characters.'),
  EW_NAME_TOO_LONG: spec(400, (length: number, max: number) => `Name segement longer than allowed: ${length} > ${max}.`),
  EW_NAMESPACE_TOO_LONG: spec(400, (length: number, max: number) => `Namespace longer than allowed: ${length} > ${max}.`),
  EW_NAME_MALFORMED: spec(
    400,
    () => 'The fully qualified name of the entity must contain at least the namespace and the name of the entity.',
  ),
  EW_PACKAGE_NOT_ALLOWED: spec(400, (kind: string, name: string) => `A ${kind} cannot be in a package: '${name}'.`),
  EW_PACKAGE_NOT_EMPTY: spec(
    409,
    (n: number) => `Package not empty (contains ${n} ${n === 1 ? 'entity' : 'entities'}). Set force param or delete package contents.`,
  ),
  EW_BINDING_TO_BINDING: spec(400, () => 'Cannot bind to another package binding.'),
  EW_BINDING_MISSING: spec(400, () => 'Binding references a package that does not exist.'),
  EW_BINDING_NOT_PACKAGE: spec(400, () => 'Cannot bind to a resource that is not a package.'),
  EW_BINDING_OPERATION: spec(400, () => 'Operation not permitted on package binding.'),

  // Entities
  EW_ENTITY_NOT_FOUND: spec(404, () => 'The requested resource does not exist.'),
  EW_ENTITY_EXISTS: spec(409, () => 'resource already exists'),
  EW_ENTITY_WRONG_TYPE: spec(409, () => 'Resource by this name exists but is not in this collection.'),
  EW_EXEC_INVALID: spec(400, (reason: string) => `The action's exec is invalid: ${reason}`),
  EW_KIND_UNSUPPORTED: spec(
    400,
    (kind: string, kinds: readonly string[]) => `The action kind '${kind}' is not supported; supported kinds: ${kinds.join(', ')}.`,
  ),
  EW_RUNTIME_UNSUPPORTED: spec(
    400,
    (runtime: string, runtimes: readonly string[]) =>
      `The runtime '${runtime}' is not available in this engine; available runtimes: ${runtimes.join(', ')}.`,
  ),
  EW_MAIN_INVALID: spec(
    400,
    (main: string) => `The entry point '${main}' is not a valid name: use an identifier path such as 'main' or 'handler.run'.`,
  ),
  EW_EXEC_TOO_LARGE: spec(413, (size: number, max: number) => `exec larger than allowed: ${size} > ${max} bytes.`),
  EW_PARAMETERS_TOO_LARGE: spec(413, (size: number, max: number) => `parameters larger than allowed: ${size} > ${max} bytes.`),
  EW_ANNOTATIONS_TOO_LARGE: spec(413, (size: number, max: number) => `annotations larger than allowed: ${size} > ${max} bytes.`),
  EW_PARAMETERS_INVALID: spec(400, (reason: string) => `The parameters are invalid: ${reason}`),
  EW_VERSION_INVALID: spec(400, (version: string) => `The version '${version}' is not a semantic version (major.minor.patch).`),

  // Limits (docs/semantics.md#per-action-limits: clients look for "allowed threshold")
  EW_LIMIT_TIMEOUT_LOW: spec(400, (v: number, min: number) => `duration ${v} milliseconds below allowed threshold of ${min} milliseconds`),
  EW_LIMIT_TIMEOUT_HIGH: spec(400, (v: number, max: number) => `duration ${v} milliseconds exceeds allowed threshold of ${max} milliseconds`),
  EW_LIMIT_MEMORY_LOW: spec(400, (v: number, min: number) => `memory size ${v} MB below allowed threshold of ${min} MB`),
  EW_LIMIT_MEMORY_HIGH: spec(400, (v: number, max: number) => `memory size ${v} MB exceeds allowed threshold of ${max} MB`),
  EW_LIMIT_LOGS_LOW: spec(400, (v: number, min: number) => `log size ${v} MB below allowed threshold of ${min} MB`),
  EW_LIMIT_LOGS_HIGH: spec(400, (v: number, max: number) => `log size ${v} MB exceeds allowed threshold of ${max} MB`),
  EW_LIMIT_CONCURRENCY_LOW: spec(400, (v: number, min: number) => `concurrency ${v} below allowed threshold of ${min}`),
  EW_LIMIT_CONCURRENCY_HIGH: spec(400, (v: number, max: number) => `concurrency ${v} exceeds allowed threshold of ${max}`),
  EW_LIMIT_INVALID: spec(400, (field: string, value: string) => `The limit '${field}' must be an integer, got ${value}.`),

  // Sequences (docs/semantics.md#sequences)
  EW_SEQUENCE_TOO_LONG: spec(400, () => 'Too many actions in the sequence.'),
  EW_SEQUENCE_EMPTY: spec(400, () => 'No component specified for the sequence.'),
  EW_SEQUENCE_SELF: spec(400, () => 'Sequence may not refer to itself.'),
  EW_SEQUENCE_COMPONENT_MISSING: spec(400, () => 'Sequence component does not exist.'),

  // Rules
  EW_RULE_TRIGGER_MISSING: spec(400, (trigger: string) => `The rule's trigger '${trigger}' does not exist.`),
  EW_RULE_ACTION_MISSING: spec(400, (action: string) => `The rule's action '${action}' does not exist.`),
  EW_RULE_ACTIVE: spec(409, (rule: string) => `Rule '${rule}' is active and cannot be updated; disable it first.`),
  EW_RULE_STATUS_INVALID: spec(400, (status: string) => `Rule status must be 'active' or 'inactive', got '${status}'.`),
  // A new rule names both; an update may leave either out and keep the stored one.
  EW_RULE_TRIGGER_REQUIRED: spec(400, () => 'Expected `trigger` to be a trigger name'),
  EW_RULE_ACTION_REQUIRED: spec(400, () => 'Expected `action` to be an action name'),

  // Invocation (docs/semantics.md#invocation, docs/semantics.md#limits)
  EW_REQUEST_TOO_LARGE: spec(413, (size: number, max: number) => `Request larger than allowed: ${size} > ${max} bytes.`),
  EW_PARAMETERS_NOT_ALLOWED: spec(400, () => 'Request defines parameters that are not allowed (e.g., reserved properties).'),
  EW_PAYLOAD_INVALID: spec(400, (type: string) => `The payload must be a JSON object or array, got ${type}.`),
  EW_WAIT_TIMEOUT_INVALID: spec(400, () => 'Timeout must be number of milliseconds up to 60000.'),
  EW_THROTTLED_CONCURRENT: spec(
    429,
    (count: number, allowed: number) => `Too many concurrent requests in flight (count: ${count}, allowed: ${allowed}).`,
  ),
  EW_QUEUE_FULL: spec(
    429,
    (count: number, allowed: number) =>
      `Too many requests queued: the invocation backlog is full (count: ${count}, allowed: ${allowed}).`,
  ),
  EW_ACTIVATION_WAIT_EXPIRED: spec(
    408,
    (id: string, waited: number) =>
      `Activation ${id} did not complete within the ${waited} ms wait; it is still running.`,
  ),
  EW_ACTIVATION_FAILED: spec(502, (message: string) => message),
  EW_ACTIVATION_NOT_FOUND: spec(404, () => 'The requested resource does not exist.'),

  // Lists (docs/semantics.md#lists)
  EW_LIST_LIMIT_RANGE: spec(400, (value: string, max: number, collection: string) => `The value '${value}' is not in the range of 0 to ${max} for ${collection}.`),
  EW_LIST_SKIP_NEGATIVE: spec(400, (value: string, collection: string) => `The value '${value}' is not greater than or equal to 0 for ${collection}.`),
  EW_LIST_NOT_INTEGER: spec(400, (value: string, collection: string) => `The value '${value}' is not an integer for ${collection}.`),
  EW_LIST_DOCS_WITH_COUNT: spec(400, () => "The parameter 'docs' is not permitted with 'count'."),
  EW_LIST_EPOCH_INVALID: spec(400, (value: string) => `Parameter is not a valid value for epoch seconds: ${value}`),

  // REST API and web actions (the standalone server and the API mounted in Node-RED). The 401, 403 and 404 texts are
  // OpenWhisk's controller's, which clients match; the others are the ones this API has always answered with.
  EW_ROUTE_NOT_FOUND: spec(404, () => 'The requested resource does not exist.'),
  EW_METHOD_NOT_ALLOWED: spec(405, () => 'Method not allowed.'),
  EW_AUTH_INVALID: spec(401, () => 'The supplied authentication is invalid.'),
  EW_AUTH_FORBIDDEN: spec(403, () => 'The supplied authentication is not authorized to access this resource.'),
  EW_BODY_MALFORMED: spec(400, (reason: string) => `The request content was malformed:\n${reason}`),
  EW_BODY_TOO_COMPLEX: spec(
    413,
    (structure: number, max: number) => `The request content is too complex: ${structure} bytes besides its largest string > ${max} bytes.`,
  ),
  // The caller went away mid-body: nobody reads the answer, but it is the client's doing, not the server's.
  EW_BODY_INCOMPLETE: spec(400, () => 'The client closed the connection before sending the whole body.'),
  // Anything that is not a coded error is a bug or an unforeseen failure: logged, and answered with no detail.
  EW_SERVER_ERROR: spec(500, () => 'The server encountered an internal error.'),
  // A body field of the wrong JSON type (OpenWhisk's deserializer refuses these, with this prefix).
  EW_FIELD_TYPE: spec(
    400,
    (field: string, type: string, value: string) => `The request content was malformed: '${field}' must be ${type}, got ${value}.`,
  ),
  EW_SERVER_BUSY: spec(
    503,
    (held: number, budget: number) =>
      `The server is receiving too many request bodies at once (${held} of ${budget} bytes in transit); retry later.`,
  ),
  EW_THROTTLED_ANONYMOUS: spec(
    429,
    (count: number, allowed: number) =>
      `Too many concurrent anonymous web action requests in flight (count: ${count}, allowed: ${allowed}).`,
  ),
  EW_CALLER_GONE: spec(503, () => 'The web action caller disconnected before the activation started; it was not run.'),
  EW_WEB_RESPONSE_INVALID: spec(400, () => "Response is not valid 'message/http'."),
  EW_WEB_PROPERTY_MISSING: spec(400, (ext: string) => `The action did not return a '${ext}' property.`),
  EW_WEB_NOT_AUTHORIZED: spec(401, () => 'Not Authorized'),

  // Worker runtime: thrown inside the action's thread, so it fails like any error the action throws (502).
  EW_WORKER_UNSUPPORTED: spec(
    502,
    (what: string) =>
      `${what} is not available to actions on the worker runtime, which run inside Node-RED's process; run the action on the process or docker runtime.`,
  ),

  // Engine
  EW_ENGINE_CLOSED: spec(503, () => 'The engine is shut down and accepts no new work.'),
  EW_ENGINE_ABORTED: spec(503, () => 'The engine shut down before the activation could run.'),

  // The Node-RED editor's routes (the sidebar and "Run" in the action dialog)
  EW_EDITOR_ENGINE_UNKNOWN: spec(404, (key: string) => `No running EdgeWhisk engine '${key}': deploy the flows that use it first.`),
  EW_EDITOR_ENGINE_NOT_DEPLOYED: spec(
    409,
    (key: string) => `The selected EdgeWhisk engine (${key}) is not deployed yet: deploy it once, then run the code.`,
  ),
  EW_EDITOR_DRAFT_INVALID: spec(400, (problem: string) => `The code cannot run: ${problem}`),

  // The durable store: a full disk refuses new work instead of losing accepted work (507, Insufficient Storage).
  EW_STORE_FULL: spec(507, (path: string) => `The engine's store at ${path} is full: it accepts no new work until space is freed.`),
  // Accepted invocations found again when an engine starts on its store (docs/durability.md)
  EW_REPLAY_EXPIRED: spec(
    503,
    (acceptedAt: string, maxAge: number) =>
      `The invocation accepted at ${acceptedAt} was not run: it waited longer than maxReplayAge (${maxAge} ms) while the engine was down. It is kept as a dead letter.`,
  ),
  EW_REPLAY_ACTION_GONE: spec(
    503,
    (target: string, acceptedAt: string) => `The action '${target}' of the invocation accepted at ${acceptedAt} no longer exists; it was not run. It is kept as a dead letter.`,
  ),
  EW_DEAD_LETTER_NOT_FOUND: spec(404, (id: string) => `No dead letter with activation id '${id}'.`),
  EW_DEAD_LETTER_ACTION_GONE: spec(
    404,
    (target: string) => `The action '${target}' of this dead letter does not exist: define it again, then run the dead letter again. The dead letter is kept.`,
  ),

  // Docker runtime
  // The runtime's own failure (a daemon that does not answer), reported as a gateway timeout: the daemon is upstream.
  EW_DOCKER_TIMEOUT: spec(504, (what: string, deadline: number) => `the Docker daemon did not answer '${what}' within ${deadline} ms`),
  EW_DOCKER_SOCKET_TAMPERED: spec(
    502,
    (change: string) =>
      `The action changed its container's socket folder (${change}): the engine does not connect to what the container put there, and has removed the container.`,
  ),

  // Remote engine (an OpenWhisk API reached over its REST API, src/remote/whisk-rest-client.ts): OpenWhisk's own
  // message, and its status when it answered (502 when it could not be reached or did not answer in time).
  EW_REMOTE_ERROR: spec(502, (message: string) => message),
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
type ArgsOf<C extends ErrorCode> = Parameters<(typeof ERROR_CODES)[C]['message']>;

/**
 * An error the engine raises deliberately. `statusCode` is the HTTP status OpenWhisk would answer with, so a REST
 * layer can pass it through and the shape matches the official `openwhisk` client's errors (`statusCode`, `error`).
 */
export class EdgeWhiskError extends Error {
  override readonly name = 'EdgeWhiskError';
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** Structured context (the entity, the limit, the activation). */
  readonly details: Readonly<Record<string, unknown>>;
  /** Mirrors the `openwhisk` client: the response body, here the activation record or `{error}`. */
  readonly error: unknown;

  constructor(code: ErrorCode, message: string, statusCode: number, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.statusCode = statusCode;
    this.details = details;
    this.error = details['activation'] ?? { error: message };
  }
}

/** Builds the coded error `code` with the message arguments its spec asks for. */
export function ewError<C extends ErrorCode>(
  code: C,
  args: ArgsOf<C>,
  details: Record<string, unknown> = {},
  options: { statusCode?: number; cause?: unknown } = {},
): EdgeWhiskError {
  const entry = ERROR_CODES[code] as ErrorSpec<unknown[]>;
  return new EdgeWhiskError(code, entry.message(...args), options.statusCode ?? entry.status, details, options.cause);
}

export function isEdgeWhiskError(value: unknown, code?: ErrorCode): value is EdgeWhiskError {
  return value instanceof EdgeWhiskError && (code === undefined || value.code === code);
}
