/**
 * `engine.deadLetters` (EdgeWhisk; OpenWhisk has none): accepted invocations that will not finish on their own
 * (docs/durability.md). One failed for the engine's own reasons more often than `retryLimit`, waited longer than
 * `maxReplayAge` while the engine was down, or lost its action. Each keeps its payload: list, inspect, run it again
 * (`redrive`, a new accepted invocation with a new activation id) or drop it. Its final record stays in
 * `engine.activations` under its own id. Without a durable store there are none.
 */
import type { DeadLettersContext } from '../engine-context';
import { resolveAction } from '../entities/resolve-action';
import { ewError, isEdgeWhiskError } from '../errors';
import type { DeadLetter } from '../queue/accepted-log';
import { listWindow, type ListOptions } from './list-options';

type IdOptions = string | { readonly activationId?: string };

function pickId(options: IdOptions): string {
  const id = typeof options === 'string' ? options : options?.activationId;
  if (typeof id !== 'string' || id === '') throw new TypeError('Expected an activation id (a string, or {activationId})');
  return id;
}

export class DeadLettersApi {
  readonly #core: DeadLettersContext;

  constructor(core: DeadLettersContext) {
    this.#core = core;
  }

  /** Newest first, or with `count: true` only how many there are, as `{deadLetters: n}`. */
  list(options: ListOptions & { readonly count: true }): Promise<{ deadLetters: number }>;
  list(options?: ListOptions): Promise<DeadLetter[]>;
  async list(options: ListOptions = {}): Promise<DeadLetter[] | { deadLetters: number }> {
    const { skip, limit } = listWindow(options, 'deadLetters');
    const namespace = options.namespace === undefined || options.namespace === '_' ? this.#core.options.namespace : options.namespace;
    const log = this.#core.accepted;
    if (options.count === true) return { deadLetters: log?.countDeadLetters(namespace) ?? 0 };
    return log?.deadLetters({ namespace, skip, limit }) ?? [];
  }

  async get(options: IdOptions): Promise<DeadLetter> {
    const id = pickId(options);
    const letter = this.#core.accepted?.deadLetter(id);
    if (letter === undefined) throw ewError('EW_DEAD_LETTER_NOT_FOUND', [id]);
    return letter;
  }

  /**
   * Runs the dead letter's invocation again, with its payload, against the action its name resolves to now: a new
   * accepted invocation (its own activation id, returned once it is durable). The dead letter is then removed.
   */
  async redrive(options: IdOptions): Promise<{ activationId: string; deadLetter: string }> {
    const letter = await this.get(options);
    const core = this.#core;
    let resolved: ReturnType<typeof resolveAction>;
    try {
      resolved = resolveAction(core.entities, core.name(letter.target));
    } catch (error) {
      if (isEdgeWhiskError(error, 'EW_ENTITY_NOT_FOUND')) throw ewError('EW_DEAD_LETTER_ACTION_GONE', [letter.target]);
      throw error;
    }
    const { action, binding } = resolved;
    const started = core.start(action, letter.payload, { durable: true, ...(binding === undefined ? {} : { binding }) });
    await started.durable();
    core.accepted?.removeDeadLetter(letter.activationId);
    return { activationId: started.activationId, deadLetter: letter.activationId };
  }

  /** Drops the dead letter (its record stays); returns it. */
  async delete(options: IdOptions): Promise<DeadLetter> {
    const letter = await this.get(options);
    this.#core.accepted?.removeDeadLetter(letter.activationId);
    return letter;
  }
}
