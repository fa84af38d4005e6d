// Places the editor side beside the compiled node files, where Node-RED looks for it: dist/nodes/<type>.html,
// dist/nodes/locales/<lang>/<type>.json and dist/nodes/icons/.
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'nodes');
mkdirSync(out, { recursive: true });
const nodes = join(root, 'nodes');
if (existsSync(nodes)) {
  for (const entry of readdirSync(nodes)) cpSync(join(nodes, entry), join(out, entry), { recursive: true });
}
// The Python action proxy ships as source: the process runtime runs it with the host's python3.
const python = join(root, 'src', 'proxy', 'python');
if (existsSync(python)) {
  mkdirSync(join(root, 'dist', 'proxy', 'python'), { recursive: true });
  for (const entry of readdirSync(python).filter((f) => f.endsWith('.py'))) cpSync(join(python, entry), join(root, 'dist', 'proxy', 'python', entry));
}
const icons = join(root, 'icons');
if (existsSync(icons)) cpSync(icons, join(out, 'icons'), { recursive: true });
