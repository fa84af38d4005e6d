/**
 * The editor's live view of an engine: every activation as it is queued, starts and completes, pushed to the
 * EdgeWhisk sidebar through Node-RED's comms (the websocket the debug sidebar uses), never polled.
 *
 * Events are coalesced per activation and sent at most every `FLUSH_MS`: a burst of 200 activations in a second
 * becomes five small messages, not 600 websocket frames, and the runtime's event loop is not spent on the editor.
 * Only embedded engines are watched; a remote OpenWhisk has its own activation list.
 *
 * The feed listens to its engine only while an editor shows the sidebar: the sidebar says so over the same
 * websocket every `WATCH_RENEW_MS` (topic `edgewhisk/watch`), and the feed stops `WATCH_TTL_MS` after the last
 * word. Unwatched, it costs the engine nothing per activation (measured: with the listeners always on, the
 * flow benchmark's action throughput dropped by about 15 %). What happened meanwhile is in the activation store,
 * which the sidebar reads when it opens.
 */
import type { Activation, ActivationSummary } from '../../activations/record';
import type { Engine } from '../../engine';
import { annotation } from '../../entities/types';
import type { ActivationEventInfo } from '../../events';
import { BoundedMap } from '../../util/bounded-map';
import { originOf, originsWhile } from './activation-origins';
import { ownerOf } from './engine-registry';

/** The comms topic; each message names its engine. The sidebar subscribes to `edgewhisk/activity/#`. */
export const FEED_TOPIC = 'edgewhisk/activity';
export const FLUSH_MS = 200;
/** At most this many activations per message; the rest are counted as dropped (the sidebar says so). */
export const MAX_ENTRIES_PER_FLUSH = 500;
/** Stats are re-sent this often while they change (containers going idle, a queue draining). */
const STATS_MS = 2_000;
/** Activations in flight the feed tracks for a sidebar opened mid-burst; beyond it, the oldest are forgotten. */
const MAX_IN_FLIGHT = 5_000;
/** The comms topic on which an editor showing the sidebar says so. */
export const WATCH_TOPIC = 'edgewhisk/watch';
/** How often the sidebar renews its watch (resources/edgewhisk-editor.js), and how long one lasts. */
export const WATCH_RENEW_MS = 10_000;
export const WATCH_TTL_MS = 3 * WATCH_RENEW_MS;

/** One activation as the sidebar shows it. */
export interface FeedEntry {
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  readonly state: 'queued' | 'running' | 'done';
  /** `trigger` for a trigger's fire, `action` otherwise (sequences included). */
  readonly type: 'action' | 'trigger';
  readonly kind?: string;
  /** Epoch ms of the state's event (queued, started), or the activation's start when done. */
  readonly at: number;
  readonly statusCode?: number;
  readonly duration?: number;
  readonly waitTime?: number;
  readonly initTime?: number;
  /** The activation that caused this one: a trigger's fire, or the sequence this is a component of. */
  readonly cause?: string;
  /** The rule that started it, for activations a trigger's fire caused. */
  readonly rule?: string;
  /** The node that caused it (an action or trigger node, or the action dialog for a run before deploy). */
  readonly node?: string;
  /** The action node that defines the action, when one does. */
  readonly actionNode?: string;
  readonly editor?: true;
  /** For a trigger's fire: the activations its rules started. */
  readonly started?: readonly { readonly rule: string; readonly action: string; readonly id?: string; readonly error?: string }[];
}

export interface FeedStats {
  readonly queued: number;
  readonly running: number;
  readonly containers: number;
  readonly busy: number;
  readonly memoryUsed: number;
  readonly memoryBudget: number;
}

export interface FeedMessage {
  readonly engine: string;
  readonly entries: readonly FeedEntry[];
  readonly stats: FeedStats;
  readonly dropped?: number;
}

export interface Publisher {
  publish(topic: string, data: unknown, retain?: boolean): void;
}

