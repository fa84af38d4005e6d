/**
 * The feeds of an engine (docs/feeds.md). OpenWhisk's feed actions are called by the client with a lifecycle event
 * (apache/openwhisk docs/feeds.md): CREATE, READ, UPDATE, DELETE, PAUSE, UNPAUSE. Here the built-in feed actions
 * hand that call to this service, which validates through the feed's provider, keeps the result with the trigger
 * (FeedJournal: on disk with a durable store), and runs the provider until the feed is deleted, the trigger is
 * deleted, or the engine closes. A new engine on the same store resumes every feed (`resume`).
 *
 * The `authKey` OpenWhisk passes is not kept: the engine fires its own triggers, so no credential is stored.
 */
import type { Clock } from './clock';
import type { FeedJournal, FeedRecord } from './feed-journal';
import { FeedParameterError, type FeedHost, type FeedProvider, type FeedRun, type FeedStatus, type FireOutcome } from './feed-provider';

export const LIFECYCLE_EVENTS = ['CREATE', 'READ', 'UPDATE', 'DELETE', 'PAUSE', 'UNPAUSE'] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

/** Parameters of a lifecycle call that are the protocol's, not the feed's. */
const PROTOCOL_PARAMS = new Set(['lifecycleEvent', 'triggerName', 'authKey']);

/** What the service needs of the engine. */
export interface FeedServiceHost {
  readonly clock: Clock;
  /** `/ns/name`, `/_/name` or `name` → `/ns/name` in the engine's namespace; throws FeedParameterError otherwise. */
  triggerName(input: unknown): string;
  triggerExists(trigger: string): boolean;
  fire(trigger: string, payload: Record<string, unknown>): Promise<FireOutcome>;
  /** Deletes the trigger, and with `rules` its rules too (a `once` alarm's `deleteAfterFire`). */
  remove(trigger: string, what: 'trigger' | 'rules'): Promise<void>;
  status(event: FeedStatusEvent): void;
  warn(message: string): void;
}

export interface FeedStatusEvent extends FeedStatus {
  readonly trigger: string;
  readonly feed: string;
}

/** A change to a feed: `saved: undefined` drops the provider's saved state. */
interface Change {
  readonly config?: FeedRecord['config'];
  readonly paused?: boolean;
  readonly saved?: FeedRecord['saved'] | undefined;
}

interface Live {
  record: FeedRecord;
  run: FeedRun | undefined;
  status: FeedStatus;
}

export class FeedService {
  readonly #providers: ReadonlyMap<string, FeedProvider>;
  readonly #journal: FeedJournal | undefined;
  readonly #host: FeedServiceHost;
  readonly #live = new Map<string, Live>();
  /** Lifecycle calls for one trigger run one after another (CREATE checks a broker, which takes a while). */
  readonly #turns = new Map<string, Promise<unknown>>();
  #closed = false;

  /** `providers` by feed action path, `/whisk.system/alarms/alarm`. */
  constructor(providers: ReadonlyMap<string, FeedProvider>, journal: FeedJournal | undefined, host: FeedServiceHost) {
    this.#providers = providers;
    this.#journal = journal;
    this.#host = host;
    for (const record of journal?.load() ?? []) {
      this.#live.set(record.trigger, { record, run: undefined, status: { state: record.paused ? 'paused' : 'connecting', message: 'not started yet' } });
    }
  }

  /** Starts the feeds a previous engine on this store left running. Once, when the engine's triggers are in place. */
  resume(): void {
    for (const [trigger, live] of this.#live) {
      if (live.run !== undefined) continue;
      if (!this.#host.triggerExists(trigger)) {
        // The trigger went while no engine ran (a store edited by hand, a Node-RED node removed): nothing to fire.
        this.#forget(trigger);
        continue;
      }
      const provider = this.#providers.get(live.record.feed);
      if (provider === undefined) {
        this.#setStatus(live, { state: 'failing', message: `no feed ${live.record.feed} in this engine` });
        continue;
      }
      if (live.record.paused) this.#setStatus(live, { state: 'paused', message: 'paused' });
      else this.#start(live, provider, true);
    }
  }

