/**
 * Waiting for an activation for at most a given time: a blocking invoke through the API or REST (which is demoted to
 * `{activationId}` when its wait runs out, docs/semantics.md#blocking-and-non-blocking) and `activations.wait`.
 */

/**
 * What `pending` resolves to, if it settles within `ms`; `undefined` when the wait runs out first (the activation
 * goes on: only the wait ends). Rejects when `pending` rejects first. One timer, cleared once `pending` settles, since
 * this runs for every blocking invocation.
 */
export function awaitActivation<T>(pending: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
