/**
 * Collects an activation's log lines in OpenWhisk's stored format and enforces the log limit.
 */

export type LogStream = 'stdout' | 'stderr';

export const LOG_TRUNCATED = (limitBytes: number): string =>
  `Logs were truncated because the total bytes size exceeds the limit of ${limitBytes} bytes.`;
export const LOG_DEVELOPER_ERROR_WARNING = 'The action did not initialize or run as expected. Log data might be missing.';

/**
 * One stored line: the ISO timestamp padded to 30 characters, a space, the stream, a colon, a space, the text
 * (OpenWhisk's `DockerToActivationLogStore`).
 */
export function formatLogLine(time: number, stream: LogStream, text: string): string {
  return `${new Date(time).toISOString().padEnd(30, ' ')} ${stream}: ${text}`;
}

export class LogCollector {
  readonly #limitBytes: number;
  readonly #lines: string[] = [];
  #bytes = 0;
  #truncated = false;

  /** @param limitBytes the action's log limit; 0 disables collection entirely, as in OpenWhisk. */
  constructor(limitBytes: number) {
    this.#limitBytes = limitBytes;
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  /** Adds output; multi-line text becomes one stored line per line, as Docker's log driver would record it. */
  add(stream: LogStream, text: string, time: number = Date.now()): void {
    if (this.#limitBytes === 0 || this.#truncated) return;
    const parts = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
    for (const part of parts) {
      const size = Buffer.byteLength(part, 'utf8');
      if (this.#bytes + size > this.#limitBytes) {
        this.#truncated = true;
        this.#lines.push(formatLogLine(time, 'stderr', LOG_TRUNCATED(this.#limitBytes)));
        return;
      }
      this.#bytes += size;
      this.#lines.push(formatLogLine(time, stream, part));
    }
  }

  /** A line written by the engine itself (not counted against the limit, like OpenWhisk's own warnings). */
  addSystem(text: string, time: number = Date.now()): void {
    if (this.#limitBytes === 0) return;
    this.#lines.push(formatLogLine(time, 'stderr', text));
  }

  lines(): string[] {
    return this.#lines.slice();
  }
}
