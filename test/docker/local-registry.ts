/**
 * A minimal read-only Docker Registry (HTTP API v2) for the pull tests: there is no internet and no registry here,
 * and the daemon pulls from 127.0.0.0/8 over plain HTTP (loopback registries are insecure-allowed by default).
 * It serves one image, made from a `docker save` of an image the test built, under any tag of one repository, and
 * records every request it answered, so a test can prove whether (and what) the daemon pulled from it.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type Dockerode from 'dockerode';
import * as tar from 'tar';

const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
const CONFIG_TYPE = 'application/vnd.docker.container.image.v1+json';
const LAYER_TYPE = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** Content-addressed bytes: `digest` is the sha256 of `data`, which is how the daemon verifies what it got. */
export interface Blob {
  readonly digest: string;
  readonly type: string;
  readonly data: Buffer;
}

export interface ServedImage {
  readonly manifest: Blob;
  readonly config: Blob;
  readonly layers: readonly Blob[];
}

export interface Served {
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

const blob = (type: string, data: Buffer): Blob => ({ digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, type, data });

/**
 * `image` (on `docker`) as a registry holds it. The config is served byte for byte, so its digest stays the image
 * id; each layer tar is gzipped, and the config's diff_ids stay the digests of the uncompressed tars (the daemon
 * checks the download against the manifest's digest, and the unpacked layer against the diff_id).
 */
export async function savedImage(docker: Dockerode, image: string): Promise<ServedImage> {
  const dir = await mkdtemp(join(tmpdir(), 'ew-saved-image-'));
  try {
    await tar.x({ input: (await docker.getImage(image).get()) as AsyncIterable<Uint8Array>, cwd: dir });
    // manifest.json lists the config and layer tars by path, in the legacy and in the OCI layout of `docker save`.
    const [entry] = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
    if (entry === undefined) throw new Error(`the docker save of ${image} holds no image`);
    const config = blob(CONFIG_TYPE, await readFile(join(dir, entry.Config)));
    const layers = await Promise.all(entry.Layers.map(async (path) => blob(LAYER_TYPE, gzipSync(await readFile(join(dir, path))))));
    const descriptor = (b: Blob) => ({ mediaType: b.type, size: b.data.length, digest: b.digest });
    const manifest = { schemaVersion: 2, mediaType: MANIFEST_TYPE, config: descriptor(config), layers: layers.map(descriptor) };
    return { manifest: blob(MANIFEST_TYPE, Buffer.from(JSON.stringify(manifest))), config, layers };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class LocalRegistry {
  /** Every request answered, in order. */
  readonly requests: Served[] = [];
  /**
   * While set, a blob is answered with its headers and half its bytes, then nothing: a registry that stalls
   * mid-layer, until `resume()`.
   */
  stallBlobs = false;
  readonly #stalled: { res: ServerResponse; rest: Buffer }[] = [];
  readonly repository: string;
  readonly #image: ServedImage;
  readonly #blobs: ReadonlyMap<string, Blob>;
  readonly #server: Server;
  #host = '';

  private constructor(repository: string, image: ServedImage) {
    this.repository = repository;
    this.#image = image;
    this.#blobs = new Map([image.config, ...image.layers].map((b) => [b.digest, b]));
    this.#server = createServer((req, res) => this.#answer(req, res));
  }

  /** Serves `image` as `<repository>:<any tag>` (and by its manifest digest) on 127.0.0.1, on a free port. */
  static async start(repository: string, image: ServedImage): Promise<LocalRegistry> {
    const registry = new LocalRegistry(repository, image);
    await new Promise<void>((resolve) => registry.#server.listen(0, '127.0.0.1', resolve));
    registry.#host = `127.0.0.1:${(registry.#server.address() as AddressInfo).port}`;
    return registry;
  }

  /** `127.0.0.1:<port>`: the registry part of an image reference. */
  get host(): string {
    return this.#host;
  }

  /** The reference the daemon pulls `tag` by: `127.0.0.1:<port>/<repository>:<tag>`. */
  image(tag: string): string {
    return `${this.#host}/${this.repository}:${tag}`;
  }

  /** Stops listening and drops the connections the daemon keeps alive, so a pull from now on is refused. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #stall(req: IncomingMessage, res: ServerResponse, found: Blob): void {
    this.requests.push({ method: 'GET', path: new URL(req.url ?? '/', 'http://registry').pathname, status: 200 });
    res.writeHead(200, { 'Docker-Distribution-API-Version': 'registry/2.0', 'Content-Type': found.type, 'Content-Length': found.data.length, 'Docker-Content-Digest': found.digest });
    const half = Math.floor(found.data.length / 2);
    res.write(found.data.subarray(0, half));
    this.#stalled.push({ res, rest: found.data.subarray(half) });
  }

  /** Stops stalling: the stalled downloads get the rest of their bytes, and later ones are answered whole. */
  resume(): void {
    this.stallBlobs = false;
    for (const { res, rest } of this.#stalled.splice(0)) if (!res.destroyed) res.end(rest);
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://registry').pathname;
    const send = (status: number, type: string, body: Buffer, digest?: string): void => {
      this.requests.push({ method: req.method ?? '', path, status });
      res.writeHead(status, {
        'Docker-Distribution-API-Version': 'registry/2.0',
        'Content-Type': type,
        'Content-Length': body.length,
        ...(digest === undefined ? {} : { 'Docker-Content-Digest': digest }),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    // The registry's error body: {"errors":[{code, message}]}.
    const fail = (code: string, message: string): void => send(404, 'application/json', Buffer.from(JSON.stringify({ errors: [{ code, message }] })));
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail('UNSUPPORTED', 'this registry is read-only');
    // The version check the daemon makes first: 200 means "API v2, no authentication".
    if (path === '/v2/' || path === '/v2') return send(200, 'application/json', Buffer.from('{}'));
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
    if (match === null) return fail('UNSUPPORTED', `no such endpoint: ${path}`);
    const [, name, kind, reference] = match as unknown as [string, string, string, string];
    if (name !== this.repository) return fail('NAME_UNKNOWN', `repository ${name} is not known to this registry`);
    if (kind === 'manifests') {
      const { manifest } = this.#image;
      // A digest names one manifest; anything else is a tag, and every tag names the one image.
      if (reference.startsWith('sha256:') && reference !== manifest.digest) return fail('MANIFEST_UNKNOWN', `manifest ${reference} is unknown`);
      return send(200, manifest.type, manifest.data, manifest.digest);
    }
    const found = this.#blobs.get(reference);
    if (found === undefined) return fail('BLOB_UNKNOWN', `blob ${reference} is unknown`);
    if (this.stallBlobs && req.method === 'GET') return this.#stall(req, res, found);
    return send(200, found.type, found.data, found.digest);
  }
}
