/**
 * Copying the host's own files into an image build context: an executable with every shared library it loads, and
 * whole directory trees. Used by the offline image build, which assembles an image `FROM scratch` because no
 * registry may be reachable. Everything copied is made readable by any user (the images run as uid 65534), and
 * keeps its executable bits.
 */
import { execFile } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, mkdirSync, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Creates `dir` (and its parents) in a build context, each searchable by any user whatever the umask. */
export function makeDir(dir: string, mode = 0o755): void {
  const missing: string[] = [];
  for (let d = dir; !exists(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    mkdirSync(d);
    chmodSync(d, mode);
  }
  if (missing.length === 0) chmodSync(dir, mode);
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Copies the file `source` (symlinks followed: the content is what gets copied) to `target`, readable by anyone
 * and executable by anyone when any execute bit was set. Returns the bytes copied.
 */
export function copyFile(source: string, target: string): number {
  const stat = statSync(source);
  makeDir(dirname(target));
  copyFileSync(source, target);
  chmodSync(target, stat.mode & 0o111 ? 0o755 : 0o644);
  return stat.size;
}

export interface TreeCopy {
  readonly files: number;
  readonly bytes: number;
  /** Paths (relative, POSIX) of symlinks whose target does not exist: left out. */
  readonly dangling: readonly string[];
}

/**
 * Copies the directory tree `source` to `target`, following symlinks. `skip(relative, isDirectory)` leaves out
 * an entry (and, for a directory, everything under it); `relative` is POSIX, e.g. `json/__init__.py`.
 */
export function copyTree(source: string, target: string, skip: (relative: string, isDirectory: boolean) => boolean = () => false): TreeCopy {
  let files = 0;
  let bytes = 0;
  const dangling: string[] = [];
  const walk = (relative: string): void => {
    makeDir(join(target, relative));
    for (const name of readdirSync(join(source, relative)).sort()) {
      const rel = relative === '' ? name : posix.join(relative, name);
      let stat;
      try {
        stat = statSync(join(source, rel));
      } catch {
        dangling.push(rel);
        continue;
      }
      if (stat.isDirectory()) {
        if (!skip(rel, true)) walk(rel);
      } else if (stat.isFile() && !skip(rel, false)) {
        bytes += copyFile(join(source, rel), join(target, rel));
        files++;
      }
    }
  };
  walk('');
  return { files, bytes, dangling };
}

const PT_INTERP = 3;

/**
 * The program interpreter (the dynamic loader) named in an ELF file's PT_INTERP header, e.g.
 * `/lib64/ld-linux-x86-64.so.2`; `undefined` for a static executable, a shared library or a file that is not ELF.
 * The loader must exist at exactly this path in the image, or the kernel cannot start the program.
 */
export function elfInterpreter(path: string): string | undefined {
  const fd = openSync(path, 'r');
  try {
    const read = (offset: number, length: number): Buffer => {
      const buffer = Buffer.alloc(length);
      const got = readSync(fd, buffer, 0, length, offset);
      return buffer.subarray(0, got);
    };
    const ident = read(0, 64);
    if (ident.length < 52 || ident.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = ident[4] === 2;
    const little = ident[5] === 1;
    const u16 = (b: Buffer, o: number): number => (little ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number): number => (little ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const u64 = (b: Buffer, o: number): number => Number(little ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
    const phoff = is64 ? u64(ident, 32) : u32(ident, 28);
    const phentsize = u16(ident, is64 ? 54 : 42);
    const phnum = u16(ident, is64 ? 56 : 44);
    for (let i = 0; i < phnum; i++) {
      const header = read(phoff + i * phentsize, phentsize);
      if (header.length < phentsize || u32(header, 0) !== PT_INTERP) continue;
      const offset = is64 ? u64(header, 8) : u32(header, 4);
      const size = is64 ? u64(header, 32) : u32(header, 16);
      return read(offset, size).toString('latin1').replace(/\0.*$/s, '');
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Whether `path` is an ELF file (executable, shared library). */
export function isElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.readUInt32BE(0) === 0x7f454c46;
  } finally {
    closeSync(fd);
  }
}

/**
 * The shared libraries `ldd` lists for `file`, as the absolute paths it names (the loader looks them up by these
 * names, so the image keeps them even where the host's path is a symlink). Throws when a library is missing on
 * the host. A static file has none.
 */
export async function sharedLibraries(file: string): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('ldd', [file], { encoding: 'utf8' }));
  } catch (error) {
    const failed = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (failed.code === 'ENOENT') throw new Error('`ldd` is not installed: the offline build needs it to find the libraries of the host\'s binaries.');
    const output = `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
    // ldd exits non-zero for a static binary; nothing to copy then.
    if (/not a dynamic executable|statically linked/.test(output)) return [];
    throw new Error(`ldd ${file} failed: ${output.trim() || failed.message}`);
  }
  const libraries: string[] = [];
  for (const line of stdout.split('\n')) {
    const text = line.trim();
    const missing = /^(\S+)\s+=>\s+not found/.exec(text);
    if (missing) throw new Error(`${file} needs ${missing[1]}, which the host does not have (ldd: not found).`);
    // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)`, or the loader itself: `/lib64/ld-linux-x86-64.so.2 (0x…)`.
    // linux-vdso.so.1 has no path: the kernel provides it.
    const path = /=>\s+(\/\S+)/.exec(text)?.[1] ?? /^(\/\S+)\s+\(0x/.exec(text)?.[1];
    if (path !== undefined) libraries.push(path);
  }
  return libraries;
}

/**
 * Copies `binary` to `target` in the root file system `rootfs`, and every library it loads (its PT_INTERP loader
 * included) at the path the loader looks for it. `copied` collects the image paths already written, so libraries
 * shared by several binaries are copied once. Returns the bytes copied.
 */
export async function copyWithLibraries(rootfs: string, binary: string, target: string | undefined, copied: Set<string>): Promise<number> {
  let bytes = 0;
  if (target !== undefined && !copied.has(target)) {
    bytes += copyFile(realpathSync(binary), join(rootfs, target));
    copied.add(target);
  }
  const interpreter = elfInterpreter(binary);
  const libraries = await sharedLibraries(binary);
  for (const path of interpreter === undefined ? libraries : [interpreter, ...libraries]) {
    if (copied.has(path)) continue;
    bytes += copyFile(realpathSync(path), join(rootfs, path));
    copied.add(path);
  }
  return bytes;
}

/**
 * Removes debug information from the ELF files under `dir` (copies in the build context, never the host's own
 * files) with the host's `strip --strip-debug`, which keeps every symbol the loader needs. A host build with debug
 * info (pyenv's libpython is 23 MB, 6 MB stripped) would otherwise triple the image. Returns the bytes saved, or
 * `undefined` when the host has no `strip`.
 */
export async function stripDebugInfo(files: readonly string[]): Promise<number | undefined> {
  const elf = files.filter(isElf);
  const before = elf.reduce((sum, file) => sum + statSync(file).size, 0);
  // A few files per call: one process per file would cost more than the stripping itself.
  for (let i = 0; i < elf.length; i += 32) {
    try {
      await run('strip', ['--strip-debug', ...elf.slice(i, i + 32)]);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      // strip goes on with the other files; one it cannot handle is left as it was (it writes a new file and
      // only then replaces the old one).
    }
  }
  return before - elf.reduce((sum, file) => sum + statSync(file).size, 0);
}