/** What each engine's feed is known by in the editor. */
export interface FeedIdentity {
  /** The engine config node's id, or `default` for the shared engine of nodes that name none. */
  readonly key: string;
  readonly label: string;
}


function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

interface RuleOutcome {
  rule?: unknown;
  action?: unknown;
  activationId?: unknown;
  error?: unknown;
}

/** A trigger's record lists, one JSON line per rule, what each rule started. */
function ruleOutcomes(logs: readonly string[]): NonNullable<FeedEntry['started']> {
  const outcomes: { rule: string; action: string; id?: string; error?: string }[] = [];
  for (const line of logs) {
    let parsed: RuleOutcome;
    try {
      parsed = JSON.parse(line) as RuleOutcome;
    } catch {
      continue;
    }
    if (typeof parsed.rule !== 'string' || typeof parsed.action !== 'string') continue;
    outcomes.push({
      rule: parsed.rule,
      action: parsed.action,
      ...(typeof parsed.activationId === 'string' ? { id: parsed.activationId } : {}),
      ...(typeof parsed.error === 'string' ? { error: parsed.error } : {}),
    });
  }
  return outcomes;
}

/** A finished activation (record or list summary) as a feed entry; triggers are the records with no `kind`. */
export function doneEntry(record: Activation | ActivationSummary): FeedEntry {
  const annotations = record.annotations;
  const kind = annotation(annotations, 'kind');
  const isTrigger = kind === undefined;
  const statusCode = 'response' in record ? record.response.statusCode : record.statusCode;
  const waitTime = numberOrUndefined(annotation(annotations, 'waitTime'));
  const initTime = numberOrUndefined(annotation(annotations, 'initTime'));
  return {
    id: record.activationId,
    name: record.name,
    namespace: record.namespace,
    state: 'done',
    type: isTrigger ? 'trigger' : 'action',
    ...(typeof kind === 'string' ? { kind } : {}),
    at: record.start,
    statusCode,
    ...(record.duration === undefined ? {} : { duration: record.duration }),
    ...(waitTime === undefined ? {} : { waitTime }),
    ...(initTime === undefined ? {} : { initTime }),
    ...(record.cause === undefined ? {} : { cause: record.cause }),
    ...(isTrigger && 'logs' in record ? { started: ruleOutcomes(record.logs) } : {}),
  };
}

/** Watches one engine and publishes its activity. */
export class EngineFeed {
  readonly identity: FeedIdentity;
  readonly engine: Engine;
  readonly #publisher: Publisher;
  /** Entries changed since the last flush, by activation id. */
  #pending = new Map<string, FeedEntry>();
  #dropped = 0;
  /** Queued or running activations, for a sidebar that opens while they are. */
  readonly #inFlight = new BoundedMap<string, FeedEntry>(MAX_IN_FLIGHT);
  /** Rule activations a trigger started: their trigger activation and rule, until they are reported done. */
  readonly #ruleCauses = new BoundedMap<string, { cause: string; rule: string }>(MAX_IN_FLIGHT);
  #flushTimer: NodeJS.Timeout | undefined;
  #statsTimer: NodeJS.Timeout | undefined;
  #lastStats = '';
  readonly #listeners: { queued: (i: ActivationEventInfo) => void; started: (i: ActivationEventInfo) => void; completed: (a: Activation) => void };

