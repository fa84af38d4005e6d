/**
 * Node.js action kinds. A kind names the Node.js major that really runs the action: the worker and process
 * runtimes run the host's own Node (`process.execPath`), so they offer exactly `nodejs:<host major>`; the Docker
 * runtime offers a kind per EdgeWhisk image (one per supported major). `nodejs:default` resolves to the newest
 * Node.js kind of the runtime an action lands on, as OpenWhisk resolves it to its default Node.js kind.
 *
 * Kinds of Node.js lines EdgeWhisk no longer supports (`nodejs:20`, the kind flows saved before Node.js 22 became
 * the floor) are kept working: where no runtime offers them they resolve like `nodejs:default`, and the engine
 * reports the substitution (see `EngineCore.resolveKind`).
 */

/** The Node.js majors EdgeWhisk supports and builds Docker images for (the maintained LTS lines). */
export const SUPPORTED_NODE_MAJORS: readonly number[] = Object.freeze([22, 24]);

/** Kinds of retired Node.js lines that existing actions and flows may still name. */
export const RETIRED_NODE_KINDS: readonly string[] = Object.freeze(['nodejs:20']);

export const DEFAULT_NODE_KIND = 'nodejs:default';

export function nodeKind(major: number | string): string {
  return `nodejs:${major}`;
}

/** The major of a `nodejs:<major>` kind, or undefined for any other kind (`nodejs:default` included). */
export function nodeMajorOf(kind: string): number | undefined {
  const match = /^nodejs:(\d+)$/.exec(kind);
  return match === null ? undefined : Number(match[1]);
}

/** The kind of the Node.js this process runs: what the in-process and child-process runtimes provide. */
export function hostNodeKind(version: string = process.versions.node): string {
  return nodeKind(version.split('.')[0] as string);
}

/** The newest `nodejs:<major>` among `kinds`, or undefined when there is none. */
export function newestNodeKind(kinds: readonly string[]): string | undefined {
  let best: number | undefined;
  for (const kind of kinds) {
    const major = nodeMajorOf(kind);
    if (major !== undefined && (best === undefined || major > best)) best = major;
  }
  return best === undefined ? undefined : nodeKind(best);
}
