/**
 * A remote Apache OpenWhisk deployment (or another EdgeWhisk) behind the same surface the Node-RED nodes use on
 * an embedded engine, through the official `openwhisk` npm client. This is how flows outgrow one device: switch the
 * engine node to remote and the same action, trigger, rule and activations nodes deploy and run on the cluster.
 *
 * What a remote system cannot tell a client is adapted: an activation's completion is found by polling its record
 * (OpenWhisk answers 404 until the record is stored), and `activation:completed` events come from polling the
 * activation list while someone listens.
 */
import { EventEmitter } from 'node:events';
import openwhisk from 'openwhisk';
import type { Activation } from '../activations/record';
import type { ActionOptions } from '../api/actions-api';
import type { ActionView, RuleView, TriggerView } from '../entities/views';
import { ewError, type EdgeWhiskError } from '../errors';
import type { EngineEvents } from '../events';
import { DEFAULTS, type ActionLimitRanges } from '../options';
import { remoteDefinitionMatches } from './remote-definition';

export interface RemoteOptions {
  /** e.g. `https://openwhisk.example.com` or `http://127.0.0.1:3233`. */
  readonly apihost: string;
  /** `uuid:key`. */
  readonly apiKey: string;
  /** @default '_' */
  readonly namespace?: string;
  /** Accept self-signed certificates (a private cluster). @default false */
  readonly ignoreCerts?: boolean;
  /** How often the activation list is polled for `activation:completed` listeners, in ms. @default 2000 */
  readonly pollInterval?: number;
}

type Client = ReturnType<typeof openwhisk>;
type Options = Record<string, unknown>;

/** Errors from the client carry `statusCode` and the server's `error` body; keep OpenWhisk's message and status. */
function remoteError(error: unknown): EdgeWhiskError {
  const e = error as { statusCode?: number; error?: { error?: string }; message?: string };
  const message = typeof e?.error?.error === 'string' ? e.error.error : (e?.message ?? String(error));
  // Not kept as the cause: the client's error holds the request, Authorization header included.
  return ewError('EW_REMOTE_ERROR', [message], {}, typeof e?.statusCode === 'number' ? { statusCode: e.statusCode } : {});
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw remoteError(error);
  }
}

/**
 * A call whose answer is OpenWhisk's JSON for `T` (an entity view or an activation record). The client's own types
 * describe it loosely; this is the one place it is taken as what the engine's API returns, so the remote engine is
 * checked against the same contract as the embedded one.
 */
function answer<T>(fn: () => Promise<unknown>): Promise<T> {
  return call(fn) as Promise<T>;
}

function toObject(list: unknown): Record<string, unknown> | undefined {
  if (!Array.isArray(list)) return list as Record<string, unknown> | undefined;
  return Object.fromEntries(list.map((kv: { key: string; value: unknown }) => [kv.key, kv.value]));
}

export class RemoteEngine {
  readonly options: { readonly namespace: string; readonly limits: ActionLimitRanges };
  readonly actions: RemoteActions;
  readonly triggers: RemoteTriggers;
  readonly rules: RemoteRules;
  readonly activations: RemoteActivations;
  readonly #events = new EventEmitter<EngineEvents>();
  readonly #client: Client;
  readonly #pollInterval: number;
  #poller: NodeJS.Timeout | undefined;
  #seen = new Set<string>();
  #since = Date.now();
  #closed = false;

