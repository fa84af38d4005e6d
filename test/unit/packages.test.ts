import { describe, expect, it } from 'vitest';
import { annotationOf, rejection, testEngine } from '../helpers/engine';

describe('packages and bindings', () => {
  it('runs actions in a package with package < action < invocation parameters', async () => {
    const engine = testEngine();
    await engine.packages.create({ name: 'weather', params: { units: 'metric', city: 'Oslo', source: 'package' } });
    await engine.actions.create({ name: 'weather/forecast', action: 'function main(p) { return p; }', params: { source: 'action' } });
    const record = (await engine.actions.invoke({ name: 'weather/forecast', params: { city: 'Bergen' }, blocking: true })) as any;
    expect(record.response.result).toEqual({ units: 'metric', city: 'Bergen', source: 'action' });
    expect(record.namespace).toBe('guest');
    expect(annotationOf(record, 'path')).toBe('guest/weather/forecast');
    const pkg = await engine.packages.get('weather');
    expect(pkg.actions.map((a) => a.name)).toEqual(['forecast']);
    const action = await engine.actions.get('/_/weather/forecast');
    expect(action['namespace']).toBe('guest/weather');
    expect((await engine.actions.list()).map((a) => a['name'])).toContain('forecast');
  });

  it('binds a package with its own parameters: package < binding < action < invocation', async () => {
    const engine = testEngine();
    await engine.packages.create({ name: 'mail', params: { server: 'default', from: 'pkg' } });
    await engine.actions.create({ name: 'mail/send', action: 'function main(p) { return p; }' });
    await engine.packages.create({ name: 'mymail', package: { binding: { namespace: '_', name: 'mail' }, parameters: [{ key: 'server', value: 'smtp.home' }] } });
    const record = (await engine.actions.invoke({ name: 'mymail/send', params: { to: 'me' }, blocking: true })) as any;
    expect(record.response.result).toEqual({ server: 'smtp.home', from: 'pkg', to: 'me' });
    expect(annotationOf(record, 'binding')).toBe('guest/mymail');
    expect((await engine.packages.get('mymail'))['binding']).toEqual({ namespace: 'guest', name: 'mail' });
  });

  it('refuses bindings to bindings, to missing packages and to non-packages, and actions inside a binding', async () => {
    const engine = testEngine();
    await engine.packages.create({ name: 'base' });
    await engine.packages.create({ name: 'b1', package: { binding: { name: 'base' } } });
    await engine.actions.create({ name: 'plain', action: 'function main() { return {}; }' });
    expect((await rejection(() => engine.packages.create({ name: 'b2', package: { binding: { name: 'b1' } } }))).message).toBe('Cannot bind to another package binding.');
    expect((await rejection(() => engine.packages.create({ name: 'b3', package: { binding: { name: 'ghost' } } }))).message).toBe('Binding references a package that does not exist.');
    expect((await rejection(() => engine.packages.create({ name: 'b4', package: { binding: { name: 'plain' } } }))).message).toBe('Cannot bind to a resource that is not a package.');
    expect((await rejection(() => engine.actions.create({ name: 'b1/x', action: 'function main() { return {}; }' }))).message).toBe('Operation not permitted on package binding.');
    expect((await rejection(() => engine.actions.create({ name: 'nopkg/x', action: 'function main() { return {}; }' }))).statusCode).toBe(404);
  });

  it('deletes a package only when empty, unless forced', async () => {
    const engine = testEngine();
    await engine.packages.create({ name: 'tools' });
    await engine.actions.create({ name: 'tools/a', action: 'function main() { return {}; }' });
    const err = await rejection(() => engine.packages.delete('tools'));
    expect(err.statusCode).toBe(409);
    expect(err.message).toBe('Package not empty (contains 1 entity). Set force param or delete package contents.');
    await engine.packages.delete({ name: 'tools', force: true });
    expect((await rejection(() => engine.actions.get('tools/a'))).statusCode).toBe(404);
  });

  it('keeps triggers and rules out of packages, while rules and sequences may use packaged actions', async () => {
    const engine = testEngine();
    await engine.packages.create({ name: 'p' });
    await engine.actions.create({ name: 'p/a', action: 'function main(x) { return { v: (x.v || 0) + 1 }; }' });
    expect((await rejection(() => engine.triggers.create('p/t'))).message).toBe("A trigger cannot be in a package: '/guest/p/t'.");
    await engine.triggers.create('t');
    await engine.rules.create({ name: 'r', trigger: 't', action: 'p/a' });
    expect((await engine.rules.get('r'))['action']).toEqual({ path: 'guest/p', name: 'a' });
    await engine.actions.create({ name: 'twice', sequence: ['p/a', '/_/p/a'] });
    expect(await engine.actions.invoke({ name: 'twice', params: { v: 1 }, blocking: true, result: true })).toEqual({ v: 3 });
  });
});

describe('publish is a boolean for every entity', () => {
  it('refuses a publish flag that is not a boolean on triggers and packages (Boolean("false") would be true), as on actions', async () => {
    const engine = testEngine();
    for (const create of [
      () => engine.triggers.create({ name: 't', trigger: { publish: 'false' } }),
      () => engine.packages.create({ name: 'p', package: { publish: 'false' } }),
      () => engine.actions.create({ name: 'a', action: 'function main() { return {}; }', publish: 'false' as unknown as boolean }),
    ]) {
      const error = await rejection(create);
      expect(error).toMatchObject({ code: 'EW_FIELD_TYPE', statusCode: 400 });
    }
    expect((await engine.triggers.create({ name: 't', trigger: { publish: true } })).publish).toBe(true);
    expect((await engine.packages.create({ name: 'p' })).publish).toBe(false);
    await engine.close();
  });
});
