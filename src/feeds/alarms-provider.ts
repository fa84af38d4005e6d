/**
 * `/whisk.system/alarms`: `alarm` (cron), `interval` (every n minutes) and `once` (a date), with the parameters of
 * apache/openwhisk-package-alarms plus `catchUp` (what a schedule does about fire times missed while the engine was
 * stopped; alarm-runner.ts). The schedule itself is alarm-schedule.ts; this file turns parameters into a stored
 * config and a config into a running alarm.
 */
import { cronSchedule, intervalSchedule, onceSchedule, type Schedule } from './alarm-schedule';
import { runAlarm } from './alarm-runner';
import * as param from './alarm-params';
import { FeedParameterError, type FeedHost, type FeedParameter, type FeedProvider } from './feed-provider';

export interface AlarmConfig {
  readonly type: 'alarm' | 'interval' | 'once';
  readonly cron?: string;
  readonly timezone?: string;
  readonly strict?: boolean;
  /** ms a non-strict 5-field alarm fires after its minute starts. */
  readonly offset?: number;
  readonly minutes?: number;
  readonly date?: number;
  readonly deleteAfterFire?: param.DeleteAfterFire;
  readonly startDate?: number;
  readonly stopDate?: number;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly catchUp: param.CatchUp;
  /** When the schedule was created or last changed (an interval's default anchor). */
  readonly created: number;
}

export interface AlarmProviderOptions {
  /** ms: `catchUp: 'once'` fires for missed times only when the latest is no older than this. */
  readonly catchUpWindow: number;
}

const COMMON: readonly FeedParameter[] = [
  { name: 'trigger_payload', required: false, description: 'The trigger event, an object (or a JSON string); fired as the trigger parameters.' },
  { name: 'catchUp', required: false, description: "Fire times missed while the engine was stopped: 'skip' (default) or 'once' (fire once if the latest is recent)." },
];
const WINDOW: readonly FeedParameter[] = [
  { name: 'startDate', required: false, description: 'The first moment the trigger may fire (epoch ms or ISO 8601).' },
  { name: 'stopDate', required: false, description: 'The trigger no longer fires from this moment on (epoch ms or ISO 8601).' },
];

/** A number parameter stored, or the key absent. */
const opt = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [P in K]: V }));

function has(params: Readonly<Record<string, unknown>>, key: string): boolean {
  return params[key] !== undefined && params[key] !== null && params[key] !== '';
}

/** startDate/stopDate as given now, else as stored: checked against each other and the clock. */
function window(params: Readonly<Record<string, unknown>>, current: AlarmConfig | undefined, now: number): { startDate?: number; stopDate?: number } {
  const startDate = has(params, 'startDate') ? param.futureDate(params['startDate'], 'startDate', now) : current?.startDate;
  let stopDate = current?.stopDate;
  if (has(params, 'stopDate')) {
    stopDate = param.futureDate(params['stopDate'], 'stopDate', now, startDate === undefined ? undefined : { value: startDate, name: 'startDate' });
  } else if (stopDate !== undefined && startDate !== undefined && startDate >= stopDate) {
    throw new FeedParameterError(`startDate parameter '${String(params['startDate'])}' must be less than the stopDate parameter '${new Date(stopDate).toISOString()}'`);
  }
  return { ...opt('startDate', startDate), ...opt('stopDate', stopDate) };
}

function common(params: Readonly<Record<string, unknown>>, current: AlarmConfig | undefined) {
  return {
    payload: has(params, 'trigger_payload') ? param.triggerPayload(params['trigger_payload']) : (current?.payload ?? {}),
    catchUp: has(params, 'catchUp') ? param.catchUp(params['catchUp']) : (current?.catchUp ?? 'skip'),
  };
}

const UPDATABLE = ['trigger_payload', 'catchUp', 'startDate', 'stopDate', 'cron', 'timezone', 'strict', 'minutes', 'date', 'deleteAfterFire'];

function requireSomething(params: Readonly<Record<string, unknown>>, current: AlarmConfig | undefined): void {
  if (current !== undefined && !UPDATABLE.some((key) => has(params, key))) throw new FeedParameterError('no updatable parameters were specified');
}

export function scheduleOf(config: AlarmConfig): Schedule {
  if (config.type === 'once') return onceSchedule(config.date as number);
  if (config.type === 'interval') {
    const period = (config.minutes as number) * 60_000;
    return intervalSchedule(config.startDate ?? config.created, period, { fromAnchor: config.startDate !== undefined, stop: config.stopDate });
  }
  return cronSchedule(config.cron as string, { timezone: config.timezone, offset: config.offset ?? 0, start: config.startDate, stop: config.stopDate });
}

