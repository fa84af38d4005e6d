import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';

/**
 * Path of the compiled `.js` file `name` beside the calling module. Under the build it is the sibling file; when
 * the engine runs from TypeScript sources (vitest), threads and child processes still need JavaScript, so the
 * same path under `dist/` is used.
 */
export function compiledSibling(dirname: string, name: string): string {
  return builtFile(dirname, `${name}.js`);
}

/** `file` in `dirname`, or at the same place under `dist/` when running from `src/` (see `compiledSibling`). */
export function builtFile(dirname: string, file: string): string {
  const sibling = join(dirname, file);
  if (existsSync(sibling)) return sibling;
  const marker = `${sep}src${sep}`;
  const index = dirname.lastIndexOf(marker);
  if (index >= 0) {
    const built = join(dirname.slice(0, index), 'dist', dirname.slice(index + marker.length), file);
    if (existsSync(built)) return built;
  }
  throw new Error(`Cannot find ${file} in ${dirname} or in dist/: run \`npm run build\` first.`);
}
