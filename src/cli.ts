#!/usr/bin/env node
/**
 * EdgeWhisk's command line:
 *
 *   npx edgewhisk serve [--port 3233] [--host 127.0.0.1] [--runtime worker|process] [--auth uuid:key]
 *   npx edgewhisk build-images [--offline] [--kind nodejs|python]... [--node <path>]...
 */
import { parseArgs } from 'node:util';
import Dockerode from 'dockerode';
import { defaultStoreFile, startStandalone } from './rest/standalone';
import { SUPPORTED_NODE_MAJORS } from './runtimes/node-kinds';
import { buildImages, type BuildKind } from './images/image-builder';

const MAJORS = SUPPORTED_NODE_MAJORS.join(', ');

const USAGE = `Usage: edgewhisk serve [--port 3233] [--host 127.0.0.1] [--runtime worker|process] [--auth uuid:key] [--store <file>|memory]
       edgewhisk build-images [--offline] [--kind nodejs|python]... [--node <path>]...

serve         Runs an EdgeWhisk engine with OpenWhisk's REST API. Without --auth the key stored in
              ~/.edgewhisk/auth is used (generated on first start; EDGEWHISK_HOME moves it).
  --store       Where entities and activation records are kept, so a restart finds them: a file,
                or memory to keep nothing. Default ~/.edgewhisk/engine.db (or in EDGEWHISK_HOME).
build-images  Builds the action images of the docker runtime through the Docker daemon at DOCKER_HOST
              (default /var/run/docker.sock): edgewhisk/action-nodejs:<major> for each supported
              Node.js major (${MAJORS}; kind nodejs:<major>) and edgewhisk/action-python:3. Online,
              from the official node:<major>-bookworm-slim and python:3.11-slim-bookworm images.
  --kind nodejs|python  Only that language's images (repeatable).
  --offline     From scratch, holding this host's own binaries: no registry needed. The Python
                image gets python3, each Node.js image the node binary it is built from.
  --node <path> (offline, repeatable) A node binary to build a Node.js image from: its own major
                picks the image, and must be one of ${MAJORS}. Without --node: the node running
                this command only (Node.js ${process.versions.node.split('.')[0]} here).`;

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
      store: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true || positionals[0] !== 'serve') {
    console.log(USAGE);
    process.exit(values.help === true ? 0 : 2);
  }
  const store = values.store ?? defaultStoreFile();
  const server = await startStandalone({
    port: Number(values.port),
    host: values.host,
    ...(values.auth === undefined ? {} : { auth: values.auth }),
    engine: { defaultRuntime: values.runtime, store },
  });
  // Stopping is wired before anything is printed: whoever has read the banner may signal at once. A second signal
  // while closing changes nothing (a handler left in place, not `once`: without one, Node would die of it).
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // One write: whoever reads the banner sees it whole.
  console.log(
    [
      serveBanner(server.url, server.engine.options, server.auth, server.authFile),
      store === 'memory'
        ? '  store:     memory (nothing survives a restart)'
        : `  store:     ${store} (entities, activation records, accepted invocations and feeds survive a restart)`,
    ].join('\n'),
  );
  // What a previous run left accepted and unfinished is run again now (docs/durability.md): say so when there was any.
  void server.engine.replay().then((r) => {
    const total = r.queued + r.rerun + r.expired + r.gone;
    if (total > 0) {
      console.log(`  replayed:  ${r.queued} accepted, ${r.rerun} re-run (were running), ${r.expired} expired and ${r.gone} without their action (dead letters)`);
    }
    const feeds = server.engine.feeds.list();
    if (feeds.length > 0) {
      const paused = feeds.filter((f) => f.paused).length;
      const named = feeds.slice(0, 5).map((f) => `${f.trigger} ← ${f.feed}`);
      if (feeds.length > 5) named.push(`and ${feeds.length - 5} more`);
      console.log(`  feeds:     ${feeds.length} resumed (${named.join(', ')})${paused > 0 ? `, ${paused} of them paused` : ''}`);
    }
  });
}

/** `uuid:key` with all but the ends hidden: enough to tell keys apart, not enough to use one. */
function maskAuth(auth: string): string {
  const colon = auth.indexOf(':');
  const uuid = auth.slice(0, colon);
  const key = auth.slice(colon + 1);
  return `${uuid.slice(0, 4)}…:…${key.length > 12 ? key.slice(-4) : ''}`;
}

/**
 * What `serve` prints. The key itself never reaches the terminal (or a log that captures it, such as a service
 * manager's journal): the commands read it from the file that holds it, or from what the user passed with --auth.
 */
function serveBanner(url: string, o: { namespace: string; defaultRuntime: string }, auth: string, authFile: string | undefined): string {
  const lines = [`EdgeWhisk API on ${url}/api/v1 (namespace ${o.namespace}, runtime ${o.defaultRuntime})`];
  if (authFile === undefined) {
    lines.push(
      `  key:       ${maskAuth(auth)} (the one given with --auth)`,
      `  wsk:       wsk property set --apihost ${url} --auth <the key given with --auth>`,
    );
  } else {
    const quoted = `'${authFile.replace(/'/g, `'\\''`)}'`;
    lines.push(
      `  key:       ${maskAuth(auth)}, kept in ${authFile}`,
      `  wsk:       wsk property set --apihost ${url} --auth "$(cat ${quoted})"`,
      `  openwhisk: require('openwhisk')({ apihost: '${url}', api_key: fs.readFileSync(${JSON.stringify(authFile)}, 'utf8').trim() })`,
    );
  }
  return lines.join('\n');
}

async function buildImagesCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      offline: { type: 'boolean', default: false },
      kind: { type: 'string', multiple: true },
      node: { type: 'string', multiple: true },
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
  // An online build takes its node from the official images, one per supported major: a host binary means nothing there.
  if (values.node !== undefined && values.offline !== true) throw new Error('--node names the node binaries of an offline build: add --offline (online builds make every supported major).');
  if (values.node !== undefined && !kinds.includes('nodejs')) throw new Error('--node builds Node.js images: it needs --kind nodejs (or no --kind).');
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
    ...(values.node === undefined ? {} : { nodeBinaries: values.node }),
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
