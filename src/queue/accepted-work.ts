/**
 * The engine's side of accepted invocations (docs/durability.md#accepted-invocations): which running invocations
 * are accepted work, the gate that keeps one from running before its acceptance is on disk, the start mark, and
 * where each run ends — its record committed with the end of its acceptance, a retry after a whisk internal error,
 * a dead letter after the last, or left accepted for the next engine when this one is closing.
 *
 * EngineCore owns one when the engine has a durable store; the queue, the invoker and the sequence runner stay
 * unaware of it.
 */
import { STATUS, type StoredActivation } from '../activations/record';
import type { StartContext } from '../engine-context';
import { rootNamespace } from '../entities/names';
import type { ActionDoc } from '../entities/types';
import type { EngineOptions } from '../options';
import type { AcceptedInvocation, AcceptedLog, SequenceProgress } from './accepted-log';

/** An accepted invocation this engine has promised to finish. */
export interface Tracked {
  readonly invocation: AcceptedInvocation;
  /** Settles once the acceptance is written: with `undefined`, or with the error that kept it from being written. */
  readonly acceptance: Promise<unknown>;
  /** The attempt running or last run. */
  attempt: number;
  /** Sequences: the progress last written. */
  progress?: SequenceProgress;
}

/** Runs attempt `n` of an invocation to its record (not stored). */
export type RunOnce = (attempt: number) => Promise<StoredActivation>;

/** A retry waiting for its backoff; `abandon` settles it when the engine closes first. */
interface PendingRetry {
  readonly timer: NodeJS.Timeout;
  readonly abandon: () => void;
}

/** The longest wait between retries. */
const MAX_RETRY_DELAY = 60_000;

export class AcceptedWork {
  readonly log: AcceptedLog;
  readonly #options: Pick<EngineOptions, 'retryLimit' | 'retryBackoff'>;
  /** Stores a final record and announces it; never rejects. */
  readonly #complete: (record: StoredActivation) => Promise<StoredActivation>;
  readonly #tracked = new Map<string, Tracked>();
  readonly #retries = new Set<PendingRetry>();
  #closing = false;

  constructor(log: AcceptedLog, options: Pick<EngineOptions, 'retryLimit' | 'retryBackoff'>, complete: (record: StoredActivation) => Promise<StoredActivation>) {
    this.log = log;
    this.#options = options;
    this.#complete = complete;
  }

  get(activationId: string): Tracked | undefined {
    return this.#tracked.get(activationId);
  }

  /**
   * Writes the acceptance of an invocation down (unless it is a replay, already on disk) and follows it to its end.
   * `started`: its code already has it (a blocking invoke made durable when its wait expired).
   */
  track(activationId: string, action: ActionDoc, payload: unknown, context: StartContext, started: boolean): Tracked {
    const attempt = context.attempt ?? 1;
    const invocation: AcceptedInvocation = {
      activationId,
      namespace: rootNamespace(action.namespace),
      target: context.binding === undefined ? `/${action.namespace}/${action.name}` : `/${context.binding}/${action.name}`,
      payload: payload ?? {},
      acceptedAt: context.receivedAt ?? Date.now(),
      attempts: started ? attempt : attempt - 1,
      ...(context.resume === undefined ? {} : { progress: context.resume }),
    };
    const acceptance: Promise<unknown> =
      context.replay === true ? Promise.resolve(undefined) : this.log.accept(invocation).then(() => undefined, (error: unknown) => error);
    const tracked: Tracked = { invocation, acceptance, attempt, ...(context.resume === undefined ? {} : { progress: context.resume }) };
    this.#tracked.set(activationId, tracked);
    return tracked;
  }

  /** A started invocation's `durable()`: its acceptance, written now (`promote`) if it was started without one. */
  durableOf(activationId: string, tracked: Tracked | undefined, promote: () => Tracked): () => Promise<void> {
    return () => {
      const current = tracked ?? this.#tracked.get(activationId) ?? promote();
      return current.acceptance.then((refusal) => {
        if (refusal !== undefined) throw refusal;
      });
    };
  }

