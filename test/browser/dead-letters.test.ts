/**
 * Dead letters in the EdgeWhisk sidebar, in a real Chromium against a real Node-RED: messages accepted by a
 * non-blocking action node, Node-RED killed (SIGKILL) and started again with flows that no longer have that node.
 * What it had accepted shows as dead letters; "Drop" removes one, and "Run again" runs one once the action is back.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEditor, SCREENSHOTS, type EditorSession } from './browser';

interface PageElement {
  readonly textContent: string | null;
}
declare const document: { querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): Iterable<PageElement> & ArrayLike<PageElement> };

const TAB = 'dl';
const MESSAGES = 3;
const tab = { id: TAB, type: 'tab', label: 'dead letters' };
// Keeps the shared engine in use after the restart.
const keeper = { id: 'kp', type: 'edgewhisk-action', z: TAB, action: 'keeper', code: 'function main() { return {}; }', x: 300, y: 40, wires: [[]] };
const doomed = (code: string): Record<string, unknown> => ({ id: 'dn', type: 'edgewhisk-action', z: TAB, action: 'doomed', code, blocking: false, x: 300, y: 120, wires: [['id']] });
const BEFORE = [
  tab,
  keeper,
  { id: 'go', type: 'inject', z: TAB, props: [{ p: 'payload' }], payload: '', payloadType: 'date', repeat: '', once: false, x: 100, y: 120, wires: [['fan']] },
  { id: 'fan', type: 'function', z: TAB, func: `for (let i = 0; i < ${MESSAGES}; i++) node.send({ payload: { i } });\nreturn null;`, outputs: 1, x: 200, y: 120, wires: [['dn']] },
  // Long enough that none has finished at the kill.
  doomed('async function main(p) { await new Promise((r) => setTimeout(r, 20000)); return { i: p.i }; }'),
  { id: 'id', type: 'change', z: TAB, rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'payload.activationId', tot: 'msg' }], x: 400, y: 120, wires: [['ids']] },
  { id: 'ids', type: 'file', z: TAB, filename: 'ids.txt', filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', x: 500, y: 120, wires: [[]] },
];
const AFTER = [tab, keeper];

let session: EditorSession;
let page: Page;
let ids: string[] = [];

async function until<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${session.red.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The dead-letter section's header text, e.g. `Dead letters (3)`, or '' when it is hidden. */
function deadHeader(): Promise<string> {
  return page.evaluate(() => document.querySelector('.ew-dead-head')?.textContent?.trim() ?? '');
}

beforeAll(async () => {
  // The file node writes relative to the user directory, where the test reads it.
  session = await openEditor({ flows: BEFORE, settings: 'fileWorkingDirectory: __dirname,' });
  page = session.page;
  const status = await page.evaluate(() => fetch('inject/go', { method: 'POST' }).then((r) => r.status));
  expect(status).toBe(200);
  const file = join(session.red.userDir, 'ids.txt');
  ids = await until('the accepted ids', 20_000, () => {
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
    return lines.length >= MESSAGES ? lines : undefined;
  });
  await session.red.restart({ flows: AFTER });
  await page.reload();
  // The page could not reach Node-RED while it restarted: those errors are the restart's, not the sidebar's.
  session.errors.length = 0;
  await page.waitForFunction('window.RED !== undefined && RED.nodes && RED.nodes.version() !== undefined', null, { timeout: 60_000 });
  await page.waitForSelector('.red-ui-flow-node', { timeout: 60_000 });
  await page.waitForFunction("(RED.sidebar.show('edgewhisk'), (document.querySelector('.ew-sidebar')?.getBoundingClientRect().height ?? 0) > 0)", null, { timeout: 30_000, polling: 250 });
}, 150_000);

afterAll(async () => {
  await session?.close();
});

describe('dead letters in the sidebar', () => {
  it('lists what a removed action node had accepted, with the reason', async () => {
    expect(ids).toHaveLength(MESSAGES);
    await page.waitForFunction((n) => document.querySelector('.ew-dead-head')?.textContent?.includes(`Dead letters (${n})`) === true, MESSAGES, { timeout: 20_000, polling: 250 });
    await page.click('.ew-dead-head');
    await page.waitForSelector('.ew-dead-row');
    const rows = await page.$$eval('.ew-dead-row', (els) => els.map((el) => ({ id: el.getAttribute('data-dead') ?? '', text: el.textContent ?? '' })));
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    for (const row of rows) {
      expect(row.text).toContain('doomed');
      expect(row.text).toMatch(/no longer exists/);
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'dead-letters.png') });
  });

  it('drops one', async () => {
    const id = ids[0] as string;
    await page.click(`.ew-dead-row[data-dead="${id}"] .ew-drop`);
    await page.waitForFunction((n) => document.querySelector('.ew-dead-head')?.textContent?.includes(`Dead letters (${n})`) === true, MESSAGES - 1, { timeout: 10_000, polling: 100 });
    expect(await page.locator(`.ew-dead-row[data-dead="${id}"]`).count()).toBe(0);
  });

  it('says why "Run again" cannot run while the action is gone, and keeps the dead letter', async () => {
    const id = ids[1] as string;
    await page.click(`.ew-dead-row[data-dead="${id}"] .ew-redrive`);
    await page.waitForSelector('.red-ui-notification', { timeout: 10_000 });
    expect(await page.locator('.red-ui-notification').last().innerText()).toMatch(/The action '\/guest\/doomed' of this dead letter does not exist/);
    expect(await deadHeader()).toContain(`Dead letters (${MESSAGES - 1})`);
  });

  it('runs one again once the action is back, as a new activation shown in the sidebar', async () => {
    // The action node comes back (deployed through the admin API, as the editor's Deploy does), quick this time.
    const deployed = await page.evaluate(
      (flows) => fetch('flows', { method: 'POST', headers: { 'content-type': 'application/json', 'node-red-deployment-type': 'full' }, body: JSON.stringify(flows) }).then((r) => r.status),
      [...AFTER, { ...doomed('function main(p) { return { back: p.i }; }'), wires: [[]] }],
    );
    expect([200, 204]).toContain(deployed);
    const id = ids[2] as string;
    await page.click(`.ew-dead-row[data-dead="${id}"] .ew-redrive`);
    await page.waitForFunction((n) => document.querySelector('.ew-dead-head')?.textContent?.includes(`Dead letters (${n})`) === true, MESSAGES - 2, { timeout: 10_000, polling: 100 });
    await page.waitForFunction(() => [...document.querySelectorAll('.ew-row')].some((r) => r.textContent?.includes('doomed') === true), null, { timeout: 10_000, polling: 100 });
    // The one 404 is the refused "Run again" above, which the browser logs as a failed request.
    expect(session.errors.filter((e) => !(e.includes('status of 404') && e.includes(`${ids[1] as string}/redrive`)))).toEqual([]);
  });
});
