/**
 * The Docker runtime's pull path against a real registry: one the test serves itself on 127.0.0.1 (there is no
 * internet here), holding a small image the test built and saved. For each pull policy: what the daemon asked the
 * registry for, the `runtime:pull` events the engine emitted, and the image the daemon ends up with.
 * The image holds no action proxy, so every invocation fails to start its container, quickly and with a clear
 * error; that is all these tests need of it (they are about getting the image, not running it).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { Engine, EngineEvents } from '../../src/index';
import { waitForActivation } from '../helpers/engine';
import { requireDocker } from './docker-available';
import { docker, dockerEngine } from './docker-engine';
import { LocalRegistry, savedImage, type Served, type ServedImage } from './local-registry';

type Pull = EngineEvents['runtime:pull'][0];

const SOURCE = `edgewhisk-test/pull-source:${process.pid}-${randomBytes(3).toString('hex')}`;
const REPOSITORY = 'edgewhisk-test/pulled';
/** Random, so it does not compress: the gzipped layer stays this big and its download reports progress. */
const PAYLOAD_BYTES = 384 * 1024;

let image: ServedImage;

beforeAll(async () => {
  if (!(await requireDocker())) return;
  await buildSource();
  try {
    image = await savedImage(docker, SOURCE);
  } finally {
    // The daemon must not hold the image when a test pulls it: a pull of an image it has (same config digest, so
    // same id) asks for the manifest only and downloads nothing.
    await docker.getImage(SOURCE).remove();
  }
}, 120_000);

afterAll(async () => {
  await docker.getImage(SOURCE).remove({ force: true }).catch(() => undefined);
});