  constructor(engine: Engine, identity: FeedIdentity, publisher: Publisher) {
    this.engine = engine;
    this.identity = identity;
    this.#publisher = publisher;
    this.#listeners = {
      queued: (info) => this.#track(info, 'queued'),
      started: (info) => this.#track(info, 'running'),
      completed: (record) => this.#completed(record),
    };
    if (watched()) this.activate();
  }

  get active(): boolean {
    return this.#statsTimer !== undefined;
  }

  /** An editor shows the sidebar: listen and publish. */
  activate(): void {
    if (this.active || this.engine.closed) return;
    this.engine.on('activation:queued', this.#listeners.queued);
    this.engine.on('activation:started', this.#listeners.started);
    this.engine.on('activation:completed', this.#listeners.completed);
    this.#statsTimer = setInterval(() => this.#publishStatsIfChanged(), STATS_MS);
    this.#statsTimer.unref();
    this.#publish({ engine: this.identity.key, entries: [], stats: this.stats() });
  }

  /** Nobody is looking: stop listening (what is pending still goes out). */
  deactivate(): void {
    if (!this.active) return;
    this.engine.off('activation:queued', this.#listeners.queued);
    this.engine.off('activation:started', this.#listeners.started);
    this.engine.off('activation:completed', this.#listeners.completed);
    clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
    this.#inFlight.clear();
    this.#ruleCauses.clear();
    if (this.#flushTimer !== undefined) {
      clearTimeout(this.#flushTimer);
      this.#flush();
    }
  }

  stats(): FeedStats {
    const { queued, running, pool } = this.engine.stats();
    return { queued, running, containers: pool.containers, busy: pool.busy, memoryUsed: pool.memoryUsed, memoryBudget: this.engine.options.memoryBudget };
  }

  /** Activations in flight, with their origins: what a sidebar opening now needs besides the stored records. */
  inFlight(): FeedEntry[] {
    return [...this.#inFlight.values()].map((e) => this.#withOrigin(e));
  }

  /** The most recent finished activations (newest first), with their origins. */
  async recent(limit: number): Promise<FeedEntry[]> {
    const listed = (await this.engine.activations.list({ limit })) as ActivationSummary[];
    return listed.map((summary) => this.#withOrigin(doneEntry(summary)));
  }

  /** Adds what the Node-RED layer knows (nodes, rules) to an entry. */
  withOrigin(entry: FeedEntry): FeedEntry {
    return this.#withOrigin(entry);
  }

  close(): void {
    // What happened before the close still reaches the editor.
    this.deactivate();
  }

  #track(info: ActivationEventInfo, state: 'queued' | 'running'): void {
    const entry: FeedEntry = {
      id: info.activationId,
      name: info.name,
      namespace: info.namespace,
      state,
      type: 'action',
      kind: info.kind,
      at: Date.now(),
      ...(info.cause === undefined ? {} : { cause: info.cause }),
    };
    this.#inFlight.set(entry.id, entry);
    this.#queue(entry);
  }

  #completed(record: Activation): void {
    this.#inFlight.delete(record.activationId);
    const entry = doneEntry(record);
    if (entry.type === 'trigger') {
      for (const started of entry.started ?? []) {
        if (started.id !== undefined) this.#ruleCauses.set(started.id, { cause: record.activationId, rule: started.rule });
      }
    }
    this.#queue(entry);
  }

  #queue(entry: FeedEntry): void {
    if (!this.#pending.has(entry.id) && this.#pending.size >= MAX_ENTRIES_PER_FLUSH) {
      this.#dropped++;
      return;
    }
    this.#pending.set(entry.id, entry);
    this.#flushTimer ??= setTimeout(() => this.#flush(), FLUSH_MS);
  }

  #withOrigin(entry: FeedEntry): FeedEntry {
    const origin = originOf(this.engine, entry.id);
    const viaRule = this.#ruleCauses.get(entry.id);
    // A rule activation was caused by whatever fired its trigger, a sequence component by whatever caused its
    // sequence. The trigger node notes its fire only once the fire returns, so this is looked up late.
    const causeId = viaRule?.cause ?? entry.cause;
    const parent = origin === undefined && causeId !== undefined ? originOf(this.engine, causeId) : undefined;
    const node = origin?.node ?? parent?.node;
    const actionNode = entry.type === 'action' ? ownerOf(this.engine, entry.name) : undefined;
    if (viaRule !== undefined && entry.state === 'done') this.#ruleCauses.delete(entry.id);
    return {
      ...entry,
      ...(viaRule === undefined ? {} : { cause: viaRule.cause, rule: viaRule.rule }),
      ...(node === undefined ? {} : { node }),
      ...(actionNode === undefined ? {} : { actionNode }),
      ...(origin?.editor === true || parent?.editor === true ? { editor: true as const } : {}),
    };
  }

  #flush(): void {
    this.#flushTimer = undefined;
    // Origins are looked up now, not at each event: a trigger's record (naming the activations its rules started)
    // completes after those activations were queued, and within the same flush window.
    const entries = [...this.#pending.values()].map((e) => this.#withOrigin(e));
    this.#pending = new Map();
    const dropped = this.#dropped;
    this.#dropped = 0;
    const stats = this.stats();
    this.#lastStats = JSON.stringify(stats);
    const message: FeedMessage = { engine: this.identity.key, entries, stats, ...(dropped > 0 ? { dropped } : {}) };
    this.#publish(message);
  }

  #publishStatsIfChanged(): void {
    if (this.engine.closed) return;
    const stats = this.stats();
    const text = JSON.stringify(stats);
    if (text === this.#lastStats) return;
    this.#lastStats = text;
    this.#publish({ engine: this.identity.key, entries: [], stats });
  }

  #publish(message: FeedMessage): void {
    try {
      this.#publisher.publish(`${FEED_TOPIC}/${this.identity.key}`, message, false);
    } catch {
      // The editor's view is never worth an error in the runtime.
    }
  }
}

const feeds = new Map<string, EngineFeed>();
let watchedUntil = 0;
let watchTimer: NodeJS.Timeout | undefined;

function watched(): boolean {
  return Date.now() < watchedUntil;
}
originsWhile(watched);

/** An editor showing the sidebar said so: every feed listens for the next `WATCH_TTL_MS`. */
export function noteWatcher(): void {
  watchedUntil = Date.now() + WATCH_TTL_MS;
  for (const feed of feeds.values()) feed.activate();
  if (watchTimer !== undefined) return;
  const check = (): void => {
    if (watched()) {
      watchTimer = setTimeout(check, Math.max(watchedUntil - Date.now(), 10));
      watchTimer.unref();
      return;
    }
    watchTimer = undefined;
    for (const feed of feeds.values()) feed.deactivate();
  };
  watchTimer = setTimeout(check, WATCH_TTL_MS);
  watchTimer.unref();
}

/** Ends any watch at once (tests). */
export function forgetWatchers(): void {
  watchedUntil = 0;
  clearTimeout(watchTimer);
  watchTimer = undefined;
  for (const feed of feeds.values()) feed.deactivate();
}

const listening = new WeakSet<object>();

/** Hears the sidebar's watch messages on Node-RED's runtime events (once per runtime). */
export function listenForWatchers(events: { on(event: string, listener: (...args: unknown[]) => void): void } | undefined): void {
  if (events === undefined || listening.has(events)) return;
  listening.add(events);
  events.on(`comms:message:${WATCH_TOPIC}`, () => noteWatcher());
}

/**
 * Starts the feed of `engine` under `identity.key` (once per engine; a new engine under the same key, after a
 * redeploy, replaces the old one's feed). Returns the function that stops it.
 */
export function watchEngine(engine: Engine, identity: FeedIdentity, publisher: Publisher | undefined): () => void {
  const current = feeds.get(identity.key);
  if (current?.engine === engine) return () => stopFeed(current);
  current?.close();
  if (publisher === undefined) return () => undefined;
  const feed = new EngineFeed(engine, identity, publisher);
  feeds.set(identity.key, feed);
  return () => stopFeed(feed);
}

function stopFeed(feed: EngineFeed): void {
  feed.close();
  if (feeds.get(feed.identity.key) === feed) feeds.delete(feed.identity.key);
}

/** The live feeds (engines closed since are left out and forgotten). */
export function liveFeeds(): EngineFeed[] {
  for (const feed of feeds.values()) if (feed.engine.closed) stopFeed(feed);
  return [...feeds.values()];
}

export function feedFor(key: string): EngineFeed | undefined {
  return liveFeeds().find((f) => f.identity.key === key);
}
