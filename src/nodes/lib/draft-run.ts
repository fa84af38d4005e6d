/**
 * "Run" in the action dialog: runs the code being edited, before deploy, on the engine the node selects.
 *
 * The draft becomes a throwaway action under a fresh name, is invoked once with the sample payload exactly as a
 * message's payload would be passed, and is deleted again whatever happened. It runs through the engine's normal
 * path (same runtime, limits, isolation and record), so what the dialog shows is what the deployed node will do.
 */
import { randomBytes } from 'node:crypto';
import type { Activation } from '../../activations/record';
import type { ActionOptions } from '../../api/actions-api';
import { isValidMain } from '../../entities/validate';
import { ewError } from '../../errors';
import { actionDefinition, dockerFieldsProblem, type ActionNodeDef } from '../edgewhisk-action';
import { noteOrigin } from './activation-origins';
import type { EngineLease } from './engine-registry';
import { renderParams, type ParamDef } from './param-templates';
import type { Node, RedApi } from './red-types';

/** What the dialog sends: the node's fields as edited, and the sample `msg.payload`. */
export interface Draft {
  /** The node being edited (a new node has its editor id too). */
  readonly node: string;
  /** The engine config node's id; '' for the shared default engine. */
  readonly engine?: string;
  readonly kind?: string;
  readonly code?: string;
  readonly main?: string;
  readonly runtime?: string;
  readonly image?: string;
  readonly network?: string;
  readonly components?: string[] | string;
  readonly timeout?: string | number;
  readonly memory?: string | number;
  readonly concurrency?: string | number;
  readonly logs?: string | number;
  readonly params?: ParamDef[];
  readonly payload?: unknown;
}

const STRING_FIELDS = ['engine', 'kind', 'code', 'main', 'runtime', 'image', 'network', 'timeout', 'memory', 'concurrency', 'logs'] as const;

/** The draft from a request body, or a coded 400 naming what is wrong with it. */
export function parseDraft(body: unknown): Draft {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw ewError('EW_EDITOR_DRAFT_INVALID', ['the request body must be a JSON object.']);
  const b = body as Record<string, unknown>;
  if (typeof b['node'] !== 'string' || b['node'] === '') throw ewError('EW_EDITOR_DRAFT_INVALID', ["'node' must name the node being edited."]);
  for (const key of STRING_FIELDS) {
    const value = b[key];
    if (value !== undefined && typeof value !== 'string' && typeof value !== 'number') throw ewError('EW_EDITOR_DRAFT_INVALID', [`'${key}' must be a string.`]);
  }
  if (b['params'] !== undefined && !Array.isArray(b['params'])) throw ewError('EW_EDITOR_DRAFT_INVALID', ["'params' must be a list."]);
  if (b['components'] !== undefined && !Array.isArray(b['components']) && typeof b['components'] !== 'string') {
    throw ewError('EW_EDITOR_DRAFT_INVALID', ["'components' must be a list."]);
  }
  return b as unknown as Draft;
}

/** A node-shaped object whose context is empty: templates of a node that is not deployed see no flow or global values. */
function detachedNode(id: string): Node {
  const empty = { get: () => undefined, set: () => undefined };
  return { id, type: 'edgewhisk-action', context: () => ({ ...empty, flow: empty, global: empty }) } as unknown as Node;
}

/**
 * Runs `draft` on the lease's engine and resolves with its activation record. Throws coded errors for a draft that
 * cannot be defined (bad main, bad Docker fields, an engine refusal); a draft that runs and fails resolves with
 * its failed record, like any activation.
 */
export async function runDraft(RED: RedApi, lease: EngineLease, draft: Draft): Promise<Activation> {
  const engine = lease.engine;
  const def: ActionNodeDef = { ...draft, id: draft.node, type: 'edgewhisk-action', mode: 'define' };
  const dockerProblem = dockerFieldsProblem(def);
  if (dockerProblem !== undefined) throw ewError('EW_EDITOR_DRAFT_INVALID', [dockerProblem]);
  if (def.kind !== 'sequence' && def.main !== undefined && def.main !== '' && !isValidMain(def.main)) {
    throw ewError('EW_EDITOR_DRAFT_INVALID', [`invalid main '${def.main}': use an identifier such as 'main' or 'handler.run'.`]);
  }
  const name = `edgewhisk-run-${randomBytes(6).toString('hex')}`;
  const refused = lease.refused;
  const definition = actionDefinition(def, name, refused?.wasDefault === true ? refused.runtime : undefined) as ActionOptions;
  const annotations = { ...(definition.annotations as Record<string, unknown>), 'edgewhisk-editor-run': true };

  // As the node passes a message: an object payload is the parameters, anything else is `{payload}`; the
  // node's template parameters are rendered against the sample message (with its flow context when deployed).
  const payload = draft.payload;
  const given: unknown = payload === undefined || payload === null ? {} : typeof payload === 'object' ? payload : { payload };
  const params = draft.params ?? [];
  const deployed = RED.nodes.getNode(draft.node) as Node | null;
  let invocation: unknown = given;
  if (!Array.isArray(given)) {
    const rendered = renderParams(RED, deployed ?? detachedNode(draft.node), params, { payload });
    invocation = { ...rendered, ...(given as object) };
  }
  await engine.actions.create({ ...definition, annotations, overwrite: false });
  try {
    const started = await engine.actions.start({ name, params: invocation });
    noteOrigin(engine, started.activationId, { node: draft.node, editor: true });
    return await started.activation;
  } finally {
    await engine.actions.delete({ name }).catch(() => undefined);
  }
}
