/**
 * A standalone EdgeWhisk server: the engine and its REST API in one small process, like OpenWhisk's standalone jar
 * without the JVM. Used by `edgewhisk serve` and by tests that need a real server.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createEngine, type Engine, type EngineConfig } from '../engine';
import { createRestApi } from './rest-api';
import { applyServerLimits, serverOptions } from './server-limits';

export interface StandaloneOptions {
  /** @default 3233 (OpenWhisk standalone's port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** `uuid:key`; when absent, the one stored in `authFile` (generated there on first start). */
  readonly auth?: string;
  /** @default ~/.edgewhisk/auth (or $EDGEWHISK_HOME/auth) */
  readonly authFile?: string;
  readonly engine?: EngineConfig;
}

export interface Standalone {
  readonly engine: Engine;
  readonly server: Server;
  readonly url: string;
  readonly auth: string;
  /** Where the credentials are kept, when they were not passed as `auth`. */
  readonly authFile?: string;
  close(): Promise<void>;
}

/** `$EDGEWHISK_HOME`, else `~/.edgewhisk`: where `serve` keeps its credentials and its store. */
export function edgewhiskHome(): string {
  return process.env['EDGEWHISK_HOME'] ?? join(homedir(), '.edgewhisk');
}

export function defaultAuthFile(): string {
  return join(edgewhiskHome(), 'auth');
}

/** The store `serve` uses unless told otherwise; its folder is made (owner only) when missing. */
export function defaultStoreFile(): string {
  mkdirSync(edgewhiskHome(), { recursive: true, mode: 0o700 });
  return join(edgewhiskHome(), 'engine.db');
}

/** The stored credentials, generated (OpenWhisk's `uuid:64-character key` form) on first use. */
export function loadOrCreateAuth(file: string): string {
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (/^[^:]+:.+$/.test(stored)) return stored;
  }
  const auth = `${randomUUID()}:${randomBytes(32).toString('hex')}`;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${auth}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return auth;
}

export async function startStandalone(options: StandaloneOptions = {}): Promise<Standalone> {
  const port = options.port ?? 3233;
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TypeError(`Expected \`port\` to be a port number, got \`${String(options.port)}\``);
  const authFile = options.auth === undefined ? (options.authFile ?? defaultAuthFile()) : undefined;
  const auth = options.auth ?? loadOrCreateAuth(authFile as string);
  const engine = createEngine(options.engine ?? {});
  const server = createServer(serverOptions(engine.options), createRestApi(engine, { auth }));
  applyServerLimits(server, engine.options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  return {
    engine,
    server,
    url,
    auth,
    ...(authFile === undefined ? {} : { authFile }),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await engine.close();
    },
  };
}
