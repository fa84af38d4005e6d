/**
 * The entity name from a call's options, as the `openwhisk` client accepts it: the options themselves when they
 * are a string, else `name` or the resource's own key (`actionName`, `triggerName`, `ruleName`).
 */
export function pickName(options: unknown, alias: 'actionName' | 'triggerName' | 'ruleName' | 'packageName'): string {
  if (typeof options === 'string') return options;
  if (typeof options !== 'object' || options === null) throw new TypeError(`Expected an options object with a \`name\`, got ${String(options)}`);
  const o = options as Record<string, unknown>;
  const name = o['name'] ?? o[alias];
  if (typeof name !== 'string') throw new TypeError(`Missing resource identifier from parameters, supported parameter names: name, ${alias}`);
  return name;
}
