/**
 * The editor as a user meets it: a real Chromium against a real Node-RED process with this bundle installed.
 * The sidebar (live activations, detail, cause chain, jump to node, bounded history), "Run" before deploy, and the
 * dialog problems a real browser showed (highlighting, "Model is disposed!", a node broken by a redeploy).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEditor, SCREENSHOTS, type EditorSession } from './browser';

// The page's globals, for the callbacks that run in the browser (page.evaluate): the Node program is compiled
// without the DOM library, so these say what the tests touch.
interface PageElement {
  readonly textContent: string | null;
  readonly className: string;
  readonly outerHTML: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  getBoundingClientRect(): { readonly height: number };
}
declare const document: { querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): Iterable<PageElement> & ArrayLike<PageElement> };
declare const window: unknown;

const ROOT = join(__dirname, '..', '..');
const TAB = 'tab1';

function example(file: string): Record<string, unknown>[] {
  const nodes = JSON.parse(readFileSync(join(ROOT, 'examples', file), 'utf8')) as Record<string, unknown>[];
  return nodes.map((n) => (n['type'] === 'edgewhisk-engine' ? n : { ...n, z: TAB }));
}

/** An inject node as the editor saves one (a missing field would make the deploy ask about invalid nodes). */
function injectNode(id: string, name: string, payload: string, y: number, wire: string): Record<string, unknown> {
  return { id, type: 'inject', z: TAB, name, props: [{ p: 'payload' }], repeat: '', crontab: '', once: false, onceDelay: 0.1, topic: '', payload, payloadType: 'json', x: 100, y, wires: [[wire]] };
}

const FLOWS: Record<string, unknown>[] = [
  { id: TAB, type: 'tab', label: 'EdgeWhisk in the browser' },
  injectNode('inj', 'go', '{"room":"hall"}', 60, 'a1'),
  {
    id: 'a1', type: 'edgewhisk-action', z: TAB, action: 'lamp', x: 300, y: 60, wires: [['dbg']],
    code: "async function main(p) { console.log('switching', p.room); await new Promise((r) => setTimeout(r, p.wait || 0)); return { lamp: p.room }; }",
  },
  { id: 'dbg', type: 'debug', z: TAB, active: true, complete: 'payload', x: 500, y: 60, wires: [] },
  injectNode('injSlow', 'slow', '{"room":"attic","wait":1500}', 120, 'a1'),
  injectNode('injFire', 'motion', '{"room":"porch"}', 180, 't1'),
  { id: 't1', type: 'edgewhisk-trigger', z: TAB, trigger: 'motion', x: 300, y: 180, wires: [[]] },
  { id: 'r1', type: 'edgewhisk-rule', z: TAB, rule: 'motion-dim', trigger: 'motion', action: 'dim', active: true, x: 300, y: 240, wires: [[]] },
  { id: 'a2', type: 'edgewhisk-action', z: TAB, action: 'dim', x: 500, y: 240, code: 'function main(p) { return { dim: p.room }; }', wires: [[]] },
  injectNode('injBad', 'bad', '{}', 300, 'a3'),
  { id: 'a3', type: 'edgewhisk-action', z: TAB, action: 'broken', x: 300, y: 300, code: "function main() { return { error: 'sensor offline' }; }", wires: [[]] },
  { id: 'acts', type: 'edgewhisk-activations', z: TAB, filter: 'dim', outcome: 'any', x: 300, y: 360, wires: [['dbg']] },
  ...example('basics/04 - Burst of 200 messages.json').map((n) => (typeof n['y'] === 'number' ? { ...n, y: (n['y'] as number) + 420 } : n)),
];

let session: EditorSession;
let page: Page;

beforeAll(async () => {
  session = await openEditor({ flows: FLOWS });
  page = session.page;
}, 120_000);

afterAll(async () => {
  await session?.close();
});

/** Presses an inject node's button, as a user clicking it does. */
async function inject(id: string): Promise<void> {
  const status = await page.evaluate((nodeId) => fetch(`inject/${nodeId}`, { method: 'POST' }).then((r) => r.status), id);
  expect(status).toBe(200);
}

