/**
 * Builds EdgeWhisk's own action images for the Docker runtime: `edgewhisk/action-nodejs:<major>` for each supported
 * Node.js major with the Node.js action proxy and the npm packages it requires, `edgewhisk/action-python:3` with
 * the Python proxy.
 *
 * Two ways to the same image contract (paths, user, environment, labels, command):
 * - online (default): a Dockerfile on the official `node:<major>` / `python` slim images, pulled from a registry;
 *   every supported major unless told which;
 * - offline: an image `FROM scratch` holding node binaries of this host (the running node unless given others;
 *   each binary's own major picks its image) and its `python3`, with the shared libraries they load, for machines
 *   that reach no registry (a Home Assistant box, an air-gapped site, CI without pulls).
 *
 * The context is assembled in a temporary directory, sent as a tar stream to the daemon's classic builder, and
 * checked inside the build: a final `RUN` loads the proxy as uid 65534, so an image that could not serve is never
 * tagged. The runtime tells EdgeWhisk's images by their labels: `org.edgewhisk.transport=unix` lets it talk to the
 * proxy over the Unix socket in the directory it mounts at /run/edgewhisk, and `org.edgewhisk.proxy-digest`
 * (compare with `proxyDigest()`) tells an image built from another version of the proxy.
 */
import { execFile } from 'node:child_process';
import { realpathSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type Dockerode from 'dockerode';
import * as tar from 'tar';
import { copyFile, copyTree, copyWithLibraries, isElf, makeDir, stripDebugInfo } from './host-files';
import { copyPython, hostPython } from './host-python';

import { SUPPORTED_NODE_MAJORS } from '../runtimes/node-kinds';
import { dockerfile } from './dockerfile';
import { BASE_IMAGES, BUNDLE, imageTag, kindOf, nodeImageKind, PYTHON_KIND, SOCKET_DIR, type BuildKind, type ImageKind } from '../runtimes/docker/image-contract';
import { proxySource, type ProxySource } from '../runtimes/docker/proxy-source';

export * from '../runtimes/docker/image-contract';
export { imageStatus, proxyDigest } from '../runtimes/docker/proxy-source';

const run = promisify(execFile);

export interface BuildOptions {
  /** Build `FROM scratch` from the host's own binaries instead of pulling base images. @default false */
  readonly offline?: boolean;
  /** The proxy languages to build images for. @default ['nodejs', 'python'] */
  readonly kinds?: readonly BuildKind[];
  /**
   * Offline builds only: the node binaries to build Node.js images from, one image each, tagged by the binary's own
   * major (`edgewhisk/action-nodejs:<major>`), which must be one of `SUPPORTED_NODE_MAJORS`.
   * @default [process.execPath]
   */
  readonly nodeBinaries?: readonly string[];
  /** Online builds only: the Node.js majors to build images for, each from `node:<major>-bookworm-slim`. @default SUPPORTED_NODE_MAJORS */
  readonly nodeMajors?: readonly number[];
  /** Receives each line of progress (pulls, build steps, the proxy check's output). */
  readonly onProgress?: (line: string) => void;
}

export interface BuiltImage {
  readonly tag: string;
  /** `sha256:…` */
  readonly id: string;
  /** Bytes, as `docker images` counts them. */
  readonly size: number;
  readonly seconds: number;
}

/** One image to build: its kind and, offline, the node binary it gets (with that binary's version). */
interface Target {
  readonly kind: ImageKind;
  readonly node?: { readonly binary: string; readonly version: string };
}

/**
 * Builds the images of `options.kinds` one after the other, and tags them `imageTag(kind)`. Which Node.js images
 * is decided first (offline by asking each binary its version), so a binary of an unsupported major fails the
 * whole build before any image is made.
 */
export async function buildImages(docker: Dockerode, options: BuildOptions = {}): Promise<BuiltImage[]> {
  const offline = options.offline === true;
  const targets: Target[] = [];
  const languages = new Set(options.kinds ?? (['nodejs', 'python'] as const));
  for (const language of languages) {
    if (language !== 'nodejs' && language !== 'python') throw new Error(`Unknown image kind ${String(language)}: nodejs or python.`);
  }
  if (offline && options.nodeMajors !== undefined) throw new Error('nodeMajors is for online builds: an offline build takes the majors of its nodeBinaries.');
  if (!offline && options.nodeBinaries !== undefined) throw new Error('nodeBinaries is for offline builds: an online build takes nodeMajors.');
  if (languages.has('nodejs')) {
    targets.push(...(offline ? await offlineNodeTargets(options.nodeBinaries ?? [process.execPath]) : onlineNodeTargets(options.nodeMajors ?? SUPPORTED_NODE_MAJORS)));
  }
  if (languages.has('python')) targets.push({ kind: PYTHON_KIND });
  const built: BuiltImage[] = [];
  for (const target of targets) {
    const say = (line: string): void => options.onProgress?.(`[${target.kind}] ${line}`);
    built.push(await buildImage(docker, target, offline, say));
  }
  return built;
}

function unsupported(what: string): Error {
  const majors = SUPPORTED_NODE_MAJORS.join(', ');
  return new Error(`${what}: EdgeWhisk builds Node.js images for the supported majors only (${majors}). Name a node binary of one of them.`);
}

/** The Node.js images of an offline build: each binary's own major picks its kind; two of one major are refused. */
async function offlineNodeTargets(binaries: readonly string[]): Promise<Target[]> {
  if (binaries.length === 0) throw new Error('An offline build of the Node.js images needs at least one node binary.');
  const targets: Target[] = [];
  for (const given of binaries) {
    const binary = resolve(given);
    const version = await nodeVersion(binary);
    const major = Number(version.split('.')[0]);
    if (!SUPPORTED_NODE_MAJORS.includes(major)) throw unsupported(`${given} is Node.js ${version}`);
    // A wrapper that starts node (a version manager's shim) answers like node, but is no program an image from
    // scratch could run: the image needs the executable itself.
    if (!isElf(realpathSync(binary))) throw new Error(`${given} answers as Node.js ${version} but is not an executable program (a wrapper script?): name the node binary itself.`);
    const kind = nodeImageKind(major);
    const twin = targets.find((t) => t.kind === kind);
    if (twin !== undefined) throw new Error(`${twin.node?.binary ?? ''} and ${binary} are both Node.js ${major}: one binary per major (${imageTag(kind)} can hold only one).`);
    targets.push({ kind, node: { binary, version } });
  }
  return targets;
}

function onlineNodeTargets(majors: readonly number[]): Target[] {
  return [...new Set(majors)].map((major) => {
    if (!SUPPORTED_NODE_MAJORS.includes(major)) throw unsupported(`Node.js ${major}`);
    return { kind: nodeImageKind(major) };
  });
}

/**
 * The version of the node at `binary`, as the binary itself reports it (its file name or path says nothing
 * reliable: `node` may be any major). NODE_OPTIONS is left out: flags meant for this process's node (vitest
 * registers loaders through it) may not exist in another major.
 */
async function nodeVersion(binary: string): Promise<string> {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  let stdout: string;
  try {
    ({ stdout } = await run(binary, ['-p', 'process.versions.node'], { encoding: 'utf8', env, timeout: 30_000 }));
  } catch (error) {
    const failed = error as NodeJS.ErrnoException & { stderr?: string };
    const reason = failed.code === 'ENOENT' ? 'no such file' : failed.code === 'EACCES' ? 'not executable' : (failed.stderr ?? '').trim() || failed.message;
    throw new Error(`Cannot ask ${binary} its Node.js version (${reason}): a Node.js image is built from a node binary.`);
  }
  const version = stdout.trim();
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`${binary} is not a node binary: \`${binary} -p process.versions.node\` printed ${JSON.stringify(version.slice(0, 80))}.`);
  return version;
}

