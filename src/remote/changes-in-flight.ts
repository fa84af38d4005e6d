/**
 * The changes a remote engine has asked for (definitions, deletions, rule states) and not yet seen answered.
 *
 * On an embedded engine a change is in place as soon as it is asked for, so whatever is asked for after it sees it.
 * Over HTTP the requests race: on a deploy, a sequence could be defined before the components its sibling nodes are
 * defining (and be refused), or its first message could run a component that is still being updated, as it was.
 * So what depends on other entities waits for the changes asked for before it, however they end: an invocation, a
 * sequence's definition, a rule's. Plain actions are still defined in parallel, and nothing is in flight between
 * deploys, so it costs nothing then.
 */
export class ChangesInFlight {
  readonly #pending = new Set<Promise<unknown>>();

  /** Notes `change` until it settles; returns it unchanged (its rejection is still the caller's to handle). */
  track<T>(change: Promise<T>): Promise<T> {
    this.#pending.add(change);
    const forget = (): void => void this.#pending.delete(change);
    change.then(forget, forget);
    return change;
  }

  /** Resolves once every change asked for so far has settled. */
  async settled(): Promise<void> {
    if (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}
