/**
 * A tiny ZIP writer for the conformance suites: local headers, central directory and end record written by hand,
 * entries stored (method 0) or deflated with node:zlib (method 8). No npm dependencies. Names are written as given
 * (UTF-8 flagged), so tests can also build hostile archives such as one holding `../escape.py`.
 */
import { deflateRawSync } from 'node:zlib';

export interface ZipEntry {
  /** Path inside the archive; a trailing `/` makes a directory entry. Written verbatim. */
  readonly name: string;
  /** File content (ignored for directories). */
  readonly data?: string | Buffer;
  /** Unix permission bits kept in the external attributes; default 0o644 for files, 0o755 for directories. */
  readonly mode?: number;
}

export interface ZipOptions {
  /** `deflate` (default) or `store`. */
  readonly method?: 'deflate' | 'store';
}

const CRC_TABLE: readonly number[] = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE 802.3), as ZIP stores it. */
export function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** MS-DOS time and date fields for `date` (local time, two-second resolution, 1980 at the earliest). */
function dosDateTime(date: Date): { time: number; date: number } {
  const year = Math.max(1980, date.getFullYear());
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

const UTF8_FLAG = 0x0800;
const MADE_BY_UNIX = (3 << 8) | 20;

/** A ZIP archive of `entries`, built in memory. Accepts a `{path: content}` record for the common case. */
export function zip(entries: readonly ZipEntry[] | Readonly<Record<string, string | Buffer>>, options: ZipOptions = {}): Buffer {
  const list: readonly ZipEntry[] = Array.isArray(entries)
    ? (entries as readonly ZipEntry[])
    : Object.entries(entries as Record<string, string | Buffer>).map(([name, data]) => ({ name, data }));
  const stamp = dosDateTime(new Date());
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of list) {
    const directory = entry.name.endsWith('/');
    const data = directory ? Buffer.alloc(0) : Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data ?? '', 'utf8');
    const deflate = !directory && options.method !== 'store';
    const packed = deflate ? deflateRawSync(data) : data;
    const method = deflate ? 8 : 0;
    const name = Buffer.from(entry.name, 'utf8');
    const crc = crc32(data);
    const mode = entry.mode ?? (directory ? 0o755 : 0o644);
    const unixMode = (directory ? 0o040000 : 0o100000) | mode;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); // local file header signature
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(UTF8_FLAG, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(stamp.time, 10);
    local.writeUInt16LE(stamp.date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28); // extra field length

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); // central directory header signature
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(UTF8_FLAG, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(stamp.time, 12);
    central.writeUInt16LE(stamp.date, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    // extra, comment, disk number, internal attributes: 0
    central.writeUInt32LE(((unixMode << 16) | (directory ? 0x10 : 0)) >>> 0, 38);
    central.writeUInt32LE(offset, 42);

    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); // end of central directory signature
  end.writeUInt16LE(list.length, 8);
  end.writeUInt16LE(list.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}