async function buildImage(docker: Dockerode, target: Target, offline: boolean, say: (line: string) => void): Promise<BuiltImage> {
  const started = performance.now();
  const { kind } = target;
  const language = kindOf(kind);
  const tag = imageTag(kind);
  const context = await mkdtemp(join(tmpdir(), 'edgewhisk-image-'));
  removeAtExit(context);
  try {
    const runtimeVersion = offline ? await assembleOffline(target, context, say) : await pullBase(docker, kind, say);
    const source = assembleProxy(language, join(context, 'rootfs'));
    writeFileSync(join(context, 'Dockerfile'), dockerfile(kind, offline, runtimeVersion, source));
    say(`building ${tag} (${offline ? 'offline, FROM scratch' : `online, FROM ${String(BASE_IMAGES[kind])}`})`);
    // Modes are kept as assembled (tar records them; the daemon applies them, owner root): 0644/0755 files,
    // 0755 directories, /tmp 1777.
    // tar's web stream as a Node stream for dockerode: an error while packing destroys the request body.
    const body = Readable.fromWeb(tar.c({ cwd: context }, ['.']));
    const stream = await docker.buildImage(body, {
      t: tag,
      version: '1',
      rm: true,
      forcerm: true,
      // The build's RUN steps (the proxy check, Python's bytecode) need no network.
      networkmode: 'none',
    });
    const built = await follow(docker, stream, say, `Building ${tag} failed`);
    // By the id the build reported: a concurrent build may have moved the tag since.
    const image = await docker.getImage(built ?? tag).inspect();
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    say(`built ${tag} ${image.Id.slice(7, 19)}: ${(image.Size / 1e6).toFixed(1)} MB in ${seconds} s`);
    return { tag, id: image.Id, size: image.Size, seconds };
  } finally {
    await rm(context, { recursive: true, force: true });
    contexts.delete(context);
  }
}

