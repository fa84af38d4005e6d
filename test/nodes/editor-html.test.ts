import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readdirSync, statSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/options';
import { RETIRED_NODE_KINDS, SUPPORTED_NODE_MAJORS } from '../../src/runtimes/node-kinds';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const types = Object.keys(pkg['node-red'].nodes) as string[];

interface Definition {
  category: string;
  defaults: Record<string, unknown>;
  credentials?: Record<string, unknown>;
  icon?: string;
  label?: unknown;
}

/** Runs the editor script with a stub RED and returns what it registered (the Flow Library reads the same literal). */
function definition(type: string): { def: Definition; html: string } {
  const html = readFileSync(join(root, 'nodes', `${type}.html`), 'utf8');
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  expect(script).toContain(`RED.nodes.registerType('${type}', {`);
  const registered: Record<string, Definition> = {};
  const RED = { nodes: { registerType: (t: string, d: Definition) => (registered[t] = d) }, validators: { number: () => () => true, regex: () => () => true }, settings: { get: () => undefined } };
  runInNewContext(script, { RED, $: () => ({}) });
  expect(registered[type]).toBeDefined();
  return { def: registered[type] as Definition, html };
}

function exampleFiles(dir = join(root, 'examples')): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? exampleFiles(path) : name.endsWith('.json') ? [path] : [];
  });
}

