/**
 * Sequences (docs/semantics.md#sequences): components run one after another, each result feeding the next; the first
 * result with a top-level `error` stops the sequence and becomes its response. The sequence's own record lists the
 * component activation ids as its logs; each component's record points back with `cause`.
 */
import { activationRecord, sequenceAnnotations } from '../activations/record-builder';
import { STATUS, type StatusCode, type StoredActivation } from '../activations/record';
import type { EntityContext, InvokeContext, StartContext } from '../engine-context';
import { rootNamespace } from '../entities/names';
import { isSequence, type ActionDoc } from '../entities/types';
import { ewError, isEdgeWhiskError } from '../errors';
import { resolveAction } from '../entities/resolve-action';
import type { SequenceProgress } from '../queue/accepted-log';
import { newActivationId } from '../util/ids';

const SEQUENCE_FAILED = 'Sequence failed.';

/**
 * Resolves a sequence's components to atomic actions in run order (nested sequences inlined), checking for
 * missing components, self-reference and the length limit. Used at create time and again at run time.
 */
export function expandSequence(core: EntityContext, root: { namespace: string; name: string }, components: readonly string[]): ActionDoc[] {
  const out: ActionDoc[] = [];
  const rootKey = `/${root.namespace}/${root.name}`;
  const visit = (list: readonly string[], path: ReadonlySet<string>): void => {
    for (const component of list) {
      const q = core.name(component);
      const key = `/${q.namespace}/${q.name}`;
      if (key === rootKey || path.has(key)) throw ewError('EW_SEQUENCE_SELF', [], { component: key });
      let doc: ActionDoc | undefined;
      try {
        doc = resolveAction(core.entities, q).action;
      } catch {
        doc = undefined;
      }
      if (doc === undefined) throw ewError('EW_SEQUENCE_COMPONENT_MISSING', [], { component: key });
      if (isSequence(doc.exec)) visit(doc.exec.components, new Set([...path, key]));
      else out.push(doc);
      if (out.length > core.options.sequenceMaxLength) throw ewError('EW_SEQUENCE_TOO_LONG', []);
    }
  };
  visit(components, new Set());
  return out;
}

function hasError(result: unknown): boolean {
  return typeof result === 'object' && result !== null && !Array.isArray(result) && 'error' in result;
}

export async function runSequence(
  core: InvokeContext,
  sequence: ActionDoc,
  params: unknown,
  activationId: string,
  context: StartContext,
): Promise<StoredActivation> {
  const receivedAt = Date.now();
  const exec = sequence.exec;
  const componentIds: string[] = [];
  let statusCode: StatusCode = STATUS.SUCCESS;
  let result: unknown = {};
  let size: number | undefined;
  let duration = 0;
  let memory = 0;
  let end = receivedAt;
  try {
    if (!isSequence(exec)) throw new Error('not a sequence');
    // Validate up front so a sequence whose components vanished fails before running half of them.
    expandSequence(core, sequence, exec.components);
    const resume = context.resume;
    // A resumed sequence (docs/durability.md) goes on from the step it was running, with that step's input.
    componentIds.push(...(resume?.componentIds.slice(0, -1) ?? []));
    let payload: unknown = resume?.payload ?? params;
    for (let step = resume?.step ?? 0; step < exec.components.length; step++) {
      const component = exec.components[step] as string;
      let resolved: ReturnType<typeof resolveAction>;
      try {
        resolved = resolveAction(core.entities, core.name(component));
      } catch {
        throw ewError('EW_SEQUENCE_COMPONENT_MISSING', [], { component });
      }
      const doc = resolved.action;
      memory = Math.max(memory, doc.limits.memory);
      const { id, attempt, finished } = await resumedStep(core, resume, step);
      componentIds.push(id);
      let record = finished;
      if (record === undefined) {
        await core.sequenceStep(activationId, { step, payload, componentIds: [...componentIds], attempt });
        // Nested sequences always run blocking inside their parent; both kinds report to the parent via `cause`.
        const started = core.start(doc, payload, {
          activationId: id,
          cause: activationId,
          causedBy: 'sequence',
          internal: true,
          ...(attempt > 1 ? { attempt } : {}),
          ...(resolved.binding === undefined ? {} : { binding: resolved.binding }),
        });
        record = await started.done;
      }
      duration += record.duration ?? 0;
      end = Math.max(end, record.end);
      statusCode = record.response.statusCode;
      result = record.response.result;
      size = record.response.size;
      if (statusCode !== STATUS.SUCCESS || hasError(result)) break;
      // Only a JSON object or array is passed on; anything else becomes an empty payload.
      payload = typeof result === 'object' && result !== null ? result : {};
    }
  } catch (error) {
    if (isEdgeWhiskError(error, 'EW_SEQUENCE_COMPONENT_MISSING') || isEdgeWhiskError(error, 'EW_SEQUENCE_SELF') || isEdgeWhiskError(error, 'EW_SEQUENCE_TOO_LONG')) {
      statusCode = STATUS.APPLICATION_ERROR;
      result = { error: error.message };
    } else {
      statusCode = STATUS.INTERNAL_ERROR;
      result = { error: SEQUENCE_FAILED };
    }
    size = undefined;
    end = Date.now();
  }
  return activationRecord({
    entity: sequence,
    namespace: rootNamespace(sequence.namespace),
    activationId,
    start: receivedAt,
    end,
    duration,
    cause: context.cause,
    response: { statusCode, result, size },
    logs: componentIds,
    annotations: sequenceAnnotations(sequence, { memory: memory || sequence.limits.memory, causedBy: context.causedBy, attempt: context.attempt }),
  });
}

/**
 * The activation id of `step`, and whether it must run. A fresh step gets a new id. The step a resumed sequence was
 * at keeps its id when it has no record (it was running at the crash: this is its next attempt) and is taken as it
 * finished when it has one, except for a whisk internal error, which a retry runs anew under a new id.
 */
async function resumedStep(
  core: InvokeContext,
  resume: SequenceProgress | undefined,
  step: number,
): Promise<{ id: string; attempt: number; finished?: StoredActivation }> {
  const previous = resume?.step === step ? resume.componentIds.at(-1) : undefined;
  if (resume === undefined || previous === undefined) return { id: newActivationId(), attempt: 1 };
  const existing = await core.record(previous);
  if (existing === undefined) return { id: previous, attempt: resume.attempt + 1 };
  if (existing.response.statusCode === STATUS.INTERNAL_ERROR) return { id: newActivationId(), attempt: 1 };
  return { id: previous, attempt: resume.attempt, finished: existing };
}
