/**
 * Runs one alarm: waits for the schedule's next fire time, fires, remembers how far it got, and after a gap (the
 * engine was stopped, the device lost power, the event loop stalled) applies the alarm's catch-up policy instead of
 * firing every time it missed: never a storm.
 *
 * - A fire time is on time when it is handled within `ON_TIME` of when it was due; it fires.
 * - Older ones were missed. `catchUp: 'skip'` (the default) drops them; `catchUp: 'once'` fires once for all of them
 *   when the latest is no older than the catch-up window, and drops them when it is.
 * - The position (`last`, the latest fire time handled) is saved after each fire, so a restart knows what it missed.
 *   A fire is accepted before its position is saved: an engine killed in between fires that time again (at least
 *   once, like the rest of the engine's accepted work, docs/durability.md).
 */
import type { FeedHost, FeedRun } from './feed-provider';
import type { Timer } from './clock';
import type { Schedule } from './alarm-schedule';

/** How late a fire may be handled and still count as on time (a busy event loop, a restart that took a second). */
export const ON_TIME = 5_000;

/** Missed fire times counted for the status before the count gives up (each step asks the cron library once). */
const MISSED_COUNT_LIMIT = 1_000;

export interface AlarmPlan {
  readonly schedule: Schedule;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly catchUp: 'skip' | 'once';
  /** ms: how old the latest missed fire time may be for `catchUp: 'once'` to fire it. */
  readonly catchUpWindow: number;
  /** Where counting starts for a feed that never saved a position (CREATE's time). */
  readonly created: number;
  /** After a last fire that ends the schedule: remove the feed and maybe more (a `once` alarm's `deleteAfterFire`). */
  readonly whenFinished?: 'trigger' | 'rules' | undefined;
}

interface Position {
  /** The latest fire time handled (fired or dropped). */
  last: number;
  fired: number;
  missed: number;
}

function savedPosition(saved: FeedHost['saved'], created: number): Position {
  const last = saved?.['last'];
  const fired = saved?.['fired'];
  const missed = saved?.['missed'];
  return {
    last: typeof last === 'number' ? last : created,
    fired: typeof fired === 'number' ? fired : 0,
    missed: typeof missed === 'number' ? missed : 0,
  };
}

/**
 * The fire times due in `(after, now]`: the first and the latest, found with a handful of `next` calls however long
 * the gap. On time (the usual wake) that is two calls: the cron library's lookups run before the fire, so they count.
 */
function dueRange(schedule: Schedule, after: number, now: number): { first: number; latest: number } | undefined {
  const first = schedule.next(after);
  if (first === undefined || first > now) return undefined;
  const second = schedule.next(first);
  if (second === undefined || second > now) return { first, latest: first };
  return { first, latest: latestAfterGap(schedule, after, now, second) };
}

/** The latest fire time up to `now` when more than one is due (`known` is one of them). */
function latestAfterGap(schedule: Schedule, after: number, now: number, known: number): number {
  let latest = known;
  // Probe backwards from now in doubling steps until a fire time is found in (now - span, now].
  for (let span = 1_000; now - span > after; span *= 2) {
    const t = schedule.next(now - span);
    if (t !== undefined && t <= now) {
      latest = Math.max(latest, t);
      break;
    }
  }
  for (let t = schedule.next(latest); t !== undefined && t <= now; t = schedule.next(latest)) latest = t;
  return latest;
}

/** How many fire times fall in `(after, until]`, counting at most MISSED_COUNT_LIMIT. */
function countDue(schedule: Schedule, after: number, until: number): number {
  let n = 0;
  for (let t = schedule.next(after); t !== undefined && t <= until && n < MISSED_COUNT_LIMIT; t = schedule.next(t)) n++;
  return n;
}

/**
 * Starts the alarm. `resumed`: the engine restarted and the alarm was running before, so it counts from its saved
 * position (or its creation); otherwise (CREATE, UPDATE, UNPAUSE) it counts from now, and nothing before is missed.
 */
export function runAlarm(plan: AlarmPlan, host: FeedHost, resumed: boolean): FeedRun {
  const { schedule } = plan;
  const { clock } = host;
  const position = resumed ? savedPosition(host.saved, plan.created) : { last: clock.now(), fired: 0, missed: 0 };
  let timer: Timer | undefined;
  let stopped = false;
  let waking: Promise<void> = Promise.resolve();

  const report = (note = ''): void => {
    const next = schedule.next(Math.max(position.last, clock.now()));
    const suffix = note === '' ? '' : `; ${note}`;
    if (next === undefined) host.status({ state: 'finished', message: `will not fire again (fired ${position.fired} times)${suffix}` });
    else host.status({ state: 'scheduled', message: `next fire ${new Date(next).toISOString()}${suffix}`, nextFire: next });
  };

  /**
   * Waits for the first fire time after the last one handled, even if that is already due: asking for the first one
   * after *now* would skip it whenever the clock passed it between a timer waking a little early (timers and the wall
   * clock drift apart by a millisecond) and this call. A time that is due already is handled by `wake` at once.
   */
  const arm = (): void => {
    if (stopped) return;
    const next = schedule.next(position.last);
    if (next === undefined) return;
    timer = clock.after(next - clock.now(), () => {
      waking = guarded();
    });
  };

  const wake = async (): Promise<void> => {
    if (stopped) return;
    const now = clock.now();
    const range = dueRange(schedule, position.last, now);
    if (range === undefined) return arm(); // woke early: wait on
    const { first, latest } = range;
    const late = now - latest;
    const fires = late <= ON_TIME || (plan.catchUp === 'once' && late <= plan.catchUpWindow);
    const due = first === latest ? 1 : countDue(schedule, position.last, latest);
    const missed = fires ? due - 1 : due;
    let note = '';
    if (missed > 0) {
      const count = due >= MISSED_COUNT_LIMIT ? `${MISSED_COUNT_LIMIT} or more` : String(missed);
      note = `${count} fire time${missed === 1 ? '' : 's'} up to ${new Date(latest).toISOString()} missed while stopped${fires ? ', fired once for them' : ', skipped'}`;
    }
    if (fires) {
      const outcome = await host.fire({ ...plan.payload });
      if (stopped || (!outcome.fired && outcome.gone === true)) return;
      if (outcome.fired) position.fired++;
      else note = note === '' ? `last fire refused: ${outcome.reason}` : `${note}; last fire refused: ${outcome.reason}`;
    }
    position.last = latest;
    position.missed += Math.max(0, missed);
    try {
      host.save({ ...position });
    } catch (error) {
      // A full disk: the schedule goes on; after a restart it may fire this time again.
      note = `${note === '' ? '' : `${note}; `}position not saved: ${(error as Error).message}`;
    }
    report(note);
    if (schedule.next(Math.max(position.last, clock.now())) === undefined && plan.whenFinished !== undefined && fires) {
      host.finish(plan.whenFinished);
      return;
    }
    arm();
  };

  /** Nothing a wake does may escape as a rejection (Node-RED exits on the first one): a failure is a status. */
  const guarded = (): Promise<void> =>
    wake().catch((error: unknown) => {
      host.status({ state: 'failing', message: `stopped by an unexpected error: ${String(error)}` });
    });

  // Where counting starts is on disk from the start: a crash before the first fire must not count from creation.
  if (!resumed) {
    try {
      host.save({ ...position });
    } catch {
      // a full disk: the status of the first fire will say so
    }
  }
  // A feed that was running before a restart may have missed fire times: handle them now, then wait.
  report();
  waking = guarded();
  return {
    async stop() {
      stopped = true;
      timer?.cancel();
      await waking.catch(() => undefined);
    },
  };
}
