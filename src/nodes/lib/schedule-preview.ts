/**
 * A trigger node's schedule as people read it: the next fire times of a cron pattern in a time zone, for the
 * editor's preview (GET /edgewhisk/schedule) and the node's status (`next 07:00:00`). The times come from the very
 * code the alarm feed runs (alarm-schedule.ts) and a bad pattern or zone reads as the feed would refuse it
 * (alarm-params.ts), so the preview cannot promise what the deployed schedule does not do.
 */
import { cronPattern, timeZone } from '../../feeds/alarm-params';
import { cronSchedule } from '../../feeds/alarm-schedule';
import { FeedParameterError } from '../../feeds/feed-provider';

/** The Node-RED host's zone: what a schedule without one runs in (home users think in local time). */
export function hostTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** A node's configured zone, or the host's when it names none. */
export function scheduleZone(configured: unknown): string {
  const zone = typeof configured === 'string' ? configured.trim() : '';
  return zone === '' ? hostTimeZone() : zone;
}

interface ZonedParts {
  readonly year: string;
  readonly month: string;
  readonly day: string;
  readonly weekday: string;
  readonly hour: string;
  readonly minute: string;
  readonly second: string;
}

// One formatter per zone: a schedule firing every second asks for its status text every second.
const formatters = new Map<string, Intl.DateTimeFormat>();

function partsIn(ms: number, zone: string): ZonedParts {
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    if (formatters.size > 50) formatters.clear();
    formatters.set(zone, format);
  }
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(new Date(ms))) parts[part.type] = part.value;
  return { year: parts['year'] ?? '', month: parts['month'] ?? '', day: parts['day'] ?? '', weekday: parts['weekday'] ?? '', hour: parts['hour'] ?? '', minute: parts['minute'] ?? '', second: parts['second'] ?? '' };
}

const DAY = 86_400_000;

/**
 * A fire time for a status (about 20 characters): `07:00:00` today, `Mon 03:00` within the coming week (seconds
 * only when the schedule has them), else `2026-07-01 03:00`; in `zone`, the schedule's own.
 */
export function shortFireTime(at: number, zone: string, now: number = Date.now()): string {
  const when = partsIn(at, zone);
  const today = partsIn(now, zone);
  const time = `${when.hour}:${when.minute}`;
  const seconds = when.second === '00' ? '' : `:${when.second}`;
  if (when.year === today.year && when.month === today.month && when.day === today.day) return `${time}:${when.second}`;
  if (at - now < 6 * DAY) return `${when.weekday} ${time}${seconds}`;
  return `${when.year}-${when.month}-${when.day} ${time}${seconds}`;
}

/** A fire time in full, `Mon 2026-06-01 03:00:00`, in `zone`. */
export function fullFireTime(at: number, zone: string): string {
  const p = partsIn(at, zone);
  return `${p.weekday} ${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

export interface SchedulePreview {
  /** The zone the times are in: the given one (canonical), or the host's when none was given. */
  readonly timezone: string;
  readonly hostTimeZone: string;
  /** The next fire times, or empty when the schedule is invalid or will not fire again. */
  readonly next: readonly { readonly at: string; readonly text: string }[];
  /** Why the schedule would be refused, in the alarm feed's words. */
  readonly error?: string;
}

/** The next `count` (1..10) fire times of `cron` in `timezone` (empty: the host's zone) after `now`. */
export function previewSchedule(cron: unknown, timezone: unknown, count = 3, now: number = Date.now()): SchedulePreview {
  const host = hostTimeZone();
  const named = scheduleZone(timezone);
  try {
    const zone = timeZone(named) ?? host;
    const schedule = cronSchedule(cronPattern(cron, zone), { timezone: zone });
    const next: { at: string; text: string }[] = [];
    for (let t = schedule.next(now); t !== undefined && next.length < Math.min(Math.max(count, 1), 10); t = schedule.next(t)) {
      next.push({ at: new Date(t).toISOString(), text: fullFireTime(t, zone) });
    }
    return { timezone: zone, hostTimeZone: host, next };
  } catch (error) {
    if (!(error instanceof FeedParameterError)) throw error;
    return { timezone: named, hostTimeZone: host, next: [], error: error.message };
  }
}
