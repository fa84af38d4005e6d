/**
 * Accepted invocations: what the engine has promised to run. With a durable store each one is on disk before its
 * activation id reaches the caller, and stays there until its final record is committed (in the same transaction),
 * so a restart finds exactly the invocations that were accepted and not finished, and runs them again with their
 * own activation ids (docs/durability.md).
 *
 * Invocations that failed for the engine's own reasons more often than the retry limit, or that waited longer than
 * the replay age, become dead letters: kept with their payload so they can be inspected and run again.
 */

/** Where a sequence had got to: the next step, its input, and the component ids used so far. */
export interface SequenceProgress {
  /** Index in the sequence's components of the step being run. */
  readonly step: number;
  /** The step's input (the previous step's result, or the sequence's parameters). */
  readonly payload: unknown;
  /** Component activation ids in order, the one of `step` last. */
  readonly componentIds: readonly string[];
  /** Attempts started of the step's activation (its id is the last of `componentIds`). */
  readonly attempt: number;
}

export interface AcceptedInvocation {
  readonly activationId: string;
  /** The invoking namespace. */
  readonly namespace: string;
  /** The fully qualified name the invocation resolved: `/ns/action`, `/ns/pkg/action` or through a binding. */
  readonly target: string;
  /** The parameters as the caller gave them (the action's defaults are merged again when it runs). */
  readonly payload: unknown;
  /** Epoch ms when the engine accepted it. */
  readonly acceptedAt: number;
  /** Attempts started so far: more than zero after a restart means it was running at the crash. */
  readonly attempts: number;
  /** Sequences only: how far the last attempt got. */
  readonly progress?: SequenceProgress;
}

export interface DeadLetter {
  readonly activationId: string;
  readonly namespace: string;
  readonly target: string;
  readonly payload: unknown;
  readonly acceptedAt: number;
  readonly attempts: number;
  /** Epoch ms of the final failure. */
  readonly failedAt: number;
  /** Why it is dead: the final record's error, or that it expired. */
  readonly reason: string;
}

export interface DeadLetterQuery {
  readonly namespace: string;
  readonly skip: number;
  readonly limit: number;
}

export interface AcceptedLog {
  /** Records the acceptance; resolves once it is durable, rejects (EW_STORE_FULL, …) if it could not be. */
  accept(invocation: AcceptedInvocation): Promise<void>;
  /** Records that attempt `attempt` starts, with the next commit (within a few milliseconds; nobody waits). */
  started(activationId: string, attempt: number): void;
  /** Records a sequence's progress; resolves once durable. */
  progress(activationId: string, progress: SequenceProgress): Promise<void>;
  /** Ends the acceptance: committed with the final record put in the same turn. */
  finish(activationId: string): void;
  /** Ends the acceptance as a dead letter, committed with the final record put in the same turn. */
  bury(letter: DeadLetter): void;
  /** Accepted and not finished, oldest first. */
  unfinished(): AcceptedInvocation[];
  deadLetters(query: DeadLetterQuery): DeadLetter[];
  countDeadLetters(namespace: string): number;
  deadLetter(activationId: string): DeadLetter | undefined;
  /** Removes a dead letter; returns whether there was one. */
  removeDeadLetter(activationId: string): boolean;
}
