import { EDGEWHISK_IMAGES } from './runtimes/docker/image-contract';
import { resolveDockerOptions, type DockerOptions, type DockerOptionsInput } from './runtimes/docker/docker-options';

/**
 * Engine options: one defaults object, one type, one validator.
 *
 * `DEFAULTS` is the single source of the engine's defaults. The README's options table is checked against it by a
 * test, so a default changed here without the docs fails CI.
 */

export interface LimitRange {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

export interface ActionLimitRanges {
  /** Per-action time limit in ms, applied to init and run separately. @default {min: 100, max: 300000, default: 60000} */
  readonly timeout: LimitRange;
  /** Per-action memory in MB; a worker's heap limit, a container's memory limit. @default {min: 128, max: 512, default: 256} */
  readonly memory: LimitRange;
  /** Per-action log limit in MB; 0 disables log collection. @default {min: 0, max: 10, default: 10} */
  readonly logs: LimitRange;
  /** Concurrent activations one container may run (intra-container concurrency). @default {min: 1, max: 200, default: 1} */
  readonly concurrency: LimitRange;
}

/** Prewarmed containers kept for one kind (on its runtime), beyond `prewarmCount` for the default Node.js kind. */
export interface PrewarmEntry {
  readonly kind: string;
  readonly count: number;
  /** The runtime to prewarm on; default: the one the engine would pick for the kind. */
  readonly runtime?: string;
  /** Memory of the prewarmed containers in MB; default: the default action memory (only equal sizes are used). */
  readonly memory?: number;
}

export interface EngineOptions {
  /** The namespace entities live in; `_` in names resolves to it. @default 'guest' */
  readonly namespace: string;
  /** Runtime used for actions that do not name one. @default 'worker' */
  readonly defaultRuntime: string;
  /** Pool budget in MB: the sum of the memory limits of all containers (busy, idle, prewarmed). @default 1024 */
  readonly memoryBudget: number;
  /** Invocations that may wait in the queue before new ones are refused with 429. @default 10000 */
  readonly maxQueued: number;
  /** Activations per namespace in flight (queued and running) before new ones are refused with 429. @default 2000 */
  readonly concurrentInvocations: number;
  /** Invocations the balancer hands to the invoker at once; the rest wait in the queue. @default 64 */
  readonly dispatchConcurrency: number;
  /** Prewarmed containers kept for the default Node.js kind at the default memory. @default 1 */
  readonly prewarmCount: number;
  /** More prewarmed containers per kind, e.g. `[{kind: 'python:3', count: 1}]`. @default [] */
  readonly prewarm: readonly PrewarmEntry[];
  /** An idle warm container is destroyed after this many ms. @default 600000 */
  readonly idleTimeout: number;
  /** Runtimes that can pause do so after a container has been idle this many ms. @default 10000 */
  readonly pauseGrace: number;
  /** Containers being started at the same time, at most. @default 4 */
  readonly maxParallelStarts: number;
  /** Activation records kept in memory; the oldest are dropped first. @default 10000 */
  readonly activationRetention: number;
  /** About how many bytes of activation records (their logs and results) are kept in memory; past it the oldest are dropped first. @default 268435456 */
  readonly activationRetentionBytes: number;
  /** Activation records older than this many ms are dropped (checked as records are written). @default 2592000000 */
  readonly activationRetentionAge: number;
  /** With a durable store: accepted invocations older than this many ms when the engine starts again are recorded as expired and dead-lettered instead of run. @default 600000 */
  readonly maxReplayAge: number;
  /** With a durable store: times an accepted invocation that ended in a whisk internal error (no container, lost daemon) is run again before it is dead-lettered. @default 3 */
  readonly retryLimit: number;
  /** Wait before the first retry in ms; doubled for each further one, at most 60 s. @default 1000 */
  readonly retryBackoff: number;
  /** With a durable store: dead letters kept; the oldest are dropped first. @default 10000 */
  readonly deadLetterRetention: number;
  /** Alarms with `catchUp: 'once'` fire once for the times they missed while the engine was stopped only if the latest is no older than this many ms. @default 86400000 */
  readonly alarmCatchUpWindow: number;
  /** Longest a blocking invocation waits before it is demoted to an activation id (ms). @default 60000 */
  readonly maxBlockingWait: number;
  /** `close()` lets running activations finish for this long (ms), then aborts the rest. @default 10000 */
  readonly closeTimeout: number;
  /** Largest invocation payload including the action's parameters, in bytes. @default 1048576 */
  readonly payloadLimit: number;
  /** Largest action result in bytes; larger results are truncated into an application error. @default 1048576 */
  readonly resultLimit: number;
  /** Largest serialized parameters (and annotations) of one entity, in bytes. @default 1048576 */
  readonly parametersLimit: number;
  /** Largest action code in bytes. @default 50331648 */
  readonly codeLimit: number;
  /** Atomic actions a sequence may run after nested sequences are inlined. @default 50 */
  readonly sequenceMaxLength: number;
  /** Share (0..1) of `concurrentInvocations`, and of `httpBodyBudget`, that anonymous web action callers may hold; past it they get 429 and 503, while authenticated callers keep the rest. @default 0.25 */
  readonly webInvocationShare: number;
  /** REST API: request body bytes held at once across all requests; a body that would go past it is refused with 503, not buffered. @default 104857600 */
  readonly httpBodyBudget: number;
  /** `edgewhisk serve`: a client must send its request headers within this many ms, or the connection is closed. @default 20000 */
  readonly httpHeadersTimeout: number;
  /** `edgewhisk serve`: a client must send its whole request (headers and body) within this many ms. @default 120000 */
  readonly httpRequestTimeout: number;
  /** `edgewhisk serve`: an idle keep-alive connection is closed after this many ms. @default 10000 */
  readonly httpKeepAliveTimeout: number;
  /** `edgewhisk serve`: open connections at most; further ones are closed at once. @default 1000 */
  readonly httpMaxConnections: number;
  /** Processes an action on the `process` runtime may have running at once besides its runtime (everything its proxy started, detached or not); past it the container is killed. @default 64 */
  readonly processPidsLimit: number;
  /** Ranges and defaults of per-action limits. */
  readonly limits: ActionLimitRanges;
  /** The Docker runtime: connection, images, hardening (see the Docker options table). */
  readonly docker: DockerOptions;
}

export const DEFAULTS: EngineOptions = Object.freeze({
  namespace: 'guest',
  defaultRuntime: 'worker',
  memoryBudget: 1024, // MB, OpenWhisk's code default for invoker user memory
  maxQueued: 10_000,
  concurrentInvocations: 2_000,
  dispatchConcurrency: 64,
  prewarmCount: 1,
  prewarm: Object.freeze([]),
  idleTimeout: 600_000, // 10 min, OpenWhisk's idle-container default
  pauseGrace: 10_000, // 10 s, OpenWhisk's pause-grace
  maxParallelStarts: 4,
  activationRetention: 10_000,
  activationRetentionBytes: 268_435_456, // 256 MB: 25 records at the 10 MB log limit; small records reach activationRetention first
  activationRetentionAge: 2_592_000_000, // 30 days
  maxReplayAge: 600_000, // 10 min: a device back from a power cut runs what was waiting, not hours-old commands
  retryLimit: 3,
  retryBackoff: 1_000,
  deadLetterRetention: 10_000,
  alarmCatchUpWindow: 86_400_000, // 1 day: last night's backup runs after a morning power cut; last week's does not
  maxBlockingWait: 60_000,
  closeTimeout: 10_000, // leaves headroom under Node-RED's 15 s nodeCloseTimeout
  payloadLimit: 1_048_576, // 1 MB
  resultLimit: 1_048_576, // 1 MB
  parametersLimit: 1_048_576, // 1 MB
  codeLimit: 50_331_648, // 48 MB
  sequenceMaxLength: 50,
  webInvocationShare: 0.25,
  httpBodyBudget: 104_857_600, // 100 MB: two action bodies at the code limit, or a hundred invocation payloads
  httpHeadersTimeout: 20_000,
  httpRequestTimeout: 120_000, // a 49 MB action body at 4 Mbit/s
  httpKeepAliveTimeout: 10_000,
  httpMaxConnections: 1_000,
  processPidsLimit: 64, // a fork bomb stops here; docker.pidsLimit counts threads too, hence its larger figure
  limits: Object.freeze({
    timeout: Object.freeze({ min: 100, max: 300_000, default: 60_000 }),
    memory: Object.freeze({ min: 128, max: 512, default: 256 }),
    logs: Object.freeze({ min: 0, max: 10, default: 10 }),
    concurrency: Object.freeze({ min: 1, max: 200, default: 1 }),
  }),
  docker: Object.freeze({
    enabled: false,
    host: '',
    pull: 'if-missing',
    images: EDGEWHISK_IMAGES,
    instance: 'edgewhisk',
    network: 'none',
    user: '65534:65534', // nobody:nogroup
    allowRoot: false,
    readOnlyRootfs: true,
    tmpSize: 64, // MB
    pidsLimit: 256, // OpenWhisk uses 1024; an edge device has fewer to spare
    nofile: 1024, // OpenWhisk's
    cpus: 1,
    capAdd: Object.freeze([]),
    sandbox: 'runc',
    startTimeout: 30_000,
    apiTimeout: 15_000,
    pullIdleTimeout: 60_000, // a registry that stalls mid-layer would otherwise hold the cold start forever
    socketDir: '',
  }),
});

export type EngineOptionsInput = Partial<Omit<EngineOptions, 'limits' | 'docker'>> & {
  readonly limits?: Partial<{ readonly [K in keyof ActionLimitRanges]: Partial<LimitRange> }>;
  readonly docker?: DockerOptionsInput;
};

const POSITIVE_INTEGERS = [
  'memoryBudget',
  'maxQueued',
  'dispatchConcurrency',
  'idleTimeout',
  'maxParallelStarts',
  'activationRetention',
  'activationRetentionBytes',
  'activationRetentionAge',
  'maxReplayAge',
  'retryBackoff',
  'deadLetterRetention',
  'alarmCatchUpWindow',
  'maxBlockingWait',
  'payloadLimit',
  'resultLimit',
  'parametersLimit',
  'codeLimit',
  'sequenceMaxLength',
  'httpBodyBudget',
  'httpHeadersTimeout',
  'httpRequestTimeout',
  'httpKeepAliveTimeout',
  'httpMaxConnections',
  'processPidsLimit',
] as const;
// concurrentInvocations may be 0: OpenWhisk then refuses everything with `allowed: 0`.
const NON_NEGATIVE_INTEGERS = ['concurrentInvocations', 'prewarmCount', 'pauseGrace', 'closeTimeout', 'retryLimit'] as const;

function describe(value: unknown): string {
  return `\`${typeof value === 'string' ? JSON.stringify(value) : String(value)}\` (${value === null ? 'null' : typeof value})`;
}

/** Merges `input` over `DEFAULTS` and validates the result; a bad option throws a `TypeError` naming it. */
export function resolveOptions(input: EngineOptionsInput = {}): EngineOptions {
  if (typeof input !== 'object' || input === null) {
    throw new TypeError(`Expected \`options\` to be an object, got ${describe(input)}`);
  }
  const known = new Set(Object.keys(DEFAULTS));
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new TypeError(`Unknown engine option \`${key}\``);
  }
  const limits = {} as Record<keyof ActionLimitRanges, LimitRange>;
  for (const key of Object.keys(DEFAULTS.limits) as (keyof ActionLimitRanges)[]) {
    const range = { ...DEFAULTS.limits[key], ...(input.limits?.[key] ?? {}) };
    for (const bound of ['min', 'max', 'default'] as const) {
      if (!Number.isInteger(range[bound]) || range[bound] < 0) {
        throw new TypeError(`Expected \`limits.${key}.${bound}\` to be a non-negative integer, got ${describe(range[bound])}`);
      }
    }
    if (!(range.min <= range.default && range.default <= range.max)) {
      throw new TypeError(`Expected \`limits.${key}\` to satisfy min <= default <= max, got ${JSON.stringify(range)}`);
    }
    limits[key] = Object.freeze(range);
  }
  const docker = resolveDockerOptions(DEFAULTS.docker, input.docker);
  const merged: EngineOptions = { ...DEFAULTS, ...(input as Partial<EngineOptions>), limits: Object.freeze(limits), docker };
  for (const key of POSITIVE_INTEGERS) {
    const value = merged[key];
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`Expected \`${key}\` to be a positive integer, got ${describe(value)}`);
  }
  for (const key of NON_NEGATIVE_INTEGERS) {
    const value = merged[key];
    if (!Number.isInteger(value) || value < 0) throw new TypeError(`Expected \`${key}\` to be a non-negative integer, got ${describe(value)}`);
  }
  for (const key of ['namespace', 'defaultRuntime'] as const) {
    if (typeof merged[key] !== 'string' || merged[key] === '') {
      throw new TypeError(`Expected \`${key}\` to be a non-empty string, got ${describe(merged[key])}`);
    }
  }
  if (!Array.isArray(merged.prewarm)) throw new TypeError(`Expected \`prewarm\` to be an array of {kind, count}, got ${describe(merged.prewarm)}`);
  merged.prewarm.forEach((entry: PrewarmEntry, i: number) => {
    if (typeof entry !== 'object' || entry === null || typeof entry.kind !== 'string' || entry.kind === '') {
      throw new TypeError(`Expected \`prewarm[${i}].kind\` to be a non-empty string, got ${describe(entry?.kind)}`);
    }
    if (!Number.isInteger(entry.count) || entry.count < 0) throw new TypeError(`Expected \`prewarm[${i}].count\` to be a non-negative integer, got ${describe(entry.count)}`);
    if (entry.memory !== undefined && (!Number.isInteger(entry.memory) || entry.memory < limits.memory.min || entry.memory > limits.memory.max)) {
      throw new TypeError(`Expected \`prewarm[${i}].memory\` to be an integer in ${limits.memory.min}..${limits.memory.max}, got ${describe(entry.memory)}`);
    }
  });
  if (merged.maxBlockingWait > 60_000) {
    throw new TypeError(`Expected \`maxBlockingWait\` to be at most 60000 (OpenWhisk's maximum), got ${describe(merged.maxBlockingWait)}`);
  }
  if (typeof merged.webInvocationShare !== 'number' || !(merged.webInvocationShare >= 0 && merged.webInvocationShare <= 1)) {
    throw new TypeError(`Expected \`webInvocationShare\` to be a number from 0 to 1, got ${describe(merged.webInvocationShare)}`);
  }
  // The largest body the REST API takes is an action's (its code plus 1 MB for the rest) or an invocation payload: a
  // smaller budget could never take one.
  const largestBody = Math.max(merged.codeLimit + 1_048_576, merged.payloadLimit);
  if (merged.httpBodyBudget < largestBody) {
    throw new TypeError(`Expected \`httpBodyBudget\` to hold the largest request body (codeLimit + 1048576, or payloadLimit: ${largestBody}), got ${describe(merged.httpBodyBudget)}`);
  }
  if (merged.httpHeadersTimeout > merged.httpRequestTimeout) {
    throw new TypeError(`Expected \`httpHeadersTimeout\` to be at most \`httpRequestTimeout\` (${merged.httpRequestTimeout}), got ${describe(merged.httpHeadersTimeout)}`);
  }
  if (merged.memoryBudget < limits.memory.min) {
    throw new TypeError(`Expected \`memoryBudget\` to hold at least one container of ${limits.memory.min} MB, got ${describe(merged.memoryBudget)}`);
  }
  return Object.freeze(merged);
}
