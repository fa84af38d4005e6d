/**
 * Collects an activation's log lines in OpenWhisk's stored format and enforces the log limit.
 *
 * The limit bounds what is stored, so a line costs what it takes stored: its timestamp and stream, its text and its
 * newline (OpenWhisk's `DockerContainer.logs` weighs each raw log line plus one byte for its newline). Counting the
 * text alone let a flood of short lines store eight times the limit.
 */

export type LogStream = 'stdout' | 'stderr';

export const LOG_TRUNCATED = (limitBytes: number): string =>
  `Logs were truncated because the total bytes size exceeds the limit of ${limitBytes} bytes.`;
export const LOG_DEVELOPER_ERROR_WARNING = 'The action did not initialize or run as expected. Log data might be missing.';

/**
 * Bytes each stored line costs beyond its text and its newline: the ISO timestamp padded to 30 characters, a space,
 * the stream (`stdout` or `stderr`), a colon and a space. Runtimes that bound logs where they are produced count
 * the same way, so they stop where this collector would.
 */
export const LOG_LINE_OVERHEAD = 39;

/** What one line of text costs against the log limit once stored. */
export function logLineBytes(text: string): number {
  return Buffer.byteLength(text, 'utf8') + 1 + LOG_LINE_OVERHEAD;
}

/** Output split into stored lines, as Docker's log driver records it: one final newline ends the text, not a line. */
export function splitLogText(text: string): string[] {
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

/**
 * One stored line: the ISO timestamp padded to 30 characters, a space, the stream, a colon, a space, the text
 * (OpenWhisk's `DockerToActivationLogStore`).
 */
export function formatLogLine(time: number, stream: LogStream, text: string): string {
  return `${new Date(time).toISOString().padEnd(30, ' ')} ${stream}: ${text}`;
}

export class LogCollector {
  readonly #limitBytes: number;
  readonly #truncationText: string;
  readonly #lines: string[] = [];
  #bytes = 0;
  #truncated = false;
  // The prefix of the last time seen: floods write many lines per millisecond, and formatting a date is the
  // costliest part of storing a short line.
  #prefixTime = Number.NaN;
  #prefixes: Record<LogStream, string> = { stdout: '', stderr: '' };

  /** @param limitBytes the action's log limit; 0 disables collection entirely, as in OpenWhisk. */
  constructor(limitBytes: number) {
    this.#limitBytes = limitBytes;
    this.#truncationText = LOG_TRUNCATED(limitBytes);
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  /**
   * Adds output; multi-line text becomes one stored line per line, as Docker's log driver would record it. A line
   * that is this limit's truncation line, as a runtime writes it when it has bounded the output itself, ends
   * collection just as reaching the limit here does: the record gets one truncation line either way.
   */
  add(stream: LogStream, text: string, time: number = Date.now()): void {
    if (this.#limitBytes === 0 || this.#truncated) return;
    const body = text.endsWith('\n') ? text.slice(0, -1) : text;
    const prefix = this.#prefix(time, stream);
    // Text that fits whole (runtimes send many lines at once under a flood) is stored as one block cut into its
    // lines: one string per line, where prefix + text would make two (the host's garbage collector copies each).
    if (body.length < this.#limitBytes - this.#bytes && !body.includes(this.#truncationText)) {
      const multiline = body.includes('\n');
      const block = multiline ? prefix + body.replaceAll('\n', `\n${prefix}`) : prefix + body;
      // Each line and its newline: the block's separators stand for all newlines but the last.
      const size = Buffer.byteLength(block, 'utf8') + 1;
      if (this.#bytes + size <= this.#limitBytes) {
        this.#bytes += size;
        if (multiline) for (const line of block.split('\n')) this.#lines.push(line);
        else this.#lines.push(block);
        return;
      }
    }
    for (const part of body.split('\n')) {
      const size = logLineBytes(part);
      if (this.#bytes + size > this.#limitBytes || part === this.#truncationText) {
        this.#truncated = true;
        this.#lines.push(formatLogLine(time, 'stderr', this.#truncationText));
        return;
      }
      this.#bytes += size;
      this.#lines.push(prefix + part);
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

  #prefix(time: number, stream: LogStream): string {
    if (time !== this.#prefixTime) {
      this.#prefixTime = time;
      this.#prefixes = { stdout: formatLogLine(time, 'stdout', ''), stderr: formatLogLine(time, 'stderr', '') };
    }
    return this.#prefixes[stream];
  }
}
