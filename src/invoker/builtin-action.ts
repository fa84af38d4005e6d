/**
 * Built-in actions: actions of the system namespace that the engine runs in its own process instead of a container,
 * because their work is the engine's (the feed actions of `/whisk.system/alarms` and `/whisk.system/mqtt` change
 * the engine's feeds). They are invoked like any action and leave an activation record like any action.
 */
export const BUILTIN_KIND = 'builtin';

/** What a built-in action returns: its result (success) or an error message (an application error). */
export type BuiltinOutcome = { readonly result: Record<string, unknown> } | { readonly error: string };

/** Runs one invocation; a throw is a whisk internal error. */
export type BuiltinHandler = (params: Record<string, unknown>) => Promise<BuiltinOutcome>;
