/** The Dockerfile of an EdgeWhisk image, online (on a base image) or offline (from scratch), with its self-check. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeMajorOf } from '../runtimes/node-kinds';
import { BASE_IMAGES, BUNDLE, COMMANDS, ENVIRONMENT, IMAGE_FORMAT, IMAGE_LABELS, IMAGE_USER, kindOf, PROXY_PORT, SOCKET_DIR, type ImageKind } from '../runtimes/docker/image-contract';
import { proxyDigest, type ProxySource } from '../runtimes/docker/proxy-source';

/** The Python modules `proxy.py` imports, at top level or inside functions. */
function pythonImports(source: string): string[] {
  const modules = new Set<string>();
  for (const match of source.matchAll(/^[ \t]*import[ \t]+([^#\n]+)/gm)) {
    for (const part of (match[1] ?? '').split(',')) modules.add(part.trim().split(/\s+/)[0] ?? '');
  }
  for (const match of source.matchAll(/^[ \t]*from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b/gm)) modules.add(match[1] ?? '');
  modules.delete('');
  return [...modules].sort();
}

/** Imports what the proxy imports with bytecode writing on (PYTHONDONTWRITEBYTECODE is set for the image). */
function bytecodeWarmup(source: ProxySource): string[] {
  const script = ['import importlib, sys', 'sys.dont_write_bytecode = False', `for name in ${JSON.stringify(proxyImports(source))}:`, '    importlib.import_module(name)'];
  return [COMMANDS.python[0] ?? '', '-c', script.join('\n')];
}

function proxyImports(source: ProxySource): string[] {
  return [...new Set(source.files.flatMap((file) => pythonImports(readFileSync(join(source.dir, file), 'utf8'))))].sort();
}

/**
 * The command of the build's last step, run as the image's user: it loads the proxy with everything it imports and
 * checks the directories the runtime relies on, so a broken image fails its build instead of its first action. A
 * Node.js image also checks that its node is the kind's major: the label promises the action runs on it.
 */
function proxyCheck(kind: ImageKind, source: ProxySource): string[] {
  const modes = { '/tmp': 0o1777, [SOCKET_DIR]: 0o755 };
  const major = nodeMajorOf(kind);
  if (major !== undefined) {
    const script = [
      "const fs = require('fs');",
      `if (process.versions.node.split('.')[0] !== '${major}') throw new Error('node ' + process.version + ' in the image of ${kind}');`,
      `const dir = '${BUNDLE}/proxy/nodejs/';`,
      "for (const file of fs.readdirSync(dir)) if (file.endsWith('.js')) require(dir + file);",
      `for (const [path, mode] of Object.entries(${JSON.stringify(modes)})) {`,
      '  const got = fs.statSync(path).mode & 0o7777;',
      "  if (got !== mode) throw new Error(path + ' has mode ' + got.toString(8));",
      '}',
      "console.log('proxy loads: node ' + process.version + ', uid ' + process.getuid() + ', packages ' + fs.readdirSync('/opt/edgewhisk/node_modules').join(' '));",
    ].join('\n');
    return [COMMANDS.nodejs[0] ?? '', '-e', script];
  }
  const script = [
    'import importlib, os, stat, sys',
    `for name in ${JSON.stringify(proxyImports(source))}:`,
    '    importlib.import_module(name)',
    `for path, mode in ${JSON.stringify(modes).replace(/"/g, "'")}.items():`,
    '    got = stat.S_IMODE(os.stat(path).st_mode)',
    '    if got != mode:',
    "        raise SystemExit('%s has mode %o' % (path, got))",
    "print('proxy imports: Python %s, uid %d, encoding %s' % (sys.version.split()[0], os.getuid(), sys.getfilesystemencoding()))",
  ].join('\n');
  return [COMMANDS.python[0] ?? '', '-c', script];
}

/** Name and version of this package, for the OCI labels; `undefined` if its package.json is not where expected. */
function packageInfo(): { version: string; source: string | undefined } | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      name?: string;
      version?: string;
      repository?: { url?: string } | string;
    };
    if (pkg.name !== 'node-red-contrib-edgewhisk' || pkg.version === undefined) return undefined;
    const url = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    return { version: pkg.version, source: url?.replace(/^git\+/, '').replace(/\.git$/, '') };
  } catch {
    return undefined;
  }
}

export function dockerfile(kind: ImageKind, offline: boolean, runtimeVersion: string | undefined, source: ProxySource): string {
  const pkg = packageInfo();
  const language = kindOf(kind);
  const base = BASE_IMAGES[kind];
  if (!offline && base === undefined) throw new Error(`No base image for an online build of ${kind}.`);
  const labels: Record<string, string | undefined> = {
    [IMAGE_LABELS.image]: 'true',
    [IMAGE_LABELS.kind]: kind,
    [IMAGE_LABELS.transport]: 'unix',
    [IMAGE_LABELS.build]: offline ? 'offline' : 'online',
    [IMAGE_LABELS.proxyDigest]: proxyDigest(kind),
    [IMAGE_LABELS.format]: IMAGE_FORMAT,
    [IMAGE_LABELS.runtimeVersion]: runtimeVersion,
    [IMAGE_LABELS.source]: pkg?.source,
    [IMAGE_LABELS.version]: pkg?.version,
  };
  const environment = { ...ENVIRONMENT[language], ...(offline && language === 'python' ? { PYTHONHOME: '/usr/local' } : {}) };
  const quoted = (entries: Record<string, string | undefined>): string =>
    Object.entries(entries)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
      .join(' \\\n    ');
  return `${[
    `# EdgeWhisk's ${kind} action image, generated by \`edgewhisk build-images${offline ? ' --offline' : ''}\`.`,
    offline
      ? `# Offline: FROM scratch, with the host's own ${language === 'nodejs' ? 'node' : 'python3'} and every library it loads.`
      : `# Online: the official image, with EdgeWhisk's proxy under ${BUNDLE}.`,
    `FROM ${offline ? 'scratch' : String(base)}`,
    'COPY rootfs/ /',
    `ENV ${quoted(environment)}`,
    ...(language === 'python'
      ? [
          '# Bytecode for the modules the proxy loads, written once here: the running container cannot (its file',
          '# system is read-only), and compiling them from source would add half a second to every cold start.',
          `RUN ${JSON.stringify(bytecodeWarmup(source))}`,
        ]
      : []),
    `USER ${IMAGE_USER}`,
    'WORKDIR /tmp',
    '# Fails the build unless the proxy loads, as the user it runs as, with everything it imports.',
    `RUN ${JSON.stringify(proxyCheck(kind, source))}`,
    `LABEL ${quoted(labels)}`,
    `EXPOSE ${PROXY_PORT}`,
    // The official node image starts everything through docker-entrypoint.sh: the proxy needs no shell in between.
    ...(offline ? [] : ['ENTRYPOINT []']),
    `CMD ${JSON.stringify(COMMANDS[language])}`,
  ].join('\n')}\n`;
}
