/**
 * The schedule of a trigger node: the trigger's `/whisk.system/alarms/alarm` feed, kept in line with the node's
 * fields (docs/feeds.md). The node owns its trigger's schedule: a node without one removes an alarm feed the trigger
 * still has (one left by an earlier version of the flow), unless another node of the same engine schedules it.
 *
 * An unchanged schedule is left untouched on start, so the feed kept in the engine's store resumes where it was
 * after a restart, and its catch-up policy can see what a power cut made it miss. Only removing the node from the
 * flows deletes the feed; a redeploy or a restart stops it with the engine and the next engine resumes it.
 */
import type { FeedsApi } from '../../api/feeds-api';
import { timeZone, type CatchUp } from '../../feeds/alarm-params';
import type { FeedStatusEvent } from '../../feeds/feed-service';
import { followFlows, whenFlowsStarted } from './engine-store';
import type { NodeEngine } from './node-engine';
import { shortText } from './node-errors';
import type { Node, NodeStatus, RedApi } from './red-types';
import { scheduleZone, shortFireTime } from './schedule-preview';

export const ALARM_FEED = '/whisk.system/alarms/alarm';

/** A node's schedule, as the alarm feed's parameters. */
export interface NodeSchedule {
  readonly cron: string;
  /** IANA zone (the host's when the node names none). */
  readonly timezone: string;
  readonly catchUp: CatchUp;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface ScheduleFields {
  readonly schedule?: unknown;
  readonly timezone?: unknown;
  readonly catchUp?: unknown;
  readonly schedulePayload?: unknown;
}

/** The node's schedule, `undefined` without one; throws with a message for the node when a field is unusable. */
export function nodeSchedule(fields: ScheduleFields): NodeSchedule | undefined {
  const cron = typeof fields.schedule === 'string' ? fields.schedule.trim() : '';
  if (cron === '') return undefined;
  let payload: unknown = fields.schedulePayload ?? '';
  if (typeof payload === 'string') {
    try {
      payload = payload.trim() === '' ? {} : JSON.parse(payload);
    } catch (error) {
      throw new Error(`The schedule's payload is not JSON: ${(error as Error).message}`);
    }
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new Error("The schedule's payload must be a JSON object, such as {\"mode\": \"nightly\"}.");
  return { cron, timezone: scheduleZone(fields.timezone), catchUp: fields.catchUp === 'once' ? 'once' : 'skip', payload: payload as Record<string, unknown> };
}

type Feeds = Pick<FeedsApi, 'get' | 'create' | 'update' | 'delete' | 'status'>;

/** The engine's feeds, or `undefined` for an engine without any (a remote OpenWhisk: its feeds are its own). */
export function feedsOf(engine: NodeEngine): Feeds | undefined {
  const feeds = (engine as { feeds?: unknown }).feeds;
  return typeof feeds === 'object' && feeds !== null && typeof (feeds as Feeds).status === 'function' ? (feeds as Feeds) : undefined;
}

function params(schedule: NodeSchedule): Record<string, unknown> {
  return { cron: schedule.cron, timezone: schedule.timezone, catchUp: schedule.catchUp, trigger_payload: schedule.payload };
}

/** Equal as stored JSON (the payload went through the store). */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function canonicalZone(zone: string): string {
  try {
    return timeZone(zone) ?? 'UTC';
  } catch {
    return zone; // differs from any stored zone: the update is refused with the feed's own message
  }
}

export type Applied = 'created' | 'kept' | 'updated' | 'replaced';

/**
 * Makes the trigger's alarm feed run `schedule`: kept when it already does, updated when it differs, created when
 * there is none. Rejects with the feed's refusal (a bad cron pattern or zone), or when the trigger has a feed of
 * another kind, which is not the node's to replace. An alarm feed the new schedule was refused for is deleted: what
 * runs is never other than what the node shows.
 */
export async function applySchedule(feeds: Feeds, trigger: string, schedule: NodeSchedule): Promise<Applied> {
  const current = feeds.status(trigger);
  if (current !== undefined && current.feed !== ALARM_FEED) {
    throw new Error(`Trigger '${trigger}' already has a ${current.feed} feed: delete it first, or use another trigger for the schedule.`);
  }
  const options = { name: ALARM_FEED, trigger, params: params(schedule) };
  if (current === undefined) {
    await feeds.create(options);
    return 'created';
  }
  const read = (await feeds.get({ name: ALARM_FEED, trigger })) as { response: { result: { config: Record<string, unknown> } } };
  const config = read.response.result.config;
  const wanted = { cron: schedule.cron, timezone: canonicalZone(schedule.timezone), catchUp: schedule.catchUp, payload: schedule.payload };
  const stored = { cron: config['cron'], timezone: config['timezone'] ?? 'UTC', catchUp: config['catchUp'], payload: config['payload'] };
  // Set through the API, not by a node: an update would keep them (it changes only what it is given).
  const extra = config['strict'] === false || config['startDate'] !== undefined || config['stopDate'] !== undefined || config['cron'] === undefined;
  if (!extra && same(wanted, stored)) return 'kept';
  try {
    if (extra) {
      await feeds.delete({ name: ALARM_FEED, trigger });
      await feeds.create(options);
      return 'replaced';
    }
    await feeds.update(options);
    return 'updated';
  } catch (error) {
    await removeAlarm(feeds, trigger).catch(() => undefined);
    throw error;
  }
}

/** Deletes the trigger's alarm feed if it has one; resolves whether it did. */
export async function removeAlarm(feeds: Feeds, trigger: string): Promise<boolean> {
  if (feeds.status(trigger)?.feed !== ALARM_FEED) return false;
  await feeds.delete({ name: ALARM_FEED, trigger });
  return true;
}

/** The status a feed's state shows on the node. */
export function scheduleStatus(event: Pick<FeedStatusEvent, 'state' | 'message' | 'nextFire'>, zone: string, now: number = Date.now()): NodeStatus {
  switch (event.state) {
    case 'scheduled':
      return event.nextFire === undefined ? { fill: 'green', shape: 'ring', text: 'scheduled' } : { fill: 'green', shape: 'ring', text: `next ${shortFireTime(event.nextFire, zone, now)}` };
    case 'failing':
      return { fill: 'red', shape: 'ring', text: shortText(`failing: ${event.message}`, 40) };
    case 'paused':
      return { fill: 'grey', shape: 'ring', text: 'paused' };
    case 'finished':
      return { fill: 'grey', shape: 'ring', text: 'schedule finished' };
    default:
      return { fill: 'yellow', shape: 'ring', text: 'schedule starting' };
  }
}

// Which node schedules which trigger, per engine: two nodes scheduling one trigger would undo each other.
const owners = new WeakMap<NodeEngine, Map<string, string>>();

function ownerMap(engine: NodeEngine): Map<string, string> {
  let map = owners.get(engine);
  if (map === undefined) {
    map = new Map();
    owners.set(engine, map);
  }
  return map;
}

export interface ScheduleHandle {
  /** The next fire time as the status shows it (`next 03:00:00`), while the schedule runs. */
  next(): string | undefined;
  /** Stops listening; deletes the feed when the node was removed from the flows (`removed`). Never rejects. */
  close(removed: boolean): Promise<void>;
}

export interface ScheduleOptions {
  readonly RED: RedApi;
  readonly node: Node;
  readonly engine: NodeEngine;
  /** The trigger's name, `''` when the node has none (it fires `msg.trigger`). */
  readonly trigger: string;
  /** False when the node's trigger name is invalid (already reported): nothing is scheduled. */
  readonly valid: boolean;
  readonly fields: ScheduleFields;
  /** Resolves once the trigger exists. */
  readonly ready: Promise<void>;
  /** A fire of the schedule: the trigger activation's id, absent when no rule was active. */
  readonly fired: (activationId: string | undefined) => void;
}

const NOTHING: ScheduleHandle = { next: () => undefined, close: () => Promise.resolve() };

/** Sets up the node's schedule (or the removal of a stale one) and follows it on the node's status. */
export function startSchedule(options: ScheduleOptions): ScheduleHandle {
  const { RED, node, engine, trigger } = options;
  if (!options.valid) return NOTHING;
  let schedule: NodeSchedule | undefined;
  try {
    schedule = nodeSchedule(options.fields);
  } catch (error) {
    return refuse(node, (error as Error).message);
  }
  const feeds = feedsOf(engine);
  if (trigger === '') return schedule === undefined ? NOTHING : refuse(node, 'A schedule needs a trigger name on the node.');
  if (feeds === undefined) {
    if (schedule === undefined) return NOTHING;
    node.warn('The schedule is not used: schedules need an embedded engine (a remote OpenWhisk has its own alarm feeds).');
    node.status({ fill: 'yellow', shape: 'ring', text: 'schedules need an embedded engine' });
    return NOTHING;
  }
  const owned = ownerMap(engine);
  if (schedule === undefined) {
    // Decided once every node has started: a node that schedules this trigger may start after this one.
    followFlows(RED.events);
    let closed = false;
    whenFlowsStarted(RED.events, () => {
      if (closed || engine.closed || owned.has(trigger)) return;
      removeAlarm(feeds, trigger).catch((error: unknown) => node.warn(`Could not remove the schedule of trigger '${trigger}': ${String(error)}`));
    });
    return {
      next: () => undefined,
      close: () => {
        closed = true;
        return Promise.resolve();
      },
    };
  }
  const other = owned.get(trigger);
  if (other !== undefined && other !== node.id) {
    return refuse(node, `Trigger '${trigger}' is already scheduled by node ${other}: one node sets a trigger's schedule.`, 'scheduled by another node');
  }
  owned.set(trigger, node.id);

  const active = schedule;
  const fqn = `/${engine.options.namespace}/${trigger}`;
  let applied = false;
  const onStatus = (event: FeedStatusEvent): void => {
    if (event.trigger === fqn && applied) node.status(scheduleStatus(event, active.timezone));
  };
  const onFired = (event: { trigger: string; activationId?: string }): void => {
    if (event.trigger === fqn) options.fired(event.activationId);
  };
  engine.on('feed:status', onStatus);
  engine.on('feed:fired', onFired);
  const applying = options.ready
    .then(() => applySchedule(feeds, trigger, active))
    .then(
      () => {
        applied = true;
        const now = feeds.status(trigger);
        if (now !== undefined) node.status(scheduleStatus(now, active.timezone));
      },
      (error: unknown) => {
        // A redeploy closed the engine under the call: the next node reports on the next engine.
        if (engine.closed) return;
        const message = error instanceof Error ? error.message : String(error);
        node.error(`Schedule '${active.cron}' (${active.timezone}) not set: ${message}`);
        node.status({ fill: 'red', shape: 'ring', text: shortText(message, 40) });
      },
    );
  return {
    next() {
      const now = applied ? feeds.status(trigger) : undefined;
      return now?.state === 'scheduled' && now.nextFire !== undefined ? scheduleStatus(now, active.timezone).text : undefined;
    },
    async close(removed) {
      engine.off('feed:status', onStatus);
      engine.off('feed:fired', onFired);
      if (owned.get(trigger) === node.id) owned.delete(trigger);
      if (!removed || engine.closed) return;
      await applying;
      await removeAlarm(feeds, trigger).catch((error: unknown) => node.warn(`Could not remove the schedule of trigger '${trigger}': ${String(error)}`));
    },
  };
}

function refuse(node: Node, message: string, status = shortText(message, 40)): ScheduleHandle {
  node.error(message);
  node.status({ fill: 'red', shape: 'ring', text: status });
  return NOTHING;
}
