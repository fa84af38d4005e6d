/**
 * A remote Apache OpenWhisk deployment (or another EdgeWhisk) behind the same surface the Node-RED nodes use on
 * an embedded engine, through OpenWhisk's REST API (whisk-rest-client.ts, which sends the requests the official
 * `openwhisk` npm client would). This is how flows outgrow one device: switch the engine node to remote and the same
 * action, trigger, rule and activations nodes deploy and run on the cluster.
 *
 * What a remote system cannot tell a client is adapted: an activation's completion is found by polling its record
 * (OpenWhisk answers 404 until the record is stored), and `activation:completed` events come from polling the
 * activation list while someone listens.
 */
import { EventEmitter } from 'node:events';
import type { Activation } from '../activations/record';
import type { ActionOptions } from '../api/actions-api';
import type { ActionView, RuleView, TriggerView } from '../entities/views';
import { ewError, type EdgeWhiskError } from '../errors';
import type { EngineEvents } from '../events';
import { DEFAULTS, type ActionLimitRanges } from '../options';
import { ChangesInFlight } from './changes-in-flight';
import { remoteActionBody } from './remote-action-body';
import { remoteDefinitionMatches } from './remote-definition';
import { WhiskRestClient } from './whisk-rest-client';

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
  /** How long one request to the API may take, in ms. @default 60000 */
  readonly requestTimeout?: number;
}

/**
 * Errors from the client carry `statusCode` (absent when the server could not be reached: then 502) and the
 * server's `error` body; keep OpenWhisk's message and status.
 */
