/**
 * `edgewhisk-action`: defines an action (code or sequence) in the engine and invokes it for every message, or
 * ("reference" mode) invokes an action defined elsewhere by name.
 *
 * Input: `msg.payload` that is an object is the parameters (merged over the node's defaults); anything else is
 * passed as `{payload: value}`. Output: blocking → `msg.payload` = result, `msg.activation` = the record;
 * non-blocking → `msg.payload = {activationId}` at once. Every failure reaches `done(err)` (or output 2).
 */
import type { Activation } from '../activations/record';
import type { ActionOptions } from '../api/actions-api';
import { isValidEntityName } from '../entities/names';
import { isValidMain } from '../entities/validate';
import { DEFAULT_NODE_KIND, RETIRED_NODE_KINDS } from '../runtimes/node-kinds';
import { claimActionName, forgetNode, noteDefinition, releaseActionName, renamedFrom, type EngineLease } from './lib/engine-registry';
import { noteOrigin } from './lib/activation-origins';
import { leaseEngineFor } from './lib/engine-source';
import { ActivationError, asError, errorStatus, isMissingEntity, shortText } from './lib/node-errors';
import { hasTemplates, renderParams, staticParams, type ParamDef } from './lib/param-templates';
import { ProgressStatus } from './lib/progress-status';
import { subscribeStarted } from './lib/started-dispatch';
import type { DoneFn, Node, NodeDef, NodeMessage, NodeStatus, RedApi, SendFn } from './lib/red-types';

export interface ActionNodeDef extends NodeDef {
  engine?: string;
  /** `define` (this node defines the action) or `reference` (invoke an action defined elsewhere). */
  mode?: 'define' | 'reference';
  action?: string;
  kind?: string;
  code?: string;
  main?: string;
  runtime?: string;
  /** The image of a `blackbox` action (any image speaking the OpenWhisk action-proxy protocol). */
  image?: string;
  /** Docker network: `none`, `bridge` or a network name; '' = the engine's default. */
  network?: string;
  components?: string[] | string;
  timeout?: string | number;
  memory?: string | number;
  concurrency?: string | number;
  logs?: string | number;
  params?: ParamDef[];
  blocking?: boolean;
  errorOutput?: boolean;
  /** Ignore `msg.action` (reference mode). */
  blockOverrides?: boolean;
}

function optionalInt(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return Number(value);
}

/** Component names from the editor's list (or a comma/newline separated string). */
export function componentList(value: unknown): string[] {
  const raw = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\n,]/) : [];
  return raw.map((c) => String(c).trim()).filter((c) => c !== '');
}

/** Docker network names as Docker allows them; `host` and `container:…` would share a network namespace. */
const NETWORK = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Why the node's Docker fields are unusable, or `undefined` when they are fine (checked at deploy). */
export function dockerFieldsProblem(def: ActionNodeDef): string | undefined {
  if (def.mode === 'reference' || def.kind === 'sequence') return undefined;
  const image = (def.image ?? '').trim();
  if (def.kind === 'blackbox' && image === '') return 'A blackbox action needs an image (one speaking the OpenWhisk action-proxy protocol).';
  if (image !== '' && /\s/.test(image)) return `Invalid image '${image}': an image reference has no spaces.`;
  const network = (def.network ?? '').trim();
  if (network !== '' && (!NETWORK.test(network) || network === 'host')) {
    return `Invalid network '${network}': use none, bridge or a network name (never host or another container's network).`;
  }
  return undefined;
}

/**
 * The engine `create` options this node describes, or `undefined` in reference mode. `defaultRuntime` is the
 * runtime to name when the node names none (set when the engine's own default was refused).
 */
export function actionDefinition(def: ActionNodeDef, name: string, defaultRuntime?: string): ActionOptions | undefined {
  if (def.mode === 'reference') return undefined;
  const limits: Record<string, number> = {};
  for (const key of ['timeout', 'memory', 'concurrency', 'logs'] as const) {
    const n = optionalInt(def[key]);
    if (n !== undefined) limits[key] = n;
  }
  const network = (def.network ?? '').trim();
  const annotations = { 'edgewhisk-node': def.id, ...(network === '' ? {} : { 'edgewhisk-network': network }) };
  if (def.kind === 'sequence') {
    return { name, sequence: componentList(def.components), annotations: { 'edgewhisk-node': def.id }, overwrite: true };
  }
  const kind = def.kind === undefined || def.kind === '' ? DEFAULT_NODE_KIND : def.kind;
  const image = (def.image ?? '').trim();
  const exec: Record<string, string> = {};
  if (def.main !== undefined && def.main !== '' && def.main !== 'main') exec['main'] = def.main;
  if (kind === 'blackbox' && image !== '') exec['image'] = image;
  const runtime = def.runtime !== undefined && def.runtime !== '' ? def.runtime : defaultRuntime;
  return {
    name,
    kind,
    action: def.code ?? '',
    exec,
    params: staticParams(def.params ?? []),
    limits,
    annotations,
    ...(runtime === undefined || runtime === '' ? {} : { runtime }),
    overwrite: true,
  };
}

