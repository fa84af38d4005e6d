/**
 * When an alarm fires, as a pure function of time: `next(after)` is the first fire time strictly after `after`.
 * The runner (alarm-runner.ts) only ever asks this, which is what lets it find the fire times a power cut missed and
 * lets tests walk a schedule across days and DST changes without waiting.
 *
 * Cron patterns are read by croner (5 fields, or 6 with seconds first; IANA time zones with DST: a time that does not
 * exist on the spring-forward day fires at the first valid time after the gap, a time that occurs twice fires once).
 */
import { Cron } from 'croner';

export interface Schedule {
  /** The first fire time (epoch ms) strictly after `after`, or `undefined` when it will not fire again. */
  next(after: number): number | undefined;
}

/**
 * `pattern` in `timezone` (default UTC), shifted by `offset` ms (a non-strict 5-field alarm's spread within its
 * minute), fired only in `[start, stop)`.
 */
export function cronSchedule(pattern: string, options: { timezone?: string | undefined; offset?: number; start?: number | undefined; stop?: number | undefined } = {}): Schedule {
  const cron = new Cron(pattern, { mode: '5-or-6-parts', timezone: options.timezone ?? 'UTC' });
  const offset = options.offset ?? 0;
  return bounded(
    {
      next(after) {
        const run = cron.nextRun(new Date(after - offset));
        return run === null ? undefined : run.getTime() + offset;
      },
    },
    options.start,
    options.stop,
  );
}

/** Every `period` ms from `anchor`: the first fire is `anchor` itself when `fromAnchor`, else one period later. */
export function intervalSchedule(anchor: number, period: number, options: { fromAnchor: boolean; stop?: number | undefined }): Schedule {
  const first = options.fromAnchor ? anchor : anchor + period;
  return bounded(
    {
      next(after) {
        if (after < first) return first;
        return first + (Math.floor((after - first) / period) + 1) * period;
      },
    },
    undefined,
    options.stop,
  );
}

/** Once, at `date`. */
export function onceSchedule(date: number): Schedule {
  return { next: (after) => (after < date ? date : undefined) };
}

/** Fire times in `[start, stop)` only: `startDate` is the first moment a fire may happen, `stopDate` the first it may not. */
function bounded(schedule: Schedule, start: number | undefined, stop: number | undefined): Schedule {
  return {
    next(after) {
      const at = schedule.next(start === undefined ? after : Math.max(after, start - 1));
      return at === undefined || (stop !== undefined && at >= stop) ? undefined : at;
    },
  };
}