/** The sidebar's rows: action name, badge class and sub-line. */
function rows(): Promise<{ id: string; name: string; badge: string; sub: string }[]> {
  return page.$$eval('.ew-row', (els) =>
    els.map((el) => ({
      id: el.getAttribute('data-id') ?? '',
      name: el.querySelector('.ew-name')?.textContent?.trim() ?? '',
      badge: el.querySelector('.ew-badge')?.className ?? '',
      sub: el.querySelector('.ew-sub')?.textContent ?? '',
    })),
  );
}

async function backToList(): Promise<void> {
  if (await page.locator('.ew-back').isVisible()) await page.click('.ew-back');
}

describe('the EdgeWhisk sidebar', () => {
  it('shows an activation live as it queues, runs and completes, pushed without polling', async () => {
    await inject('injSlow');
    await page.waitForFunction(() => [...document.querySelectorAll('.ew-row')].some((r) => r.textContent?.includes('lamp') && r.querySelector('.ew-running')), null, { timeout: 10_000 });
    const running = (await rows()).find((r) => r.name === 'lamp');
    expect(running?.badge).toContain('ew-running');
    await page.waitForFunction(() => [...document.querySelectorAll('.ew-row')].some((r) => r.textContent?.includes('lamp') && r.querySelector('.ew-ok')), null, { timeout: 10_000 });
    const done = (await rows()).find((r) => r.id === running?.id);
    expect(done?.badge).toContain('ew-ok');
    // wait/init/run and the node that caused it
    expect(done?.sub).toMatch(/\d+ ms \(wait \d+ · (init \d+ · )?run \d+\)/);
    expect(done?.sub).toContain('lamp');
    expect(await page.locator('.ew-stats').innerText()).toMatch(/queued 0 · running 0 · containers \d+/);
  });

  it('opens a record: result, logs, annotations, and a link that reveals the node on the canvas', async () => {
    await backToList();
    const lamp = (await rows()).find((r) => r.name === 'lamp')!;
    await page.click(`.ew-row[data-id="${lamp.id}"]`);
    await page.waitForSelector('.ew-detail h4');
    const text = await page.locator('.ew-detail').innerText();
    expect(text).toContain('lamp — success');
    expect(text).toContain(lamp.id);
    expect(text).toMatch(/switching attic/);
    expect(text).toMatch(/attic/);
    expect(text).toMatch(/waitTime/);
    await page.screenshot({ path: join(SCREENSHOTS, 'sidebar-detail.png') });
    await page.click('.ew-detail [data-reveal="a1"]');
    await page.waitForFunction(() => (window as never as { RED: { nodes: { node(id: string): { highlighted?: boolean } } } }).RED.nodes.node('a1').highlighted === true, null, { timeout: 5_000 });
  });

  it('follows a trigger fire to the rule activation it caused (trigger → rule → action)', async () => {
    await backToList();
    await inject('injFire');
    await page.waitForFunction(() => [...document.querySelectorAll('.ew-row')].some((r) => r.textContent?.includes('dim') && r.textContent?.includes('rule motion-dim') && r.querySelector('.ew-ok')), null, { timeout: 10_000 });
    const dim = (await rows()).find((r) => r.name === 'dim')!;
    expect(dim.sub).toContain('rule motion-dim');
    await page.click(`.ew-row[data-id="${dim.id}"]`);
    await page.waitForSelector('.ew-detail h4');
    const text = await page.locator('.ew-detail').innerText();
    expect(text).toMatch(/trigger motion → rule guest\/motion-dim → dim/);
    expect(text).toContain('caused by node');
    // From the action back to the trigger's fire, which lists what it caused.
    await page.click('.ew-detail [data-open]');
    await page.waitForFunction(() => document.querySelector('.ew-detail h4')?.textContent?.includes('motion'));
    expect(await page.locator('.ew-detail').innerText()).toMatch(/caused: motion-dim → dim/);
  });

  it('filters by action, status and node', async () => {
    await backToList();
    await inject('injBad');
    await page.waitForFunction(() => [...document.querySelectorAll('.ew-row')].some((r) => r.textContent?.includes('broken') && r.querySelector('.ew-app')), null, { timeout: 10_000 });
    await page.selectOption('.ew-filter-status', 'failed');
    await page.waitForFunction(() => [...document.querySelectorAll('.ew-row .ew-name')].every((n) => n.textContent === 'broken'));
    expect((await rows()).map((r) => r.name)).toEqual(['broken']);
    await page.selectOption('.ew-filter-status', 'all');
    await page.fill('.ew-filter-action', 'dim');
    await page.waitForFunction(() => [...document.querySelectorAll('.ew-row .ew-name')].every((n) => n.textContent === 'dim'));
    expect((await rows()).length).toBeGreaterThan(0);
    await page.fill('.ew-filter-action', '');
    await page.selectOption('.ew-filter-node', 'a1');
    await page.waitForFunction(() => [...document.querySelectorAll('.ew-row .ew-name')].every((n) => n.textContent === 'lamp'));
    await page.selectOption('.ew-filter-node', 'all');
  });

  it("keeps up with the burst example's 200 activations, keeping a bounded history and a latency sparkline", async () => {
    await backToList();
    const burstInject = FLOWS.find((n) => n['type'] === 'inject' && n['name'] === 'send 200') as { id: string };
    for (let round = 0; round < 3; round++) {
      await inject(burstInject.id);
      await page.waitForFunction(
        (want) => (window as never as { EdgeWhiskEditor: { kept(name?: string): { done: number } } }).EdgeWhiskEditor.kept('slow-square').done >= want,
        Math.min(200 * (round + 1), 500),
        { timeout: 60_000 },
      );
    }
    const kept = await page.evaluate(() => (window as never as { EdgeWhiskEditor: { kept(): { total: number } } }).EdgeWhiskEditor.kept());
    // 600 burst activations and the earlier ones: the browser keeps at most 500 per engine, draws at most 200.
    expect(kept.total).toBeLessThanOrEqual(500);
    expect(await page.locator('.ew-row').count()).toBeLessThanOrEqual(200);
    await page.selectOption('.ew-engine', { label: 'burst engine' });
    await page.waitForSelector('.ew-action-row [data-action="slow-square"]');
    expect(await page.locator('.ew-action-row svg polyline').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'sidebar.png') });
    expect(session.errors).toEqual([]);
  });
});

