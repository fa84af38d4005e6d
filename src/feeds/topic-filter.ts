/**
 * MQTT topic filters (MQTT 3.1.1 and 5.0, section 4.7): what an MQTT feed may subscribe to, and whether a topic
 * matches one. The feed validates filters itself so a bad one is refused at CREATE with a message naming the rule,
 * instead of a broker closing the connection later with no reason given (3.1.1 has no SUBACK reason codes).
 */

/** A topic filter's longest encoding: its length is a 16-bit prefix in the SUBSCRIBE packet. */
const MAX_FILTER_BYTES = 65_535;

/** `$share/{group}/{filter}` (MQTT 5, and mosquitto and others on 3.1.1): a subscription shared across clients. */
const SHARED_PREFIX = /^\$share\/([^/]*)\/(.*)$/s;

/** Why `filter` is not a valid topic filter, or `undefined` when it is. */
export function topicFilterProblem(filter: string): string | undefined {
  if (filter === '') return 'a topic filter must not be empty';
  if (Buffer.byteLength(filter, 'utf8') > MAX_FILTER_BYTES) return `a topic filter must be at most ${MAX_FILTER_BYTES} bytes`;
  if (filter.includes('\u0000')) return 'a topic filter must not contain the null character';
  const shared = SHARED_PREFIX.exec(filter);
  if (filter.startsWith('$share/') && shared === null) return 'a shared subscription is $share/<group>/<filter>';
  if (shared !== null) {
    const [, group = '', inner = ''] = shared;
    if (group === '' || /[+#]/.test(group)) return 'the group of a shared subscription must be a non-empty name without + or #';
    if (inner === '') return 'a shared subscription needs a topic filter after $share/<group>/';
  }
  const levels = (shared?.[2] ?? filter).split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return "'#' must be the last level of a topic filter, alone in its level (a/b/#)";
    if (level.includes('+') && level !== '+') return "'+' must be alone in its level of a topic filter (a/+/c)";
  }
  return undefined;
}

/** Whether `topic` (a published topic name, no wildcards) matches `filter` (valid, see `topicFilterProblem`). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = (SHARED_PREFIX.exec(filter)?.[2] ?? filter).split('/');
  const t = topic.split('/');
  // A wildcard in the first level does not match a topic beginning with `$` ($SYS/...): those are the broker's own.
  if (topic.startsWith('$') && (f[0] === '#' || f[0] === '+')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    // `#` also matches the parent level itself: `a/#` matches `a`.
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
