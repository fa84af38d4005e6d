/**
 * src/errors.ts is the one registry of coded errors: a code set anywhere else (`code: 'EW_…'`, `error.code = …`)
 * would be undocumented (the README's table is built from the registry) and could not be checked with
 * `isEdgeWhiskError`. `EW_REMOTE` and `EW_DOCKER_TIMEOUT` once were. The only other `EW_` names in the sources are
 * the action proxies' environment variables, documented in docs/action-protocol.md.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors';

const root = join(__dirname, '..', '..');
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The `EW_*` settings in docs/action-protocol.md's table of EdgeWhisk's additions to the runtime protocol. */
function proxyEnvironment(): Set<string> {
  const doc = readFileSync(join(root, 'docs', 'action-protocol.md'), 'utf8');
  const rows = doc.split('\n').filter((line) => line.startsWith('| `EW_'));
  return new Set(rows.flatMap((row) => [...(row.split(' | ')[0] ?? '').matchAll(/`(EW_[A-Z0-9_]+)`/g)].map((m) => m[1] as string)));
}

/** Every quoted `EW_…` name in `line`, and every upper-case string it assigns to a `code`. */
function namesIn(line: string): string[] {
  const quoted = [...line.matchAll(/(['"`])(EW_[A-Z0-9_]+)\1/g)];
  const assigned = [...line.matchAll(/\bcode\s*[:=]\s*(['"`])([A-Z][A-Z0-9_]*)\1/g)];
  return [...quoted, ...assigned].map((m) => m[2] as string);
}

function usedNames(): { name: string; where: string }[] {
  return files(src).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => namesIn(line).map((name) => ({ name, where: `${relative(root, file)}:${i + 1}` }))),
  );
}

describe('error codes live in src/errors.ts only', () => {
  it('finds the proxy environment variables in the docs (so the exception below is not empty by mistake)', () => {
    expect([...proxyEnvironment()].sort()).toEqual(['EW_HEADERS_TIMEOUT', 'EW_PARENT_PID', 'EW_PROXY_SECRET', 'EW_READY_FD', 'EW_REQUEST_TIMEOUT']);
  });

  it('uses no EW_ name and sets no code in src/ that is not a key of ERROR_CODES (or a documented proxy setting)', () => {
    const env = proxyEnvironment();
    const used = usedNames();
    expect(used.length).toBeGreaterThan(50);
    const strays = used.filter(({ name }) => !Object.hasOwn(ERROR_CODES, name) && !env.has(name)).map(({ name, where }) => `${where} ${name}`);
    expect(strays).toEqual([]);
  });

  it('would catch a code set outside the registry', () => {
    const line = "reject(Object.assign(new Error('slow'), { code: 'EW_DOCKER_SLOW' })); wrapped.code = 'ELSEWHERE'; if (e.code === 'ENOENT') {}";
    expect(namesIn(line).filter((n) => !Object.hasOwn(ERROR_CODES, n))).toEqual(['EW_DOCKER_SLOW', 'EW_DOCKER_SLOW', 'ELSEWHERE']);
  });
});