describe('Run in the action dialog', () => {
  async function openDialog(id: string): Promise<void> {
    await page.evaluate((nodeId) => {
      const RED = (window as never as { RED: { editor: { edit(n: unknown): void }; nodes: { node(id: string): unknown } } }).RED;
      RED.editor.edit(RED.nodes.node(nodeId));
    }, id);
    await page.waitForSelector('.ew-run-button', { state: 'visible', timeout: 20_000 });
  }

  async function closeDialog(): Promise<void> {
    await page.click('#node-dialog-cancel');
    await page.waitForSelector('.ew-run-button', { state: 'detached' });
  }

  it('runs the code as edited with the sample payload, showing status, duration, result and logs, without deploying', async () => {
    await openDialog('a1');
    await page.fill('.ew-run-sample', '{"room": "cellar"}');
    await page.click('.ew-run-button');
    await page.waitForSelector('.ew-run-status');
    expect(await page.locator('.ew-run-status').innerText()).toBe('success');
    expect(await page.locator('.ew-run-duration').innerText()).toMatch(/^\d+ ms · wait \d+/);
    expect(JSON.parse(await page.locator('.ew-run-output').innerText())).toEqual({ lamp: 'cellar' });
    expect(await page.locator('.ew-run-logs').innerText()).toContain('switching cellar');
    await page.locator('.ew-run-result').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOTS, 'run-before-deploy.png') });

    // Edit the code (not saved): Run uses what is in the editor.
    await page.evaluate(() => {
      const RED = (window as never as { RED: { nodes: { node(id: string): { editor: { setValue(v: string): void } } } } }).RED;
      RED.nodes.node('a1').editor.setValue("async function main(p) { throw new Error('no lamp in the ' + p.room); }");
    });
    await page.click('.ew-run-button');
    await page.waitForFunction(() => document.querySelector('.ew-run-status')?.textContent === 'application error');
    expect(await page.locator('.ew-run-output').innerText()).toContain('no lamp in the cellar');
    await closeDialog();
    const dirty = await page.evaluate(() => (window as never as { RED: { nodes: { dirty(): boolean } } }).RED.nodes.dirty());
    expect(dirty).toBe(false);
  });

  it('remembers the sample per node, and shows a plain-text sample as {payload}', async () => {
    await openDialog('a1');
    expect(await page.locator('.ew-run-sample').inputValue()).toBe('{"room": "cellar"}');
    await closeDialog();
    await openDialog('a2');
    await page.fill('.ew-run-sample', 'garage');
    await page.click('.ew-run-button');
    await page.waitForSelector('.ew-run-status');
    // dim returns {dim: p.room}: a text payload arrives as {payload: 'garage'}, so room is undefined.
    expect(JSON.parse(await page.locator('.ew-run-output').innerText())).toEqual({});
    await closeDialog();
    await openDialog('a1');
    expect(await page.locator('.ew-run-sample').inputValue()).toBe('{"room": "cellar"}');
    await closeDialog();
    expect(session.errors).toEqual([]);
  });
});

