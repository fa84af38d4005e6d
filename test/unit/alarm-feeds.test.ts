/**
 * The alarms feeds (`/whisk.system/alarms/alarm|interval|once`) through the feed service, on a clock the tests move:
 * schedules across days and DST, the spread of non-strict alarms, power cuts with each catch-up policy, a stalled
 * event loop, the lifecycle events, and OpenWhisk's parameter errors. The engine's side (firing a real trigger,
 * storing feeds in SQLite) is tested in feeds-engine.test.ts and through `edgewhisk serve` in feeds-client.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createAlarmProviders } from '../../src/feeds/alarms-provider';
import { spreadOffset } from '../../src/feeds/alarm-params';
import type { FeedJournal, FeedRecord } from '../../src/feeds/feed-journal';
import { FeedParameterError, type FeedProvider } from '../../src/feeds/feed-provider';
import { FeedService, type FeedStatusEvent } from '../../src/feeds/feed-service';
import { ManualClock } from '../helpers/manual-clock';

const ALARM = '/whisk.system/alarms/alarm';
const INTERVAL = '/whisk.system/alarms/interval';
const ONCE = '/whisk.system/alarms/once';
const DAY = 86_400_000;

/** A journal that outlives the services made on it, as the SQLite file outlives engines. */
class MemoryJournal implements FeedJournal {
  readonly rows = new Map<string, FeedRecord>();
  load(): FeedRecord[] {
    return [...this.rows.values()].map((r) => structuredClone(r));
  }
  put(record: FeedRecord): void {
    this.rows.set(record.trigger, structuredClone(record));
  }
  delete(trigger: string): void {
    this.rows.delete(trigger);
  }
}

interface Fire {
  readonly trigger: string;
  readonly payload: Record<string, unknown>;
  readonly at: string;
}

/** A feed service on `clock` and `journal`, whose host records fires, removals and statuses. */
function service(clock: ManualClock, journal = new MemoryJournal(), options: { catchUpWindow?: number; triggers?: string[] } = {}) {
  const providers = new Map<string, FeedProvider>();
  for (const p of createAlarmProviders({ catchUpWindow: options.catchUpWindow ?? DAY })) providers.set(`/whisk.system/alarms/${p.name}`, p as unknown as FeedProvider);
  const triggers = new Set(options.triggers ?? ['/guest/t', '/guest/a', '/guest/b']);
  const fires: Fire[] = [];
  const removed: string[] = [];
  const statuses: FeedStatusEvent[] = [];
  const warnings: string[] = [];
  const feeds = new FeedService(providers, journal, {
    clock,
    triggerName: (input) => {
      const text = String(input);
      if (!text.startsWith('/guest/')) throw new FeedParameterError(`trigger ${text} is not in this engine's namespace 'guest'`);
      return text;
    },
    triggerExists: (t) => triggers.has(t),
    fire: async (trigger, payload) => {
      if (!triggers.has(trigger)) return { fired: false, reason: 'gone', gone: true };
      fires.push({ trigger, payload, at: new Date(clock.now()).toISOString() });
      return { fired: true, activationId: `a${fires.length}` };
    },
    remove: async (trigger, what) => {
      removed.push(`${what}:${trigger}`);
      triggers.delete(trigger);
    },
    status: (event) => statuses.push(event),
    warn: (message) => warnings.push(message),
  });
  const call = (feed: string, event: string, trigger: string, params: Record<string, unknown> = {}) =>
    feeds.lifecycle(feed, { lifecycleEvent: event, triggerName: trigger, authKey: 'ignored:key', ...params });
  return { feeds, fires, removed, statuses, warnings, journal, call, triggers };
}

const times = (fires: readonly Fire[]): string[] => fires.map((f) => f.at);

