/**
 * MQTT topic filters (src/feeds/topic-filter.ts): MQTT's placement rules for `+` and `#`, and matching.
 */
import { describe, expect, it } from 'vitest';
import { topicFilterProblem, topicMatches } from '../../src/feeds/topic-filter';

describe('topic filters', () => {
  it('accepts filters whose wildcards stand alone in their level, # last', () => {
    for (const filter of ['a', 'a/b', '#', '+', 'a/#', '+/+', 'a/+/c', '/a', 'a/', '+/#', '$SYS/#', '$share/group/a/+', 'sport/tennis/+/#']) {
      expect(topicFilterProblem(filter), filter).toBeUndefined();
    }
  });

  it('refuses empty filters, misplaced wildcards and malformed shared subscriptions', () => {
    expect(topicFilterProblem('')).toBe('a topic filter must not be empty');
    for (const filter of ['a/#/b', '#/a', 'a#', 'a/b#', '##']) expect(topicFilterProblem(filter), filter).toMatch(/^'#' must be the last level/);
    for (const filter of ['a+', 'a/b+/c', '++', '+a/b']) expect(topicFilterProblem(filter), filter).toMatch(/^'\+' must be alone in its level/);
    expect(topicFilterProblem('a\u0000b')).toMatch(/null character/);
    expect(topicFilterProblem('x'.repeat(65_536))).toMatch(/at most 65535 bytes/);
    expect(topicFilterProblem('$share/group')).toMatch(/\$share\/<group>\/<filter>/);
    expect(topicFilterProblem('$share/gr+up/a')).toMatch(/group of a shared subscription/);
    expect(topicFilterProblem('$share/group/')).toMatch(/needs a topic filter/);
    expect(topicFilterProblem('$share/group/a/#/b')).toMatch(/^'#' must be the last level/);
  });

  it('matches topics as MQTT does', () => {
    const cases: [string, string, boolean][] = [
      ['home/+/state', 'home/kitchen/state', true],
      ['home/+/state', 'home/kitchen/light/state', false],
      ['home/+/state', 'home//state', true],
      ['home/+/state', 'home/state', false],
      ['home/#', 'home', true],
      ['home/#', 'home/a/b/c', true],
      ['home/#', 'homes/a', false],
      ['#', 'anything/at/all', true],
      ['#', '$SYS/broker/uptime', false],
      ['+/broker/uptime', '$SYS/broker/uptime', false],
      ['$SYS/#', '$SYS/broker/uptime', true],
      ['a/b', 'a/b', true],
      ['a/b', 'a/b/c', false],
      ['a/b/c', 'a/b', false],
      ['$share/g/home/+', 'home/x', true],
      ['+', '/a', false],
      ['/+', '/a', true],
    ];
    for (const [filter, topic, expected] of cases) expect(topicMatches(filter, topic), `${filter} ~ ${topic}`).toBe(expected);
  });
});