/** `FROM scratch` with one file of random bytes, and a command that is not there (no action proxy). */
async function buildSource(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ew-pull-source-'));
  try {
    writeFileSync(join(dir, 'payload.bin'), randomBytes(PAYLOAD_BYTES));
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY payload.bin /payload.bin\nCMD ["/no-action-proxy"]\n');
    // tar's web stream as the Node stream dockerode sends.
    const stream = await docker.buildImage(Readable.fromWeb(tar.c({ cwd: dir }, ['Dockerfile', 'payload.bin'])), { t: SOURCE, forcerm: true });
    const output = await new Promise<{ error?: string }[]>((resolve, reject) =>
      docker.modem.followProgress(stream, (e: Error | null, out: { error?: string }[]) => (e ? reject(e) : resolve(out))),
    );
    const failed = output.find((o) => o.error !== undefined);
    if (failed !== undefined) throw new Error(`building ${SOURCE} failed: ${failed.error}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A registry serving the image; after the test (and its engines) it is closed and every tag pulled from it removed. */
async function serve(): Promise<LocalRegistry> {
  const registry = await LocalRegistry.start(REPOSITORY, image);
  // Runs after the afterEach hooks, which close the test's engines and remove their containers: nothing uses the image.
  onTestFinished(async () => {
    await registry.close();
    for (const listed of await docker.listImages()) {
      for (const tag of listed.RepoTags ?? []) if (tag.startsWith(`${registry.host}/`)) await docker.getImage(tag).remove();
    }
  });
  return registry;
}

function pullsOf(engine: Engine): Pull[] {
  const pulls: Pull[] = [];
  engine.on('runtime:pull', (p) => pulls.push(p));
  return pulls;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary record fields
async function activate(engine: Engine, name: string, timeout = 40_000): Promise<any> {
  const { activationId } = (await engine.actions.invoke({ name })) as { activationId: string };
  return waitForActivation(engine, activationId, timeout);
}

const text = (record: { logs: string[] }): string => record.logs.join('\n');

/** The failure every invocation here ends in: the container was made from the image, and could not start. */
function expectNoProxy(record: { response: unknown; logs: string[] }, ref: string): void {
  expect(record.response).toMatchObject({ statusCode: 3, result: { error: 'Failed to provision resources to run the action.' } });
  expect(text(record)).toContain(`Docker could not start a container from ${ref}: `);
  expect(text(record)).toContain('/no-action-proxy');
  expect(text(record)).not.toContain('could not be pulled');
}

const served = (registry: LocalRegistry, method: 'GET' | 'HEAD', what: 'manifests' | 'blobs', reference: string): Served => ({
  method,
  path: `/v2/${registry.repository}/${what}/${reference}`,
  status: 200,
});

/**
 * Checks `requests` are those of a full pull of `tag`, as this daemon makes them: the API check, the tag resolved
 * to the manifest's digest (HEAD), the manifest by that digest, then the config and every layer, fetched at once (in
 * any order). The GET by digest is left out when the daemon still holds that manifest from a pull moments before
 * (of an image since removed: its content store is garbage-collected in the background), as in the second test.
 */
function expectFullPull(registry: LocalRegistry, requests: readonly Served[], tag: string): void {
  const [api, head, ...rest] = requests;
  expect([api, head]).toEqual([{ method: 'GET', path: '/v2/', status: 200 }, served(registry, 'HEAD', 'manifests', tag)]);
  const expected = [image.config, ...image.layers].map((blob) => served(registry, 'GET', 'blobs', blob.digest));
  const byDigest = served(registry, 'GET', 'manifests', image.manifest.digest);
  if (rest.some((r) => r.path === byDigest.path)) expected.push(byDigest);
  const sorted = (list: Served[]): Served[] => [...list].sort((x, y) => x.path.localeCompare(y.path));
  expect(sorted(rest)).toEqual(sorted(expected));
}

describe('pulling from a registry', () => {
  it("pull 'if-missing': the first cold start pulls the image, with progress; later ones use it without pulling", async () => {
    const registry = await serve();
    const ref = registry.image('1');
    const { engine } = dockerEngine();
    const pulls = pullsOf(engine);
    await engine.actions.create({ name: 'b', action: { exec: { kind: 'blackbox', image: ref } } });

    expectNoProxy(await activate(engine, 'b'), ref);
    expectFullPull(registry, registry.requests, '1');
    expect((await docker.getImage(ref).inspect()).Id).toBe(image.config.digest);
    // What the daemon reported, as the engine passed it on. Which intermediate updates arrive varies (the daemon
    // sends the latest state of a layer, not every step), so only what it always sends is checked.
    const size = image.layers.reduce((sum, layer) => sum + layer.data.length, 0);
    expect(pulls.every((p) => p.runtime === 'docker' && p.image === ref)).toBe(true);
    const statuses = pulls.map((p) => p.status);
    expect(statuses[0]).toBe(`Pulling from ${REPOSITORY}`);
    expect(statuses).toEqual(expect.arrayContaining(['Pulling fs layer', 'Downloading', 'Download complete', 'Pull complete', `Digest: ${image.manifest.digest}`]));
    expect(statuses.at(-1)).toBe(`Status: Downloaded newer image for ${ref}`);
    // Bytes of the gzipped layer: its download (and its extraction, counted in the same compressed bytes) has the
    // layer's size in the manifest as its total.
    for (const p of pulls.filter((p) => p.status === 'Downloading')) {
      expect(p.total).toBe(size);
      expect(p.current).toBeGreaterThan(0);
      expect(p.current).toBeLessThanOrEqual(size);
    }
    expect(pulls.at(-1)).toMatchObject({ current: size, total: size });
    // A finished download counts as whole, and extraction never moves the figures back.
    for (const p of pulls.filter((p) => p.status === 'Download complete' || p.status.startsWith('Extracting') || p.status === 'Pull complete')) {
      expect(p, p.status).toMatchObject({ current: size, total: size });
    }

    const seen = registry.requests.length;
    const reported = pulls.length;
    expectNoProxy(await activate(engine, 'b'), ref);
    // Another engine knows nothing of the image yet: it finds it on the daemon, and does not pull either.
    const other = dockerEngine().engine;
    const otherPulls = pullsOf(other);
    await other.actions.create({ name: 'b', action: { exec: { kind: 'blackbox', image: ref } } });
    expectNoProxy(await activate(other, 'b'), ref);
    expect(registry.requests).toHaveLength(seen);
    expect(pulls).toHaveLength(reported);
    expect(otherPulls).toEqual([]);
  });

  it("pull 'always': every cold start pulls again; with the registry gone, the local copy is used", async () => {
    const registry = await serve();
    const ref = registry.image('1');
    // The runtime's own client: shows each pull it asked for, and how the daemon answered.
    const pull = vi.spyOn(Dockerode.prototype, 'pull');
    onTestFinished(() => pull.mockRestore());
    const { engine } = dockerEngine({ docker: { pull: 'always' } });
    const pulls = pullsOf(engine);
    const warnings: string[] = [];
    engine.on('runtime:warning', (w) => warnings.push(w.message));
    await engine.actions.create({ name: 'b', action: { exec: { kind: 'blackbox', image: ref } } });

    expectNoProxy(await activate(engine, 'b'), ref);
    expectFullPull(registry, registry.requests, '1');
    expect(pulls.at(-1)?.status).toBe(`Status: Downloaded newer image for ${ref}`);

    // The next cold start asks the registry again: the manifest only, since the daemon has every blob it names.
    const seen = registry.requests.length;
    const reported = pulls.length;
    expectNoProxy(await activate(engine, 'b'), ref);
    expect(registry.requests.slice(seen)).toEqual([{ method: 'GET', path: '/v2/', status: 200 }, served(registry, 'HEAD', 'manifests', '1')]);
    expect(pulls.slice(reported)).toEqual(
      [`Pulling from ${REPOSITORY}`, `Digest: ${image.manifest.digest}`, `Status: Image is up to date for ${ref}`].map((status) => ({ runtime: 'docker', image: ref, status })),
    );

    // The registry gone: the pull fails, and the image the daemon has is used (what OpenWhisk does).
    await registry.close();
    const offline = pulls.length;
    expectNoProxy(await activate(engine, 'b'), ref);
    expect(pull.mock.calls.map((call) => call[0])).toEqual([ref, ref, ref]);
    const failed = pull.mock.settledResults[2];
    expect(failed?.type).toBe('rejected');
    expect(String((failed?.value as Error | undefined)?.message)).toContain(`dial tcp ${registry.host}: connect: connection refused`);
    // No progress (the daemon refused before streaming any), but a warning: 'always' is not keeping it fresh.
    expect(pulls).toHaveLength(offline);
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^Could not pull ${ref.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(pull policy 'always'\\): .*connection refused; using the copy already on the daemon$`))]);
    expect((await docker.getImage(ref).inspect()).Id).toBe(image.config.digest);
  });

  it("pull 'never': an image only the registry has is a clear error, and the registry is not asked", async () => {
    const registry = await serve();
    const ref = registry.image('1');
    const { engine } = dockerEngine({ docker: { pull: 'never' } });
    const pulls = pullsOf(engine);
    await engine.actions.create({ name: 'b', action: { exec: { kind: 'blackbox', image: ref } } });
    const record = await activate(engine, 'b');
    expect(record.response).toMatchObject({ statusCode: 3, result: { error: 'Failed to provision resources to run the action.' } });
    expect(text(record)).toContain(`Docker image ${ref} is not on the daemon and the pull policy is 'never'`);
    expect(registry.requests).toEqual([]);
    expect(pulls).toEqual([]);
    await expect(docker.getImage(ref).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('gives up on a pull that stalls mid-layer after docker.pullIdleTimeout with a clear error, and pulls again next time', async () => {
    const registry = await serve();
    registry.stallBlobs = true;
    const ref = registry.image('1');
    const { engine } = dockerEngine({ docker: { pullIdleTimeout: 1_500 } });
    const pulls = pullsOf(engine);
    await engine.actions.create({ name: 'b', action: { exec: { kind: 'blackbox', image: ref } } });

    const stalled = activate(engine, 'b');
    // The engine serves other actions while the pull hangs.
    await engine.actions.create({ name: 'js', action: 'function main() { return { ok: true }; }', runtime: 'worker' });
    expect(await engine.actions.invoke({ name: 'js', blocking: true, result: true })).toEqual({ ok: true });
    const record = await stalled;
    expect(record.response).toMatchObject({ statusCode: 3, result: { error: 'Failed to provision resources to run the action.' } });
    expect(text(record)).toContain(`Docker image ${ref} is not on the daemon and could not be pulled: the pull made no progress for 1500 ms (docker.pullIdleTimeout)`);
    // It got as far as the layers (progress was reported) before it stalled.
    expect(pulls.map((p) => p.status)).toContain('Pulling fs layer');
    await expect(docker.getImage(ref).inspect()).rejects.toMatchObject({ statusCode: 404 });

    // The failure is not remembered: with the registry answering again, the next cold start gets the image. (The
    // daemon cannot be told to drop a pull: its stalled downloads were still open, and now complete.)
    registry.resume();
    expectNoProxy(await activate(engine, 'b'), ref);
    expect((await docker.getImage(ref).inspect()).Id).toBe(image.config.digest);
  });

  it("pull 'always': cold starts that need the image at once share one pull", async () => {
    const registry = await serve();
    const ref = registry.image('1');
    const pull = vi.spyOn(Dockerode.prototype, 'pull');
    onTestFinished(() => pull.mockRestore());
    const { engine } = dockerEngine({ docker: { pull: 'always' } });
    await engine.actions.create({ name: 'b1', action: { exec: { kind: 'blackbox', image: ref } } });
    await engine.actions.create({ name: 'b2', action: { exec: { kind: 'blackbox', image: ref } } });
    const [one, two] = await Promise.all([activate(engine, 'b1'), activate(engine, 'b2')]);
    expectNoProxy(one, ref);
    expectNoProxy(two, ref);
    expect(pull.mock.calls.map((call) => call[0])).toEqual([ref]);
    expect(registry.requests.filter((r) => r.method === 'HEAD')).toHaveLength(1);
  });
});