const contexts = new Set<string>();
let exitHook = false;

/**
 * An offline context holds copies of the interpreter and its libraries (100 MB for Node.js): when the process
 * ends mid-build (Ctrl-C in the CLI, which exits through process.exit) it must not stay behind in the temp dir.
 */
function removeAtExit(context: string): void {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const dir of contexts) rmSync(dir, { recursive: true, force: true });
    });
  }
  contexts.add(context);
}

interface ProgressEvent {
  readonly stream?: string;
  readonly status?: string;
  readonly id?: string;
  readonly progressDetail?: { readonly current?: number };
  readonly error?: string;
  readonly errorDetail?: { readonly message?: string };
  /** The classic builder's last event names the image it built. */
  readonly aux?: { readonly ID?: string };
}

/**
 * Follows a build or pull stream to its end; resolves with the id of the image built, if the stream named one.
 * The daemon reports failure inside the stream (`{error, errorDetail}`) with HTTP 200, so such an event fails
 * the whole, with the last lines of output for context.
 */
function follow(docker: Dockerode, stream: NodeJS.ReadableStream, say: (line: string) => void, failure: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const recent: string[] = [];
    let error: string | undefined;
    let id: string | undefined;
    docker.modem.followProgress(
      stream,
      (streamError) => {
        if (streamError !== null) reject(new Error(`${failure}: ${streamError.message}`));
        else if (error !== undefined) reject(new Error(`${failure}: ${error}${recent.length > 0 ? `\n${recent.join('\n')}` : ''}`));
        else resolve(id);
      },
      (event: ProgressEvent) => {
        if (typeof event.aux?.ID === 'string') id = event.aux.ID;
        if (event.error !== undefined || event.errorDetail !== undefined) {
          const message = (event.errorDetail?.message ?? event.error ?? 'unknown error').trim();
          // The classic builder quotes the whole failed command; its output (in `recent`) says more.
          const code = /^The command .* returned a non-zero code: (\d+)$/s.exec(message)?.[1];
          error = code === undefined ? message : `a check inside the image exited with code ${code}`;
          return;
        }
        const lines: string[] = [];
        if (typeof event.stream === 'string') lines.push(...event.stream.split('\n'));
        // Pull progress repeats a status per chunk: only status changes are worth a line.
        else if (typeof event.status === 'string' && event.progressDetail?.current === undefined) {
          lines.push(event.id === undefined ? event.status : `${event.id}: ${event.status}`);
        }
        // The classic builder colours a RUN's stderr.
        for (const line of lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trimEnd()).filter((l) => l.trim() !== '')) {
          recent.push(line);
          if (recent.length > 12) recent.shift();
          say(line);
        }
      },
    );
  });
}

