/**
 * One Docker image per Node.js major, on the real daemon: an action of kind nodejs:22 runs in
 * edgewhisk/action-nodejs:22 on Node.js 22, one of nodejs:24 in edgewhisk/action-nodejs:24 on Node.js 24, side by
 * side in one engine too; and the builder (and its CLI) refuses a node binary of a major EdgeWhisk does not support
 * before it builds anything.
 *
 * The nodejs:24 image is built from the repository's own node; nodejs:22 from the binary EDGEWHISK_NODE22 names
 * (CI sets it). Where that image is missing and no Node.js 22 is at hand, its tests fail saying how to build it.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/index';
import { buildImages, IMAGE_LABELS, imageTag, type ImageKind } from '../../src/images/image-builder';
import { waitForActivation } from '../helpers/engine';
import { requireDocker, requireImages } from './docker-available';
import { containersOf, docker, dockerEngine } from './docker-engine';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const REPOSITORY_NODE = join(ROOT, 'node_modules', '.bin', 'node');
const SUPPORTED = 'supported majors only (22, 24)';

beforeAll(async () => {
  await requireDocker({ images: ['nodejs:24'] });
}, 600_000);

const dir = mkdtempSync(join(tmpdir(), 'ew-node-majors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * An executable that answers `-p process.versions.node` the way a node of `version` does (the builder asks the
 * binary itself, exactly so), and fails anything else.
 */
function fakeNode(name: string, version: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\nif [ "$1" = "-p" ] && [ "$2" = "process.versions.node" ]; then echo ${version}; exit 0; fi\necho "fake node: $*" >&2\nexit 9\n`);
  chmodSync(path, 0o755);
  return path;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary record fields
async function activate(engine: Engine, name: string): Promise<any> {
  const { activationId } = (await engine.actions.invoke({ name, params: {} })) as { activationId: string };
  return waitForActivation(engine, activationId, 30_000);
}

const VERSION = 'function main() { return { node: process.versions.node }; }';

/** The Node.js major an action of `kind` really ran on, and the image of the container it ran in. */
async function ranOn(engine: Engine, instance: string, kind: ImageKind): Promise<{ major: string; image: string; kind: string | undefined }> {
  const name = `v-${kind.replace(':', '-')}`;
  await engine.actions.create({ name, kind, action: VERSION });
  const record = await activate(engine, name);
  expect(record.response, JSON.stringify(record.logs)).toMatchObject({ statusCode: 0 });
  const container = (await containersOf(instance)).find((c) => c.Labels['org.edgewhisk.kind'] === kind);
  return { major: String(record.response.result.node).split('.')[0] ?? '', image: container?.Image ?? '(no container)', kind: container?.Labels['org.edgewhisk.kind'] };
}

describe('a Node.js image per supported major', () => {
  it.each([22, 24])('runs a nodejs:%i action in its own image, on that major', async (major) => {
    const kind: ImageKind = `nodejs:${major}`;
    // Inside the test: where the image cannot be built, this test fails with the command that builds it.
    await requireImages([kind]);
    const labels = (await docker.getImage(imageTag(kind)).inspect()).Config.Labels;
    expect(labels).toMatchObject({ [IMAGE_LABELS.kind]: kind });
    expect(labels[IMAGE_LABELS.runtimeVersion]).toMatch(new RegExp(`^${major}\\.`));
    const { engine, instance } = dockerEngine();
    expect(await ranOn(engine, instance, kind)).toEqual({ major: String(major), image: `edgewhisk/action-nodejs:${major}`, kind });
  }, 600_000);

  it('runs nodejs:22 and nodejs:24 side by side in one engine, each in its own image', async () => {
    await requireImages(['nodejs:22', 'nodejs:24']);
    const { engine, instance } = dockerEngine();
    const [older, newer] = await Promise.all([ranOn(engine, instance, 'nodejs:22'), ranOn(engine, instance, 'nodejs:24')]);
    expect(older).toEqual({ major: '22', image: 'edgewhisk/action-nodejs:22', kind: 'nodejs:22' });
    expect(newer).toEqual({ major: '24', image: 'edgewhisk/action-nodejs:24', kind: 'nodejs:24' });
  }, 600_000);
});

describe('the builder takes its node binaries by their own major', () => {
  it('refuses a binary of an unsupported major before building anything, naming the supported majors', async () => {
    const node20 = fakeNode('node20', '20.20.2');
    const progress: string[] = [];
    // Every binary is asked first: nothing is built, not even the Python image or the Node.js 24 one.
    const build = buildImages(docker, { offline: true, kinds: ['python', 'nodejs'], nodeBinaries: [REPOSITORY_NODE, node20], onProgress: (line) => progress.push(line) });
    await expect(build).rejects.toThrow(`${node20} is Node.js 20.20.2: EdgeWhisk builds Node.js images for the ${SUPPORTED}. Name a node binary of one of them.`);
    expect(progress).toEqual([]);
  });

  it('refuses what is not a node binary, a wrapper that only answers like one, and two binaries of one major', async () => {
    await expect(buildImages(docker, { offline: true, kinds: ['nodejs'], nodeBinaries: [join(dir, 'nowhere')] })).rejects.toThrow(/Cannot ask .*nowhere its Node\.js version \(no such file\)/);
    const chatty = join(dir, 'chatty');
    writeFileSync(chatty, '#!/bin/sh\necho hello\n');
    chmodSync(chatty, 0o755);
    await expect(buildImages(docker, { offline: true, kinds: ['nodejs'], nodeBinaries: [chatty] })).rejects.toThrow(/is not a node binary: .* printed "hello"/);
    const wrapper = fakeNode('node24-wrapper', '24.0.0');
    await expect(buildImages(docker, { offline: true, kinds: ['nodejs'], nodeBinaries: [wrapper] })).rejects.toThrow(
      `${wrapper} answers as Node.js 24.0.0 but is not an executable program (a wrapper script?): name the node binary itself.`,
    );
    const link = join(dir, 'node-again');
    symlinkSync(REPOSITORY_NODE, link);
    await expect(buildImages(docker, { offline: true, kinds: ['nodejs'], nodeBinaries: [REPOSITORY_NODE, link] })).rejects.toThrow(/are both Node\.js 24: one binary per major/);
    await expect(buildImages(docker, { offline: false, nodeMajors: [20] })).rejects.toThrow(`Node.js 20: EdgeWhisk builds Node.js images for the ${SUPPORTED}.`);
  });

  it('the CLI takes --node, documents it, and fails with the builder\'s reason for an unsupported major', async () => {
    const cli = join(ROOT, 'dist', 'cli.js');
    const help = await run(process.execPath, [cli, 'build-images', '--help'], { encoding: 'utf8' });
    expect(help.stdout).toContain('--node <path>');
    expect(help.stdout).toContain('Node.js major (22, 24; kind nodejs:<major>)');
    const node20 = fakeNode('node20-cli', '20.20.2');
    const refused = await run(process.execPath, [cli, 'build-images', '--offline', '--node', node20], { encoding: 'utf8' }).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toContain(`edgewhisk: ${node20} is Node.js 20.20.2: EdgeWhisk builds Node.js images for the ${SUPPORTED}.`);
    const online = await run(process.execPath, [cli, 'build-images', '--node', REPOSITORY_NODE], { encoding: 'utf8' }).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(online?.stderr).toContain('--node names the node binaries of an offline build: add --offline');
  });
});
