/**
 * `engine.feeds`: the `openwhisk` client's `ow.feeds` (create, get, update, delete), which invokes the feed action
 * with a lifecycle event and waits for it (apache/openwhisk docs/feeds.md), plus EdgeWhisk's `pause`, `unpause`
 * `status` and `list`. The trigger must exist before its feed is created, as with OpenWhisk's CLI.
 */
import type { FeedService, FeedStatusEvent, LifecycleEvent } from '../feeds/feed-service';
import type { ActionsApi } from './actions-api';

export interface FeedOptions {
  /** The feed action, e.g. `/whisk.system/alarms/alarm`. The client also accepts `feedName`. */
  readonly name?: string;
  readonly feedName?: string;
  /** The trigger: `name`, `/_/name` or `/namespace/name`. */
  readonly trigger: string;
  /** The feed's parameters, e.g. `{cron: '0 7 * * *', timezone: 'Europe/Berlin'}`. */
  readonly params?: Record<string, unknown>;
}

export class FeedsApi {
  readonly #actions: ActionsApi;
  readonly #service: FeedService;
  readonly #trigger: (input: string) => string;

  constructor(actions: ActionsApi, service: FeedService, trigger: (input: string) => string) {
    this.#actions = actions;
    this.#service = service;
    this.#trigger = trigger;
  }

  create(options: FeedOptions): Promise<unknown> {
    return this.#call('CREATE', options);
  }

  get(options: FeedOptions): Promise<unknown> {
    return this.#call('READ', options);
  }

  update(options: FeedOptions): Promise<unknown> {
    return this.#call('UPDATE', options);
  }

  delete(options: FeedOptions): Promise<unknown> {
    return this.#call('DELETE', options);
  }

  pause(options: FeedOptions): Promise<unknown> {
    return this.#call('PAUSE', options);
  }

  unpause(options: FeedOptions): Promise<unknown> {
    return this.#call('UNPAUSE', options);
  }

  /** Every trigger's feed with how it is doing, by trigger name. */
  list(): (FeedStatusEvent & { readonly paused: boolean })[] {
    return this.#service.list();
  }

  /** How the feed of `trigger` is doing (its next fire, its connection), or `undefined` when it has none. */
  status(trigger: string): (FeedStatusEvent & { readonly paused: boolean }) | undefined {
    return this.#service.statusOf(this.#trigger(trigger));
  }

  #call(event: LifecycleEvent, options: FeedOptions): Promise<unknown> {
    if (typeof options !== 'object' || options === null) return Promise.reject(new TypeError('Expected `options` to be an object'));
    const name = options.feedName ?? options.name;
    if (typeof name !== 'string' || name === '') return Promise.reject(new TypeError('Expected `options.name` to name a feed action'));
    if (typeof options.trigger !== 'string' || options.trigger === '') return Promise.reject(new TypeError('Expected `options.trigger` to name a trigger'));
    const triggerName = options.trigger.startsWith('/') ? options.trigger : `/_/${options.trigger}`;
    return this.#actions.invoke({ name, blocking: true, params: { ...options.params, lifecycleEvent: event, triggerName } });
  }
}
