/**
 * The host's Python 3, copied into an image built `FROM scratch`: the interpreter at /usr/local/bin/python3, its
 * standard library at /usr/local/<lib>/python3.X (where PYTHONHOME=/usr/local makes it look), the C extension
 * modules of lib-dynload, and every shared library any of them loads. Whatever an action cannot use in a
 * sandbox with no network and no display (tests, IDLE, Tk, pip's bootstrap wheels, the static libpython used to
 * build extensions, bytecode caches) stays out.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { copyFile, copyTree, copyWithLibraries, sharedLibraries } from './host-files';

const run = promisify(execFile);

export interface HostPython {
  /** The interpreter's real path. */
  readonly executable: string;
  /** `3.11` */
  readonly version: string;
  /** `3.11.7` */
  readonly fullVersion: string;
  /** `lib` (`lib64` on Fedora): the directory under the prefix that holds `python3.X`. */
  readonly platlibdir: string;
  /** The directory holding `os.py`. */
  readonly stdlib: string;
  /** The directory of the C extension modules, usually `<stdlib>/lib-dynload`. */
  readonly dynload: string | undefined;
}

// Asks the interpreter itself: pyenv shims, virtualenvs and Debian's patched layout all answer the same way.
// Isolated mode (-I) keeps PYTHON* variables and user site-packages out of the answer.
const PROBE = `
import json, os, platform, sys
dynload = [p for p in sys.path if os.path.basename(p) == 'lib-dynload' and os.path.isdir(p)]
print(json.dumps({
    'executable': os.path.realpath(sys.executable),
    'version': '%d.%d' % sys.version_info[:2],
    'fullVersion': platform.python_version(),
    'major': sys.version_info[0],
    'platlibdir': getattr(sys, 'platlibdir', 'lib'),
    'stdlib': os.path.dirname(os.path.realpath(os.__file__)),
    'dynload': os.path.realpath(dynload[0]) if dynload else None,
}))
`;

/** Facts about the Python 3 that `command` runs (default `python3`, or env EDGEWHISK_PYTHON like the process runtime). */
export async function hostPython(command = process.env['EDGEWHISK_PYTHON'] ?? 'python3'): Promise<HostPython> {
  let stdout: string;
  try {
    ({ stdout } = await run(command, ['-I', '-c', PROBE], { encoding: 'utf8' }));
  } catch (error) {
    const failed = error as NodeJS.ErrnoException & { stderr?: string };
    throw new Error(`Cannot run the host's ${command} for the offline Python image: ${(failed.stderr ?? '').trim() || failed.message}`);
  }
  const info = JSON.parse(stdout) as HostPython & { major: number; dynload: string | null };
  if (info.major !== 3) throw new Error(`${command} is Python ${info.fullVersion}; the python:3 image needs Python 3.`);
  return {
    executable: info.executable,
    version: info.version,
    fullVersion: info.fullVersion,
    platlibdir: info.platlibdir,
    stdlib: info.stdlib,
    dynload: info.dynload ?? undefined,
  };
}

/** Directories of the standard library left out of the image, by name, at any depth. */
const SKIPPED_DIRS = new Set(['test', 'tests', 'idlelib', 'tkinter', 'turtledemo', 'ensurepip', 'site-packages', 'dist-packages', '__pycache__', 'lib-dynload']);

/** Extension modules that only serve CPython's own tests, or Tk (which would pull in X11). */
const SKIPPED_EXTENSIONS = /^(_tkinter|_test|_ctypes_test|_xxtestfuzz|xxlimited)/;

export interface PythonCopy {
  readonly files: number;
  readonly bytes: number;
  /** Extension modules left out because the host lacks a library they load. */
  readonly skippedExtensions: readonly string[];
  /** The ELF files written (interpreter, libraries, extension modules), for stripping. */
  readonly elfFiles: readonly string[];
  /** The standard library's path in the image, e.g. `/usr/local/lib/python3.11`. */
  readonly imageStdlib: string;
}

/** Copies `python` into the root file system `rootfs` of an offline image. `copied` as for `copyWithLibraries`. */
export async function copyPython(rootfs: string, python: HostPython, copied: Set<string>): Promise<PythonCopy> {
  const imageStdlib = posix.join('/usr/local', python.platlibdir, `python${python.version}`);
  const before = copied.size;
  let bytes = await copyWithLibraries(rootfs, python.executable, '/usr/local/bin/python3', copied);

  // `config-3.X-<triplet>` holds the static libpython and Makefile for building extensions (44 MB with pyenv).
  const tree = copyTree(python.stdlib, join(rootfs, imageStdlib), (relative, isDirectory) => {
    const name = posix.basename(relative);
    if (isDirectory) return SKIPPED_DIRS.has(name) || (!relative.includes('/') && name.startsWith('config-'));
    return name.endsWith('.pyc') || name.endsWith('.pyo');
  });
  bytes += tree.bytes;
  let files = tree.files;

  const skippedExtensions: string[] = [];
  const extensions: string[] = [];
  if (python.dynload !== undefined) {
    const dynload = python.dynload;
    const modules = readdirSync(dynload).filter((name) => name.endsWith('.so') && !SKIPPED_EXTENSIONS.test(name));
    // One ldd per module, all at once: about 70 modules.
    const libraries = await Promise.all(
      modules.map((name) =>
        sharedLibraries(join(dynload, name)).then(
          (paths) => ({ name, paths }),
          () => ({ name, paths: undefined }),
        ),
      ),
    );
    for (const { name, paths } of libraries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (paths === undefined) {
        // Importing it fails on the host as well; the rest of the library works without it.
        skippedExtensions.push(name);
        continue;
      }
      const target = posix.join(imageStdlib, 'lib-dynload', name);
      bytes += copyFile(realpathSync(join(dynload, name)), join(rootfs, target));
      extensions.push(target);
      files++;
      for (const path of paths) {
        if (copied.has(path)) continue;
        bytes += copyFile(realpathSync(path), join(rootfs, path));
        copied.add(path);
      }
    }
  }
  // Without its files, LANG=C.UTF-8 would name a locale glibc cannot load (Python falls back to its UTF-8 mode,
  // but C code in extensions would not). 400 kB.
  const locale = '/usr/lib/locale/C.utf8';
  if (existsSync(locale)) {
    const copy = copyTree(locale, join(rootfs, locale));
    bytes += copy.bytes;
    files += copy.files;
  }
  const written = [...copied].slice(before);
  return {
    files: files + written.length,
    bytes,
    skippedExtensions,
    elfFiles: [...written, ...extensions].map((path) => join(rootfs, path)),
    imageStdlib,
  };
}
