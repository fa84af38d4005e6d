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
  oneditprepare?: (this: unknown) => void;
}

/**
 * Runs the editor script with a stub RED and returns what it registered (the Flow Library reads the same literal).
 * `context` adds globals to the script's (`$`, `window`, …) and members to its RED (`RED.nodes` is merged).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function definition(type: string, context: { RED?: Record<string, any>; [name: string]: unknown } = {}): { def: Definition; html: string } {
  const html = readFileSync(join(root, 'nodes', `${type}.html`), 'utf8');
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  expect(script).toContain(`RED.nodes.registerType('${type}', {`);
  const registered: Record<string, Definition> = {};
  const { RED: red = {}, ...globals } = context;
  const RED = {
    validators: { number: () => () => true, regex: () => () => true },
    settings: { get: () => undefined },
    ...red,
    nodes: { ...(red['nodes'] ?? {}), registerType: (t: string, d: Definition) => (registered[t] = d) },
  };
  runInNewContext(script, { $: () => ({}), setTimeout: () => 0, ...globals, RED });
  expect(registered[type]).toBeDefined();
  return { def: registered[type] as Definition, html };
}

function locale(type: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(root, 'nodes', 'locales', 'en-US', `${type}.json`), 'utf8'));
}

/** A node's `this._` in the editor: its locale's message with Node-RED's `__name__` substitutions. */
function translator(type: string): (key: string, subs?: Record<string, unknown>) => string {
  const messages = locale(type);
  return (key, subs = {}) => {
    const message = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], messages);
    expect(typeof message, key).toBe('string');
    return (message as string).replace(/__(\w+)__/g, (_, name: string) => String(subs[name]));
  };
}

