/**
 * The proxy's stdout and stderr, bounded where the output is produced: an activation's two streams together may
 * carry at most its log limit; past it, further output is dropped and one truncation line follows, in OpenWhisk's
 * words. The log sentinels always get through, each on a line of its own.
 *
 * Output is written to the descriptors synchronously, not through Node.js's streams. On Linux, Node.js writes to
 * the engine's pipes asynchronously, so an action logging in a loop queued every line in the proxy's memory
 * (about 300 bytes each): 2e6 lines took a 256 MB container past its memory limit before the engine had read a
 * tenth of them, and an action that never yields delivered nothing at all. Written synchronously, the engine's
 * reading paces the action (as a pipe does any other program), memory stays flat, and everything an activation
 * wrote is in the pipe before its answer is sent. Lines are coalesced into chunks of up to 64 KiB (a line after a
 * pause still goes out at once), so a flood costs the engine a read per chunk, not per line; what is still
 * waiting when the process exits is written in its 'exit' event.
 *
 * The truncation line goes to the stream that reached the limit, right after its last line, once the other
 * stream's output is written: the engine reads the two pipes independently and stops collecting at that line, so
 * it must not overtake output written before it. The engine stores it as stderr.
 */
import { writeSync } from 'node:fs';

/** Keep in step with `LOG_TRUNCATED` in src/activations/log-collector.ts (checked by a test). */
export const LOG_TRUNCATED = (limitBytes: number): string =>
  `Logs were truncated because the total bytes size exceeds the limit of ${limitBytes} bytes.`;

/** When the engine does not say (a proxy run by hand, another invoker): OpenWhisk's largest log limit, 10 MB. */
export const DEFAULT_LOG_LIMIT = 10 * 1024 * 1024;

/**
 * Bytes each line costs beyond its text and newline: the engine stores it as `<ISO time padded to 30> <stream>: `
 * (OpenWhisk's format), and the limit bounds what is stored. Counting the same here means the proxy stops where
 * the engine's own count would, not several times later for short lines.
 */
export const LINE_OVERHEAD = 39;

/** Coalesced output is written once this much is waiting. */
const CHUNK_BYTES = 64 * 1024;
/** Output within this many ms of the last write waits (at most until the next turn of the event loop). */
const COALESCE_MS = 5;
/** Blocks the thread for a moment while the pipe is full (the descriptor is non-blocking). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

type Name = 'stdout' | 'stderr';
type Callback = (error?: Error | null) => void;

/** Writes all of `data` to `fd`, waiting while the reader catches up; gives up silently once the reader is gone. */
function writeAll(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      Atomics.wait(PAUSE, 0, 0, 1);
    }
  }
}

class Sink {
  readonly #fd: number;
  #pending: (string | Buffer)[] = [];
  #pendingBytes = 0;
  #scheduled = false;
  #lastWrite = 0;
  /** Whether the last byte that got through was not a newline: a sentinel must then start a new line. */
  openLine = false;

  constructor(fd: number) {
    this.#fd = fd;
  }

  /** Output that counts: coalesced with what follows it closely, else written at once. */
  put(data: string | Buffer): void {
    if (data.length === 0) return;
    this.openLine = (typeof data === 'string' ? data.charCodeAt(data.length - 1) : data[data.length - 1]) !== 10;
    this.#pending.push(data);
    this.#pendingBytes += data.length;
    if (this.#pendingBytes >= CHUNK_BYTES || performance.now() - this.#lastWrite >= COALESCE_MS) {
      this.flush();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.flush();
      });
    }
  }

  /** Writes what is waiting. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const parts = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    const data = parts.every((p) => typeof p === 'string') ? Buffer.from(parts.join(''), 'utf8') : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
    this.#lastWrite = performance.now();
    writeAll(this.#fd, data);
  }

  /** Writes `text` after everything before it (a sentinel, the truncation line), now. */
  write(text: string): void {
    this.put(text);
    this.flush();
  }
}

function bytesOf(chunk: unknown, encoding: unknown): string | Buffer | undefined {
  if (typeof chunk === 'string') {
    return typeof encoding === 'string' && !/^utf-?8$/i.test(encoding) && Buffer.isEncoding(encoding) ? Buffer.from(chunk, encoding) : chunk;
  }
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return undefined;
}

