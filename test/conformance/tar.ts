/**
 * A tiny tar.gz writer for the conformance suites: ustar headers written by hand, compressed with node:zlib gzip
 * (whose header starts `1f 8b 08 00`, the magic the action proxies detect as tar.gz). No npm dependencies.
 */
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  /** Path inside the archive; a trailing `/` makes a directory entry. At most 100 bytes (no ustar prefix split). */
  readonly name: string;
  /** File content (ignored for directories). */
  readonly data?: string | Buffer;
  /** Permission bits; default 0o644 for files, 0o755 for directories. */
  readonly mode?: number;
}

const BLOCK = 512;

function writeString(header: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar header field too long: ${value}`);
  bytes.copy(header, offset);
}

/** An octal number field: zero-padded digits followed by a NUL, filling `length` bytes. */
function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  writeString(header, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

function headerFor(name: string, size: number, mode: number, directory: boolean): Buffer {
  const header = Buffer.alloc(BLOCK, 0);
  writeString(header, 0, 100, name); // name
  writeOctal(header, 100, 8, mode); // mode
  writeOctal(header, 108, 8, 0); // uid
  writeOctal(header, 116, 8, 0); // gid
  writeOctal(header, 124, 12, size); // size
  writeOctal(header, 136, 12, Math.floor(Date.now() / 1000)); // mtime
  header.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  header.write(directory ? '5' : '0', 156, 'latin1'); // typeflag
  writeString(header, 257, 6, 'ustar\0'); // magic
  writeString(header, 263, 2, '00'); // version
  writeString(header, 265, 32, 'root'); // uname
  writeString(header, 297, 32, 'root'); // gname
  let sum = 0;
  for (const byte of header) sum += byte;
  writeString(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/** An uncompressed ustar archive of `entries`, ended by two zero blocks. */
export function tar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const directory = entry.name.endsWith('/');
    const data = directory ? Buffer.alloc(0) : Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data ?? '', 'utf8');
    parts.push(headerFor(entry.name, data.length, entry.mode ?? (directory ? 0o755 : 0o644), directory));
    if (data.length > 0) {
      parts.push(data);
      const padding = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (padding > 0) parts.push(Buffer.alloc(padding, 0));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK, 0));
  return Buffer.concat(parts);
}

/** A gzip-compressed ustar archive (`.tar.gz`) of `entries`. */
export function tarGz(entries: readonly TarEntry[]): Buffer {
  return gzipSync(tar(entries));
}
