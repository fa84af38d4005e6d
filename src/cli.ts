#!/usr/bin/env node
/**
 * EdgeWhisk's command line:
 *
 *   npx edgewhisk serve [--port 3233] [--host 127.0.0.1] [--runtime worker|process] [--auth uuid:key]
 *   npx edgewhisk build-images [--offline] [--kind nodejs|python]...
 */
import { parseArgs } from 'node:util';
import Dockerode from 'dockerode';
import { startStandalone } from './rest/standalone';
import { buildImages, type BuildKind } from './runtimes/docker/image-builder';

const USAGE = `Usage: edgewhisk serve [--port 3233] [--host 127.0.0.1] [--runtime worker|process] [--auth uuid:key]
       edgewhisk build-images [--offline] [--kind nodejs|python]...

serve         Runs an EdgeWhisk engine with OpenWhisk's REST API. Without --auth the key stored in
              ~/.edgewhisk/auth is used (generated on first start; EDGEWHISK_HOME moves it).
build-images  Builds the action images of the docker runtime, edgewhisk/action-nodejs:20 and
              edgewhisk/action-python:3 (--kind picks some), through the Docker daemon at DOCKER_HOST
              (default /var/run/docker.sock). They start from the official node and python images,
              or with --offline from scratch, holding this host's own node and python3: no registry needed.`;

const COMMANDS = ['serve', 'build-images'] as const;
type Command = (typeof COMMANDS)[number];

async function main(argv: string[]): Promise<void> {
  // Each command has its own options, so the command is found first: the first argument that names one.
  const command = argv.find((arg): arg is Command => (COMMANDS as readonly string[]).includes(arg));
  if (command === 'build-images') return buildImagesCommand(argv);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '3233' },
      host: { type: 'string', default: '127.0.0.1' },
      runtime: { type: 'string', default: 'worker' },
      auth: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true || positionals[0] !== 'serve') {
    console.log(USAGE);
    process.exit(values.help === true ? 0 : 2);
  }
  const server = await startStandalone({
    port: Number(values.port),
    host: values.host,
    ...(values.auth === undefined ? {} : { auth: values.auth }),
    engine: { defaultRuntime: values.runtime },
  });
  console.log(`EdgeWhisk API on ${server.url}/api/v1 (namespace ${server.engine.options.namespace}, runtime ${server.engine.options.defaultRuntime})
  wsk:       wsk property set --apihost ${server.url} --auth ${server.auth}
  openwhisk: require('openwhisk')({ apihost: '${server.url}', api_key: '${server.auth}' })`);
  const stop = (): void => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function buildImagesCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      offline: { type: 'boolean', default: false },
      kind: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true || positionals.length !== 1) {
    console.log(USAGE);
    process.exit(values.help === true ? 0 : 2);
  }
  const kinds = values.kind ?? ['nodejs', 'python'];
  for (const kind of kinds) {
    if (kind !== 'nodejs' && kind !== 'python') throw new Error(`--kind ${kind}: the kinds are nodejs and python.`);
  }
  // Through process.exit, so the builder removes its temporary context (see image-builder's removeAtExit).
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  const docker = new Dockerode();
  try {
    await docker.ping();
  } catch (error) {
    const where = process.env['DOCKER_HOST'] ?? '/var/run/docker.sock';
    throw new Error(`cannot reach the Docker daemon at ${where} (${error instanceof Error ? error.message : String(error)}). Is Docker running, and may this user use it?`);
  }
  const built = await buildImages(docker, {
    offline: values.offline === true,
    kinds: kinds as BuildKind[],
    onProgress: (line) => console.log(line),
  });
  console.log(`\nBuilt ${built.length} image${built.length === 1 ? '' : 's'}${values.offline === true ? ' (offline)' : ''}:`);
  for (const image of built) {
    console.log(`  ${image.tag.padEnd(28)} ${(image.size / 1e6).toFixed(1).padStart(7)} MB ${image.seconds.toFixed(1).padStart(7)} s  ${image.id.slice(7, 19)}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`edgewhisk: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