function newlines(data: string | Buffer): number {
  let count = 0;
  for (let at = data.indexOf('\n'); at >= 0; at = data.indexOf('\n', at + 1)) count++;
  return count;
}

/** The length of the longest run of whole lines at the start of `bytes` that costs at most `budget`. */
function wholeLinesWithin(bytes: Buffer, budget: number): number {
  let end = 0;
  let lines = 0;
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) {
    if (at + 1 + LINE_OVERHEAD * (lines + 1) > budget) break;
    end = at + 1;
    lines++;
  }
  return end;
}

export class BoundedOutput {
  readonly #sinks: Record<Name, Sink> = { stdout: new Sink(1), stderr: new Sink(2) };
  #limit = DEFAULT_LOG_LIMIT;
  #used = 0;
  #truncated = false;
  /**
   * Callbacks of writes, by function, with how often each is due: called together at the next turn. `console.log`
   * passes the same callback every time, and one `process.nextTick` per line would queue millions of ticks
   * (hundreds of MB) while a loop floods.
   */
  #callbacks = new Map<Callback, number>();

  constructor() {
    this.#wrap('stdout');
    this.#wrap('stderr');
    process.on('exit', () => this.flush());
  }

  /**
   * Starts counting for a request: `/init`, or a `/run`. A cold activation's init and first run are one
   * activation with one set of logs, so that run goes on counting (`continuing`).
   */
  begin(limit: number | undefined, continuing = false): void {
    this.#limit = limit ?? DEFAULT_LOG_LIMIT;
    if (continuing) return;
    this.#used = 0;
    this.#truncated = false;
  }

  /** Writes the log sentinels after everything the activation wrote. */
  sentinels(sentinel: string): void {
    this.flush();
    for (const name of ['stdout', 'stderr'] as const) {
      const sink = this.#sinks[name];
      sink.write(`${sink.openLine ? '\n' : ''}${sentinel}\n`);
    }
  }

  /** Writes everything coalesced so far (a successful init answers without sentinels). */
  flush(): void {
    this.#sinks.stdout.flush();
    this.#sinks.stderr.flush();
  }

  #wrap(name: Name): void {
    const stream = process[name];
    const sink = this.#sinks[name];
    stream.write = ((chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
      const done = (typeof encoding === 'function' ? encoding : typeof callback === 'function' ? callback : undefined) as Callback | undefined;
      const data = bytesOf(chunk, encoding);
      if (data === undefined) throw new TypeError('The "chunk" argument must be of type string or an instance of Buffer or Uint8Array.');
      this.#take(sink, data);
      if (done !== undefined) this.#callLater(done);
      return true;
    }) as typeof stream.write;
  }

  /**
   * Passes what fits in the limit; of the first write that does not, its whole lines that fit, then the note. A
   * line still open when the limit is reached is cut there: the note starts on a line of its own.
   */
  #take(sink: Sink, data: string | Buffer): void {
    // Past the limit, or a limit of 0 (the engine collects nothing then, as OpenWhisk): dropped, no note.
    if (this.#truncated || this.#limit === 0) return;
    const size = (typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length) + LINE_OVERHEAD * newlines(data);
    if (this.#used + size <= this.#limit) {
      this.#used += size;
      sink.put(data);
      return;
    }
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const fits = wholeLinesWithin(bytes, this.#limit - this.#used);
    this.#truncated = true;
    if (fits > 0) sink.put(bytes.subarray(0, fits));
    (sink === this.#sinks.stdout ? this.#sinks.stderr : this.#sinks.stdout).flush();
    sink.write(`${sink.openLine ? '\n' : ''}${LOG_TRUNCATED(this.#limit)}\n`);
  }

  #callLater(done: Callback): void {
    const due = this.#callbacks.get(done) ?? 0;
    this.#callbacks.set(done, due + 1);
    if (this.#callbacks.size > 1 || due > 0) return;
    setImmediate(() => {
      const callbacks = this.#callbacks;
      this.#callbacks = new Map();
      for (const [callback, count] of callbacks) for (let i = 0; i < count; i++) callback(null);
    });
  }
}