describe('the action dialog', () => {
  it('highlights JavaScript, switches to Python with the Kind, and keeps working after typing (no "Model is disposed!")', async () => {
    await page.evaluate(() => {
      const RED = (window as never as { RED: { editor: { edit(n: unknown): void }; nodes: { node(id: string): unknown } } }).RED;
      RED.editor.edit(RED.nodes.node('a3'));
    });
    await page.waitForSelector('#node-input-code-editor .monaco-editor', { timeout: 20_000 });
    const language = (): Promise<string[]> =>
      page.evaluate(() => {
        const m = (window as never as { monaco: { editor: { getModels(): { isDisposed(): boolean; getLanguageId(): string }[] } } }).monaco;
        return m.editor.getModels().filter((x) => !x.isDisposed()).map((x) => x.getLanguageId());
      });
    expect(await language()).toContain('javascript');
    await page.click('#node-input-code-editor .monaco-editor .view-lines');
    await page.keyboard.type('// typed before the kind changes\n');
    await page.selectOption('#node-input-kind', 'python:3');
    expect(await language()).toContain('python');
    await page.click('#node-input-code-editor .monaco-editor .view-lines');
    await page.keyboard.type('# typed after\n');
    await page.selectOption('#node-input-kind', 'nodejs:default');
    await page.keyboard.type('// and back\n');
    expect(await language()).toContain('javascript');
    await page.click('#node-dialog-cancel');
    expect(session.errors).toEqual([]);
  });

  it('keeps the activations node working after a redeploy from the editor (its filter is not the node status)', async () => {
    // Let the node show a status, as in the report ("4 seen"), then change and deploy it from the editor.
    await inject('injFire');
    await page.waitForFunction(() => /seen/.test(document.querySelector('[id="acts"] .red-ui-flow-node-status-label')?.textContent ?? ''), null, { timeout: 10_000 });
    await page.evaluate(() => {
      const RED = (window as never as { RED: { editor: { edit(n: unknown): void }; nodes: { node(id: string): unknown } } }).RED;
      RED.editor.edit(RED.nodes.node('acts'));
    });
    await page.waitForSelector('#node-input-name');
    await page.fill('#node-input-name', 'dim results');
    await page.click('#node-dialog-ok');
    await page.click('#red-ui-header-button-deploy');
    // Nothing in the flow is invalid, so no confirmation: a dialog here would mean an EdgeWhisk node looks broken.
    await page.waitForFunction(() => !(window as never as { RED: { nodes: { dirty(): boolean } } }).RED.nodes.dirty(), null, { timeout: 10_000 });
    const saved = (JSON.parse(readFileSync(join(session.red.userDir, 'flows.json'), 'utf8')) as Record<string, unknown>[]).find((n) => n['id'] === 'acts')!;
    expect(saved['outcome']).toBe('any');
    expect(saved).not.toHaveProperty('status');
    // Still delivering: the next fire's result reaches it, and its count moves on.
    const before = await page.locator('[id="acts"] .red-ui-flow-node-status-label').innerText().catch(() => '');
    await inject('injFire');
    await page.waitForFunction((was) => {
      const now = document.querySelector('[id="acts"] .red-ui-flow-node-status-label')?.textContent ?? '';
      return /seen/.test(now) && now !== was;
    }, before, { timeout: 10_000 });
  });
});