/** Makes sure the online build's base image is there (pulling it if not); returns the interpreter version it has. */
async function pullBase(docker: Dockerode, kind: ImageKind, say: (line: string) => void): Promise<string | undefined> {
  const base = BASE_IMAGES[kind];
  if (base === undefined) throw new Error(`No base image for an online build of ${kind}.`);
  const version = (env: readonly string[] | undefined): string | undefined => {
    const name = kindOf(kind) === 'nodejs' ? 'NODE_VERSION=' : 'PYTHON_VERSION=';
    return env?.find((e) => e.startsWith(name))?.slice(name.length);
  };
  try {
    return version((await docker.getImage(base).inspect()).Config.Env);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  say(`pulling ${base}`);
  try {
    await follow(docker, await docker.pull(base), say, 'pull failed');
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).replace(/^\(HTTP code \d+\) [\w ]+- /, '');
    throw new Error(
      `Cannot pull the base image ${base} for the online build: ${reason.trim()}\n` +
        `Without access to a registry, build the images from this host's own node and python3 instead: ` +
        `edgewhisk build-images --offline (npm run build:images -- --offline).`,
    );
  }
  return version((await docker.getImage(base).inspect()).Config.Env);
}

/** Puts the proxy (and, for Node.js, its npm packages) under /opt/edgewhisk, plus the directories every image has. */
function assembleProxy(kind: BuildKind, rootfs: string): ProxySource {
  const source = proxySource(kind);
  const bundle = join(rootfs, BUNDLE);
  for (const file of source.files) copyFile(join(source.dir, file), join(bundle, 'proxy', kind, file));
  for (const pkg of source.packages) {
    // Nested node_modules are placed by bundleDependencies where needed; maps and type declarations serve nobody here.
    copyTree(pkg.source, join(bundle, pkg.target), (relative, isDirectory) =>
      isDirectory ? relative === 'node_modules' : /\.(map|d\.ts|d\.cts|d\.mts)$/.test(relative),
    );
  }
  if (kind === 'nodejs') {
    // The proxy is CommonJS; saying so keeps a future Node's module-type detection from looking any further.
    writeFileSync(join(bundle, 'package.json'), `${JSON.stringify({ name: 'edgewhisk-proxy', private: true, type: 'commonjs' }, null, 2)}\n`);
  }
  makeDir(join(rootfs, SOCKET_DIR), 0o755);
  makeDir(join(rootfs, 'tmp'), 0o1777);
  return source;
}

/** Copies the host's interpreter, what it loads, and a minimal /etc into `context/rootfs`; returns its version. */
async function assembleOffline(target: Target, context: string, say: (line: string) => void): Promise<string> {
  const rootfs = join(context, 'rootfs');
  const copied = new Set<string>();
  let version: string;
  let elfFiles: string[];
  if (target.node !== undefined) {
    const { binary } = target.node;
    version = target.node.version;
    const bytes = await copyWithLibraries(rootfs, binary, '/usr/local/bin/node', copied);
    say(`copied ${binary} (node v${version}) and ${copied.size - 1} libraries: ${(bytes / 1e6).toFixed(1)} MB`);
    elfFiles = [...copied].map((path) => join(rootfs, path));
  } else {
    const python = await hostPython();
    version = python.fullVersion;
    const copy = await copyPython(rootfs, python, copied);
    say(`copied ${python.executable} (Python ${python.fullVersion}), its standard library to ${copy.imageStdlib} and ${copied.size - 1} libraries: ${copy.files} files, ${(copy.bytes / 1e6).toFixed(1)} MB`);
    if (copy.skippedExtensions.length > 0) say(`left out extension modules whose libraries the host lacks: ${copy.skippedExtensions.join(', ')}`);
    elfFiles = [...copy.elfFiles];
  }
  const saved = await stripDebugInfo(elfFiles);
  if (saved === undefined) say('no `strip` on this host: binaries keep their debug information');
  else if (saved > 0) say(`stripped debug information: ${(saved / 1e6).toFixed(1)} MB less`);
  // What a Debian image has for its users: lets os.userInfo(), getpass and `id` name uid 65534 like online images do.
  const etc = join(rootfs, 'etc');
  makeDir(etc);
  writeEtc(etc, 'passwd', 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  writeEtc(etc, 'group', 'root:x:0:\nnogroup:x:65534:\n');
  writeEtc(etc, 'nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n');
  return version;
}

function writeEtc(etc: string, name: string, content: string): void {
  writeFileSync(join(etc, name), content, { mode: 0o644 });
}
