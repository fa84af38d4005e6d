/**
 * `edgewhisk-engine` (config node): one engine with its settings, started lazily by the first node that needs it
 * and closed on redeploy or shutdown within Node-RED's 15 s close timeout.
 */
import type { Engine, EngineConfig } from '../engine';
import { createRestApi } from '../rest/rest-api';
import { mountApi, normaliseApiPath } from './lib/api-mount';
import { RemoteEngine } from '../remote/remote-engine';
import { dockerGate, dockerInstance, HOW_TO_ALLOW } from './lib/docker-gate';
import type { NodeEngine } from './lib/node-engine';
import { reportRuntime } from './lib/runtime-reports';
import { registerAdminRoutes } from './lib/admin-routes';
import { listenForWatchers, watchEngine } from './lib/editor-feed';
import { followFlows, openEngine } from './lib/engine-store';
import type { EngineLease, RuntimeRefusal } from './lib/engine-registry';
import type { EngineProvider } from './lib/engine-source';
import type { Node, NodeDef, NodeStatus, RedApi } from './lib/red-types';

/** Node-RED waits 15 s for close handlers; the engine gets at most 10 s to drain, the rest is for terminating containers. */
const CLOSE_BUDGET_MS = 10_000;

interface EngineNodeDef extends NodeDef {
  /** `embedded` (an engine in this Node-RED) or `remote` (an OpenWhisk deployment through its REST API). */
  mode?: 'embedded' | 'remote';
  apihost?: string;
  ignoreCerts?: boolean;
  /** Serve OpenWhisk's REST API for this engine on Node-RED's HTTP-node server. */
  exposeApi?: boolean;
  apiPath?: string;
  defaultRuntime?: string;
  memoryBudget?: string | number;
  maxQueued?: string | number;
  concurrentInvocations?: string | number;
  prewarmCount?: string | number;
  /** Seconds in the editor. */
  idleTimeout?: string | number;
  activationRetention?: string | number;
  /** Seconds running activations get to finish on redeploy or shutdown. */
  closeTimeout?: string | number;
  /** Registers the Docker runtime while the default stays another one (actions then choose it). */
  dockerEnabled?: boolean;
  /** '' = DOCKER_HOST or /var/run/docker.sock; a socket path, unix://… or tcp://host:port. */
  dockerHost?: string;
  dockerPull?: string;
}

function integer(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : Number.NaN;
}

/** Whether an (embedded) engine node asks for the Docker runtime. */
export function wantsDocker(def: EngineNodeDef): boolean {
  return def.mode !== 'remote' && (def.dockerEnabled === true || def.defaultRuntime === 'docker');
}

/** The engine options a config node's properties describe; unset properties keep the engine defaults. */
export function engineConfigFromNode(def: EngineNodeDef): EngineConfig {
  const idleSeconds = integer(def.idleTimeout);
  const entries: [string, unknown][] = [
    ['defaultRuntime', def.defaultRuntime === '' ? undefined : def.defaultRuntime],
    ['memoryBudget', integer(def.memoryBudget)],
    ['maxQueued', integer(def.maxQueued)],
    ['concurrentInvocations', integer(def.concurrentInvocations)],
    ['prewarmCount', integer(def.prewarmCount)],
    ['idleTimeout', idleSeconds === undefined ? undefined : idleSeconds * 1000],
    ['activationRetention', integer(def.activationRetention)],
  ];
  const config = Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as EngineConfig;
  if (!wantsDocker(def)) return config;
  // The instance names this engine's containers and is what a restarted engine sweeps by: one per config node.
  const docker = {
    enabled: true,
    host: typeof def.dockerHost === 'string' ? def.dockerHost.trim() : '',
    ...(def.dockerPull === undefined || def.dockerPull === '' ? {} : { pull: def.dockerPull as 'never' | 'if-missing' | 'always' }),
    instance: dockerInstance(def.id),
  };
  return { ...config, docker };
}

/** `config` without the Docker runtime: never registered, and `worker` as the default if Docker was to be it. */
function withoutDocker(config: EngineConfig): EngineConfig {
  const { docker: _docker, ...rest } = config;
  return rest.defaultRuntime === 'docker' ? { ...rest, defaultRuntime: 'worker' } : rest;
}

