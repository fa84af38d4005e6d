/**
 * Only coded errors are the request's fault. Anything else thrown while answering (an engine bug, most often a plain
 * TypeError) is the server's: 500 "The server encountered an internal error.", its details logged and not sent.
 * The REST layer once answered any TypeError with 400 and its message, so an engine bug looked like a bad request.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startStandalone, type Standalone } from '../../src/index';
import { call } from './http-client';

const AUTH = 'internal-errors-uuid:' + 'beef'.repeat(16);
const INTERNAL = 'The server encountered an internal error.';
const BUG = "Cannot read properties of undefined (reading 'exec')";
const api = (rest: string): string => `/api/v1/namespaces/_/${rest}`;

let server: Standalone;

beforeAll(async () => {
  server = await startStandalone({ port: 0, auth: AUTH, engine: { prewarmCount: 0 } });
  await server.engine.actions.create({ name: 'page', action: 'function main() { return { body: "hi" }; }', annotations: { 'web-export': true } });
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Warnings emitted while `fn` runs (the REST layer logs internal errors as process warnings). */
async function warningsDuring(fn: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  vi.spyOn(process, 'emitWarning').mockImplementation(((warning: string | Error) => {
    warnings.push(String(warning));
  }) as typeof process.emitWarning);
  await fn();
  return warnings;
}

describe('an engine bug is a 500, not a 400', () => {
  it('answers a TypeError thrown inside the engine with 500 and logs it', async () => {
    vi.spyOn(server.engine.actions, 'list').mockImplementation(() => {
      throw new TypeError(BUG);
    });
    let status = 0;
    let body: { error?: string; code?: string } = {};
    const warnings = await warningsDuring(async () => {
      const reply = await call(server.url, 'GET', api('actions'), { auth: AUTH });
      status = reply.status;
      body = reply.json();
    });
    expect(status).toBe(500);
    expect(body.error).toBe(INTERNAL);
    expect(body.code).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(body)).not.toContain('Cannot read');
    expect(warnings.some((w) => w.includes(BUG))).toBe(true);
  });

  it('answers a rejected TypeError the same way', async () => {
    vi.spyOn(server.engine.triggers, 'get').mockRejectedValue(new TypeError(BUG));
    let status = 0;
    await warningsDuring(async () => {
      status = (await call(server.url, 'GET', api('triggers/anything'), { auth: AUTH })).status;
    });
    expect(status).toBe(500);
  });

  it('answers a web action whose start throws a TypeError with 500, without the details', async () => {
    vi.spyOn(server.engine.actions, 'start').mockImplementation(() => {
      throw new TypeError(BUG);
    });
    let reply: Awaited<ReturnType<typeof call>> | undefined;
    const warnings = await warningsDuring(async () => {
      reply = await call(server.url, 'GET', '/api/v1/web/_/default/page.http');
    });
    expect(reply?.status).toBe(500);
    expect(reply?.json()).toEqual({ error: INTERNAL });
    expect(warnings.some((w) => w.includes(BUG))).toBe(true);
  });

  it('still answers coded refusals with their status and message, and logs nothing', async () => {
    const warnings = await warningsDuring(async () => {
      // A new rule without a trigger: once a plain TypeError the REST layer turned into 400, now EW_RULE_TRIGGER_REQUIRED.
      const rule = await call(server.url, 'PUT', api('rules/no-trigger'), { auth: AUTH, body: JSON.stringify({ action: '/_/page' }) });
      expect(rule.status).toBe(400);
      expect(rule.json().error).toBe('Expected `trigger` to be a trigger name');
      const missing = await call(server.url, 'GET', api('actions/none'), { auth: AUTH });
      expect(missing.status).toBe(404);
      expect(missing.json().error).toBe('The requested resource does not exist.');
    });
    expect(warnings).toEqual([]);
  });
});