  /**
   * The invocation has its container and its code is about to run: the start is written with the next commit, which
   * makes the next run after a crash an annotated re-run. Not waited for: a wait here would hold a container through
   * a commit for every activation (docs/durability.md#after-a-crash-at-least-once says what that leaves open).
   */
  noteStart(activationId: string, attempt: number): void {
    const tracked = this.#tracked.get(activationId);
    if (tracked === undefined) return;
    tracked.attempt = attempt;
    this.log.started(activationId, attempt);
  }

  /** A durable sequence's progress, written before it starts a step; rejects if its acceptance was refused. */
  sequenceStep(sequenceId: string, progress: SequenceProgress): Promise<void> {
    const tracked = this.#tracked.get(sequenceId);
    if (tracked === undefined) return Promise.resolve();
    return tracked.acceptance.then((refusal) => {
      if (refusal !== undefined) throw refusal;
      tracked.progress = progress;
      return this.log.progress(sequenceId, progress);
    });
  }

  /**
   * Where every finished run of an accepted invocation goes. Its acceptance ends in the commit of its record, unless
   * the run ended in a whisk internal error: then it runs again after a backoff while retries remain, and is
   * dead-lettered after the last. If the engine is closing it stays accepted for the next engine on this store, and
   * this run's record is not stored (the next run writes the final one). Runs that are not accepted work are stored.
   */
  settle(record: StoredActivation, runOnce: RunOnce): Promise<StoredActivation> {
    const tracked = this.#tracked.get(record.activationId);
    if (tracked === undefined) return this.#complete(record);
    return tracked.acceptance.then((refusal) => {
      const id = record.activationId;
      if (refusal !== undefined) {
        this.#tracked.delete(id);
        return this.#complete(record);
      }
      if (record.response.statusCode !== STATUS.INTERNAL_ERROR) {
        this.#tracked.delete(id);
        this.log.finish(id);
        return this.#complete(record);
      }
      if (this.#closing) {
        this.#tracked.delete(id);
        return record;
      }
      if (tracked.attempt <= this.#options.retryLimit) return this.#retry(tracked, record, runOnce);
      this.#tracked.delete(id);
      this.log.bury({ ...tracked.invocation, attempts: tracked.attempt, failedAt: Date.now(), reason: errorOf(record) });
      return this.#complete(record);
    });
  }

  /** The engine is closing: retries waiting for their backoff are given up here and stay accepted on disk. */
  close(): void {
    this.#closing = true;
    for (const retry of this.#retries) {
      clearTimeout(retry.timer);
      retry.abandon();
    }
    this.#retries.clear();
  }

  #retry(tracked: Tracked, record: StoredActivation, runOnce: RunOnce): Promise<StoredActivation> {
    const delay = Math.min(this.#options.retryBackoff * 2 ** (tracked.attempt - 1), MAX_RETRY_DELAY);
    return new Promise((resolve) => {
      const abandon = (): void => {
        this.#tracked.delete(record.activationId);
        resolve(record);
      };
      const retry: PendingRetry = {
        timer: setTimeout(() => {
          this.#retries.delete(retry);
          tracked.attempt++;
          let next: Promise<StoredActivation>;
          try {
            next = runOnce(tracked.attempt);
          } catch {
            // The engine refused the retry (it is closing): it stays accepted on disk.
            return abandon();
          }
          resolve(next.then((r) => this.settle(r, runOnce)));
        }, delay),
        abandon,
      };
      this.#retries.add(retry);
    });
  }
}

/** A record's error text, for a dead letter's reason. */
function errorOf(record: StoredActivation): string {
  const result = record.response.result as { error?: unknown } | undefined;
  return typeof result?.error === 'string' ? result.error : JSON.stringify(result ?? null);
}
