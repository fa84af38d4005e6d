/**
 * How a trigger node's status names its next fire time (src/nodes/lib/schedule-preview.ts): in the schedule's own
 * time zone, with the time alone today, the weekday within the week, the date beyond.
 */
import { describe, expect, it } from 'vitest';
import { scheduleStatus } from '../../src/nodes/lib/trigger-schedule';
import { shortFireTime } from '../../src/nodes/lib/schedule-preview';

// Monday 2026-06-01 10:00:00 UTC = 12:00 in Berlin (summer time).
const NOW = Date.UTC(2026, 5, 1, 10, 0, 0);

describe('the next fire time on the node status', () => {
  it('shows the time alone when the fire is today in the schedule\'s zone', () => {
    expect(shortFireTime(Date.UTC(2026, 5, 1, 17, 0, 5), 'Europe/Berlin', NOW)).toBe('19:00:05');
    expect(shortFireTime(Date.UTC(2026, 5, 1, 10, 0, 1), 'UTC', NOW)).toBe('10:00:01');
  });

  it('adds the weekday within the coming week, and the date beyond it', () => {
    // 03:00 Berlin on Tuesday is 01:00 UTC.
    expect(shortFireTime(Date.UTC(2026, 5, 2, 1, 0, 0), 'Europe/Berlin', NOW)).toBe('Tue 03:00');
    expect(shortFireTime(Date.UTC(2026, 5, 2, 1, 0, 30), 'Europe/Berlin', NOW)).toBe('Tue 03:00:30');
    expect(shortFireTime(Date.UTC(2026, 6, 1, 1, 0, 0), 'Europe/Berlin', NOW)).toBe('2026-07-01 03:00');
  });

  it('judges "today" in the schedule\'s zone, not the host\'s', () => {
    // 23:30 UTC on Monday is already Tuesday in Tokyo.
    expect(shortFireTime(Date.UTC(2026, 5, 1, 23, 30, 0), 'UTC', NOW)).toBe('23:30:00');
    expect(shortFireTime(Date.UTC(2026, 5, 1, 23, 30, 0), 'Asia/Tokyo', NOW)).toBe('Tue 08:30');
  });

  it('colours the status by the feed state', () => {
    expect(scheduleStatus({ state: 'scheduled', message: '', nextFire: Date.UTC(2026, 5, 1, 17, 0, 0) }, 'UTC', NOW)).toEqual({ fill: 'green', shape: 'ring', text: 'next 17:00:00' });
    expect(scheduleStatus({ state: 'failing', message: 'stopped by an unexpected error' }, 'UTC', NOW)).toMatchObject({ fill: 'red', text: expect.stringMatching(/^failing: stopped by/) });
    expect(scheduleStatus({ state: 'paused', message: 'paused' }, 'UTC', NOW)).toEqual({ fill: 'grey', shape: 'ring', text: 'paused' });
  });
});
