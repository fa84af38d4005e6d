/**
 * The contract between the feed service (feed-service.ts) and the providers behind `/whisk.system/alarms/*` and
 * `/whisk.system/mqtt/*` (docs/feeds.md). OpenWhisk runs each provider as a separate service that the feed action
 * calls; here a provider is an object in the engine's process, and the feed action's lifecycle events
 * (apache/openwhisk docs/feeds.md: CREATE, READ, UPDATE, DELETE, PAUSE, UNPAUSE) become calls on it.
 *
 * A provider never touches the store or the trigger itself: it validates parameters into a config (stored by the
 * service with the trigger's feed), and while running it fires through its host, saves what it must remember across
 * restarts through it, and reports how it is doing through it.
 */
import type { Clock } from './clock';

/** One parameter of a feed, for the package listing (`parameters` annotation) and the docs. */
export interface FeedParameter {
  readonly name: string;
  readonly required: boolean;
  readonly description: string;
}

/** How a running feed is doing, as READ shows it and the `feed:status` event reports it. */
export interface FeedStatus {
  /**
   * `scheduled`: waiting for its next fire time; `connected` / `connecting`: an event source's link; `failing`: it
   * cannot do its work now and retries (the message says why); `finished`: it will not fire again (a `once` alarm
   * that fired, a schedule past its `stopDate`); `paused`: by the PAUSE lifecycle event.
   */
  readonly state: 'scheduled' | 'connected' | 'connecting' | 'failing' | 'finished' | 'paused';
  /** One line for people: `next fire 2026-12-06T07:00:00.000Z`, `connection refused by 127.0.0.1:1883, retry in 4 s`. */
  readonly message: string;
  /** Epoch ms of the next fire, for schedules. */
  readonly nextFire?: number;
}

/** What a fire became: the trigger activation's id, or why nothing was fired. */
export type FireOutcome =
  | { readonly fired: true; readonly activationId?: string }
  | { readonly fired: false; readonly reason: string; /** The trigger is gone: the feed is being removed. */ readonly gone?: boolean };

export interface FeedHost {
  /** The trigger this feed fires, `/namespace/name`. */
  readonly trigger: string;
  readonly clock: Clock;
  /**
   * Fires the trigger with `payload` (merged over the trigger's parameters); resolves once its rules' invocations are
   * accepted. Never rejects: a refusal (a full queue, a full disk, a trigger that was deleted) is the outcome.
   */
  fire(payload: Record<string, unknown>): Promise<FireOutcome>;
  /** What the provider saved last with this feed (also before a restart), or `undefined`. */
  readonly saved: Readonly<Record<string, unknown>> | undefined;
  /** Saves provider state with the feed, durably when it returns (a fire's schedule position, say). */
  save(state: Record<string, unknown>): void;
  /** Reports the feed's status; the latest is what READ returns. */
  status(status: FeedStatus): void;
  /** Ends this feed for good (a `once` alarm with `deleteAfterFire`): the service stops it and deletes what it names. */
  finish(remove: 'feed' | 'trigger' | 'rules'): void;
}

/** A running feed for one trigger. */
export interface FeedRun {
  /** Stops firing; resolves once nothing of it runs any more (connections closed, timers cleared). Never rejects. */
  stop(): Promise<void>;
}

export interface FeedProvider<Config = Record<string, unknown>> {
  /** The feed action's name in its package, e.g. `alarm`. */
  readonly name: string;
  readonly description: string;
  readonly parameters: readonly FeedParameter[];
  /**
   * Validates the lifecycle event's parameters (CREATE; UPDATE passes the stored `current` config and only the
   * parameters given change) into the config stored with the trigger. Throws `FeedParameterError` with the message
   * the caller sees. May be async (an MQTT feed checks the broker accepts its credentials).
   */
  configure(params: Readonly<Record<string, unknown>>, current: Config | undefined, host: Pick<FeedHost, 'trigger' | 'clock'>): Config | Promise<Config>;
  /** Starts firing for one trigger. `resumed`: the engine restarted and this feed was running before. */
  start(config: Config, host: FeedHost, resumed: boolean): FeedRun;
  /** The config as READ shows it (credentials left out). */
  describe(config: Config): Record<string, unknown>;
  /**
   * The feed is deleted for good (DELETE, or its trigger was deleted), after its run stopped: release what lives
   * outside the engine (an MQTT broker's persistent session). Never rejects.
   */
  remove?(config: Config): Promise<void>;
}

/** A parameter a feed refuses; its message is what the caller of the feed action gets as `error`. */
export class FeedParameterError extends Error {
  override readonly name = 'FeedParameterError';
}