  constructor(options: RemoteOptions) {
    if (typeof options.apihost !== 'string' || options.apihost === '') throw new TypeError('Expected `apihost` to be the URL of an OpenWhisk API host');
    if (typeof options.apiKey !== 'string' || !/^[^:]+:.+$/.test(options.apiKey)) throw new TypeError('Expected `apiKey` to be credentials of the form uuid:key');
    this.#client = openwhisk({ apihost: options.apihost, api_key: options.apiKey, namespace: options.namespace ?? '_', ignore_certs: options.ignoreCerts === true });
    this.#pollInterval = options.pollInterval ?? 2_000;
    this.options = { namespace: options.namespace ?? '_', limits: DEFAULTS.limits };
    this.actions = new RemoteActions(this.#client, (id, timeout) => this.activations.wait({ activationId: id, timeout }));
    this.triggers = new RemoteTriggers(this.#client);
    this.rules = new RemoteRules(this.#client);
    this.activations = new RemoteActivations(this.#client, () => this.#closed);
  }

  get closed(): boolean {
    return this.#closed;
  }

  on<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): this {
    this.#events.on(event, listener as never);
    if (event === 'activation:completed') this.#startPolling();
    return this;
  }

  off<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): this {
    this.#events.off(event, listener as never);
    if (this.#events.listenerCount('activation:completed') === 0) this.#stopPolling();
    return this;
  }

  listenerCount<E extends keyof EngineEvents>(event: E): number {
    return this.#events.listenerCount(event);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopPolling();
  }

  #startPolling(): void {
    if (this.#poller !== undefined || this.#closed) return;
    this.#poller = setInterval(() => {
      this.#poll().catch(() => undefined);
    }, this.#pollInterval);
    this.#poller.unref();
  }

  #stopPolling(): void {
    clearInterval(this.#poller);
    this.#poller = undefined;
  }

  async #poll(): Promise<void> {
    const listed = await answer<Activation[]>(() => this.#client.activations.list({ docs: true, limit: 200, since: this.#since - 1_000 } as never));
    const fresh = listed.filter((a) => !this.#seen.has(a.activationId) && a.end !== undefined).sort((a, b) => a.start - b.start);
    for (const activation of fresh) {
      this.#seen.add(activation.activationId);
      this.#since = Math.max(this.#since, activation.start);
      this.#events.emit('activation:completed', activation);
    }
    // Remember only what the next polls can return again.
    if (this.#seen.size > 5_000) this.#seen = new Set([...this.#seen].slice(-1_000));
  }
}

class RemoteActions {
  constructor(
    readonly client: Client,
    readonly wait: (id: string, timeout: number) => Promise<Activation>,
  ) {}

  get(options: { name: string; code?: boolean }): Promise<ActionView> {
    return answer<ActionView>(() => this.client.actions.get({ name: options.name, code: options.code !== false } as never));
  }

  async create(options: ActionOptions): Promise<ActionView> {
    const { runtime: _ignored, keepIfUnchanged, params, annotations, ...rest } = options;
    if (keepIfUnchanged === true && rest.overwrite === true) {
      const stored = await this.get({ name: String(options.name) }).catch(() => undefined);
      if (stored !== undefined && remoteDefinitionMatches(stored, options)) return stored;
    }
    const body: Options = { ...rest };
    // The client turns `params` and `annotations` objects into OpenWhisk's key/value lists.
    if (params !== undefined) body['params'] = Array.isArray(params) ? toObject(params) : params;
    if (annotations !== undefined) body['annotations'] = Array.isArray(annotations) ? toObject(annotations) : annotations;
    return await answer<ActionView>(() => this.client.actions.create(body as never));
  }

  delete(options: { name: string }): Promise<ActionView> {
    return answer<ActionView>(() => this.client.actions.delete({ name: options.name }));
  }

  /** `durable` is the deployment's business: OpenWhisk keeps what it accepted in its own queue. */
  async start(options: { name: string; params?: unknown; durable?: boolean }): Promise<{ activationId: string; activation: Promise<Activation> }> {
    const { activationId } = (await call(() => this.client.actions.invoke({ name: options.name, params: (options.params ?? {}) as Options, blocking: false }))) as { activationId: string };
    // The record normally appears as soon as the action ends; the bound only ends a wait for one that never does.
    // It is the longest possible action plus a minute, so no extra request per invocation is needed to learn it.
    const activation = this.wait(activationId, DEFAULTS.limits.timeout.max + 60_000);
    activation.catch(() => undefined);
    return { activationId, activation };
  }
}

class RemoteTriggers {
  constructor(readonly client: Client) {}

  get(options: { name: string }): Promise<TriggerView> {
    return answer<TriggerView>(() => this.client.triggers.get({ name: options.name }));
  }

  create(options: { name: string }): Promise<TriggerView> {
    return answer<TriggerView>(() => this.client.triggers.create({ name: options.name }));
  }

  async invoke(options: { name: string; params?: Record<string, unknown> }): Promise<{ activationId?: string }> {
    const fired = (await call(() => this.client.triggers.invoke({ name: options.name, params: options.params ?? {} }))) as { activationId?: string } | string | undefined;
    // HTTP 204 (no active rule) comes back as an empty body.
    return typeof fired === 'object' && fired !== null && typeof fired.activationId === 'string' ? { activationId: fired.activationId } : {};
  }
}

class RemoteRules {
  constructor(readonly client: Client) {}

  get(options: { name: string }): Promise<RuleView> {
    return answer<RuleView>(() => this.client.rules.get({ name: options.name }));
  }

  async create(options: { name: string; trigger?: string; action?: string; status?: string; overwrite?: boolean }): Promise<RuleView> {
    const rule = await answer<RuleView>(
      () => this.client.rules.create({ name: options.name, trigger: options.trigger as string, action: options.action as string, overwrite: options.overwrite === true } as never),
    );
    if (options.status === 'inactive') return this.disable({ name: options.name });
    return rule;
  }

  update(options: { name: string; trigger?: string; action?: string; status?: string }): Promise<RuleView> {
    return this.create({ ...options, overwrite: true });
  }

  enable(options: { name: string }): Promise<RuleView> {
    return answer<RuleView>(() => this.client.rules.enable({ name: options.name }));
  }

  disable(options: { name: string }): Promise<RuleView> {
    return answer<RuleView>(() => this.client.rules.disable({ name: options.name }));
  }

  delete(options: { name: string }): Promise<RuleView> {
    return answer<RuleView>(() => this.client.rules.delete({ name: options.name }));
  }
}

class RemoteActivations {
  constructor(
    readonly client: Client,
    readonly closed: () => boolean,
  ) {}

  get(id: string): Promise<Activation> {
    return answer<Activation>(() => this.client.activations.get({ name: id }));
  }

  /** Polls the record until it exists (50 ms, doubling to 1 s), or rejects after `timeout` ms. */
  async wait(options: { activationId: string; timeout?: number }): Promise<Activation> {
    const until = Date.now() + (options.timeout ?? 60_000);
    let delay = 50;
    for (;;) {
      try {
        return await answer<Activation>(() => this.client.activations.get({ name: options.activationId }));
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 404) throw remoteError(error);
      }
      if (Date.now() + delay > until || this.closed()) throw ewError('EW_ACTIVATION_WAIT_EXPIRED', [options.activationId, options.timeout ?? 60_000]);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 1_000);
    }
  }
}
