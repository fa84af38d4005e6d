/**
 * What an engine does with the accepted invocations it finds when it starts on a durable store
 * (docs/durability.md): each runs again with its own activation id, the ones that had started as their next attempt;
 * the ones that waited too long, or whose action is gone, get a final record saying so and become dead letters.
 * Never throws and never rejects: a bad entry is settled on its own, and the rest go on.
 */
import type { ActivationStore } from '../activations/activation-store';
import { activationRecord } from '../activations/record-builder';
import { STATUS, type StoredActivation } from '../activations/record';
import type { InvokeContext } from '../engine-context';
import { resolveAction } from '../entities/resolve-action';
import { ewError, isEdgeWhiskError } from '../errors';
import type { EngineOptions } from '../options';
import type { AcceptedInvocation, AcceptedLog } from './accepted-log';

export interface ReplayHost extends InvokeContext {
  readonly options: EngineOptions;
  /** A closing engine stops replaying: what is left stays accepted on disk for the next engine. */
  readonly closed: boolean;
  readonly activations: ActivationStore;
  /** Stores a finished record and announces it; never rejects. */
  complete(record: StoredActivation): Promise<StoredActivation>;
}

export interface ReplaySummary {
  /** Run again from the start: accepted and not yet started at the crash. */
  readonly queued: number;
  /** Run again as their next attempt: running at the crash. */
  readonly rerun: number;
  /** Dead-lettered because they waited longer than `maxReplayAge`. */
  readonly expired: number;
  /** Dead-lettered because their action no longer exists (or can no longer be started). */
  readonly gone: number;
  /** Finished before the crash (their record is stored); only their acceptance was left to end. */
  readonly finished: number;
}

/** What a replay with nothing to do reports (no durable store, or an engine already closed). */
export const NOTHING_REPLAYED: ReplaySummary = Object.freeze({ queued: 0, rerun: 0, expired: 0, gone: 0, finished: 0 });

export async function replayAccepted(host: ReplayHost, log: AcceptedLog, now = Date.now()): Promise<ReplaySummary> {
  const counts = { ...NOTHING_REPLAYED };
  for (const invocation of log.unfinished()) {
    if (host.closed) break;
    try {
      counts[await replayOne(host, log, invocation, now)]++;
    } catch (error) {
      if (isEdgeWhiskError(error, 'EW_ENGINE_CLOSED')) break;
      process.emitWarning(`EdgeWhisk could not replay activation ${invocation.activationId}: ${String(error)}`, 'EdgeWhiskWarning');
    }
  }
  return counts;
}

async function replayOne(host: ReplayHost, log: AcceptedLog, invocation: AcceptedInvocation, now: number): Promise<keyof ReplaySummary> {
  const { activationId } = invocation;
  // Its record is stored but its acceptance was not ended: only a store given apart from the engine's database can
  // leave that, since both are committed together otherwise.
  if ((await host.activations.get(activationId)) !== undefined) {
    log.finish(activationId);
    return 'finished';
  }
  const acceptedAt = new Date(invocation.acceptedAt).toISOString();
  if (now - invocation.acceptedAt > host.options.maxReplayAge) {
    await bury(host, log, invocation, ewError('EW_REPLAY_EXPIRED', [acceptedAt, host.options.maxReplayAge]).message, now);
    return 'expired';
  }
  const attempt = invocation.attempts + 1;
  try {
    const { action, binding } = resolveAction(host.entities, host.name(invocation.target));
    host.start(action, invocation.payload, {
      activationId,
      durable: true,
      replay: true,
      internal: true,
      attempt,
      receivedAt: invocation.acceptedAt,
      ...(binding === undefined ? {} : { binding }),
      ...(invocation.progress === undefined ? {} : { resume: invocation.progress }),
    });
  } catch (error) {
    if (isEdgeWhiskError(error, 'EW_ENGINE_CLOSED')) throw error;
    const reason = isEdgeWhiskError(error, 'EW_ENTITY_NOT_FOUND')
      ? ewError('EW_REPLAY_ACTION_GONE', [invocation.target, acceptedAt]).message
      : `The invocation accepted at ${acceptedAt} could not be started again: ${error instanceof Error ? error.message : String(error)}`;
    await bury(host, log, invocation, reason, now);
    return 'gone';
  }
  return attempt > 1 ? 'rerun' : 'queued';
}

/** The final record of an invocation that will not run, committed with its dead letter. */
async function bury(host: ReplayHost, log: AcceptedLog, invocation: AcceptedInvocation, reason: string, now: number): Promise<void> {
  const name = invocation.target.split('/').at(-1) ?? invocation.target;
  const record = activationRecord({
    entity: { namespace: invocation.namespace, name, version: '0.0.0', publish: false },
    namespace: invocation.namespace,
    activationId: invocation.activationId,
    start: now,
    end: now,
    response: { statusCode: STATUS.INTERNAL_ERROR, result: { error: reason } },
    logs: [],
    annotations: [
      { key: 'path', value: invocation.target.slice(1) },
      { key: 'waitTime', value: Math.max(0, now - invocation.acceptedAt) },
      ...(invocation.attempts > 0 ? [{ key: 'attempt', value: invocation.attempts }] : []),
    ],
  });
  log.bury({ ...invocation, failedAt: now, reason });
  await host.complete(record);
}