describe('alarm feed (cron)', () => {
  it('fires a 6-field cron on its seconds with the trigger_payload, and READ shows the config and next fire', async () => {
    const clock = new ManualClock('2026-12-06T10:00:03.000Z');
    const s = service(clock);
    await s.call(ALARM, 'CREATE', '/guest/t', { cron: '*/10 * * * * *', trigger_payload: { room: 'hall' } });
    await clock.advance(35_000);
    expect(times(s.fires)).toEqual(['2026-12-06T10:00:10.000Z', '2026-12-06T10:00:20.000Z', '2026-12-06T10:00:30.000Z']);
    expect(s.fires.every((f) => f.payload['room'] === 'hall')).toBe(true);
    const read = await s.call(ALARM, 'READ', '/guest/t');
    expect(read['config']).toMatchObject({ name: 't', namespace: 'guest', cron: '*/10 * * * * *', payload: { room: 'hall' }, catchUp: 'skip' });
    expect(read['status']).toMatchObject({ active: true, state: 'scheduled', nextFireISO: '2026-12-06T10:00:40.000Z' });
    // The key OpenWhisk passes is not kept.
    expect(JSON.stringify([...s.journal.rows.values()])).not.toContain('ignored:key');
  });

  it('reads a 5-field cron in its time zone across the spring DST change (07:00 Berlin stays 07:00 local)', async () => {
    const clock = new ManualClock('2026-03-27T12:00:00.000Z');
    const s = service(clock);
    await s.call(ALARM, 'CREATE', '/guest/t', { cron: '0 7 * * *', timezone: 'Europe/Berlin' });
    await clock.advance(4 * DAY);
    // 07:00 CET is 06:00Z until 29 March, 07:00 CEST is 05:00Z after.
    expect(times(s.fires)).toEqual(['2026-03-28T06:00:00.000Z', '2026-03-29T05:00:00.000Z', '2026-03-30T05:00:00.000Z', '2026-03-31T05:00:00.000Z']);
  });

  it('fires once, not twice, at a local time that occurs twice when DST ends', async () => {
    const clock = new ManualClock('2026-10-24T12:00:00.000Z');
    const s = service(clock);
    await s.call(ALARM, 'CREATE', '/guest/t', { cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    await clock.advance(2 * DAY);
    expect(times(s.fires)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('spreads non-strict 5-field alarms over their minute by trigger name, and keeps strict ones on the minute', async () => {
    const clock = new ManualClock('2026-12-06T10:00:30.000Z');
    const s = service(clock);
    expect(spreadOffset('/guest/a')).not.toBe(spreadOffset('/guest/b'));
    await s.call(ALARM, 'CREATE', '/guest/a', { cron: '* * * * *', strict: 'false' });
    await s.call(ALARM, 'CREATE', '/guest/b', { cron: '* * * * *', strict: false });
    await s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * *' });
    await clock.advance(2 * 60_000);
    const secondsOf = (t: string) => s.fires.filter((f) => f.trigger === t).map((f) => new Date(f.at).getUTCSeconds());
    expect(secondsOf('/guest/a')).toEqual([spreadOffset('/guest/a') / 1000, spreadOffset('/guest/a') / 1000]);
    expect(secondsOf('/guest/b')).toEqual([spreadOffset('/guest/b') / 1000, spreadOffset('/guest/b') / 1000]);
    expect(secondsOf('/guest/t')).toEqual([0, 0]);
  });

  it('fires every second when timers wake a little early and time passes between readings (none skipped)', async () => {
    // Measured on a 2-core VM: a quarter of the wakes came before the wall clock reached the fire time, and the
    // schedule skipped the fire when the clock moved past it before the timer was armed again.
    const clock = new ManualClock('2026-12-06T10:00:00.200Z', { early: 1, drift: 1 });
    const s = service(clock);
    await s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * * *' });
    await clock.advance(20_000);
    const seconds = s.fires.map((f) => Math.round(Date.parse(f.at) / 1000));
    expect(seconds).toEqual(Array.from({ length: 20 }, (_, i) => Date.parse('2026-12-06T10:00:01.000Z') / 1000 + i));
    expect(s.statuses.filter((st) => /missed/.test(st.message))).toEqual([]);
  });

  it('fires once after a stalled event loop, not once per missed second', async () => {
    const clock = new ManualClock('2026-12-06T10:00:00.500Z');
    const s = service(clock);
    await s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * * *' });
    await clock.advance(1_000);
    expect(s.fires).toHaveLength(1);
    clock.jump(60_000); // 60 s without the timer running
    await clock.advance(0);
    await clock.advance(400);
    expect(s.fires).toHaveLength(2);
    expect(s.statuses.at(-1)?.message).toMatch(/59 fire times up to .* missed while stopped, fired once for them/);
  });
});

describe('schedules across a power cut', () => {
  /** A nightly alarm fired once, then the engine stops for `downFor` ms and a new one starts on the same journal. */
  async function powerCut(params: Record<string, unknown>, downFor: number, catchUpWindow = DAY) {
    const clock = new ManualClock('2026-12-06T02:00:00.000Z');
    const journal = new MemoryJournal();
    const before = service(clock, journal);
    await before.call(ALARM, 'CREATE', '/guest/t', { cron: '0 0 3 * * *', ...params });
    await clock.advance(2 * 3_600_000); // 04:00: fired at 03:00
    expect(times(before.fires)).toEqual(['2026-12-06T03:00:00.000Z']);
    await before.feeds.close();
    clock.jump(downFor);
    const after = service(clock, journal, { catchUpWindow });
    after.feeds.resume();
    await clock.advance(0);
    return { clock, after };
  }

  it("skip (the default): fires nothing for the three nights missed, says so, and fires again the next night", async () => {
    const { clock, after } = await powerCut({}, 3 * DAY + 3_600_000); // back at 05:00 three days later
    expect(after.fires).toEqual([]);
    expect(after.statuses.at(-1)?.message).toMatch(/3 fire times up to 2026-12-09T03:00:00.000Z missed while stopped, skipped/);
    await clock.advanceTo('2026-12-10T03:00:01.000Z');
    expect(times(after.fires)).toEqual(['2026-12-10T03:00:00.000Z']);
  });

  it("once: fires exactly once at start-up for the missed nights, then keeps the schedule", async () => {
    const { clock, after } = await powerCut({ catchUp: 'once' }, 3 * DAY + 3_600_000);
    expect(times(after.fires)).toEqual(['2026-12-09T05:00:00.000Z']);
    await clock.advanceTo('2026-12-10T03:00:01.000Z');
    expect(times(after.fires)).toEqual(['2026-12-09T05:00:00.000Z', '2026-12-10T03:00:00.000Z']);
  });

  it('once: fires nothing when the latest missed time is older than the catch-up window', async () => {
    const { after } = await powerCut({ catchUp: 'once' }, 3 * DAY + 3_600_000, 3_600_000 / 2);
    expect(after.fires).toEqual([]);
    expect(after.statuses.at(-1)?.message).toMatch(/missed while stopped, skipped/);
  });

  it('a restart within the fire time fires it on time (a fast restart loses nothing)', async () => {
    const clock = new ManualClock('2026-12-06T10:00:00.200Z');
    const journal = new MemoryJournal();
    const before = service(clock, journal);
    await before.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * * *' });
    await clock.advance(2_000);
    expect(before.fires).toHaveLength(2);
    await before.feeds.close();
    clock.jump(1_500); // down for 1.5 s: the fire time at :03 passed while down
    const after = service(clock, journal);
    after.feeds.resume();
    await clock.advance(0);
    expect(times(after.fires)).toEqual(['2026-12-06T10:00:03.700Z']);
    await clock.advance(1_000);
    expect(times(after.fires)).toEqual(['2026-12-06T10:00:03.700Z', '2026-12-06T10:00:04.000Z']);
  });

  it('a feed whose trigger went while the engine was down is dropped at resume', async () => {
    const clock = new ManualClock('2026-12-06T10:00:00.000Z');
    const journal = new MemoryJournal();
    const before = service(clock, journal);
    await before.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * * *' });
    await before.feeds.close();
    const after = service(clock, journal, { triggers: [] });
    after.feeds.resume();
    await clock.advance(3_000);
    expect(after.fires).toEqual([]);
    expect(journal.rows.size).toBe(0);
  });
});

describe('interval and once feeds', () => {
  it('interval: every n minutes from creation, or from startDate, until stopDate', async () => {
    const clock = new ManualClock('2026-12-06T10:00:00.000Z');
    const s = service(clock);
    await s.call(INTERVAL, 'CREATE', '/guest/a', { minutes: '5' });
    await s.call(INTERVAL, 'CREATE', '/guest/b', { minutes: 30, startDate: '2026-12-06T10:07:00.000Z', stopDate: Date.parse('2026-12-06T11:08:00.000Z') });
    await clock.advance(2 * 3_600_000);
    const of = (t: string) => times(s.fires.filter((f) => f.trigger === t));
    expect(of('/guest/a').slice(0, 3)).toEqual(['2026-12-06T10:05:00.000Z', '2026-12-06T10:10:00.000Z', '2026-12-06T10:15:00.000Z']);
    expect(of('/guest/a')).toHaveLength(24);
    expect(of('/guest/b')).toEqual(['2026-12-06T10:07:00.000Z', '2026-12-06T10:37:00.000Z', '2026-12-06T11:07:00.000Z']);
    expect(s.feeds.statusOf('/guest/b')).toMatchObject({ state: 'finished' });
  });

  it("once: fires at its date; deleteAfterFire 'rules' removes the trigger with its rules and the feed", async () => {
    const clock = new ManualClock('2026-12-06T10:00:00.000Z');
    const s = service(clock);
    await s.call(ONCE, 'CREATE', '/guest/a', { date: '2026-12-06T12:00:00.000Z', trigger_payload: '{"say":"hello"}' });
    await s.call(ONCE, 'CREATE', '/guest/b', { date: Date.parse('2026-12-06T12:30:00.000Z'), deleteAfterFire: 'rules', trigger_payload: 'plain text' });
    await clock.advance(DAY);
    expect(s.fires.map((f) => [f.trigger, f.at, f.payload])).toEqual([
      ['/guest/a', '2026-12-06T12:00:00.000Z', { say: 'hello' }],
      ['/guest/b', '2026-12-06T12:30:00.000Z', { payload: 'plain text' }],
    ]);
    expect(s.removed).toEqual(['rules:/guest/b']);
    expect([...s.journal.rows.keys()]).toEqual(['/guest/a']);
    expect(s.feeds.statusOf('/guest/a')).toMatchObject({ state: 'finished' });
  });

  it('once: a date missed while the engine was down is skipped by default and fired with catchUp once', async () => {
    const clock = new ManualClock('2026-12-06T10:00:00.000Z');
    const journal = new MemoryJournal();
    const before = service(clock, journal);
    await before.call(ONCE, 'CREATE', '/guest/a', { date: '2026-12-06T11:00:00.000Z' });
    await before.call(ONCE, 'CREATE', '/guest/b', { date: '2026-12-06T11:00:00.000Z', catchUp: 'once' });
    await before.feeds.close();
    clock.jump(2 * 3_600_000);
    const after = service(clock, journal);
    after.feeds.resume();
    await clock.advance(DAY);
    expect(after.fires.map((f) => f.trigger)).toEqual(['/guest/b']);
    expect(after.feeds.statusOf('/guest/a')).toMatchObject({ state: 'finished' });
  });
});

describe('lifecycle events', () => {
  it('UPDATE changes the schedule, PAUSE stops it, UNPAUSE starts over without catching up, DELETE ends it', async () => {
    const clock = new ManualClock('2026-12-06T10:00:00.500Z');
    const s = service(clock);
    await s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * * *' });
    await clock.advance(2_000);
    expect(s.fires).toHaveLength(2);
    await s.call(ALARM, 'UPDATE', '/guest/t', { cron: '*/10 * * * * *' });
    await clock.advance(20_000);
    expect(times(s.fires).slice(2)).toEqual(['2026-12-06T10:00:10.000Z', '2026-12-06T10:00:20.000Z']);
    await s.call(ALARM, 'PAUSE', '/guest/t');
    expect(s.feeds.statusOf('/guest/t')).toMatchObject({ state: 'paused', paused: true });
    await clock.advance(60_000);
    expect(s.fires).toHaveLength(4);
    await s.call(ALARM, 'UNPAUSE', '/guest/t');
    await clock.advance(10_000);
    expect(times(s.fires).slice(4)).toEqual(['2026-12-06T10:01:30.000Z']);
    expect(await s.call(ALARM, 'DELETE', '/guest/t')).toEqual({ status: 'success' });
    await clock.advance(60_000);
    expect(s.fires).toHaveLength(5);
    expect(s.journal.rows.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('a deleted trigger stops its feed and removes it from the store', async () => {
    const clock = new ManualClock('2026-12-06T10:00:00.500Z');
    const s = service(clock);
    await s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * * *' });
    await s.feeds.triggerDeleted('/guest/t');
    await clock.advance(5_000);
    expect(s.fires).toEqual([]);
    expect(s.journal.rows.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('a trigger deleted behind the feed (its fire finds no trigger) ends the feed', async () => {
    const clock = new ManualClock('2026-12-06T10:00:00.500Z');
    const s = service(clock);
    await s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * * *' });
    s.triggers.delete('/guest/t');
    await clock.advance(5_000);
    expect(s.journal.rows.size).toBe(0);
    expect(clock.pending).toBe(0);
  });
});

describe("OpenWhisk's parameter errors", () => {
  const refused = async (call: Promise<unknown>, message: string | RegExp) => {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FeedParameterError);
    expect((error as Error).message).toMatch(message);
  };

  it('refuses bad parameters with a message naming the parameter, and keeps nothing', async () => {
    const clock = new ManualClock('2026-12-06T10:00:00.000Z');
    const s = service(clock);
    await refused(s.call(ALARM, 'CREATE', '/guest/t', {}), 'alarms trigger feed is missing the cron parameter');
    await refused(s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * *' }), /^cron pattern '\* \* \*' is not valid: it has 3 fields; use 5 fields \(minute hour/);
    await refused(s.call(ALARM, 'CREATE', '/guest/t', { cron: '0 0 0 * * * 2030' }), /it has 7 fields/);
    await refused(s.call(ALARM, 'CREATE', '/guest/t', { cron: '61 * * * *' }), /^cron pattern '61 \* \* \* \*' is not valid: Invalid value for minute: 61; use 5/);
    await refused(s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * *', timezone: 'Mars/Olympus' }), "timezone parameter 'Mars/Olympus' is not a valid IANA time zone");
    await refused(s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * *', startDate: '2020-01-01T00:00:00Z' }), "startDate parameter '2020-01-01T00:00:00Z' must be in the future");
    await refused(s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * *', startDate: 'soon' }), "startDate parameter 'soon' is not a valid Date");
    await refused(
      s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * *', startDate: '2026-12-07T00:00:00Z', stopDate: '2026-12-06T12:00:00Z' }),
      "stopDate parameter '2026-12-06T12:00:00Z' must be greater than the startDate parameter '2026-12-07T00:00:00.000Z'",
    );
    await refused(s.call(ALARM, 'CREATE', '/guest/t', { cron: '0 0 1 1 *', stopDate: '2026-12-07T00:00:00Z' }), 'the first scheduled trigger fire is not until after the stop date');
    await refused(s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * *', catchUp: 'always' }), 'catchUp parameter must be one of [skip, once].');
    await refused(s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * *', strict: 'maybe' }), 'strict parameter must be true or false');
    await refused(s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * *', trigger_payload: 42 }), 'trigger_payload parameter must be an object or a string');
    await refused(s.call(INTERVAL, 'CREATE', '/guest/t', {}), 'interval trigger feed is missing the minutes parameter');
    await refused(s.call(INTERVAL, 'CREATE', '/guest/t', { minutes: '2.5' }), 'the minutes parameter must be an integer');
    await refused(s.call(INTERVAL, 'CREATE', '/guest/t', { minutes: 0 }), 'the minutes parameter must be an integer greater than zero');
    await refused(s.call(ONCE, 'CREATE', '/guest/t', {}), 'alarms once trigger feed is missing the date parameter');
    await refused(s.call(ONCE, 'CREATE', '/guest/t', { date: '2026-12-07T00:00:00Z', deleteAfterFire: 'maybe' }), 'deleteAfterFire parameter must be one of [false, true, rules].');
    expect(s.journal.rows.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('refuses lifecycle calls that name no trigger, a missing trigger, a second feed, or the wrong feed', async () => {
    const clock = new ManualClock('2026-12-06T10:00:00.000Z');
    const s = service(clock);
    await refused(s.feeds.lifecycle(ALARM, { lifecycleEvent: 'CREATE', cron: '* * * * *' }), 'no trigger name parameter was provided');
    await refused(s.feeds.lifecycle(ALARM, { lifecycleEvent: 'EXPLODE', triggerName: '/guest/t' }), "unsupported lifecycleEvent 'EXPLODE': one of CREATE, READ, UPDATE, DELETE, PAUSE, UNPAUSE");
    await refused(s.call(ALARM, 'CREATE', '/other/t', { cron: '* * * * *' }), "trigger /other/t is not in this engine's namespace 'guest'");
    await refused(s.call(ALARM, 'CREATE', '/guest/nope', { cron: '* * * * *' }), 'trigger /guest/nope does not exist: create the trigger before its feed');
    await refused(s.call(ALARM, 'READ', '/guest/t'), 'trigger /guest/t has no feed');
    await s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * *' });
    await refused(s.call(ALARM, 'CREATE', '/guest/t', { cron: '* * * * *' }), 'trigger /guest/t already has a feed (/whisk.system/alarms/alarm): delete that feed first');
    await refused(s.call(INTERVAL, 'DELETE', '/guest/t'), 'trigger /guest/t is fed by /whisk.system/alarms/alarm, not /whisk.system/alarms/interval');
    await refused(s.call(ALARM, 'UPDATE', '/guest/t', { unrelated: 1 }), 'no updatable parameters were specified');
    await refused(s.call(ALARM, 'UPDATE', '/guest/t', { cron: 'bad' }), /cron pattern 'bad' is not valid/);
    // The feed that was there is unchanged by the refused calls.
    expect((await s.call(ALARM, 'READ', '/guest/t'))['config']).toMatchObject({ cron: '* * * * *' });
  });
});