function describe(config: AlarmConfig): Record<string, unknown> {
  const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
  return {
    ...opt('cron', config.cron),
    ...opt('timezone', config.timezone),
    ...opt('strict', config.type === 'alarm' ? config.strict : undefined),
    ...opt('minutes', config.minutes),
    ...opt('date', iso(config.date)),
    ...opt('deleteAfterFire', config.deleteAfterFire),
    ...opt('startDate', iso(config.startDate)),
    ...opt('stopDate', iso(config.stopDate)),
    payload: config.payload,
    catchUp: config.catchUp,
  };
}

function start(options: AlarmProviderOptions) {
  return (config: AlarmConfig, host: FeedHost, resumed: boolean) =>
    runAlarm(
      {
        schedule: scheduleOf(config),
        payload: config.payload,
        catchUp: config.catchUp,
        catchUpWindow: options.catchUpWindow,
        created: config.created,
        whenFinished: config.deleteAfterFire === 'true' ? 'trigger' : config.deleteAfterFire === 'rules' ? 'rules' : undefined,
      },
      host,
      resumed,
    );
}

export function createAlarmProviders(options: AlarmProviderOptions): FeedProvider<AlarmConfig>[] {
  const alarm: FeedProvider<AlarmConfig> = {
    name: 'alarm',
    description: 'Fire trigger event on a time-based schedule using cron',
    parameters: [
      { name: 'cron', required: true, description: `When to fire: ${param.CRON_FORMAT}.` },
      { name: 'timezone', required: false, description: 'IANA time zone the cron fields are read in (default UTC); DST is handled.' },
      { name: 'strict', required: false, description: 'false: a 5-field alarm fires at a fixed second (0-59) of its minute, taken from the trigger name, so triggers do not all fire at once. Default true.' },
      ...COMMON,
      ...WINDOW,
    ],
    configure(params, current, host) {
      requireSomething(params, current);
      const now = host.clock.now();
      const timezone = has(params, 'timezone') ? param.timeZone(params['timezone']) : current?.timezone;
      const cron = has(params, 'cron') || current === undefined ? param.cronPattern(params['cron'], timezone) : (current.cron as string);
      const strict = has(params, 'strict') ? param.flag(params['strict'], 'strict', true) : (current?.strict ?? true);
      const config: AlarmConfig = {
        type: 'alarm',
        cron,
        ...opt('timezone', timezone),
        strict,
        ...(strict || param.hasSeconds(cron) ? {} : { offset: param.spreadOffset(host.trigger) }),
        ...window(params, current, now),
        ...common(params, current),
        created: now,
      };
      if (config.stopDate !== undefined && scheduleOf(config).next(now) === undefined) {
        throw new FeedParameterError('the first scheduled trigger fire is not until after the stop date');
      }
      return config;
    },
    start: start(options),
    describe,
  };

  const interval: FeedProvider<AlarmConfig> = {
    name: 'interval',
    description: 'Fire trigger event on an interval based schedule',
    parameters: [
      { name: 'minutes', required: true, description: 'Minutes between fires (an integer above zero); the first fire is at startDate, or one interval after creation.' },
      ...COMMON,
      ...WINDOW,
    ],
    configure(params, current, host) {
      requireSomething(params, current);
      const now = host.clock.now();
      const minutes = has(params, 'minutes') || current === undefined ? param.minutes(params['minutes']) : (current.minutes as number);
      // An interval keeps its anchor across updates unless the period or start changes.
      const keep = current !== undefined && !has(params, 'minutes') && !has(params, 'startDate');
      return { type: 'interval', minutes, ...window(params, current, now), ...common(params, current), created: keep ? current.created : now };
    },
    start: start(options),
    describe,
  };

  const once: FeedProvider<AlarmConfig> = {
    name: 'once',
    description: 'Fire trigger event once on a specific date',
    parameters: [
      { name: 'date', required: true, description: 'When to fire (epoch ms or ISO 8601), in the future.' },
      { name: 'deleteAfterFire', required: false, description: "After the fire: 'false' (default) keeps the trigger, 'true' deletes it, 'rules' deletes it and its rules." },
      ...COMMON,
    ],
    configure(params, current, host) {
      requireSomething(params, current);
      const now = host.clock.now();
      if (current === undefined && !has(params, 'date')) throw new FeedParameterError('alarms once trigger feed is missing the date parameter');
      const date = has(params, 'date') ? param.futureDate(params['date'], 'date', now) : (current?.date as number);
      const deleteAfterFire = has(params, 'deleteAfterFire') ? param.deleteAfterFire(params['deleteAfterFire']) : (current?.deleteAfterFire ?? 'false');
      return { type: 'once', date, deleteAfterFire, ...common(params, current), created: now };
    },
    start: start(options),
    describe,
  };

  return [alarm, interval, once];
}
