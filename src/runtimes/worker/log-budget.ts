/**
 * Bounds one activation's output inside the worker thread, where it is produced: lines past the log limit are
 * dropped before they are copied to the host, and the first line that does not fit is replaced by OpenWhisk's
 * truncation line. Lines are counted as the host's LogCollector counts them (text, newline, timestamp and stream),
 * so the worker stops exactly where the host would, and the host recognises the truncation line as its own.
 */
import { LOG_TRUNCATED, logLineBytes, splitLogText } from '../../activations/log-collector';

export interface Taken {
  /** Whole lines that fit, without their newline. */
  readonly lines: string[];
  /** The truncation line, the first time the limit is reached (it goes to stderr). */
  readonly truncation?: string;
}

const NOTHING: Taken = Object.freeze({ lines: [] });

export class LogBudget {
  readonly #limit: number;
  #used = 0;
  #closed: boolean;

  /** @param limit the action's log limit in bytes; 0 collects nothing, as in OpenWhisk. */
  constructor(limit: number) {
    this.#limit = limit;
    this.#closed = limit <= 0;
  }

  /** Whether nothing more will be taken: callers can skip formatting output that would be dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  take(text: string): Taken {
    if (this.#closed) return NOTHING;
    const parts = text.includes('\n') ? splitLogText(text) : [text];
    const lines: string[] = [];
    for (const part of parts) {
      const size = logLineBytes(part);
      if (this.#used + size > this.#limit) {
        this.#closed = true;
        return { lines, truncation: LOG_TRUNCATED(this.#limit) };
      }
      this.#used += size;
      lines.push(part);
    }
    return { lines };
  }
}
