/** Helpers for the log-flood tests: what a flood stored, and how long it blocked the test process's event loop. */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sleep } from './engine';

/** Bytes of stored lines as the log limit counts them: each line (timestamp, stream, text) and its newline. */
export function storedBytes(lines: readonly string[]): number {
  return lines.reduce((sum, line) => sum + Buffer.byteLength(line, 'utf8') + 1, 0);
}

/** The largest event-loop delay of the test process while `work` runs (and just after, where a block shows). */
export async function maxLagMs<T>(work: () => Promise<T>): Promise<{ value: T; lag: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  try {
    const value = await work();
    // A block that ends with the activation is only measured once the loop turns again.
    await sleep(50);
    return { value, lag: histogram.max / 1e6 };
  } finally {
    histogram.disable();
  }
}
