// Builds the README's engine-options and error-code tables from the code itself (dist/ and src/options.ts), so the
// docs cannot drift: `npm run docs` rewrites them, and a test fails when the README differs from what this builds.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/**
 * `{name: {type, description, default}}` parsed from the TSDoc of `EngineOptions` in src/options.ts, or of
 * `DockerOptions` (the `docker` section) in src/runtimes/docker/docker-options.ts.
 */
export function optionDocs(section = 'engine') {
  const [file, iface] = section === 'docker' ? [join('src', 'runtimes', 'docker', 'docker-options.ts'), 'DockerOptions'] : [join('src', 'options.ts'), 'EngineOptions'];
  const source = readFileSync(join(root, file), 'utf8');
  const body = source.slice(source.indexOf(`export interface ${iface}`));
  const block = body.slice(0, body.indexOf('\n}\n'));
  const docs = {};
  const re = /\/\*\*\s*([\s\S]*?)\*\/\s*readonly (\w+): ([^;]+);/g;
  for (const m of block.matchAll(re)) {
    const text = m[1].replace(/\n\s*\*\s?/g, ' ').trim();
    const def = /@default (.+)$/.exec(text);
    docs[m[2]] = { type: m[3].trim(), description: text.replace(/\s*@default .+$/, ''), default: def ? def[1].trim() : undefined };
  }
  return docs;
}

function cell(text) {
  return String(text).replace(/\|/g, '\\|');
}

/** `text` as a code span in a table cell: a newline shown as `\n`, and fenced with `` when it holds a backtick. */
function codeCell(text) {
  const inner = cell(text).replace(/\n/g, '\\n');
  return inner.includes('`') ? `\`\` ${inner} \`\`` : `\`${inner}\``;
}

export function optionsTable() {
  const { DEFAULTS } = require(join(root, 'dist', 'index.js'));
  const docs = optionDocs();
  const rows = ['| Option | Type | Default | Description |', '|---|---|---|---|'];
  for (const [key, value] of Object.entries(DEFAULTS)) {
    const doc = docs[key] ?? { type: typeof value, description: '' };
    if (key === 'limits') {
      for (const [limit, range] of Object.entries(value)) {
        rows.push(`| \`limits.${limit}\` | \`{min, max, default}\` | \`${JSON.stringify(range).replace(/"/g, '')}\` | ${cell(limitDescription(limit))} |`);
      }
      continue;
    }
    if (key === 'docker') {
      const dockerDocs = optionDocs('docker');
      for (const [name, v] of Object.entries(value)) {
        const d = dockerDocs[name] ?? { type: typeof v, description: '' };
        rows.push(`| \`docker.${name}\` | \`${d.type}\` | \`${JSON.stringify(v)}\` | ${cell(d.description)} |`);
      }
      continue;
    }
    rows.push(`| \`${key}\` | \`${doc.type}\` | \`${JSON.stringify(value)}\` | ${cell(doc.description)} |`);
  }
  return rows.join('\n');
}

function limitDescription(limit) {
  const source = readFileSync(join(root, 'src', 'options.ts'), 'utf8');
  const m = new RegExp(`/\\*\\* ([^@]*?)(?: @default [^*]*)?\\*/\\s*readonly ${limit}: LimitRange;`).exec(source);
  return m ? m[1].trim() : '';
}

export function errorsTable() {
  const { ERROR_CODES } = require(join(root, 'dist', 'index.js'));
  const rows = ['| Code | HTTP | Message |', '|---|---|---|'];
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    const params = /^\(([^)]*)\)/.exec(spec.message.toString())?.[1] ?? '';
    const names = params.split(',').map((p) => p.trim()).filter(Boolean).map((p) => `<${p.replace(/[:=].*$/, '').trim()}>`);
    // Messages are code spans so placeholders such as <max> render literally. One-element arrays print as their element both in templates and through join(), whatever the parameter type.
    rows.push(`| \`${code}\` | ${spec.status} | ${codeCell(spec.message(...names.map((n) => [n])))} |`);
  }
  return rows.join('\n');
}

export function section(text, name) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < 0) throw new Error(`README has no ${name} section`);
  return { before: text.slice(0, a + start.length), inner: text.slice(a + start.length, b), after: text.slice(b) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = join(root, 'README.md');
  let text = readFileSync(file, 'utf8');
  for (const [name, table] of [['options', optionsTable()], ['errors', errorsTable()]]) {
    const s = section(text, name);
    text = `${s.before}\n${table}\n${s.after}`;
  }
  writeFileSync(file, text);
  console.log('README tables updated');
}
