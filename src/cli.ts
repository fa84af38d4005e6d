#!/usr/bin/env node
/**
 * `edgewhisk serve`: the engine and OpenWhisk's REST API without Node-RED.
 *
 *   npx edgewhisk serve [--port 3233] [--host 127.0.0.1] [--runtime worker|process] [--auth uuid:key]
 */
import { parseArgs } from 'node:util';
import { startStandalone } from './rest/standalone';

const USAGE = `Usage: edgewhisk serve [--port 3233] [--host 127.0.0.1] [--runtime worker|process] [--auth uuid:key]

Runs an EdgeWhisk engine with OpenWhisk's REST API. Without --auth the key stored in ~/.edgewhisk/auth is used
(generated on first start; EDGEWHISK_HOME moves it).`;

async function main(argv: string[]): Promise<void> {
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

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`edgewhisk: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