function remoteError(error: unknown): EdgeWhiskError {
  const e = error as { statusCode?: number; error?: { error?: string }; message?: string };
  const message = typeof e?.error?.error === 'string' ? e.error.error : (e?.message ?? String(error));
  // Never kept as the cause: an HTTP client's error may hold the request, Authorization header included.
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
 * A call whose answer is OpenWhisk's JSON for `T` (an entity view or an activation record). The client returns it
 * untyped; this is the one place it is taken as what the engine's API returns, so the remote engine is checked
 * against the same contract as the embedded one.
 */
function answer<T>(fn: () => Promise<unknown>): Promise<T> {
  return call(fn) as Promise<T>;
}

export class RemoteEngine {
  readonly options: { readonly namespace: string; readonly limits: ActionLimitRanges };
  readonly actions: RemoteActions;
  readonly triggers: RemoteTriggers;
  readonly rules: RemoteRules;
  readonly activations: RemoteActivations;
  readonly #events = new EventEmitter<EngineEvents>();
  readonly #client: WhiskRestClient;
  readonly #pollInterval: number;
  #poller: NodeJS.Timeout | undefined;
  #seen = new Set<string>();
  #since = Date.now();
  #closed = false;

  constructor(options: RemoteOptions) {
    if (typeof options.apihost !== 'string' || options.apihost === '') throw new TypeError('Expected `apihost` to be the URL of an OpenWhisk API host');
    if (typeof options.apiKey !== 'string' || !/^[^:]+:.+$/.test(options.apiKey)) throw new TypeError('Expected `apiKey` to be credentials of the form uuid:key');
    this.#client = new WhiskRestClient({
      apihost: options.apihost,
      apiKey: options.apiKey,
      namespace: options.namespace ?? '_',
      ignoreCerts: options.ignoreCerts === true,
      ...(options.requestTimeout === undefined ? {} : { timeout: options.requestTimeout }),
    });
    this.#pollInterval = options.pollInterval ?? 2_000;
    this.options = { namespace: options.namespace ?? '_', limits: DEFAULTS.limits };
    // Invocations wait for the changes asked for before them, as on an embedded engine (changes-in-flight.ts).
    const changes = new ChangesInFlight();
    this.actions = new RemoteActions(this.#client, changes, (id, timeout) => this.activations.wait({ activationId: id, timeout }));
    this.triggers = new RemoteTriggers(this.#client, changes);
    this.rules = new RemoteRules(this.#client, changes);
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
    const listed = await answer<Activation[]>(() => this.#client.listActivations({ limit: 200, docs: true, since: this.#since - 1_000 }));
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
    readonly client: WhiskRestClient,
    readonly changes: ChangesInFlight,
    readonly wait: (id: string, timeout: number) => Promise<Activation>,
  ) {}

  get(options: { name: string; code?: boolean }): Promise<ActionView> {
    return answer<ActionView>(() => this.client.getAction(options.name, options.code !== false));
  }

  create(options: ActionOptions): Promise<ActionView> {
    return this.changes.track(this.#create(options));
  }

  async #create(options: ActionOptions): Promise<ActionView> {
    // A sequence needs its components: the definitions asked for before it go first, as on an embedded engine.
    if (options.sequence !== undefined) await this.changes.settled();
    // `runtime` and `keepIfUnchanged` are EdgeWhisk's: the remote body does not carry them.
    const name = options.name ?? options.actionName ?? '';
    if (options.keepIfUnchanged === true && options.overwrite === true) {
      const stored = await this.get({ name }).catch(() => undefined);
      if (stored !== undefined && remoteDefinitionMatches(stored, options)) return stored;
    }
    return await answer<ActionView>(() => this.client.putAction(name, remoteActionBody(options), options.overwrite));
  }

  delete(options: { name: string }): Promise<ActionView> {
    return this.changes.track(answer<ActionView>(() => this.client.deleteAction(options.name)));
  }

  /** `durable` is the deployment's business: OpenWhisk keeps what it accepted in its own queue. */
  async start(options: { name: string; params?: unknown; durable?: boolean }): Promise<{ activationId: string; activation: Promise<Activation> }> {
    await this.changes.settled();
    const { activationId } = (await call(() => this.client.invokeAction(options.name, (options.params ?? {}) as object))) as { activationId: string };
    // The record normally appears as soon as the action ends; the bound only ends a wait for one that never does.
    // It is the longest possible action plus a minute, so no extra request per invocation is needed to learn it.
    const activation = this.wait(activationId, DEFAULTS.limits.timeout.max + 60_000);
    activation.catch(() => undefined);
    return { activationId, activation };
  }
}

class RemoteTriggers {
  constructor(
    readonly client: WhiskRestClient,
    readonly changes: ChangesInFlight,
  ) {}

  get(options: { name: string }): Promise<TriggerView> {
    return answer<TriggerView>(() => this.client.getTrigger(options.name));
  }

  create(options: { name: string }): Promise<TriggerView> {
    return this.changes.track(answer<TriggerView>(() => this.client.putTrigger(options.name)));
  }

  async invoke(options: { name: string; params?: Record<string, unknown> }): Promise<{ activationId?: string }> {
    await this.changes.settled();
    const fired = (await call(() => this.client.fireTrigger(options.name, options.params ?? {}))) as { activationId?: string } | undefined;
    // HTTP 204 (no active rule) comes back as no body.
    return typeof fired === 'object' && fired !== null && typeof fired.activationId === 'string' ? { activationId: fired.activationId } : {};
  }
}

class RemoteRules {
  constructor(
    readonly client: WhiskRestClient,
    readonly changes: ChangesInFlight,
  ) {}

  get(options: { name: string }): Promise<RuleView> {
    return answer<RuleView>(() => this.client.getRule(options.name));
  }

  create(options: { name: string; trigger?: string; action?: string; status?: string; overwrite?: boolean }): Promise<RuleView> {
    return this.changes.track(this.#create(options));
  }

  async #create(options: { name: string; trigger?: string; action?: string; status?: string; overwrite?: boolean }): Promise<RuleView> {
    // A rule needs its trigger and action: the definitions asked for before it go first, as on an embedded engine.
    await this.changes.settled();
    const rule = await answer<RuleView>(() => this.client.putRule(options.name, { trigger: options.trigger, action: options.action }, options.overwrite === true));
    if (options.status === 'inactive') return this.disable({ name: options.name });
    return rule;
  }

  update(options: { name: string; trigger?: string; action?: string; status?: string }): Promise<RuleView> {
    return this.create({ ...options, overwrite: true });
  }

  enable(options: { name: string }): Promise<RuleView> {
    return this.changes.track(answer<RuleView>(() => this.client.setRuleStatus(options.name, 'active')));
  }

  disable(options: { name: string }): Promise<RuleView> {
    return this.changes.track(answer<RuleView>(() => this.client.setRuleStatus(options.name, 'inactive')));
  }

  delete(options: { name: string }): Promise<RuleView> {
    return this.changes.track(answer<RuleView>(() => this.client.deleteRule(options.name)));
  }
}

class RemoteActivations {
  constructor(
    readonly client: WhiskRestClient,
    readonly closed: () => boolean,
  ) {}

  get(id: string): Promise<Activation> {
    return answer<Activation>(() => this.client.getActivation(id));
  }

  /** Polls the record until it exists (50 ms, doubling to 1 s), or rejects after `timeout` ms. */
  async wait(options: { activationId: string; timeout?: number }): Promise<Activation> {
    const until = Date.now() + (options.timeout ?? 60_000);
    let delay = 50;
    for (;;) {
      try {
        return await answer<Activation>(() => this.client.getActivation(options.activationId));
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 404) throw remoteError(error);
      }
      if (Date.now() + delay > until || this.closed()) throw ewError('EW_ACTIVATION_WAIT_EXPIRED', [options.activationId, options.timeout ?? 60_000]);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 1_000);
    }
  }
}
