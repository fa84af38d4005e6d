/**
 * Entity names (docs/semantics.md#names): OpenWhisk's EntityPath regex and the fixtures of its SchemaTests, checked
 * through the exported regex and predicate and through `engine.actions.create`, with OpenWhisk's exact 400 messages.
 */
import { describe, expect, it } from 'vitest';
import { ENTITY_NAME, isValidEntityName } from '../../src/index';
import { rejection, testEngine } from '../helpers/engine';

const ILLEGAL = 'The name of the entity contains illegal characters.';
const ILLEGAL_NAMESPACE = 'The namespace contains illegal characters.';
const MALFORMED = 'The fully qualified name of the entity must contain at least the namespace and the name of the entity.';
const CODE = 'function main(p) { return p; }';

const ACCEPT = ['a', 'a b', 'a@b.c&d', '_', '_ _', '0.0.0', 'a'.repeat(256)];

const REJECT = ['', ' ', ' xxx', 'xxx ', '/', 'a=2b', 'a?b', 'x#x', 'a§b', 'a()b', 'a{}b', '-abc', '&abc', 'a\n', 'a \t', 'a'.repeat(257)];

const MALFORMED_PATHS = ['a/ ', '//', 'a/ /b', ' a/ b'];

const show = (s: string): string => (s.length > 20 ? `${s[0]} × ${s.length}` : JSON.stringify(s));

describe('entity names: the regex and the predicate', () => {
  it.each(ACCEPT.map((n) => [show(n), n]))('accepts %s', (_label, name) => {
    expect(ENTITY_NAME.test(name)).toBe(true);
    expect(isValidEntityName(name)).toBe(true);
  });

  it.each(REJECT.map((n) => [show(n), n]))('rejects %s', (_label, name) => {
    expect(isValidEntityName(name)).toBe(false);
    // The regex alone carries the 256 cap too (OpenWhisk's {0,254}).
    expect(ENTITY_NAME.test(name)).toBe(false);
  });

  it.each(MALFORMED_PATHS.map((n) => [show(n), n]))('rejects the malformed path %s, whole and per segment', (_label, path) => {
    expect(isValidEntityName(path)).toBe(false);
    expect(ENTITY_NAME.test(path)).toBe(false);
    // Each fixture has at least one '/'-separated part that fails the regex on its own.
    expect(path.split('/').some((part) => !ENTITY_NAME.test(part))).toBe(true);
  });

  it('is the exact OpenWhisk regex with no flags', () => {
    expect(ENTITY_NAME.source).toBe('^(?:\\w|\\w[\\w@ .&-]{0,254}[\\w@.&-])$');
    expect(ENTITY_NAME.flags).toBe('');
  });

  it('answers false for non-strings instead of throwing', () => {
    expect(isValidEntityName(undefined as unknown as string)).toBe(false);
    expect(isValidEntityName(42 as unknown as string)).toBe(false);
  });
});

