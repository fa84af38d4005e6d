/**
 * The alarms feeds' parameters, checked as apache/openwhisk-package-alarms checks them and refused with its
 * messages, so scripts written against OpenWhisk read the same errors. Dates are epoch ms or ISO 8601 strings.
 */
import { Cron } from 'croner';
import { FeedParameterError } from './feed-provider';

export type CatchUp = 'skip' | 'once';
export type DeleteAfterFire = 'false' | 'true' | 'rules';

export const CRON_FORMAT =
  'use 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first (second minute hour day-of-month month day-of-week)';

/** `trigger_payload`: an object, or a string holding one; any other string becomes `{payload: string}` (as OpenWhisk's). */
export function triggerPayload(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null || value === '') return {};
  if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // not JSON: the string itself is the payload
    }
    return { payload: value };
  }
  throw new FeedParameterError('trigger_payload parameter must be an object or a string');
}

/** A date parameter that must lie in the future (and after `after` when given). */
export function futureDate(value: unknown, name: string, now: number, after?: { readonly value: number; readonly name: string }): number {
  const date = typeof value === 'number' ? new Date(value) : typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new FeedParameterError(`${name} parameter '${String(value)}' is not a valid Date`);
  if (ms <= now) throw new FeedParameterError(`${name} parameter '${String(value)}' must be in the future`);
  if (after !== undefined && ms <= after.value) {
    throw new FeedParameterError(`${name} parameter '${String(value)}' must be greater than the ${after.name} parameter '${new Date(after.value).toISOString()}'`);
  }
  return ms;
}

export function cronPattern(value: unknown, timezone: string | undefined): string {
  if (value === undefined || value === null || value === '') throw new FeedParameterError('alarms trigger feed is missing the cron parameter');
  if (typeof value !== 'string') throw new FeedParameterError(`cron pattern '${String(value)}' is not valid: it must be a string; ${CRON_FORMAT}`);
  const pattern = value.trim();
  const fields = pattern.split(/\s+/).length;
  if (!pattern.startsWith('@') && fields !== 5 && fields !== 6) {
    throw new FeedParameterError(`cron pattern '${pattern}' is not valid: it has ${fields} field${fields === 1 ? '' : 's'}; ${CRON_FORMAT}`);
  }
  try {
    new Cron(pattern, { mode: '5-or-6-parts', timezone: timezone ?? 'UTC' }).nextRun();
  } catch (error) {
    const reason = String((error as Error).message).replace(/^CronPattern:\s*/, '').replace(/\.$/, '');
    throw new FeedParameterError(`cron pattern '${pattern}' is not valid: ${reason}; ${CRON_FORMAT}`);
  }
  return pattern;
}

/** Whether a pattern has a seconds field (6 fields); nicknames such as `@daily` do not. */
export function hasSeconds(pattern: string): boolean {
  return !pattern.startsWith('@') && pattern.split(/\s+/).length === 6;
}

export function timeZone(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') {
    try {
      // Intl knows the IANA database Node ships; an unknown zone throws RangeError.
      return new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
    } catch {
      // fall through
    }
  }
  throw new FeedParameterError(`timezone parameter '${String(value)}' is not a valid IANA time zone, such as 'Europe/Berlin' or 'UTC'`);
}

/** `true`, `false`, or the strings the CLI passes for them. */
export function flag(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined || value === null || value === '') return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new FeedParameterError(`${name} parameter must be true or false`);
}

export function catchUp(value: unknown): CatchUp {
  if (value === undefined || value === null || value === '') return 'skip';
  if (value === 'skip' || value === 'once') return value;
  throw new FeedParameterError('catchUp parameter must be one of [skip, once].');
}

export function deleteAfterFire(value: unknown): DeleteAfterFire {
  if (value === undefined || value === null || value === '') return 'false';
  const text = String(value).trim().toLowerCase();
  if (text === 'false' || text === 'true' || text === 'rules') return text;
  throw new FeedParameterError('deleteAfterFire parameter must be one of [false, true, rules].');
}

export function minutes(value: unknown): number {
  if (value === undefined || value === null || value === '') throw new FeedParameterError('interval trigger feed is missing the minutes parameter');
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n)) throw new FeedParameterError('the minutes parameter must be an integer');
  if (n <= 0) throw new FeedParameterError('the minutes parameter must be an integer greater than zero');
  return n;
}

/** 0..59 s, the same for the same trigger on every engine: a non-strict minute alarm's place within its minute. */
export function spreadOffset(trigger: string): number {
  let hash = 0;
  for (const char of trigger) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return (hash % 60) * 1_000;
}