function outcomeStatus(activation: Activation): NodeStatus {
  return activation.response.success
    ? { fill: 'green', shape: 'dot', text: `${activation.duration ?? 0} ms` }
    : errorStatus(new ActivationError(activation));
}

/**
 * How errors name another node: by its name (unnamed action nodes go by their action name, which is `actionName`
 * for the owner of a clashing name), its flow's name, and its id in brackets.
 */
function describeNode(RED: RedApi, id: string, actionName: string): string {
  const other = RED.nodes.getNode(id) as Node | null | undefined;
  if (other === null || other === undefined) return `node [${id}]`;
  const label = other.name !== undefined && other.name !== '' ? other.name : actionName;
  const flow = RED.util.getSetting(other, 'NR_FLOW_NAME');
  return `node '${label}'${typeof flow === 'string' && flow !== '' ? ` on flow '${flow}'` : ''} [${id}]`;
}

export default function register(RED: RedApi): void {
  function EdgeWhiskActionNode(this: Node, def: ActionNodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const mode = def.mode === 'reference' ? 'reference' : 'define';
    const configuredName = (def.action ?? '').trim();
    const name = configuredName !== '' ? configuredName : mode === 'define' ? `action-${def.id.replace(/[^\w]/g, '')}` : '';
    // Node-RED reports a node's errors and warnings (debug sidebar, log) and its Catch and Status messages
    // (msg.error.source.name) under `node.name`, and the debug sidebar falls back to the id: an unnamed node goes by
    // its action's name instead.
    if ((node.name ?? '') === '' && name !== '') node.name = name;
    const params = def.params ?? [];
    const templated = hasTemplates(params);
    const blocking = def.blocking !== false;
    const errorOutput = def.errorOutput === true;
    let lease: EngineLease | undefined;
    let defined: Promise<void> | undefined;
    let ownsName = false;
    let clash: string | undefined;
    const progress = new ProgressStatus((status) => node.status(status));
    const setStatus = (status: NodeStatus): void => progress.now(status);

    // Validate what can be validated before touching the engine: a bad name or main is a deploy-time error.
    if (mode === 'define' && !isValidEntityName(name)) {
      node.error(`Invalid action name '${name}': use letters, digits, spaces, '_', '@', '.', '&' and '-' (max 256), starting with a letter, digit or '_'.`);
      setStatus({ fill: 'red', shape: 'ring', text: 'invalid name' });
      return;
    }
    if (mode === 'define' && def.kind !== 'sequence' && def.main !== undefined && def.main !== '' && !isValidMain(def.main)) {
      node.error(`Invalid main '${def.main}': use an identifier such as 'main' or 'handler.run'.`);
      setStatus({ fill: 'red', shape: 'ring', text: 'invalid main' });
      return;
    }
    const dockerProblem = dockerFieldsProblem(def);
    if (mode === 'define' && dockerProblem !== undefined) {
      node.error(dockerProblem);
      setStatus({ fill: 'red', shape: 'ring', text: def.kind === 'blackbox' && (def.image ?? '').trim() === '' ? 'no image' : 'invalid docker setting' });
      return;
    }
    lease = leaseEngineFor(RED, node, def.engine);
    if (lease === undefined) return;
    const engine = lease.engine;
    // Docker refused by Node-RED's settings: an action that was to run there names it, and fails with the engine's
    // own error, instead of running on another runtime with less isolation.
    const refused = lease.refused;
    const defaultRuntime = refused?.wasDefault === true ? refused.runtime : undefined;
    const starts = subscribeStarted(engine, (activationId) => progress.started(activationId));

    if (mode === 'define') {
      const owner = claimActionName(engine, name, node.id);
      const previous = renamedFrom(engine, node.id, name);
      if (previous !== undefined) engine.actions.delete({ name: previous }).catch(() => undefined);
      if (owner !== undefined) {
        clash = `The action name '${name}' is already defined by ${describeNode(RED, owner, name)} in this engine; action names must be unique.`;
        node.error(clash);
        setStatus({ fill: 'red', shape: 'ring', text: 'name clash' });
      } else {
        ownsName = true;
      }
    }

    /** Defines (or updates) the action; memoised, and retried on the next message if it failed (e.g. a sequence
     *  component defined by a node that started later). */
    let isDefined = mode === 'reference';
    const ensureDefined = (): Promise<void> => {
      if (isDefined) return Promise.resolve();
      if (!ownsName) return Promise.reject(new Error(clash ?? `The action name '${name}' is already defined by another node in this engine.`));
      defined ??= (async () => {
        const wanted = actionDefinition(def, name, defaultRuntime) as ActionOptions;
        // An unchanged node keeps its action as it is: same version, so its warm containers stay in use. The
        // engine decides with its own normalisation (kind aliases, namespaces, defaults).
        const doc = await engine.actions.create({ ...wanted, keepIfUnchanged: true });
        isDefined = true;
        const requested = wanted.kind ?? '';
        const runsAs = doc.exec.kind;
        if (RETIRED_NODE_KINDS.includes(requested) && typeof runsAs === 'string' && runsAs !== requested) {
          // Flows saved when Node.js 20 was the default name `nodejs:20`: they keep working, and say so once per deploy.
          node.warn(`Kind ${requested} is retired and not available here: action '${name}' runs as ${runsAs}. Open the node and save it to use ${DEFAULT_NODE_KIND}.`);
        }
      })().catch((error: unknown) => {
        defined = undefined;
        throw error;
      });
      // A replay after a restart waits for it: what was accepted runs the action as this node now defines it.
      noteDefinition(engine, defined);
      return defined;
    };

    if (ownsName) {
      ensureDefined().then(
        () => setStatus({}),
        (error: unknown) => {
          // Sequences whose components are defined by later nodes succeed on the first message; say so quietly.
          const message = asError(error).message;
          if (def.kind === 'sequence' && isMissingEntity(error, ['EW_SEQUENCE_COMPONENT_MISSING'], /component does not exist/)) {
            setStatus({ fill: 'grey', shape: 'ring', text: 'waiting for components' });
          } else {
            const runtime = def.runtime !== undefined && def.runtime !== '' ? def.runtime : defaultRuntime;
            const needsRefused = refused !== undefined && (runtime === refused.runtime || def.kind === 'blackbox');
            node.error(`Could not define action '${name}': ${message}${needsRefused ? ` ${refused.message}` : ''}`);
            setStatus({ fill: 'red', shape: 'ring', text: shortText(message) });
          }
        },
      );
    }

    const fail = (msg: NodeMessage, send: SendFn, done: DoneFn, error: unknown): void => {
      const err = asError(error);
      if (err instanceof ActivationError) msg['activation'] = err.activation;
      setStatus(errorStatus(error));
      if (errorOutput) {
        msg['error'] = { message: err.message, ...(typeof (err as { code?: unknown }).code === 'string' ? { code: (err as { code: string }).code } : {}) };
        send([null, msg]);
        done();
      } else {
        done(err);
      }
    };

    const handle = async (msg: NodeMessage, send: SendFn, done: DoneFn): Promise<void> => {
      const override = typeof msg['action'] === 'string' && msg['action'] !== '' && def.blockOverrides !== true && mode === 'reference';
      const target = override ? (msg['action'] as string) : name;
      if (target === '') throw new Error('No action name: set one on the node or, in reference mode, in msg.action.');
      if (!isDefined) await ensureDefined();
      const payload = msg.payload;
      const given: unknown = payload === undefined || payload === null ? {} : typeof payload === 'object' ? payload : { payload };
      const invocationParams = Array.isArray(given) || !templated ? given : { ...renderParams(RED, node, params, msg), ...(given as object) };
      // Without waiting for the result, the id sent on is a promise to run: accepted work, kept over a crash.
      const started = await engine.actions.start({ name: target, params: invocationParams, durable: !blocking });
      noteOrigin(engine, started.activationId, { node: node.id });
      progress.queued(started.activationId);
      starts.expect(started.activationId);
      if (!blocking) {
        msg.payload = { activationId: started.activationId };
        send(errorOutput ? [msg, null] : msg);
        done();
        // Still tracked for the status; the result reaches flows through an edgewhisk-activations node.
        const settled = await started.activation;
        // Forgotten in any case: an activation that started before it was expected, or never started, leaves no entry.
        starts.forget(started.activationId);
        progress.finished(started.activationId, outcomeStatus(settled));
        return;
      }
      const activation = await started.activation;
      starts.forget(started.activationId);
      progress.finished(started.activationId, outcomeStatus(activation));
      if (!activation.response.success) {
        fail(msg, send, done, new ActivationError(activation));
        return;
      }
      msg.payload = activation.response.result;
      msg['activation'] = activation;
      send(errorOutput ? [msg, null] : msg);
      done();
    };

    // The exact (msg, send, done) signature matters: Node-RED counts the parameters to track completion.
    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      handle(msg, send, done).catch((error: unknown) => fail(msg, send, done, error));
    });

    node.on('close', (removed: boolean, done: () => void) => {
      progress.close();
      starts.release();
      const current = lease;
      lease = undefined;
      const finish = async (): Promise<void> => {
        if (ownsName) {
          releaseActionName(engine, name, node.id);
          // A removed (or disabled) node takes its action with it; a redeployed one keeps it, and its warm containers.
          if (removed && !engine.closed) {
            forgetNode(engine, node.id);
            await engine.actions.delete({ name }).catch(() => undefined);
          }
        }
        await current?.release();
      };
      finish().then(done, done);
    });
  }
  RED.nodes.registerType('edgewhisk-action', EdgeWhiskActionNode as unknown as new (def: NodeDef) => unknown);
}
