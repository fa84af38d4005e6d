/** Lines in a proxy's stderr that say how it ended, for runtimes that only see an exit code. */
import { TERMINATED } from '../../proxy/nodejs/stream-markers';

/** What Node.js (V8) and Python write when an action exhausts its heap: reported as OOM, like a kill. */
const HEAP_EXHAUSTED = /heap out of memory|Reached heap limit|MemoryError/;

export type Marker = 'heap-exhausted' | 'stopped-by-runtime';

/** The marker a line of a proxy's stderr carries, if any. */
export function markerOf(line: string): Marker | undefined {
  if (HEAP_EXHAUSTED.test(line)) return 'heap-exhausted';
  // What EdgeWhisk's proxies write when stopped with SIGTERM, which the engine never sends: the container runtime
  // stopped the container (`docker stop`, a daemon shutting down), so the action is not to blame.
  if (line.split('\n').includes(TERMINATED)) return 'stopped-by-runtime';
  return undefined;
}
