/**
 * Off-heap memory inside the worker thread. A worker's heap limit does not cover Buffers and ArrayBuffers: their
 * memory lives outside the V8 heap, in the process Node-RED runs in, so `Buffer.alloc(1e9)` used to succeed under a
 * 128 MB limit. The Buffer allocators are checked before they allocate: a request that would take the thread's
 * off-heap memory past the action's memory limit ends the action as out of memory instead, before the host has
 * paid for it. Other off-heap growth (typed arrays, `Buffer.from`, streams) is caught by the host's watchdog
 * (offheap-watchdog.ts).
 */

const MB = 1024 * 1024;
/** Small allocations are checked once this much has been asked for since the last check (each check is ~10 us). */
const CHECK_EVERY = MB;

/** The log line that says why the action ended: `bytes` it asked for (`would reach`) or holds (`reached`). */
export function describeOffHeap(bytes: number, limitBytes: number, verb: 'reached' | 'would reach'): string {
  return `The action's off-heap memory (Buffers, ArrayBuffers) ${verb} ${Math.ceil(bytes / MB)} MB, past its memory limit of ${Math.round(limitBytes / MB)} MB.`;
}

/** Wraps the Buffer allocators; `exceeded` gets the reason and must end the thread. */
export function guardOffHeap(limitBytes: number, exceeded: (detail: string) => never): void {
  let asked = 0;
  const check = (size: number): void => {
    asked += size;
    if (size < CHECK_EVERY && asked < CHECK_EVERY) return;
    asked = 0;
    // `external` is this thread's (isolate's) off-heap memory, ArrayBuffers and Buffers included.
    const after = process.memoryUsage().external + size;
    if (after > limitBytes) exceeded(describeOffHeap(after, limitBytes, 'would reach'));
  };
  for (const name of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
    const allocate = Buffer[name] as (...args: unknown[]) => Buffer;
    (Buffer as unknown as Record<string, unknown>)[name] = function guarded(...args: unknown[]): Buffer {
      const size = args[0];
      if (typeof size === 'number' && size > 0) check(size);
      return Reflect.apply(allocate, Buffer, args) as Buffer;
    };
  }
}
