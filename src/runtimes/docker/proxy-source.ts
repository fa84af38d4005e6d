/**
 * The proxy files an EdgeWhisk image carries, and their digest: an image whose `org.edgewhisk.proxy-digest` label
 * differs from `proxyDigest()` was built from another version of EdgeWhisk.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Dockerode from 'dockerode';
import { builtFile } from '../../util/compiled-path';
import { BUILD_KINDS, EDGEWHISK_IMAGES, IMAGE_FORMAT, IMAGE_LABELS, kindOf, type BuildKind, type ImageKind } from './image-contract';
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
 * SHA-256 over the proxy files an image of `kind` gets (names and contents) and, for Node.js, the name and version
 * of each npm package bundled with it. An image whose `org.edgewhisk.proxy-digest` label differs was built from
 * another version of EdgeWhisk. Reads the files each time (a few, small): cache it where it is called often.
 */
export function proxyDigest(kind: BuildKind | ImageKind): string {
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
 * Whether the image for `kind` is there and holds this version's proxy: `missing`, `stale` (other proxy files,
 * an older image format, or not built by this builder) or `current`.
 */
export async function imageStatus(docker: Dockerode, kind: BuildKind | ImageKind): Promise<'missing' | 'stale' | 'current'> {
  const build = kindOf(kind);
  let labels: Record<string, string> | undefined;
  try {
    labels = (await docker.getImage(EDGEWHISK_IMAGES[BUILD_KINDS[build]]).inspect()).Config.Labels ?? undefined;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return 'missing';
    throw error;
  }
  const current = labels?.[IMAGE_LABELS.format] === IMAGE_FORMAT && labels[IMAGE_LABELS.proxyDigest] === proxyDigest(build);
  return current ? 'current' : 'stale';
}
