/**
 * The proxy files an EdgeWhisk image carries, and their digest: an image whose `org.edgewhisk.proxy-digest` label
 * differs from `proxyDigest()` was built from another version of EdgeWhisk.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Dockerode from 'dockerode';
import { builtFile } from '../../util/compiled-path';
import { IMAGE_FORMAT, IMAGE_LABELS, imageTag, kindOf, type BuildKind, type ImageKind } from './image-contract';
import { bundleDependencies, requiredPackages, type BundledPackage } from './node-modules';

export interface ProxySource {
  /** The directory the proxy files are in (dist/proxy/<kind>, or src/proxy/python under vitest). */
  readonly dir: string;
  readonly files: readonly string[];
  /** npm packages the proxy requires (Node.js only). */
  readonly packages: readonly BundledPackage[];
}

/** The proxy's files as the runtime and the builder see them: `builtFile` finds dist/ from src/ too. */
export function proxySource(kind: BuildKind): ProxySource {
  const proxies = join(__dirname, '..', '..', 'proxy');
  if (kind === 'python') {
    const dir = dirname(builtFile(join(proxies, 'python'), 'proxy.py'));
    return { dir, files: readdirSync(dir).filter((f) => f.endsWith('.py')).sort(), packages: [] };
  }
  const dir = dirname(builtFile(join(proxies, 'nodejs'), 'server.js'));
  const files = readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
  const required = new Set(files.flatMap((f) => requiredPackages(readFileSync(join(dir, f), 'utf8'))));
  return { dir, files, packages: bundleDependencies([...required], dir, 'proxy/nodejs') };
}

/**
 * SHA-256 over the proxy files an image of `kind` (a language or an action kind) gets (names and contents) and,
 * for Node.js, the name and version of each npm package bundled with it: the same for every Node.js major, whose
 * images carry the same proxy. An image whose `org.edgewhisk.proxy-digest` label differs was built from another version of EdgeWhisk. Reads the
 * files each time (a few, small): cache it where it is called often.
 */
export function proxyDigest(kind: string): string {
  const build = kindOf(kind);
  const source = proxySource(build);
  const hash = createHash('sha256').update(`edgewhisk-proxy/1 ${build}\n`);
  for (const file of source.files) {
    const data = readFileSync(join(source.dir, file));
    hash.update(`file ${file} ${data.length}\n`).update(data);
  }
  for (const pkg of [...source.packages].map((p) => `${p.name}@${p.version}`).sort()) hash.update(`package ${pkg}\n`);
  return hash.digest('hex');
}

/**
 * Whether the image of `kind` (`imageTag(kind)`, or `image` when given) is there and holds this version's proxy:
 * `missing`, `stale` (other proxy files, an older image format, another kind, or not built by this builder) or
 * `current`. Each image is judged on its own: the nodejs:22 image may be current while nodejs:24's is stale.
 */
export async function imageStatus(docker: Dockerode, kind: ImageKind, image: string = imageTag(kind)): Promise<'missing' | 'stale' | 'current'> {
  let labels: Record<string, string> | undefined;
  try {
    labels = (await docker.getImage(image).inspect()).Config.Labels ?? undefined;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return 'missing';
    throw error;
  }
  const current =
    labels?.[IMAGE_LABELS.format] === IMAGE_FORMAT &&
    // An image of another kind under this tag (another major's node) would run the action on the wrong Node.js.
    labels[IMAGE_LABELS.kind] === kind &&
    labels[IMAGE_LABELS.proxyDigest] === proxyDigest(kind);
  return current ? 'current' : 'stale';
}
