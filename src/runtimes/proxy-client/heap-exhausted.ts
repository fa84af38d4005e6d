/** What Node.js (V8) and Python write to stderr when an action exhausts its heap: reported as OOM, like a kill. */
export const HEAP_EXHAUSTED = /heap out of memory|Reached heap limit|MemoryError/;
