/**
 * `engine.actions`: the same method names and option shapes as the official `openwhisk` npm client's
 * `ow.actions`, so code written for one runs against the other.
 */
import type { ActionView, ExecView } from '../entities/views';
import { awaitActivation } from '../activations/await-activation';
import { errorText, httpStatusOf, toApiView, type Activation, type StoredActivation } from '../activations/record';
import type { ActionsContext, Caller, EntityContext } from '../engine-context';
import { RUNTIME_ANNOTATION } from '../engine-core';
import { fqn, packageOf, rootNamespace } from '../entities/names';
import { refuseSystem } from '../entities/entity-store';
import { resolveAction } from '../entities/resolve-action';
import { annotation, isSequence, type ActionDoc, type Exec, type KeyValue, type Parameter } from '../entities/types';
import {
  checkCodeSize,
  isBinaryCode,
  isValidMain,
  mergeKeyValues,
  nextVersion,
  resolveAnnotations,
  resolveLimits,
  resolveParameters,
} from '../entities/validate';
import { ewError } from '../errors';
import { DEFAULT_NODE_KIND } from '../runtimes/node-kinds';
import { monotonicNow } from '../util/monotonic-now';
import { expandSequence } from '../sequences/sequence-runner';
import { publishFlag } from './entity-fields';
import { pickName } from './pick-name';
import { listWindow, type ListOptions } from './list-options';

export interface ActionOptions {
  /** `name`, `/namespace/name` or `/_/name`. The client also accepts `actionName`. */
  readonly name?: string;
  readonly actionName?: string;
  /** Code as a string (or Buffer for archives), or a whole OpenWhisk action body `{exec, parameters, limits, …}`. */
  readonly action?: string | Buffer | Record<string, unknown>;
  /** @default 'nodejs:default' */
  readonly kind?: string;
  readonly exec?: Partial<{ kind: string; code: string; binary: boolean; main: string; image: string; components: string[] }>;
  /** Component names: creates a sequence. */
  readonly sequence?: readonly string[];
  /** Default parameters as an object, or OpenWhisk's `[{key, value, init?}]`. */
  readonly params?: Record<string, unknown> | readonly Parameter[];
  readonly parameters?: readonly Parameter[];
  readonly annotations?: Record<string, unknown> | readonly KeyValue[];
  readonly limits?: Partial<{ timeout: number; memory: number; logs: number; concurrency: number }>;
  readonly version?: string;
  readonly publish?: boolean;
  /** Replace an existing action (`update` sets it). */
  readonly overwrite?: boolean;
  /** EdgeWhisk: the runtime to run on (`worker`, `process`, `docker`); stored as the `edgewhisk-runtime` annotation. */
  readonly runtime?: string;
  /**
   * EdgeWhisk, with `overwrite`: an existing action this definition would not change is kept as it is (same version,
   * so its warm containers stay in use) and returned. The comparison uses the engine's own normalisation (kind
   * aliases, namespaces, default limits), so a caller never has to repeat it. How a redeployed Node-RED node that
   * did not change keeps its action.
   */
  readonly keepIfUnchanged?: boolean;
}

export interface InvokeOptions {
  readonly name?: string;
  readonly actionName?: string;
  /** Parameters for this invocation: an object (merged over the defaults) or an array (passed as is). */
  readonly params?: unknown;
  /** Wait for the result. @default false */
  readonly blocking?: boolean;
  /** With `blocking`, return only `response.result`. @default false */
  readonly result?: boolean;
  /** With `blocking`, how long to wait in ms (1..60000). @default maxBlockingWait */
  readonly timeout?: number;
  /**
   * With `blocking`, what happens when the wait expires: `'demote'` returns `{activationId}` like OpenWhisk's 202,
   * `'fail'` throws `EW_ACTIVATION_WAIT_EXPIRED` (apache/openwhisk#4727). Either way the action keeps running.
   * @default 'demote'
   */
  readonly onWaitTimeout?: 'demote' | 'fail';
}

export interface StartOptions extends Pick<InvokeOptions, 'name' | 'actionName' | 'params'> {
  readonly caller?: Caller;
  /**
   * Accepted work the engine must not lose (docs/durability.md): with a durable store, `start` returns once it is
   * on disk, and a crash runs it again. Without, nothing changes. @default false
   */
  readonly durable?: boolean;
}