describe('the dialogs, as a new user meets them', () => {
  type Red = {
    editor: { edit(n: unknown): void };
    nodes: { node(id: string): { valid?: boolean; validationErrors?: string[] } | null; dirty(): boolean };
    view: { importNodes(nodes: unknown[]): void };
    history: { pop(): void };
    sidebar: { help: { show(type: string): void }; show(id: string): void };
  };

  async function edit(id: string): Promise<void> {
    await page.evaluate((nodeId) => {
      const RED = (window as { RED: Red }).RED;
      RED.editor.edit(RED.nodes.node(nodeId));
    }, id);
    await page.waitForSelector('#node-input-code-editor .monaco-editor', { timeout: 20_000 });
  }

  it('offers an expand button that opens the code in a full-size editor', async () => {
    await edit('a1');
    const models = (): Promise<number> =>
      page.evaluate(() => (window as { monaco: { editor: { getModels(): { isDisposed(): boolean }[] } } }).monaco.editor.getModels().filter((m) => !m.isDisposed()).length);
    const before = await models();
    await page.click('#node-edgewhisk-code-expand');
    await page.waitForFunction((n) => (window as { monaco: { editor: { getModels(): { isDisposed(): boolean; getValue(): string }[] } } }).monaco.editor.getModels().filter((m) => !m.isDisposed()).length > n, before, { timeout: 10_000 });
    const texts = await page.evaluate(() => (window as { monaco: { editor: { getModels(): { isDisposed(): boolean; getValue(): string }[] } } }).monaco.editor.getModels().filter((m) => !m.isDisposed()).map((m) => m.getValue()));
    expect(texts.filter((t) => t.includes("console.log('switching'"))).toHaveLength(2);
    await page.locator('#node-dialog-cancel').last().click();
    await page.waitForFunction((n) => (window as { monaco: { editor: { getModels(): { isDisposed(): boolean }[] } } }).monaco.editor.getModels().filter((m) => !m.isDisposed()).length === n, before);
    await page.waitForTimeout(600);
    await page.locator('#node-dialog-cancel').last().click();
    await page.waitForSelector('#node-input-code-editor', { state: 'detached' });
    await page.waitForTimeout(400);
    expect(session.errors).toEqual([]);
  });

  it('says which engine runs the action when none is selected, instead of asking to add one', async () => {
    await edit('a1');
    expect(await page.locator('#node-input-engine option:checked').innerText()).toBe('default engine (shared)');
    expect(await page.locator('.edgewhisk-default-engine').isVisible()).toBe(true);
    await page.locator('#node-dialog-cancel').last().click();
  });

  it('marks two nodes defining the same action name invalid before deploy, naming the reason', async () => {
    await page.evaluate(() => {
      const RED = (window as { RED: Red }).RED;
      RED.view.importNodes([{ id: 'dup1', type: 'edgewhisk-action', z: 'tab1', action: 'lamp', code: 'function main() { return {}; }', x: 700, y: 60, wires: [[]] }]);
    });
    await page.waitForFunction(() => (window as { RED: Red }).RED.nodes.node('dup1')?.valid === false, null, { timeout: 5_000 });
    const state = await page.evaluate(() => {
      const RED = (window as { RED: Red }).RED;
      return { a1: RED.nodes.node('a1')?.valid, errors: RED.nodes.node('dup1')?.validationErrors };
    });
    expect(state.a1).toBe(false);
    expect(JSON.stringify(state.errors)).toMatch(/lamp/);
    await page.evaluate(() => (window as { RED: Red }).RED.history.pop());
    await page.waitForFunction(() => (window as { RED: Red }).RED.nodes.node('a1')?.valid === true, null, { timeout: 5_000 });
  });

  it("shows an unnamed action node's errors in the debug sidebar under its action name, not its id", async () => {
    await page.evaluate(() => (window as { RED: Red }).RED.sidebar.show('debug'));
    await inject('injBad');
    await page.waitForFunction(() => [...document.querySelectorAll('.red-ui-debug-msg-name')].some((n) => n.textContent?.includes('broken')), null, { timeout: 10_000 });
    const names = await page.$$eval('.red-ui-debug-msg-name', (els) => els.map((e) => e.textContent ?? ''));
    expect(names.some((n) => n.includes('a3'))).toBe(false);
    await page.evaluate(() => (window as { RED: Red }).RED.sidebar.show('edgewhisk'));
  });

  it("fits every EdgeWhisk node's help in the help sidebar (no code block wider than the panel)", async () => {
    for (const type of ['edgewhisk-action', 'edgewhisk-trigger', 'edgewhisk-rule', 'edgewhisk-activations', 'edgewhisk-engine']) {
      await page.evaluate((t) => (window as { RED: Red }).RED.sidebar.help.show(t), type);
      await page.waitForSelector('.red-ui-help h3, .red-ui-help p');
      const overflowing = await page.$$eval('.red-ui-help pre, .red-ui-help code', (els) =>
        els.filter((e) => (e as unknown as { scrollWidth: number; clientWidth: number }).scrollWidth > (e as unknown as { clientWidth: number }).clientWidth + 1).map((e) => e.textContent),
      );
      expect(overflowing, type).toEqual([]);
    }
    await page.evaluate(() => (window as { RED: Red }).RED.sidebar.show('edgewhisk'));
    expect(session.errors).toEqual([]);
  });
});

