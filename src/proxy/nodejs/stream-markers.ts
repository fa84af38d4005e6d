/**
 * Lines an action proxy writes to its output for the engine to read (docs/action-protocol.md#logs-and-sentinels).
 *
 * They live beside the Node.js proxy because the proxy ships as this folder alone (an image or a child process gets
 * dist/proxy/nodejs and its npm packages: src/runtimes/docker/proxy-source.ts), so it imports nothing outside it; the
 * engine's side imports them from here. The Python proxy (src/proxy/python/proxy.py) spells them again: it cannot
 * import TypeScript.
 */

/** Ends an activation's output, on stdout and on stderr, as OpenWhisk's runtimes write it. */
export const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX';

/** Written to stderr when the proxy is stopped by SIGTERM (`docker stop`, a daemon shutting down). */
export const TERMINATED = 'EdgeWhisk action proxy: stopped by SIGTERM';
