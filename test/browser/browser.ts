/**
 * A real Chromium (the system's, driven by playwright-core: no browser download) against a real Node-RED process.
 *
 * - Chromium found (`EDGEWHISK_CHROMIUM`, else /usr/bin/chromium): the tests run.
 * - Not found and `EDGEWHISK_REQUIRE_BROWSER=1` (CI): every test of the file fails, saying why.
 * - Not found otherwise: each test is reported skipped with the reason (nothing is marked skipped statically).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { beforeEach } from 'vitest';
import { startNodeRed, type NodeRedProcess, type NodeRedProcessOptions } from '../helpers/node-red-process';


const CANDIDATES = [process.env['EDGEWHISK_CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => p !== undefined && p !== '');
const executable = CANDIDATES.find((p) => existsSync(p));
const missing = executable === undefined ? `no Chromium at ${CANDIDATES.join(', ')} (install Debian's chromium or set EDGEWHISK_CHROMIUM)` : undefined;

beforeEach((context) => {
  if (missing === undefined) return;
  if (process.env['EDGEWHISK_REQUIRE_BROWSER'] === '1') throw new Error(`EDGEWHISK_REQUIRE_BROWSER=1 but ${missing}`);
  context.skip(missing);
});

/** Where screenshots go (EDGEWHISK_SCREENSHOTS, else a folder under the system's temp dir). */
export const SCREENSHOTS = process.env['EDGEWHISK_SCREENSHOTS'] ?? join(process.env['TMPDIR'] ?? '/tmp', 'edgewhisk-screenshots');

export interface EditorSession {
  readonly red: NodeRedProcess;
  readonly browser: Browser;
  readonly page: Page;
  /** Uncaught page errors and console errors, except the editor's own attempts to reach the internet. */
  readonly errors: string[];
  close(): Promise<void>;
}

/** Starts Node-RED with `options`, opens its editor in Chromium and waits until the flows are shown. */
export async function openEditor(options: NodeRedProcessOptions = {}): Promise<EditorSession> {
  if (executable === undefined) throw new Error(missing);
  const red = await startNodeRed(options);
  const browser = await chromium.launch({
    executablePath: executable,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 950 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => {
    // Monaco (bundled by Node-RED) answers a word-highlight request that was in flight when its editor closed by
    // reading the disposed model; it happens with any editor closed right after it got focus, ours or Node-RED's.
    if (/TextModelPart is disposed/.test(e.message) && /provideDocumentHighlights/.test(e.stack ?? '')) return;
    errors.push(`pageerror: ${e.message} ${(e.stack ?? '').split('\n').slice(1, 6).join(' / ')}`);
  });
  page.on('console', (m) => {
    // Requests to other hosts are refused below (the editor asks the internet for fonts and updates): their
    // failures are not ours. Everything else the page reports as an error is.
    const foreign = /^Failed to load resource/.test(m.text()) && !m.location().url.startsWith(red.url);
    if (m.type() === 'error' && !foreign) errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  // Only the Node-RED under test: nothing the page asks of other hosts leaves the machine.
  await page.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
  await page.goto(red.url);
  // Page-side checks as expressions: they run in the browser, whose globals the Node program does not type.
  await page.waitForFunction('window.RED !== undefined && RED.nodes && RED.nodes.version() !== undefined', null, { timeout: 60_000 });
  // The editor restores the sidebar tab shown last once it has loaded the flows; then show ours.
  await page.waitForSelector('.red-ui-flow-node', { timeout: 60_000 });
  await page.waitForFunction(
    "(RED.sidebar.show('edgewhisk'), (document.querySelector('.ew-sidebar')?.getBoundingClientRect().height ?? 0) > 0)",
    null,
    { timeout: 30_000, polling: 250 },
  );
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    red,
    browser,
    page,
    errors,
    close: async () => {
      await browser.close().catch(() => undefined);
      await red.stop();
    },
  };
}
