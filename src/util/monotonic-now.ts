/**
 * Epoch ms that never repeats within the process: two entity writes in the same millisecond still get distinct
 * stamps. The pool keys warm containers on the action's stamp, so a deleted and re-created action can never be
 * served by a container that loaded the old code.
 */
let last = 0;

export function monotonicNow(): number {
  last = Math.max(Date.now(), last + 1);
  return last;
}