type Fn = (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Enough of jQuery to run an oneditprepare: `val()` reads `values` by selector; every call is recorded, `on`
 * handlers can be fired by selector, `find` narrows the selector, and anything else chains.
 */
function fakeJQuery(values: Record<string, string>) {
  const calls: { selector: string; method: string; args: unknown[] }[] = [];
  const handlers: { selectors: string[]; events: string[]; fn: Fn }[] = [];
  const make = (selector: string): unknown =>
    new Proxy(function () {}, {
      get(_target, method) {
        if (method === 'length') return 1;
        if (typeof method === 'symbol') return undefined;
        return (...args: unknown[]) => {
          calls.push({ selector, method, args });
          if (method === 'val') {
            if (args.length === 0) return values[selector];
            values[selector] = String(args[0]);
          }
          if (method === 'on') handlers.push({ selectors: selector.split(/\s*,\s*/), events: String(args[0]).split(' '), fn: args[args.length - 1] as Fn });
          if (method === 'find') return make(`${selector} ${String(args[0])}`);
          return make(selector);
        };
      },
    });
  return {
    values,
    $: (selector: unknown) => make(typeof selector === 'string' ? selector : '(element)'),
    /** The arguments of the last call of `method` on `selector`. */
    last: (selector: string, method: string) => calls.filter((c) => c.selector === selector && c.method === method).at(-1)?.args,
    fire: (selector: string, event: string, ...args: unknown[]) => {
      for (const h of handlers.filter((h) => h.selectors.includes(selector) && h.events.includes(event))) h.fn(...args);
    },
  };
}

/** The editor API an action dialog's oneditprepare uses, with the code editor and the trays it opens recorded. */
function editorStubs(code: string) {
  const editor = { value: code, getValue: () => editor.value, setValue: (v: string) => (editor.value = v), focus: () => undefined, saveView: () => undefined, restoreView: () => undefined };
  const trays: { editor: string; options: Record<string, Fn | string | boolean> }[] = [];
  const RED = {
    editor: {
      createEditor: () => editor,
      editJavaScript: (options: Record<string, Fn>) => trays.push({ editor: 'javascript', options }),
      editText: (options: Record<string, Fn>) => trays.push({ editor: 'text', options }),
      getEditStack: () => [],
    },
    popover: { tooltip: () => undefined },
    _: (key: string) => key,
  };
  return { editor, trays, RED };
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
  it("gives the action's code editor an expand button that opens the code full-size in the kind's language", () => {
    const jq = fakeJQuery({ '#node-input-kind': 'python:3', '#node-input-engine': '_ADD_' });
    const stubs = editorStubs('def main(p):\n    return p\n');
    const { def, html } = definition('edgewhisk-action', { $: jq.$, window: {}, RED: stubs.RED });
    // The button sits at the top right of the code editor's row, as in the function node.
    const row = /<div class="form-row node-text-editor-row[^>]*>([\s\S]*?)\n {4}<\/div>/.exec(html)?.[1] ?? '';
    expect(row).toContain('id="node-input-code-editor"');
    expect(row).toMatch(/<button type="button" id="node-edgewhisk-code-expand" class="red-ui-button red-ui-button-small"><i class="fa fa-expand"><\/i><\/button>/);
    def.oneditprepare?.call({ id: 'n1', kind: 'python:3', code: stubs.editor.value, params: [], components: [], _def: def, _: translator('edgewhisk-action') });

    // Python kind: a text tray in Python mode, with the dialog's code; Done copies the edited code back.
    jq.fire('#node-edgewhisk-code-expand', 'click', { preventDefault: () => undefined });
    expect(stubs.trays).toHaveLength(1);
    expect(stubs.trays[0]).toMatchObject({ editor: 'text', options: { mode: 'python', value: 'def main(p):\n    return p\n' } });
    (stubs.trays[0]?.options['complete'] as Fn)('def main(p):\n    return {}\n');
    expect(stubs.editor.value).toBe('def main(p):\n    return {}\n');

    // Node.js kinds: the JavaScript tray; Cancel leaves the dialog's code alone.
    jq.values['#node-input-kind'] = 'nodejs:22';
    jq.fire('#node-edgewhisk-code-expand', 'click', { preventDefault: () => undefined });
    expect(stubs.trays[1]).toMatchObject({ editor: 'javascript', options: { mode: 'ace/mode/javascript', value: 'def main(p):\n    return {}\n' } });
    (stubs.trays[1]?.options['cancel'] as Fn)();
    expect(stubs.editor.value).toBe('def main(p):\n    return {}\n');
  });

  it('offers a schedule on the trigger node: cron, time zone, missed fires and payload, with the cron format in its help', () => {
    const jq = fakeJQuery({ '#node-input-engine': '_ADD_', '#node-input-schedule': '' });
    const previews: unknown[][] = [];
    const { def, html } = definition('edgewhisk-trigger', { $: jq.$, window: { EdgeWhiskEditor: { attachSchedulePreview: (...args: unknown[]) => previews.push(args) } } });
    expect(def.defaults).toMatchObject({ schedule: { value: '' }, timezone: { value: '' }, catchUp: { value: 'skip' }, schedulePayload: { value: '' } });
    const payload = (def.defaults['schedulePayload'] as { validate: (v: string) => boolean }).validate;
    for (const ok of ['', '{}', '{"mode":"nightly"}']) expect(payload(ok), ok).toBe(true);
    for (const bad of ['[1]', '"x"', '{mode}', 'null']) expect(payload(bad), bad).toBe(false);
    const help = html.slice(html.indexOf('data-help-name'));
    for (const text of ['minute hour day-of-month', 'month day-of-week', '<code>second</code> first', '<code>0 30 6 * * 1-5</code>', '<code>*/10 * * * * *</code>', "the Node-RED host's zone", '<i>once</i>', 'owns its trigger', 'docs/feeds.md', 'embedded engine']) {
      expect(help).toContain(text);
    }
    // A node saved before schedules existed (no catchUp) opens with the default policy, and the preview is attached.
    def.oneditprepare?.call({ id: 't1', _def: def, _: translator('edgewhisk-trigger') });
    expect(jq.last('#node-input-catchUp', 'val')).toEqual(['skip']);
    expect(previews).toHaveLength(1);
    // The details show only once there is a schedule.
    expect(jq.last('.edgewhisk-schedule-detail', 'toggle')).toEqual([false]);
    jq.values['#node-input-schedule'] = '0 7 * * *';
    jq.fire('#node-input-schedule', 'input');
    expect(jq.last('.edgewhisk-schedule-detail', 'toggle')).toEqual([true]);
  });

  const withEngine = types.filter((t) => (definition(t).def.defaults['engine'] as { type?: string } | undefined)?.type === 'edgewhisk-engine');

  it('finds an engine select on the action, trigger, rule and activations nodes', () => {
    expect(withEngine.sort()).toEqual(['edgewhisk-action', 'edgewhisk-activations', 'edgewhisk-rule', 'edgewhisk-trigger']);
  });

  it.each(withEngine)("%s offers the shared default engine, and says it runs there, when no engine is selected", (type) => {
    const jq = fakeJQuery({ '#node-input-engine': '_ADD_', '#node-input-kind': 'nodejs:default' });
    const stubs = editorStubs('');
    const { def, html } = definition(type, { $: jq.$, window: {}, RED: stubs.RED });
    // A hint right under the engine select…
    expect(html).toMatch(new RegExp(`<input type="text" id="node-input-engine">\\s*</div>\\s*<div class="form-tips edgewhisk-default-engine"[^>]*data-i18n="${type}\\.tip\\.defaultEngine"></div>`));
    const t = translator(type);
    expect(t(`${type}.tip.defaultEngine`)).toMatch(/^No engine selected: .*the default engine, shared by every EdgeWhisk node that selects none/);
    def.oneditprepare?.call({ id: 'n1', params: [], components: [], _def: def, _: t });
    // …shown while Node-RED's "Add new…" / "none" entry (_ADD_, saved as '') is selected, which reads as the default engine.
    expect(jq.last('#node-input-engine option[value="_ADD_"]', 'text')).toEqual(['default engine (shared)']);
    expect(jq.last('.edgewhisk-default-engine', 'toggle')).toEqual([true]);
    jq.values['#node-input-engine'] = 'e1';
    jq.fire('#node-input-engine', 'change');
    expect(jq.last('.edgewhisk-default-engine', 'toggle')).toEqual([false]);
    jq.values['#node-input-engine'] = '';
    jq.fire('#node-input-engine', 'change');
    expect(jq.last('.edgewhisk-default-engine', 'toggle')).toEqual([true]);
  });

  it('marks an action invalid when another enabled define-mode action with the same engine defines its name', () => {
    const tabs: Record<string, object> = { f1: { id: 'f1', label: 'Flow 1' }, off: { id: 'off', label: 'Off', disabled: true } };
    let nodes: Record<string, unknown>[] = [];
    let stack: unknown[] = [];
    const jq = fakeJQuery({});
    const { def } = definition('edgewhisk-action', {
      $: jq.$,
      RED: {
        nodes: { filterNodes: (f: { type: string }) => nodes.filter((n) => n['type'] === f.type), workspace: (id: string) => tabs[id], subflow: () => undefined },
        editor: { getEditStack: () => stack },
      },
    });
    const validate = (def.defaults['action'] as { validate: (this: unknown, v: string, opt: object) => unknown }).validate;
    const t = translator('edgewhisk-action');
    const node = (props: Record<string, unknown>): Record<string, unknown> => ({ type: 'edgewhisk-action', z: 'f1', mode: 'define', engine: '', _: t, ...props });
    const self = node({ id: 'b2', action: 'dup' });

    nodes = [self, node({ id: 'a1', name: 'first', action: 'dup' })];
    expect(validate.call(self, 'dup', {})).toBe(
      "The action name 'dup' is also defined by node 'first' on flow 'Flow 1' [a1] in the same engine: action names must be unique per engine, so one of the two would fail at deploy.",
    );
    nodes = [self, node({ id: 'a1', action: ' dup ' })];
    expect(validate.call(self, 'dup', {})).toMatch(/by node 'dup' on flow 'Flow 1' \[a1\]/);
    // No clash with a node in reference mode, on another engine, disabled or on a disabled flow.
    for (const other of [{ mode: 'reference' }, { engine: 'e1' }, { d: true }, { z: 'off' }]) {
      nodes = [self, node({ id: 'a1', action: 'dup', ...other })];
      expect(validate.call(self, 'dup', {}), JSON.stringify(other)).toBe(true);
    }
    // Nor for a node that only invokes the name, nor between unnamed actions (each gets action-<id>).
    nodes = [self, node({ id: 'a1', action: 'dup' })];
    expect(validate.call(node({ id: 'b2', action: 'dup', mode: 'reference' }), 'dup', {})).toBe(true);
    nodes = [node({ id: 'a1', action: '' }), node({ id: 'b2', action: '' })];
    expect(validate.call(nodes[1], '', {})).toBe(true);
    expect(validate.call(self, 'bad/name', {})).toBe(false);
    // While its dialog is open, the node's mode and engine are the dialog's (Node-RED's _ADD_ = none selected).
    stack = [self];
    nodes = [self, node({ id: 'a1', action: 'dup', engine: 'e1' })];
    jq.values['#node-input-mode'] = 'define';
    jq.values['#node-input-engine'] = 'e1';
    expect(validate.call(self, 'dup', {})).toMatch(/^The action name 'dup' is also defined by node 'dup'/);
    jq.values['#node-input-engine'] = '_ADD_';
    expect(validate.call(self, 'dup', {})).toBe(true);
  });

  it('revalidates every action node when an action node is added, changed or removed, so both clashing nodes show it', () => {
    const listeners: Record<string, Fn> = {};
    const validated: string[] = [];
    let redraws = 0;
    const all = [{ id: 'a1', type: 'edgewhisk-action' }, { id: 'a2', type: 'edgewhisk-action' }];
    definition('edgewhisk-action', {
      setTimeout: (fn: Fn) => fn(),
      RED: {
        events: { on: (event: string, fn: Fn) => (listeners[event] = fn) },
        nodes: { filterNodes: () => all },
        editor: { validateNode: (n: { id: string }) => validated.push(n.id) },
        view: { redraw: () => redraws++ },
      },
    });
    expect(Object.keys(listeners).sort()).toEqual(['nodes:add', 'nodes:change', 'nodes:remove']);
    listeners['nodes:change']?.({ id: 'i1', type: 'inject' });
    expect(validated).toEqual([]);
    listeners['nodes:remove']?.(all[0]);
    expect(validated).toEqual(['a1', 'a2']);
    expect(redraws).toBe(1);
  });

  // Node-RED's editor styles inline <code> with white-space: nowrap, so a long one runs out of the help sidebar
  // (about 300 px, some 40 monospace characters); <pre> wraps, but only its lines kept short stay readable.
  it.each(types)('%s help fits the help sidebar: no <pre> line and no inline <code> over 40 characters', (type) => {
    const html = readFileSync(join(root, 'nodes', `${type}.html`), 'utf8');
    const help = html.slice(html.indexOf('data-help-name'));
    const text = (s: string): string => s.replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&[a-z]+;/g, '&');
    for (const [, pre] of help.matchAll(/<pre[^>]*>([\s\S]*?)<\/pre>/g)) {
      for (const line of text(pre as string).split('\n')) expect(line.length, `${type}: ${line}`).toBeLessThanOrEqual(40);
    }
    for (const [, code] of help.replace(/<pre[^>]*>[\s\S]*?<\/pre>/g, '').matchAll(/<code>([\s\S]*?)<\/code>/g)) {
      const inline = text(code as string).replace(/\s+/g, ' ');
      expect(inline.length, `${type}: ${inline}`).toBeLessThanOrEqual(40);
    }
  });
});
