import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, ERROR_CODES, EdgeWhiskError, resolveOptions } from '../../src/index';
// @ts-expect-error plain ESM script without types
import { errorsTable, optionDocs, optionsTable, section } from '../../scripts/docs-tables.mjs';
import { ewError } from '../../src/errors';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

describe('README stays in sync with the code', () => {
  it('the options table is the one generated from DEFAULTS', () => {
    expect(section(readme, 'options').inner.trim()).toBe(optionsTable());
  });

  it('the error table lists every code with its status and message', () => {
    expect(section(readme, 'errors').inner.trim()).toBe(errorsTable());
    for (const code of Object.keys(ERROR_CODES)) expect(readme).toContain(`| \`${code}\` |`);
  });

  it('every option has a TSDoc @default equal to DEFAULTS', () => {
    const docs = optionDocs() as Record<string, { default?: string }>;
    for (const [key, value] of Object.entries(DEFAULTS)) {
      if (key === 'limits') continue;
      expect(docs[key], key).toBeDefined();
      if (key === 'docker') continue;
      expect(docs[key]?.default, key).toBe(typeof value === 'string' ? `'${value}'` : typeof value === 'object' ? JSON.stringify(value) : String(value));
    }
  });

  it('every Docker option has a TSDoc @default equal to DEFAULTS.docker', () => {
    const docs = optionDocs('docker') as Record<string, { default?: string }>;
    for (const [key, value] of Object.entries(DEFAULTS.docker)) {
      expect(docs[key], key).toBeDefined();
      expect(docs[key]?.default, key).toBe(typeof value === 'string' ? `'${value}'` : typeof value === 'object' ? JSON.stringify(value) : String(value));
    }
  });
});

describe('errors module', () => {
  it('builds coded errors with OpenWhisk status and message', () => {
    const e = ewError('EW_NAME_TOO_LONG', [257, 256]);
    expect(e).toBeInstanceOf(EdgeWhiskError);
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('EW_NAME_TOO_LONG');
    expect(e.statusCode).toBe(400);
    expect(e.message).toBe('Name segement longer than allowed: 257 > 256.');
    expect(e.error).toEqual({ error: e.message });
  });

  it('uses codes of the form EW_<AREA>_<WHAT> and HTTP statuses', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^EW_[A-Z]+(_[A-Z0-9]+)+$/);
      expect(spec.status).toBeGreaterThanOrEqual(400);
      expect(spec.status).toBeLessThan(600);
    }
  });
});

describe('engine options', () => {
  it('fills every option from DEFAULTS', () => {
    expect(resolveOptions({})).toEqual(DEFAULTS);
    expect(resolveOptions({ memoryBudget: 2048 }).memoryBudget).toBe(2048);
    expect(resolveOptions({ limits: { timeout: { max: 600_000 } } }).limits.timeout).toEqual({ min: 100, max: 600_000, default: 60_000 });
  });

  it.each([
    [{ memoryBudget: -1 }, /`memoryBudget`/],
    [{ memoryBudget: 64 }, /`memoryBudget`/],
    [{ maxQueued: 1.5 }, /`maxQueued`/],
    [{ namespace: '' }, /`namespace`/],
    [{ maxBlockingWait: 120_000 }, /`maxBlockingWait`/],
    [{ limits: { memory: { default: 1024 } } }, /`limits.memory`/],
    [{ limits: { timeout: { min: -5 } } }, /`limits.timeout.min`/],
    [{ nonsense: true }, /Unknown engine option `nonsense`/],
    [{ defaultRuntime: 'nope' }, /`defaultRuntime`/],
  ])('rejects %j with a TypeError naming the option', async (input, pattern) => {
    const { createEngine } = await import('../../src/index.js');
    expect(() => createEngine(input as never)).toThrow(TypeError);
    expect(() => createEngine(input as never)).toThrow(pattern);
  });
});