describe('entity names: through actions.create', () => {
  it.each(ACCEPT.map((n) => [show(n), n]))('creates an action named %s', async (_label, name) => {
    const engine = testEngine();
    const created = (await engine.actions.create({ name, action: CODE })) as { name: string; namespace: string };
    expect(created.name).toBe(name);
    expect(created.namespace).toBe('guest');
    expect(((await engine.actions.get(name)) as { name: string }).name).toBe(name);
  });

  it.each(REJECT.filter((n) => n !== '/' && n.length <= 256).map((n) => [show(n), n]))(
    'refuses %s with 400 and the illegal-characters message',
    async (_label, name) => {
      const engine = testEngine();
      const err: any = await rejection(() => engine.actions.create({ name, action: CODE }));
      expect(err.statusCode).toBe(400);
      expect(err.message).toBe(ILLEGAL);
      expect(await engine.actions.list()).toEqual([]);
    },
  );

  it('refuses 257 characters with the "segement" message', async () => {
    const engine = testEngine();
    const err: any = await rejection(() => engine.actions.create({ name: 'a'.repeat(257), action: CODE }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe('Name segement longer than allowed: 257 > 256.');
    // The same cap applies to the name segment of a fully qualified name.
    const fq: any = await rejection(() => engine.actions.create({ name: `/_/${'a'.repeat(257)}`, action: CODE }));
    expect(fq.statusCode).toBe(400);
    expect(fq.message).toBe('Name segement longer than allowed: 257 > 256.');
    expect(await engine.actions.list()).toEqual([]);
  });

  it('refuses a namespace segment that is too long or illegal with the namespace messages', async () => {
    const engine = testEngine();
    const long: any = await rejection(() => engine.actions.create({ name: `/${'n'.repeat(257)}/a`, action: CODE }));
    expect(long.statusCode).toBe(400);
    expect(long.message).toMatch(/^Namespace longer than allowed/);
    const illegal: any = await rejection(() => engine.actions.create({ name: '/n s /a', action: CODE }));
    expect(illegal.statusCode).toBe(400);
    expect(illegal.message).toBe(ILLEGAL_NAMESPACE);
  });

  it('refuses "/" as a name that lacks a namespace and a name', async () => {
    const engine = testEngine();
    const err: any = await rejection(() => engine.actions.create({ name: '/', action: CODE }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe(MALFORMED);
  });

  it.each([
    ['a/ ', ILLEGAL],
    ['a/ /b', ILLEGAL],
    [' a/ b', ILLEGAL],
  ])('refuses the malformed path %j with 400: %s', async (path, message) => {
    const engine = testEngine();
    const err: any = await rejection(() => engine.actions.create({ name: path, action: CODE }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe(message);
    expect(await engine.actions.list()).toEqual([]);
  });

  it('refuses the malformed path "//" with 400 (its namespace and name are empty)', async () => {
    const engine = testEngine();
    const err: any = await rejection(() => engine.actions.create({ name: '//', action: CODE }));
    expect(err.statusCode).toBe(400);
    expect([ILLEGAL_NAMESPACE, ILLEGAL, MALFORMED]).toContain(err.message);
    expect(await engine.actions.list()).toEqual([]);
  });

  it('also validates names on get, invoke and delete', async () => {
    const engine = testEngine();
    for (const op of [
      () => engine.actions.get('a?b'),
      () => engine.actions.invoke({ name: 'a?b' }),
      () => engine.actions.delete('a?b'),
      () => engine.triggers.create({ name: 'x#x' }),
      () => engine.triggers.invoke({ name: 'x#x' }),
    ]) {
      const err: any = await rejection(op);
      expect(err.statusCode).toBe(400);
      expect(err.message).toBe(ILLEGAL);
    }
  });
});

describe('entity names: the default namespace', () => {
  it('resolves /_/name and /guest/name to the default namespace', async () => {
    const engine = testEngine();
    const viaUnderscore = (await engine.actions.create({ name: '/_/one', action: CODE })) as { namespace: string; name: string };
    expect(viaUnderscore).toMatchObject({ namespace: 'guest', name: 'one' });
    const viaGuest = (await engine.actions.create({ name: '/guest/two', action: CODE })) as { namespace: string; name: string };
    expect(viaGuest).toMatchObject({ namespace: 'guest', name: 'two' });

    // All three spellings address the same entity.
    for (const spelling of ['one', '/_/one', '/guest/one']) {
      expect(await engine.actions.get(spelling)).toMatchObject({ namespace: 'guest', name: 'one' });
    }
    for (const spelling of ['two', '/_/two', '/guest/two']) {
      expect(await engine.actions.get(spelling)).toMatchObject({ namespace: 'guest', name: 'two' });
    }
    // Creating it again under another spelling is a conflict, not a second action.
    const dup: any = await rejection(() => engine.actions.create({ name: '/_/two', action: CODE }));
    expect(dup.statusCode).toBe(409);
    expect((await engine.actions.list()).map((a) => a['name']).sort()).toEqual(['one', 'two']);
  });

  it('resolves /_/ to the configured namespace when it is not guest', async () => {
    const engine = testEngine({ namespace: 'home' });
    expect(await engine.actions.create({ name: '/_/x', action: CODE })).toMatchObject({ namespace: 'home', name: 'x' });
    expect(await engine.actions.get('x')).toMatchObject({ namespace: 'home', name: 'x' });
    expect(await engine.actions.get('/home/x')).toMatchObject({ namespace: 'home', name: 'x' });
  });
});