export default function register(RED: RedApi): void {
  function EdgeWhiskEngineNode(
    this: Node & EngineProvider & { remote?: boolean; credentials?: { apiKey?: string; apiAuth?: string } },
    def: EngineNodeDef,
  ): void {
    RED.nodes.createNode(this, def);
    const remote = def.mode === 'remote';
    // The editor routes answer for a remote engine without one (it has no dead letters here).
    this.remote = remote;
    const requested = engineConfigFromNode(def);
    // The gate is decided once, at deploy: settings.js does not change while Node-RED runs.
    const gate = wantsDocker(def) ? dockerGate(RED.settings) : undefined;
    let refused: RuntimeRefusal | undefined;
    let baseStatus: NodeStatus = {};
    if (gate?.allowed === false) {
      const wasDefault = def.defaultRuntime === 'docker';
      refused = {
        runtime: 'docker',
        wasDefault,
        message: `Docker mode is refused: ${gate.reason}, and the Docker socket is root-equivalent. To allow it, ${HOW_TO_ALLOW}.`,
      };
      baseStatus = { fill: 'red', shape: 'ring', text: 'docker refused: no adminAuth' };
      this.status(baseStatus);
      this.error(
        `${refused.message} This engine runs without the Docker runtime: ` +
          (wasDefault
            ? 'action nodes that name no runtime or name docker fail at deploy instead of running with less isolation, and the REST API is not exposed.'
            : 'action nodes that name the docker runtime fail at deploy.'),
      );
    } else if (gate?.allowed === true && gate.via === 'acknowledged') {
      baseStatus = { fill: 'yellow', shape: 'ring', text: 'docker without editor auth' };
      this.status(baseStatus);
      this.warn(
        'Docker mode is on without editor authentication (edgewhisk.allowDockerWithoutAdminAuth in settings.js): anyone who can ' +
          'reach the editor can deploy actions that start containers through the Docker daemon, whose socket is root-equivalent.',
      );
    }
    const config = refused === undefined ? requested : withoutDocker(requested);
    const apiKey = this.credentials?.apiKey ?? '';
    const closeSeconds = integer(def.closeTimeout);
    const closeMs = closeSeconds === undefined || Number.isNaN(closeSeconds) ? CLOSE_BUDGET_MS : Math.min(Math.max(closeSeconds, 0) * 1000, CLOSE_BUDGET_MS);
    const label = def.name !== undefined && def.name !== '' ? def.name : 'engine';
    let engine: NodeEngine | undefined;
    let closed = false;
    let unmount: (() => void) | undefined;
    let unlisten: (() => void) | undefined;
    let unwatch: (() => void) | undefined;

    // The API is served for embedded engines only, and only with its own credentials: it is code execution over HTTP.
    const expose = (embedded: Engine): void => {
      if (refused?.wasDefault === true) {
        this.error('The REST API is not exposed: its callers expect actions that name no runtime to run on Docker, which is refused.');
        return;
      }
      const auth = this.credentials?.apiAuth ?? '';
      if (!/^[^:]+:.+$/.test(auth)) {
        this.error('The REST API is not exposed: set its credentials (uuid:key) in the engine node.');
        return;
      }
      const path = normaliseApiPath(def.apiPath);
      try {
        unmount = mountApi(RED, path, createRestApi(embedded, { auth }));
        this.log(`EdgeWhisk REST API at ${path}/api/v1 (Basic auth with the engine node's API credentials)`);
      } catch (error) {
        this.error(error instanceof Error ? error.message : String(error));
      }
    };
    const start = (): NodeEngine => {
      if (remote) return new RemoteEngine({ apihost: def.apihost ?? '', apiKey, ignoreCerts: def.ignoreCerts === true }) satisfies NodeEngine;
      // Its own database under the user directory: what it accepted outlives a restart (lib/engine-store.ts).
      const embedded = openEngine(
        { ...config, closeTimeout: closeMs },
        { settings: RED.settings, events: RED.events, file: this.id, label: `engine '${label}'`, log: { log: (m) => this.log(m), warn: (m) => this.warn(m) } },
      );
      // Image pulls and runtime warnings reach the editor through this node; between pulls it shows the gate's status.
      unlisten = reportRuntime(embedded, this, () => baseStatus);
      unwatch = watchEngine(embedded, { key: this.id, label }, RED.comms);
      if (def.exposeApi === true) expose(embedded);
      return embedded;
    };

    this.acquire = (): EngineLease => {
      if (closed) throw new Error('This EdgeWhisk engine has been closed.');
      // Invalid settings throw here, at the first node that needs the engine, as a deploy-time error on that node.
      engine ??= start();
      return { engine, ...(refused === undefined ? {} : { refused }), release: async () => undefined };
    };

    // An exposed API must answer from deploy on, not from the first node that uses the engine.
    if (!remote && def.exposeApi === true) setImmediate(() => {
      if (!closed && engine === undefined) {
        try {
          engine = start();
        } catch (error) {
          this.error(error instanceof Error ? error.message : String(error));
        }
      }
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      unmount?.();
      unlisten?.();
      unlisten = undefined;
      unwatch?.();
      unwatch = undefined;
      const current = engine;
      engine = undefined;
      if (current === undefined) return done();
      current.close(closeMs).then(done, (error: unknown) => {
        this.warn(`EdgeWhisk engine did not close cleanly: ${String(error)}`);
        done();
      });
    });
  }
  // The sidebar's and the action dialog's routes: registered by the module every flow with EdgeWhisk loads.
  registerAdminRoutes(RED);
  listenForWatchers(RED.events);
  // Before any flow starts: engines replay once their flows have (lib/engine-store.ts).
  followFlows(RED.events);
  const gate = dockerGate(RED.settings);
  RED.nodes.registerType('edgewhisk-engine', EdgeWhiskEngineNode as unknown as new (def: NodeDef) => unknown, {
    credentials: { apiKey: { type: 'password' }, apiAuth: { type: 'password' } },
    // Lets the editor say beforehand whether Docker mode will be refused; the runtime decides on its own at deploy.
    settings: { edgewhiskEngineDockerGate: { value: gate.allowed ? gate.via : 'refused', exportable: true } },
  });
}