export interface StartedActivation {
  readonly activationId: string;
  /** The record once stored; never rejects. */
  readonly activation: Promise<Activation>;
  /** Makes the invocation durable if it is not (a blocking call demoted to an id); rejects if the store refuses. */
  durable(): Promise<void>;
}

type NameOptions = string | { readonly name?: string; readonly actionName?: string; readonly code?: boolean };

/** The action as `get` returns it; `code: false` leaves the code out. */
export function actionView(doc: ActionDoc, withCode = true): ActionView {
  const exec: { -readonly [K in keyof ExecView]: ExecView[K] } = { ...doc.exec };
  if (!withCode) delete exec.code;
  return {
    namespace: doc.namespace,
    name: doc.name,
    version: doc.version,
    publish: doc.publish,
    exec,
    annotations: doc.annotations.map((a) => ({ ...a })),
    parameters: doc.parameters.map((p) => ({ ...p })),
    limits: { ...doc.limits },
    updated: doc.updated,
  };
}


export class ActionsApi {
  readonly #core: ActionsContext;

  constructor(core: ActionsContext) {
    this.#core = core;
  }

  /** The entities (newest first), or with `count: true` only how many there are, as `{actions: n}`. */
  list(options: ListOptions & { readonly count: true }): Promise<{ actions: number }>;
  list(options?: ListOptions): Promise<ActionView[]>;
  async list(options: ListOptions = {}): Promise<ActionView[] | { actions: number }> {
    const { skip, limit } = listWindow(options, 'actions');
    const namespace = options.namespace === undefined || options.namespace === '_' ? this.#core.options.namespace : options.namespace;
    if (options.count === true) return { actions: this.#core.entities.list('action', namespace).length };
    return this.#core.entities.list('action', namespace).slice(skip, skip + limit).map((doc) => actionView(doc, false));
  }

  async get(options: NameOptions): Promise<ActionView> {
    const q = this.#core.name(pickName(options, 'actionName'));
    const withCode = typeof options === 'string' || options.code !== false;
    return actionView(this.#core.entities.get('action', q), withCode);
  }

  async create(options: ActionOptions): Promise<ActionView> {
    return actionView(this.#put(options, options.overwrite === true));
  }

  async update(options: ActionOptions): Promise<ActionView> {
    return actionView(this.#put(options, true));
  }

  async delete(options: NameOptions): Promise<ActionView> {
    const q = refuseSystem(this.#core.name(pickName(options, 'actionName')));
    const doc = this.#core.entities.get('action', q);
    this.#core.entities.delete('action', q);
    return actionView(doc);
  }

  /**
   * Non-blocking: `{activationId}` at once. Blocking: the activation record (or only its result with `result`);
   * a failed activation rejects with `EW_ACTIVATION_FAILED` carrying the record, as the client rejects on 502.
   */
  async invoke(options: InvokeOptions | string): Promise<unknown> {
    const o: InvokeOptions = typeof options === 'string' ? { name: options } : options;
    const { action, binding } = resolveAction(this.#core.entities, this.#core.name(pickName(o, 'actionName')));
    // Refuse a bad wait before starting anything: a 400 must not leave an activation running.
    checkWaitTimeout(o.timeout);
    // A non-blocking invocation is accepted work: durable before its id is returned (docs/durability.md). A
    // blocking one becomes so only if its wait expires and it is demoted to an id.
    const started = this.#core.start(action, o.params, { durable: o.blocking !== true, ...(binding === undefined ? {} : { binding }) });
    return waitFor(this.#core, started, o);
  }

  /**
   * EdgeWhisk extension for callers that are not HTTP clients (the Node-RED nodes): starts an activation and gives
   * its id at once plus a promise of its record that never rejects and is never demoted, however long the action
   * runs. Validation and admission errors (400, 404, 413, 429) throw as for `invoke`.
   */
  async start(options: StartOptions | string): Promise<StartedActivation> {
    const o: StartOptions = typeof options === 'string' ? { name: options } : options;
    const { action, binding } = resolveAction(this.#core.entities, this.#core.name(pickName(o, 'actionName')));
    const started = this.#core.start(action, o.params, {
      ...(binding === undefined ? {} : { binding }),
      ...(o.caller === undefined ? {} : { caller: o.caller }),
      ...(o.durable === true ? { durable: true } : {}),
    });
    const activation = started.done.then(toApiView);
    if (o.durable === true) {
      // Not accepted, not run: the refusal (a full disk) is the caller's error, and the record promise is settled.
      await started.durable().catch((error: unknown) => {
        activation.catch(() => undefined);
        throw error;
      });
    }
    return { activationId: started.activationId, activation, durable: () => started.durable() };
  }

  #put(options: ActionOptions, overwrite: boolean): ActionDoc {
    if (typeof options !== 'object' || options === null) throw new TypeError('Expected `options` to be an object');
    const core = this.#core;
    const q = refuseSystem(core.name(pickName(options, 'actionName')));
    const pkgName = packageOf(q.namespace);
    if (pkgName !== undefined) {
      // An action lives in a package that exists and is not a binding.
      const pkg = core.entities.get('package', { namespace: rootNamespace(q.namespace), name: pkgName });
      if (pkg.binding !== undefined) throw ewError('EW_BINDING_OPERATION', []);
    }
    const existing = core.entities.find('action', q);
    if (existing !== undefined && !overwrite) throw ewError('EW_ENTITY_EXISTS', [], { name: fqn(q) });

    // The client lets `action` be a whole OpenWhisk body; otherwise the body is built from the options.
    const body: Record<string, unknown> =
      typeof options.action === 'object' && !Buffer.isBuffer(options.action) ? { ...options.action } : {};
    const limits = resolveLimits(body['limits'] ?? options.limits, core.options.limits, existing?.limits);
    const parameters =
      body['parameters'] !== undefined || options.parameters !== undefined || options.params !== undefined
        ? resolveParameters(body['parameters'] ?? options.parameters ?? options.params, core.options.parametersLimit)
        : [...(existing?.parameters ?? [])];
    let annotations: KeyValue[] =
      body['annotations'] !== undefined || options.annotations !== undefined
        ? resolveAnnotations(body['annotations'] ?? options.annotations, core.options.parametersLimit)
        : [...(existing?.annotations ?? [])];
    if (options.runtime !== undefined) annotations = mergeKeyValues(annotations, [{ key: RUNTIME_ANNOTATION, value: options.runtime }]);
    const runtime = annotation(annotations, RUNTIME_ANNOTATION);
    const exec = this.#exec(options, body, existing, q, runtime);
    if (!isSequence(exec)) core.runtimeFor(exec.kind, runtime);
    // OpenWhisk amends every action with its kind, and new ones with provide-api-key: false.
    const system: KeyValue[] = [{ key: 'exec', value: exec.kind }];
    if (existing === undefined && annotation(annotations, 'provide-api-key') === undefined) system.push({ key: 'provide-api-key', value: false });
    annotations = mergeKeyValues(annotations, system);

    const publish = publishFlag(body['publish'] ?? options.publish, existing?.publish ?? false);
    if (options.keepIfUnchanged === true && existing !== undefined && sameDefinition(existing, { exec, parameters, limits, annotations, publish })) return existing;
    const doc: ActionDoc = {
      namespace: q.namespace,
      name: q.name,
      exec,
      parameters,
      limits,
      annotations,
      version: nextVersion(body['version'] ?? options.version, existing?.version),
      publish,
      updated: monotonicNow(),
    };
    core.entities.put('action', doc);
    return doc;
  }

  #exec(options: ActionOptions, body: Record<string, unknown>, existing: ActionDoc | undefined, q: { namespace: string; name: string }, runtime: unknown): Exec {
    const core = this.#core;
    if ('exec' in body && (typeof body['exec'] !== 'object' || body['exec'] === null || Array.isArray(body['exec']))) {
      throw ewError('EW_EXEC_INVALID', ["'exec' must be an object."]);
    }
    const bodyExec = body['exec'] as ActionOptions['exec'] | undefined;
    const components = options.sequence ?? bodyExec?.components ?? (options.exec?.kind === 'sequence' ? options.exec.components : undefined);
    const kindGiven = bodyExec?.kind ?? options.exec?.kind ?? options.kind;
    if (components !== undefined || kindGiven === 'sequence') {
      if (!Array.isArray(components) || components.length === 0) throw ewError('EW_SEQUENCE_EMPTY', []);
      const names = components.map((c: unknown) => fqn(core.name(c)));
      expandSequence(core, q, names);
      return { kind: 'sequence', components: names };
    }
    const codeGiven =
      typeof options.action === 'string' ? options.action : Buffer.isBuffer(options.action) ? options.action.toString('base64') : undefined;
    const code = bodyExec?.code ?? options.exec?.code ?? codeGiven;
    if (code === undefined && kindGiven === undefined && bodyExec === undefined && options.exec === undefined) {
      if (existing === undefined) throw ewError('EW_EXEC_INVALID', ['an action needs code (`action`), an `exec`, or a `sequence`.']);
      return existing.exec;
    }
    const base = existing !== undefined && !isSequence(existing.exec) ? existing.exec : undefined;
    const kind = core.resolveKind(kindGiven ?? base?.kind ?? DEFAULT_NODE_KIND, runtime).kind;
    const image = bodyExec?.image ?? options.exec?.image ?? base?.image;
    // OpenWhisk refuses an action without code when it reads the body (only a blackbox image may come without).
    if (code === undefined && base === undefined && !(kind === 'blackbox' && image !== undefined)) {
      throw ewError('EW_EXEC_INVALID', [`'code' must be a string defined in 'exec' for '${kind}' actions.`]);
    }
    const finalCode = code ?? base?.code ?? '';
    if (typeof finalCode !== 'string') throw ewError('EW_EXEC_INVALID', [`'code' must be a string defined in 'exec' for '${kind}' actions.`]);
    checkCodeSize(finalCode, core.options);
    if (kind === 'sequence') throw ewError('EW_SEQUENCE_EMPTY', []);
    const main = bodyExec?.main ?? options.exec?.main ?? base?.main;
    if (main !== undefined && (typeof main !== 'string' || !isValidMain(main))) throw ewError('EW_MAIN_INVALID', [String(main)]);
    const binaryGiven = bodyExec?.binary ?? options.exec?.binary;
    return {
      kind,
      code: finalCode,
      binary: typeof binaryGiven === 'boolean' ? binaryGiven : isBinaryCode(finalCode),
      ...(main === undefined ? {} : { main }),
      ...(image === undefined ? {} : { image }),
    };
  }
}

/**
 * Whether `existing` already has the definition `wanted` describes, both as this engine normalises them.
 * `provide-api-key` is left out: OpenWhisk adds it to new actions only, so an update never carries it.
 */
function sameDefinition(existing: ActionDoc, wanted: Pick<ActionDoc, 'exec' | 'parameters' | 'limits' | 'annotations' | 'publish'>): boolean {
  const comparable = (d: Pick<ActionDoc, 'exec' | 'parameters' | 'limits' | 'annotations' | 'publish'>): string =>
    JSON.stringify([d.exec, d.parameters, d.limits, d.annotations.filter((a) => a.key !== 'provide-api-key'), d.publish]);
  return comparable(existing) === comparable(wanted);
}


/** `timeout` (the blocking wait) must be 1..60000 ms, as OpenWhisk's `?timeout`. */
export function checkWaitTimeout(timeout: unknown): void {
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1 || timeout > 60_000)) {
    throw ewError('EW_WAIT_TIMEOUT_INVALID', []);
  }
}

/**
 * Shared by actions and (later) the REST layer: turns a started activation into what a caller gets, applying
 * blocking, result-only, the wait limit and its demotion.
 */
export async function waitFor(
  core: Pick<EntityContext, 'options'>,
  started: { activationId: string; done: Promise<StoredActivation>; durable(): Promise<void> },
  o: Pick<InvokeOptions, 'blocking' | 'result' | 'timeout' | 'onWaitTimeout'>,
): Promise<unknown> {
  if (o.blocking !== true) {
    await started.durable();
    return { activationId: started.activationId };
  }
  const max = core.options.maxBlockingWait;
  checkWaitTimeout(o.timeout);
  const wait = Math.min(o.timeout ?? max, max);
  const record = await awaitActivation(started.done, wait);
  if (record === undefined) {
    // Demoted: the caller now holds an id for work that goes on, which makes it accepted work.
    await started.durable();
    if (o.onWaitTimeout === 'fail') {
      throw ewError('EW_ACTIVATION_WAIT_EXPIRED', [started.activationId, wait], { activationId: started.activationId });
    }
    return { activationId: started.activationId };
  }
  const view: Activation = toApiView(record);
  if (!view.response.success) {
    throw ewError(
      'EW_ACTIVATION_FAILED',
      [errorText(view.response.result)],
      { activation: view, activationId: view.activationId },
      { statusCode: httpStatusOf(view.response.statusCode) },
    );
  }
  if (o.result === true || Array.isArray(view.response.result)) return view.response.result;
  return view;
}
