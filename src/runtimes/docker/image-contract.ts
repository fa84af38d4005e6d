/**
 * The contract every EdgeWhisk action image keeps, whichever way it was built: tags, labels, paths, user, command
 * and environment. The builder writes it into images; the runtime reads it back (labels) to decide how to talk to
 * a container.
 *
 * Images follow the same rule as kinds: a kind names the interpreter that really runs the action, so there is one
 * Node.js image per supported major (`edgewhisk/action-nodejs:<major>` for kind `nodejs:<major>`, holding that
 * major's node) and one Python image (`edgewhisk/action-python:3`).
 */
import { nodeMajorOf, SUPPORTED_NODE_MAJORS } from '../node-kinds';
import { PROXY_PORT, SOCKET_MOUNT, SOCKET_PATH } from './container-config';

/** An action kind EdgeWhisk images are made for: `nodejs:<major>` or `python:3`. */
export type ImageKind = `nodejs:${number}` | 'python:3';

/** What `--kind` names: the proxy's language. */
export type BuildKind = 'nodejs' | 'python';

export const PYTHON_KIND = 'python:3';

/** The kind of the Node.js image for `major`. */
export function nodeImageKind(major: number): ImageKind {
  return `nodejs:${major}`;
}

/** The tag of the image for `kind`: `edgewhisk/action-nodejs:<major>` or `edgewhisk/action-python:3`. */
export function imageTag(kind: ImageKind): string {
  return kind === PYTHON_KIND ? 'edgewhisk/action-python:3' : `edgewhisk/action-nodejs:${String(nodeMajorOf(kind))}`;
}

/** The image kinds EdgeWhisk builds, per language: a Node.js kind per supported major, and python:3. */
export const BUILD_KINDS: Readonly<Record<BuildKind, readonly ImageKind[]>> = Object.freeze({
  nodejs: Object.freeze(SUPPORTED_NODE_MAJORS.map(nodeImageKind)),
  python: Object.freeze([PYTHON_KIND] as const),
});

/**
 * Kind → tag of every image EdgeWhisk builds: the Docker runtime's default `docker.images`, whose keys (and
 * `blackbox`) are the kinds it runs.
 */
export const EDGEWHISK_IMAGES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries([...BUILD_KINDS.nodejs, ...BUILD_KINDS.python].map((kind) => [kind, imageTag(kind)])),
);

/**
 * The bases of online builds, per image kind: the official slim image of each Node.js major, and Python's. All keep
 * their interpreter at /usr/local/bin like the offline images.
 */
export const BASE_IMAGES: Readonly<Record<string, string>> = Object.freeze({
  ...Object.fromEntries(SUPPORTED_NODE_MAJORS.map((major) => [nodeImageKind(major), `node:${major}-bookworm-slim`])),
  [PYTHON_KIND]: 'python:3.11-slim-bookworm',
});

/** The labels on every EdgeWhisk image. */
export const IMAGE_LABELS = Object.freeze({
  /** `true` */
  image: 'org.edgewhisk.image',
  /** The action kind, e.g. `nodejs:24`: the major of the node the image really holds. */
  kind: 'org.edgewhisk.kind',
  /** `unix`: the proxy listens on `SOCKET` when that variable is set. */
  transport: 'org.edgewhisk.transport',
  /** `online` or `offline`. */
  build: 'org.edgewhisk.build',
  /** `proxyDigest(kind)` of the proxy files in the image. */
  proxyDigest: 'org.edgewhisk.proxy-digest',
  /** `IMAGE_FORMAT` of the builder that made the image. */
  format: 'org.edgewhisk.image-format',
  /** The interpreter's version, e.g. `24.11.1` or `3.11.7`. */
  runtimeVersion: 'org.edgewhisk.runtime-version',
  source: 'org.opencontainers.image.source',
  version: 'org.opencontainers.image.version',
} as const);

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

/**
 * The proxy language of a language or an action kind (`nodejs:<any major>`, `python:3`, as read from an image's
 * label too); throws for any other kind.
 */
export function kindOf(kind: string): BuildKind {
  if (kind === 'nodejs' || nodeMajorOf(kind) !== undefined) return 'nodejs';
  if (kind === 'python' || kind === PYTHON_KIND) return 'python';
  throw new Error(`No EdgeWhisk image for kind ${kind}.`);
}

/** Whether `kind` is one EdgeWhisk images are made for (whether or not its major is still supported). */
export function isImageKind(kind: string): kind is ImageKind {
  return kind === PYTHON_KIND || nodeMajorOf(kind) !== undefined;
}

/** The kind of the EdgeWhisk image tagged `image` (`edgewhisk/action-nodejs:22` → `nodejs:22`), if it is one. */
export function imageKindOf(image: string): ImageKind | undefined {
  if (image === imageTag(PYTHON_KIND)) return PYTHON_KIND;
  const major = /^edgewhisk\/action-nodejs:(\d+)$/.exec(image)?.[1];
  return major === undefined ? undefined : nodeImageKind(Number(major));
}

/**
 * The command that builds the image of `kind`, online or offline; undefined for a Node.js major EdgeWhisk no longer
 * builds. Offline, a Node.js image takes the major of the node binary it is built from, which is this process's
 * node unless `--node` names another: an image of another major needs its binary named.
 */
export function buildCommand(kind: string, offline: boolean): string | undefined {
  const major = nodeMajorOf(kind);
  if (major !== undefined && !SUPPORTED_NODE_MAJORS.includes(major)) return undefined;
  const words = ['npx edgewhisk build-images', ...(offline ? ['--offline'] : []), `--kind ${kindOf(kind)}`];
  if (offline && major !== undefined && String(major) !== process.versions.node.split('.')[0]) words.push(`--node <path of a Node.js ${major} binary>`);
  return words.join(' ');
}

/** What to say of an image of `kind` that EdgeWhisk no longer builds (a retired Node.js major). */
export function notBuilt(kind: string): string {
  return `EdgeWhisk no longer builds images for ${kind}: its Node.js images are ${BUILD_KINDS.nodejs.map(imageTag).join(', ')} (point docker.images at one of them)`;
}