describe("the trigger dialog's schedule", () => {
  type Red = { editor: { edit(n: unknown): void }; nodes: { node(id: string): unknown } };
  const preview = '.edgewhisk-schedule-preview';

  it('previews the next 3 fire times of the cron being typed in its time zone, and the feed\'s error for a bad one', async () => {
    await page.evaluate(() => {
      const RED = (window as { RED: Red }).RED;
      RED.editor.edit(RED.nodes.node('t1'));
    });
    await page.waitForSelector('#node-input-schedule');
    // No schedule yet: the preview says so, and the zone an empty field means is the Node-RED host's.
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('No schedule') === true, preview, { timeout: 10_000 });
    expect(await page.locator('#node-input-timezone').isVisible()).toBe(false);
    await page.fill('#node-input-schedule', '0 30 6 * * 1-5');
    // A node saved before schedules existed shows the default policy, not a blank select.
    expect(await page.locator('#node-input-catchUp').inputValue()).toBe('skip');
    expect(await page.locator('.edgewhisk-host-zone').innerText()).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    await page.fill('#node-input-timezone', 'Europe/Berlin');
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('(Europe/Berlin)') === true, preview, { timeout: 10_000 });
    const times = await page.$$eval(`${preview} li`, (els) => els.map((e) => e.textContent ?? ''));
    expect(times).toHaveLength(3);
    for (const time of times) expect(time).toMatch(/^(Mon|Tue|Wed|Thu|Fri) \d{4}-\d\d-\d\d 06:30:00$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'trigger-schedule-preview.png') });

    await page.fill('#node-input-schedule', '0 30 6 *');
    await page.waitForSelector(`${preview} .ew-schedule-error`, { timeout: 10_000 });
    expect(await page.locator(`${preview} .ew-schedule-error`).innerText()).toMatch(/^cron pattern '0 30 6 \*' is not valid: it has 4 fields; use 5 fields \(minute hour day-of-month month day-of-week\) or 6/);
    expect(await page.locator(`${preview} li`).count()).toBe(0);
    await page.locator('#node-dialog-cancel').last().click();
    await page.waitForSelector('#node-input-schedule', { state: 'detached' });
    expect(session.errors).toEqual([]);
  });
});