describe('editor HTML', () => {
  it.each(types)('%s has an inline registerType, an edit template, help, locales and an icon', (type) => {
    const { def, html } = definition(type);
    expect(html).toContain(`data-template-name="${type}"`);
    expect(html).toContain(`data-help-name="${type}"`);
    const prefix = def.category === 'config' ? 'node-config-input-' : 'node-input-';
    const ids = [...html.matchAll(new RegExp(`id="${prefix}([A-Za-z]+)"`, 'g'))].map((m) => m[1] as string);
    // Every form field maps to a stored property or a credential (containers of editable lists excepted).
    const stored = [...Object.keys(def.defaults), ...Object.keys(def.credentials ?? {})];
    for (const id of ids.filter((i) => !i.endsWith('container') && !i.endsWith('editor'))) expect(stored, `${type}: ${id}`).toContain(id);
    const locale = JSON.parse(readFileSync(join(root, 'nodes', 'locales', 'en-US', `${type}.json`), 'utf8'));
    for (const [, key] of html.matchAll(/data-i18n="(?:\[[a-z]+\])?([\w.-]+)"/g)) {
      const value = (key as string).split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], locale);
      expect(typeof value, `${type}: ${key}`).toBe('string');
    }
    if (def.category !== 'config') {
      expect(def.category).toBe('edgewhisk');
      expect(def.icon).toBe(`${type}.svg`);
      const svg = readFileSync(join(root, 'icons', def.icon as string), 'utf8');
      expect(svg).toMatch(/width="40" height="60"/);
      expect(svg).toContain('fill="#fff"');
      for (const section of ['<h3>Details</h3>']) expect(html).toContain(section);
    }
  });

  it('offers Docker mode in the engine and action editors, with help on its gate and its images', () => {
    const engine = definition('edgewhisk-engine');
    expect(engine.def.defaults).toMatchObject({ dockerEnabled: { value: false }, dockerHost: { value: '' }, dockerPull: { value: 'if-missing' } });
    expect(engine.html).toContain('<option value="docker"');
    const engineHelp = engine.html.slice(engine.html.indexOf('data-help-name'));
    for (const text of ['isolation mode for untrusted code', 'root-equivalent', '<code>adminAuth</code>', 'allowDockerWithoutAdminAuth: true', 'npx edgewhisk build-images --offline']) {
      expect(engineHelp).toContain(text);
    }
    const action = definition('edgewhisk-action');
    expect(action.def.defaults).toMatchObject({ image: { value: '' }, network: { value: '' } });
    expect(action.html).toContain('<option value="blackbox"');
    expect(action.html).toContain('<option value="docker"');
    const actionHelp = action.html.slice(action.html.indexOf('data-help-name'));
    for (const text of ['edgewhisk-network', 'root-equivalent', 'build-images --offline']) expect(actionHelp).toContain(text);
  });

  it('ships the editor files beside the compiled node files, where Node-RED looks for them', () => {
    for (const type of types) {
      expect(readFileSync(join(root, 'dist', 'nodes', `${type}.html`), 'utf8')).toContain(`registerType('${type}'`);
      expect(() => readFileSync(join(root, 'dist', 'nodes', `${type}.js`))).not.toThrow();
      expect(() => readFileSync(join(root, 'dist', 'nodes', 'locales', 'en-US', `${type}.json`))).not.toThrow();
    }
    expect(() => readFileSync(join(root, 'dist', 'nodes', 'icons', 'edgewhisk-action.svg'))).not.toThrow();
  });

  it('offers the Node.js kinds the engine supports, nodejs:default first and as the default, and no retired kind', () => {
    const { def, html } = definition('edgewhisk-action');
    expect(def.defaults['kind']).toEqual({ value: 'nodejs:default' });
    const select = /<select id="node-input-kind">([\s\S]*?)<\/select>/.exec(html)?.[1] ?? '';
    const kinds = [...select.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1]);
    expect(kinds).toEqual(['nodejs:default', ...[...SUPPORTED_NODE_MAJORS].reverse().map((m) => `nodejs:${m}`), 'python:3', 'blackbox', 'sequence']);
    for (const retired of RETIRED_NODE_KINDS) expect(kinds).not.toContain(retired);
  });

  it.each(types)('%s stores no property under a name the editor or runtime uses for itself', (type) => {
    // The editor keeps a node's shown status in `status`, its description in `info`, disabled and label flags in
    // `d` and `l`, and position, group and wiring in x, y, z, g, w, h and wires: a default with one of these names
    // is overwritten or misread (the activations node lost its filter to `status` this way).
    const RESERVED = ['id', 'type', 'x', 'y', 'z', 'g', 'w', 'h', 'd', 'l', 'wires', 'status', 'info', 'inputs', 'changed', 'dirty', 'valid', 'selected', 'users', 'credentials', '_def'];
    const { def } = definition(type);
    expect(Object.keys(def.defaults).filter((k) => RESERVED.includes(k))).toEqual([]);
  });

  it("validates the action's limits with the engine's ranges and defaults (DEFAULTS.limits), so they cannot drift", () => {
    const { def } = definition('edgewhisk-action');
    for (const key of ['timeout', 'memory', 'concurrency', 'logs'] as const) {
      const range = DEFAULTS.limits[key];
      const field = def.defaults[key] as { value: number; validate: (v: unknown) => boolean };
      expect(field.value, key).toBe(range.default);
      for (const ok of [range.min, range.max, String(range.default), '']) expect(field.validate(ok), `${key} ${String(ok)}`).toBe(true);
      for (const bad of [range.min - 1, range.max + 1, '1e3', '0x10', 'abc', 1.5]) expect(field.validate(bad), `${key} ${String(bad)}`).toBe(false);
    }
  });

  it("starts the engine node at the engine's defaults", () => {
    const { def } = definition('edgewhisk-engine');
    const value = (key: string): unknown => (def.defaults[key] as { value: unknown }).value;
    for (const key of ['memoryBudget', 'maxQueued', 'concurrentInvocations', 'prewarmCount', 'activationRetention', 'defaultRuntime'] as const) {
      expect(value(key), key).toBe(DEFAULTS[key]);
    }
    expect(value('idleTimeout')).toBe(DEFAULTS.idleTimeout / 1000);
    expect(value('dockerPull')).toBe(DEFAULTS.docker.pull);
  });

  it('gives every engine node in the examples every field of the engine editor, so no select shows blank', () => {
    const { def } = definition('edgewhisk-engine');
    for (const file of exampleFiles()) {
      for (const node of (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[]).filter((n) => n['type'] === 'edgewhisk-engine')) {
        for (const key of Object.keys(def.defaults)) expect(node, `${file}: ${key}`).toHaveProperty(key);
      }
    }
  });
});
