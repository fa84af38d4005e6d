/**
 * Time as the feeds see it. Schedules read the time and wait through this interface only, so tests can drive a
 * schedule across days, DST changes and power cuts with a manual clock instead of waiting.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms` (any length: longer than setTimeout's 24.8-day maximum is split). */
  after(ms: number, fn: () => void): Timer;
}

export interface Timer {
  cancel(): void;
}

/** setTimeout's largest delay (2^31 - 1 ms); a longer one would fire at once. */
const MAX_TIMEOUT = 2_147_483_647;

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    let handle: NodeJS.Timeout | undefined;
    const due = Date.now() + Math.max(0, ms);
    const arm = (): void => {
      const left = due - Date.now();
      // Node's timers run on a monotonic clock and may wake a millisecond before the wall clock says `due`; long
      // waits are split. Either way the wall clock is asked again, and `fn` runs only once it has reached `due`.
      if (left <= 0) return fn();
      handle = setTimeout(arm, Math.min(left, MAX_TIMEOUT));
      // A schedule must not keep a process alive that has nothing else to do (a script that made an engine).
      handle.unref();
    };
    // Always through a timer, even when due now: `fn` must not run inside the caller's turn.
    handle = setTimeout(arm, Math.min(Math.max(0, ms), MAX_TIMEOUT));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
