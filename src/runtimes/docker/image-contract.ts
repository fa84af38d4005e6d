/**
 * The contract every EdgeWhisk action image keeps, whichever way it was built: tags, labels, paths, user, command
 * and environment. The builder writes it into images; the runtime reads it back (labels) to decide how to talk to
 * a container.
 */
import { PROXY_PORT, SOCKET_MOUNT, SOCKET_PATH } from './container-config';

/** The action kinds EdgeWhisk builds images for, and their tags. */
export const EDGEWHISK_IMAGES = Object.freeze({
  'nodejs:20': 'edgewhisk/action-nodejs:20',
  'python:3': 'edgewhisk/action-python:3',
} as const);

export type ImageKind = keyof typeof EDGEWHISK_IMAGES;

/** What `--kind` names: the proxy's language. */
export type BuildKind = 'nodejs' | 'python';

export const BUILD_KINDS: Readonly<Record<BuildKind, ImageKind>> = Object.freeze({ nodejs: 'nodejs:20', python: 'python:3' });

/** The labels on every EdgeWhisk image. */
export const IMAGE_LABELS = Object.freeze({
  /** `true` */
  image: 'org.edgewhisk.image',
  /** The action kind, e.g. `nodejs:20`. */
  kind: 'org.edgewhisk.kind',
  /** `unix`: the proxy listens on `SOCKET` when that variable is set. */
  transport: 'org.edgewhisk.transport',
  /** `online` or `offline`. */
  build: 'org.edgewhisk.build',
  /** `proxyDigest(kind)` of the proxy files in the image. */
  proxyDigest: 'org.edgewhisk.proxy-digest',
  /** `IMAGE_FORMAT` of the builder that made the image. */
  format: 'org.edgewhisk.image-format',
  /** The interpreter's version, e.g. `20.20.2` or `3.11.7`. */
  runtimeVersion: 'org.edgewhisk.runtime-version',
  source: 'org.opencontainers.image.source',
  version: 'org.opencontainers.image.version',
} as const);

/** The bases of online builds; both keep their interpreter at /usr/local/bin like the offline images. */
export const BASE_IMAGES: Readonly<Record<BuildKind, string>> = Object.freeze({
  nodejs: 'node:20-bookworm-slim',
  python: 'python:3.11-slim-bookworm',
});

/**
 * The version of the image contract (paths, user, environment, labels, directories). Raised when the builder
 * changes what an image holds, so images from an older builder read as stale even though their proxy is current.
 */
export const IMAGE_FORMAT = '1';

/** The user every EdgeWhisk image runs as (nobody:nogroup). */
export const IMAGE_USER = '65534:65534';
/** The directory the runtime mounts per container; the proxy's socket goes there. */
export const SOCKET_DIR = SOCKET_MOUNT;
export { PROXY_PORT, SOCKET_PATH };

/** Where the proxies and their npm packages live in the image. */
export const BUNDLE = '/opt/edgewhisk';

export const COMMANDS: Readonly<Record<BuildKind, readonly string[]>> = {
  nodejs: ['/usr/local/bin/node', `${BUNDLE}/proxy/nodejs/server.js`],
  python: ['/usr/local/bin/python3', '-u', `${BUNDLE}/proxy/python/proxy.py`],
};

export const ENVIRONMENT: Readonly<Record<BuildKind, Readonly<Record<string, string>>>> = {
  nodejs: { LANG: 'C.UTF-8', TMPDIR: '/tmp', PORT: String(PROXY_PORT), HOST: '0.0.0.0' },
  python: { LANG: 'C.UTF-8', TMPDIR: '/tmp', PORT: String(PROXY_PORT), HOST: '0.0.0.0', PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
};


export function kindOf(kind: BuildKind | ImageKind): BuildKind {
  const build = kind.split(':')[0];
  if (build !== 'nodejs' && build !== 'python') throw new Error(`No EdgeWhisk image for kind ${kind}.`);
  return build;
}
