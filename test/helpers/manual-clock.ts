/**
 * A clock tests move by hand: `advance` runs the timers that fall due in order, each at its own time, letting the
 * promise chains they start settle in between; `jump` moves time without running anything (a power cut, a stalled
 * event loop), so what was due is found late.
 */
import type { Clock, Timer } from '../../src/feeds/clock';

interface Pending {
  readonly at: number;
  readonly fn: () => void;
  cancelled: boolean;
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

export interface ManualClockOptions {
  /** Timers run this many ms before they are due, as Node's do now and then against the wall clock. */
  readonly early?: number;
  /**
   * The time a timer's callback takes before it reads the clock a second time, in ms: from that reading on (until the
   * next timer runs) the clock is this much later. Code that reads the time twice in one wake sees it move.
   */
  readonly drift?: number;
}

export class ManualClock implements Clock {
  #now: number;
  #pending: Pending[] = [];
  readonly #early: number;
  readonly #drift: number;
  /** Readings since the last timer ran (the drift applies from the second). */
  #reads = 0;

  constructor(start: number | string, options: ManualClockOptions = {}) {
    this.#now = typeof start === 'number' ? start : Date.parse(start);
    this.#early = options.early ?? 0;
    this.#drift = options.drift ?? 0;
  }

  now(): number {
    this.#reads++;
    if (this.#reads === 2) this.#now += this.#drift;
    return this.#now;
  }

  after(ms: number, fn: () => void): Timer {
    const pending: Pending = { at: this.#now + Math.max(0, ms) - (ms > this.#early ? this.#early : 0), fn, cancelled: false };
    this.#pending.push(pending);
    return { cancel: () => (pending.cancelled = true) };
  }

  /** Timers not cancelled and not run yet. */
  get pending(): number {
    return this.#pending.filter((p) => !p.cancelled).length;
  }

  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await settle();
      this.#pending = this.#pending.filter((p) => !p.cancelled);
      const due = this.#pending.filter((p) => p.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#pending.splice(this.#pending.indexOf(due), 1);
      this.#now = Math.max(this.#now, due.at);
      this.#reads = 0;
      due.fn();
    }
    this.#now = end;
    await settle();
  }

  async advanceTo(time: string | number): Promise<void> {
    const at = typeof time === 'number' ? time : Date.parse(time);
    await this.advance(at - this.#now);
  }

  jump(ms: number): void {
    this.#now += ms;
  }
}
