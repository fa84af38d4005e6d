/**
 * Whether this Node-RED may drive a Docker daemon. The daemon's socket is root-equivalent on its host, so Docker
 * mode needs an editor that not everyone on the network can deploy to: `adminAuth` in settings.js, or the admin's
 * explicit acknowledgement of the risk there (`edgewhisk: { allowDockerWithoutAdminAuth: true }`).
 *
 * Both are read as plain properties of `RED.settings`, which Node-RED fills from settings.js alone (read-only
 * getters); `RED.settings.get()` is avoided because it falls back to the runtime's stored settings, and nothing a
 * flow carries can reach either.
 */

export type DockerGate =
  | { readonly allowed: true; readonly via: 'adminAuth' | 'acknowledged' }
  | { readonly allowed: false; readonly reason: string };

/** How to allow Docker mode, for every message that refuses it. */
export const HOW_TO_ALLOW =
  "set adminAuth in Node-RED's settings.js so the editor needs a login, or, to accept the risk without one, add " +
  '`edgewhisk: { allowDockerWithoutAdminAuth: true }` to settings.js, then restart Node-RED';

function property(settings: unknown, key: string): unknown {
  if (typeof settings !== 'object' || settings === null) return undefined;
  try {
    return (settings as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** True when anonymous users may deploy anyway (`adminAuth.default` granting `*` or a write permission). */
function anonymousCanWrite(adminAuth: object): boolean {
  const anonymous = property(adminAuth, 'default');
  const permissions = property(anonymous, 'permissions');
  const list = Array.isArray(permissions) ? permissions : [permissions];
  return list.some((p) => typeof p === 'string' && (p === '*' || p.endsWith('.write')));
}

export function dockerGate(settings: unknown): DockerGate {
  const adminAuth = property(settings, 'adminAuth');
  const authenticated = typeof adminAuth === 'object' && adminAuth !== null && !anonymousCanWrite(adminAuth);
  if (authenticated) return { allowed: true, via: 'adminAuth' };
  if (property(property(settings, 'edgewhisk'), 'allowDockerWithoutAdminAuth') === true) return { allowed: true, via: 'acknowledged' };
  const reason =
    typeof adminAuth === 'object' && adminAuth !== null
      ? "Node-RED's adminAuth lets anonymous users deploy flows (its default permissions include write)"
      : 'Node-RED has no adminAuth: anyone who reaches the editor can deploy flows';
  return { allowed: false, reason };
}

/** The `docker.instance` of an engine node: unique per config node, in the characters Docker names allow. */
export function dockerInstance(nodeId: string): string {
  return `nr-${nodeId.replace(/[^a-zA-Z0-9_.-]/g, '_')}`.slice(0, 63);
}