  /** Every feed with its status, by trigger name. */
  list(): (FeedStatusEvent & { readonly paused: boolean })[] {
    return [...this.#live.keys()].sort().map((trigger) => this.statusOf(trigger) as FeedStatusEvent & { readonly paused: boolean });
  }

  /** The status of the feed of `trigger`, if it has one. */
  statusOf(trigger: string): (FeedStatusEvent & { readonly paused: boolean }) | undefined {
    const live = this.#live.get(trigger);
    return live === undefined ? undefined : { trigger, feed: live.record.feed, paused: live.record.paused, ...live.status };
  }

  /** Handles one call of the feed action `feed`; resolves with the action's result, or throws FeedParameterError. */
  lifecycle(feed: string, params: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
    const provider = this.#providers.get(feed);
    if (provider === undefined) return Promise.reject(new FeedParameterError(`no feed ${feed} in this engine`));
    const event = String(params['lifecycleEvent'] ?? '').toUpperCase();
    if (!(LIFECYCLE_EVENTS as readonly string[]).includes(event)) {
      return Promise.reject(new FeedParameterError(`unsupported lifecycleEvent '${String(params['lifecycleEvent'])}': one of ${LIFECYCLE_EVENTS.join(', ')}`));
    }
    if (params['triggerName'] === undefined || params['triggerName'] === '') return Promise.reject(new FeedParameterError('no trigger name parameter was provided'));
    let trigger: string;
    try {
      trigger = this.#host.triggerName(params['triggerName']);
    } catch (error) {
      return Promise.reject(error);
    }
    const own: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(params)) if (!PROTOCOL_PARAMS.has(key) && !key.startsWith('__ow_')) own[key] = value;
    const previous = this.#turns.get(trigger) ?? Promise.resolve();
    const turn = previous.catch(() => undefined).then(() => this.#handle(event as LifecycleEvent, feed, provider, trigger, own));
    const settled = turn.catch(() => undefined);
    this.#turns.set(trigger, settled);
    void settled.then(() => {
      if (this.#turns.get(trigger) === settled) this.#turns.delete(trigger);
    });
    return turn;
  }

  async #handle(event: LifecycleEvent, feed: string, provider: FeedProvider, trigger: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.#closed) throw new FeedParameterError('the engine is closing');
    const live = this.#live.get(trigger);
    if (event === 'CREATE') {
      if (!this.#host.triggerExists(trigger)) throw new FeedParameterError(`trigger ${trigger} does not exist: create the trigger before its feed`);
      if (live !== undefined) throw new FeedParameterError(`trigger ${trigger} already has a feed (${live.record.feed}): delete that feed first`);
      const config = await provider.configure(params, undefined, { trigger, clock: this.#host.clock });
      if (this.#live.has(trigger) || this.#closed) throw new FeedParameterError(`trigger ${trigger} changed while its feed was being created: try again`);
      const now = this.#host.clock.now();
      const record: FeedRecord = { trigger, feed, config, paused: false, created: now, changed: now };
      this.#journal?.put(record);
      const created: Live = { record, run: undefined, status: { state: 'connecting', message: 'starting' } };
      this.#live.set(trigger, created);
      this.#start(created, provider, false);
      return { status: 'success', trigger, feed, ...this.#statusView(created) };
    }
    if (live === undefined) throw new FeedParameterError(`trigger ${trigger} has no feed`);
    if (live.record.feed !== feed) throw new FeedParameterError(`trigger ${trigger} is fed by ${live.record.feed}, not ${feed}`);
    const [, namespace = '', name = ''] = /^\/([^/]+)\/(.+)$/.exec(trigger) ?? [];
    switch (event) {
      case 'READ':
        return { config: { name, namespace, ...provider.describe(live.record.config) }, status: this.#statusView(live) };
      case 'DELETE':
        await this.#stop(live);
        this.#forget(trigger);
        await provider.remove?.(live.record.config);
        return { status: 'success' };
      case 'UPDATE': {
        const config = await provider.configure(params, live.record.config, { trigger, clock: this.#host.clock });
        // The new schedule counts from now: what the old one saved (its position) no longer applies.
        await this.#replace(live, provider, { config, saved: undefined });
        return { status: 'success', ...this.#statusView(live) };
      }
      case 'PAUSE':
        if (!live.record.paused) {
          await this.#stop(live);
          this.#save(live, { paused: true });
          this.#setStatus(live, { state: 'paused', message: 'paused' });
        }
        return { status: 'success', ...this.#statusView(live) };
      case 'UNPAUSE':
        // Fire times that passed while paused were not wanted: the schedule starts over from now.
        if (live.record.paused) await this.#replace(live, provider, { paused: false, saved: undefined });
        return { status: 'success', ...this.#statusView(live) };
    }
    throw new FeedParameterError(`unsupported lifecycleEvent '${event}'`);
  }

  /** The trigger was deleted: its feed stops and is forgotten (never rejects). */
  async triggerDeleted(trigger: string): Promise<void> {
    const live = this.#live.get(trigger);
    if (live === undefined) return;
    this.#forget(trigger);
    await this.#stop(live);
    await this.#providers.get(live.record.feed)?.remove?.(live.record.config);
  }

  /** Stops every feed; their records stay for the next engine. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#live.values()].map((live) => this.#stop(live)));
  }

  #statusView(live: Live): Record<string, unknown> {
    const changed = live.record.changed;
    const { state, message, nextFire } = live.status;
    return {
      active: !live.record.paused && state !== 'finished',
      state,
      message,
      ...(nextFire === undefined ? {} : { nextFire, nextFireISO: new Date(nextFire).toISOString() }),
      dateChanged: changed,
      dateChangedISO: new Date(changed).toISOString(),
    };
  }

  async #replace(live: Live, provider: FeedProvider, change: Change): Promise<void> {
    await this.#stop(live);
    this.#save(live, change);
    if (!live.record.paused) this.#start(live, provider, false);
  }

  #save(live: Live, change: Change): void {
    const { saved: old, ...rest } = live.record;
    const saved = 'saved' in change ? change.saved : old;
    const record: FeedRecord = {
      ...rest,
      config: change.config ?? rest.config,
      paused: change.paused ?? rest.paused,
      ...(saved === undefined ? {} : { saved }),
      changed: this.#host.clock.now(),
    };
    this.#journal?.put(record);
    live.record = record;
  }

  #start(live: Live, provider: FeedProvider, resumed: boolean): void {
    const trigger = live.record.trigger;
    let running = true;
    const host: FeedHost = {
      trigger,
      clock: this.#host.clock,
      fire: async (payload) => {
        if (!running) return { fired: false, reason: 'the feed was stopped' };
        const outcome = await this.#host.fire(trigger, payload);
        if (!outcome.fired && outcome.gone === true) void this.triggerDeleted(trigger);
        return outcome;
      },
      get saved() {
        return live.record.saved;
      },
      save: (state) => {
        if (!running) return;
        // Position updates are the provider's own: they do not count as a change of the feed.
        const record: FeedRecord = { ...live.record, saved: { ...state } };
        this.#journal?.put(record);
        live.record = record;
      },
      status: (status) => {
        if (running) this.#setStatus(live, status);
      },
      finish: (remove) => {
        if (!running) return;
        running = false;
        this.#forget(trigger);
        void (async () => {
          await run?.stop();
          if (remove !== 'feed') await this.#host.remove(trigger, remove);
        })().catch((error: unknown) => this.#host.warn(`The feed of ${trigger} could not remove ${remove === 'rules' ? 'its trigger and rules' : 'its trigger'}: ${String(error)}`));
      },
    };
    let run: FeedRun | undefined;
    try {
      run = provider.start(live.record.config, host, resumed);
    } catch (error) {
      running = false;
      this.#setStatus(live, { state: 'failing', message: `could not start: ${String(error)}` });
      return;
    }
    const stop = run.stop.bind(run);
    live.run = {
      stop: async () => {
        running = false;
        await stop().catch(() => undefined);
      },
    };
  }

  async #stop(live: Live): Promise<void> {
    const run = live.run;
    live.run = undefined;
    await run?.stop();
  }

  #forget(trigger: string): void {
    const live = this.#live.get(trigger);
    this.#live.delete(trigger);
    if (live === undefined) return;
    try {
      this.#journal?.delete(trigger);
    } catch (error) {
      this.#host.warn(`The feed of ${trigger} could not be removed from the store: ${String(error)}`);
    }
  }

  #setStatus(live: Live, status: FeedStatus): void {
    live.status = status;
    try {
      this.#host.status({ trigger: live.record.trigger, feed: live.record.feed, ...status });
    } catch (error) {
      this.#host.warn(`A 'feed:status' listener threw: ${String(error)}`);
    }
  }
}
