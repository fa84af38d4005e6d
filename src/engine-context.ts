/**
 * What the parts of the engine built on EngineCore may use of it, one interface per role. EngineCore satisfies them
 * all; the API facades and the sequence runner each take the one they need, so none of them can reach the container
 * pool, the balancer or the runtimes, and none imports engine-core (which imports the sequence runner).
 */
import type { ActivationStore } from './activations/activation-store';
import type { Activation, StoredActivation } from './activations/record';
import type { EntityStore } from './entities/entity-store';
import type { QualifiedName } from './entities/names';
import type { ActionDoc } from './entities/types';
import type { AcceptedLog, SequenceProgress } from './queue/accepted-log';
import type { EngineOptions } from './options';
import type { Runtime } from './runtimes/runtime';

/**
 * Who is calling, when the engine is called on behalf of someone else (the REST layer's web actions): an anonymous
 * caller gets the anonymous share of the namespace's concurrency, and a caller that has gone (its signal aborted)
 * has its activation dropped if it has not started yet.
 */
export interface Caller {
  /** The caller did not present the namespace's credentials. */
  readonly anonymous: boolean;
  /** Aborts when the caller has gone. */
  readonly signal?: AbortSignal;
}

export interface StartContext {
  /** Who the activation runs for; absent, the engine's own user (full share, never dropped). */
  readonly caller?: Caller;
  /** Parent sequence activation. */
  readonly cause?: string;
  /** Set for sequence components: skips the namespace limit the topmost invocation already passed. */
  readonly internal?: boolean;
  /** Set when run as a component of a sequence. */
  readonly causedBy?: string;
  /** Overrides the new activation's id (the REST layer may preassign one). */
  readonly activationId?: string;
  /** `ns/binding` when the action was reached through a package binding. */
  readonly binding?: string;
  /**
   * An accepted invocation the engine must not lose (a non-blocking invoke, a rule's): with a durable store it is
   * written down before it runs, run again after a crash, retried after whisk internal errors (docs/durability.md).
   */
  readonly durable?: boolean;
  /** Replays of accepted invocations: the attempt this run is (1 = first). */
  readonly attempt?: number;
  /** Replays of accepted sequences: where the last attempt got. */
  readonly resume?: SequenceProgress;
  /** Set when the invocation is already on disk (a replay): it is not written again. */
  readonly replay?: boolean;
  /** Replays: when the invocation was accepted (epoch ms), the start of its wait. */
  readonly receivedAt?: number;
}

export interface Started {
  readonly activationId: string;
  /** Settles with the record once stored; never rejects. */
  readonly done: Promise<StoredActivation>;
  /**
   * Resolves once the invocation is durably accepted (at once without a durable store); rejects with EW_STORE_FULL
   * (or another store error) if it could not be, and then it does not run. An invocation started without `durable`
   * becomes durable when this is called (a blocking invoke that was demoted).
   */
  durable(): Promise<void>;
}

/** A kind as an action is stored, and the kind it was asked for when they differ because that one is retired. */
export interface ResolvedKind {
  readonly kind: string;
  /** Set when a retired kind (`nodejs:20`) no runtime offers was mapped to `kind`. */
  readonly retired?: string;
}

/** Names resolved against the engine's namespace, and the entities they name: all the rules and packages APIs use. */
export interface EntityContext {
  readonly options: EngineOptions;
  readonly entities: EntityStore;
  name(input: unknown): QualifiedName;
}

/** Entities, and starting activations of actions: the sequence runner (one per component). */
export interface InvokeContext extends EntityContext {
  /** Throws validation and admission errors synchronously; everything after admission ends in a record. */
  start(action: ActionDoc, payload: unknown, context?: StartContext): Started;
  /**
   * Notes a durable sequence's progress before it starts a step; resolves once durable (at once for a sequence that
   * is not durable). Rejects when the sequence's acceptance could not be written: it must not run then.
   */
  sequenceStep(sequenceId: string, progress: SequenceProgress): Promise<void>;
  /** A stored record, if there is one (a resumed sequence's step may have finished before the crash). */
  record(activationId: string): Promise<StoredActivation | undefined>;
}

/** The actions API: creates actions (their kind resolved, a runtime for it checked) and invokes them. */
export interface ActionsContext extends InvokeContext {
  resolveKind(kind: string, requested?: unknown): ResolvedKind;
  /** Throws 400 if no runtime (or not the `requested` one) runs `kind`. Only the name is exposed: the API checks, it does not run. */
  runtimeFor(kind: string, requested: unknown): Pick<Runtime, 'name'>;
}

/** The triggers API: fires a trigger (starting its rules' actions) and stores the trigger's own activation. */
export interface TriggersContext extends InvokeContext {
  readonly closed: boolean;
  /** Stores a finished record and announces it; never rejects. */
  complete(record: StoredActivation): Promise<StoredActivation>;
}

/** The activations API: reads the store, and listens for completions to wait on one. */
export interface ActivationsContext {
  readonly activations: ActivationStore;
  readonly options: Pick<EngineOptions, 'namespace'>;
  name(input: unknown): QualifiedName;
  on(event: 'activation:completed', listener: (activation: Activation) => void): unknown;
  off(event: 'activation:completed', listener: (activation: Activation) => void): unknown;
}

/** The dead letters API: reads and ends dead letters, and runs one again as a new accepted invocation. */
export interface DeadLettersContext extends InvokeContext {
  /** Absent without a durable store: then there are no dead letters. */
  readonly accepted: AcceptedLog | undefined;
}
