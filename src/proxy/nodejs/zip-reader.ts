/**
 * Reads a zip archive held in a Buffer (the layout of PKWARE's APPNOTE.TXT), for zipped actions (archive.ts).
 *
 * The central directory at the end of the archive is the authority: it is read and checked whole, together with every
 * local header it points to, before the first entry is inflated. So a hostile name or a lie about a size anywhere in
 * the archive refuses it before anything is written. Entries are then inflated one at a time, as the caller asks for
 * them, so memory holds one entry's data at a time.
 *
 * What an action archive needs is supported: entries stored (method 0) or deflated (method 8), data descriptors
 * (general purpose flag bit 3, written by streaming tools), UTF-8 names (flag bit 11, or Info-ZIP's Unicode Path extra
 * field) and Unix modes. Everything else is refused with an InvalidZipError:
 * - other compression methods (deflate64, bzip2, LZMA, zstd …) and encrypted entries (no key could be given anyway);
 * - archives split over several disks;
 * - ZIP64: an action archive arrives in one request body of at most 48 MiB (server.ts), far below the 4 GiB and
 *   65,535 entries where ZIP64 begins, so a ZIP64 field here is not needed and only widens what must be trusted;
 * - names that are empty, absolute (`/x`, `C:x`), contain `..` segments, a backslash (a separator on Windows, so
 *   `a\..\..\x` could mean a climb) or NUL;
 * - symbolic links: an action has no need for one, and a link is the classic way to make a later entry write outside
 *   the directory it is unpacked into;
 * - two entries with the same name (`a` and `a/` count as the same): tools that read zips disagree on which one wins
 *   (first or last), so an archive that depends on it is ambiguous, not an action;
 * - a local header that disagrees with its central directory record (name, method or, without a data descriptor,
 *   CRC and sizes), entries whose bytes overlap (the trick of the densest zip bombs) or stick out of the data area;
 * - data that does not inflate to exactly the declared size or whose CRC-32 differs;
 * - archives whose entries together declare more than `maxTotalSize` bytes, checked before any inflating: each entry
 *   must then inflate to exactly its declared size, so the declarations are binding.
 */
import { TextDecoder } from 'node:util';
// zlib.crc32 exists from Node.js 22.2; the package requires 22.13 (engines), as do the images' Node.js lines.
import { crc32, inflateRaw } from 'node:zlib';

/** One entry of the archive, its data inflated and checked. */
export interface ZipEntry {
  /** The path inside the archive, `/`-separated, checked as described above. A trailing `/` marks a directory. */
  readonly name: string;
  readonly directory: boolean;
  /** Unix mode (file type and permission bits) when the archive was made on Unix or macOS, else undefined. */
  readonly mode: number | undefined;
  /** The uncompressed bytes (empty for a directory). A stored entry's data is a view of the archive's Buffer. */
  readonly data: Buffer;
}

export interface ZipReadOptions {
  /** Refuse an archive whose entries declare more uncompressed bytes than this, all together. */
  readonly maxTotalSize: number;
}

/** A zip this reader refuses: malformed, hostile, or using a feature it does not support. */
export class InvalidZipError extends Error {
  override readonly name = 'InvalidZipError';
}

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_SIZE = 20;
const CENTRAL_SIGNATURE = 0x02014b50;
const CENTRAL_SIZE = 46;
const LOCAL_SIGNATURE = 0x04034b50;
const LOCAL_SIZE = 30;

const FLAG_ENCRYPTED = 0x0001;
const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_STRONG_ENCRYPTION = 0x0040;
const FLAG_UTF8 = 0x0800;
/** Central directory encryption: the local headers hold masked values. */
const FLAG_MASKED_HEADERS = 0x2000;

const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;

/** "Version made by" hosts whose external attributes carry a Unix mode in their high 16 bits. */
const HOST_UNIX = 3;
const HOST_DARWIN = 19;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/** Info-ZIP Unicode Path extra field: a UTF-8 name for a header whose name is in the legacy code page. */
const UNICODE_PATH_FIELD = 0x7075;

/** ZIP64 puts these in the 16- and 32-bit fields it extends. */
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

/**
 * Code page 437, bytes 0x80–0xFF: what APPNOTE says a name without flag bit 11 is in. Bytes below 0x80 are read as
 * ASCII (as Python's cp437 codec does) rather than as CP437's graphic characters for control codes: no name
 * should hold those, and NUL is refused either way.
 */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

// fatal: a name flagged UTF-8 that is not is refused rather than mangled; ignoreBOM: the bytes decoded as they are.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What the central directory says about an entry, and where its data lies (from its local header). */
interface Located {
  readonly name: string;
  readonly mode: number | undefined;
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localOffset: number;
  readonly rawName: Buffer;
  readonly flags: number;
  dataStart: number;
}

/**
 * The entries of the zip in `data`, in central directory order. The whole directory is checked on the first
 * `next()`; each entry is inflated and checked when it is reached. Throws InvalidZipError.
 */
export async function* readZip(data: Buffer, options: ZipReadOptions): AsyncGenerator<ZipEntry, void, undefined> {
  const entries = directory(data, options);
  for (const entry of entries) {
    const bytes = await inflated(data, entry);
    yield { name: entry.name, directory: entry.name.endsWith('/'), mode: entry.mode, data: bytes };
  }
}

function refuse(message: string, cause?: unknown): never {
  throw new InvalidZipError(message, cause === undefined ? undefined : { cause });
}

/** Reads and checks the end record, the central directory and every local header. */
function directory(data: Buffer, options: ZipReadOptions): Located[] {
  const end = endRecord(data);
  const entries: Located[] = [];
  const seen = new Set<string>();
  let total = 0;
  let at = end.directoryOffset;
  const directoryEnd = end.directoryOffset + end.directorySize;
  for (let index = 0; index < end.count; index++) {
    if (at + CENTRAL_SIZE > directoryEnd) refuse(`central directory ends inside entry ${index}`);
    if (data.readUInt32LE(at) !== CENTRAL_SIGNATURE) refuse(`no central directory header for entry ${index} at offset ${at}`);
    const nameLength = data.readUInt16LE(at + 28);
    const extraLength = data.readUInt16LE(at + 30);
    const commentLength = data.readUInt16LE(at + 32);
    const next = at + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (next > directoryEnd) refuse(`central directory ends inside entry ${index}`);
    const rawName = data.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLength);
    const extra = data.subarray(at + CENTRAL_SIZE + nameLength, at + CENTRAL_SIZE + nameLength + extraLength);
    const flags = data.readUInt16LE(at + 8);
    const name = entryName(rawName, extra, flags);
    const method = data.readUInt16LE(at + 10);
    const crc = data.readUInt32LE(at + 16);
    const compressedSize = data.readUInt32LE(at + 20);
    const size = data.readUInt32LE(at + 24);
    const diskStart = data.readUInt16LE(at + 34);
    const localOffset = data.readUInt32LE(at + 42);

    if (compressedSize === MAX32 || size === MAX32 || localOffset === MAX32 || diskStart === MAX16) {
      refuse(`ZIP64 entries are not supported: ${name}`);
    }
    if (diskStart !== 0) refuse(`archives split over several disks are not supported: ${name}`);
    if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS)) refuse(`encrypted entries are not supported: ${name}`);
    if (method !== METHOD_STORED && method !== METHOD_DEFLATED) refuse(`compression method ${method} is not supported: ${name}`);
    if (method === METHOD_STORED && compressedSize !== size) refuse(`stored entry whose compressed and uncompressed sizes differ: ${name}`);
    const madeBy = data.readUInt16LE(at + 4) >>> 8;
    const mode = madeBy === HOST_UNIX || madeBy === HOST_DARWIN ? data.readUInt32LE(at + 38) >>> 16 : undefined;
    if (mode !== undefined && (mode & S_IFMT) === S_IFLNK) refuse(`symbolic links are not supported: ${name}`);
    if (name.endsWith('/') && size !== 0) refuse(`directory entry with data: ${name}`);
    const key = withoutTrailingSlashes(name);
    if (seen.has(key)) refuse(`duplicate entry: ${name}`);
    seen.add(key);
    total += size;
    if (total > options.maxTotalSize) refuse(`the entries unpack to more than ${options.maxTotalSize} bytes`);

    entries.push({ name, mode, method, crc, compressedSize, size, localOffset, rawName, flags, dataStart: 0 });
    at = next;
  }
  if (at !== directoryEnd) refuse(`central directory holds more than its ${end.count} entries`);
  for (const entry of entries) entry.dataStart = locate(data, entry, end.directoryOffset);
  // Sorted by position, each entry's bytes must end before the next one's header: no byte serves two entries.
  const byPosition = [...entries].sort((a, b) => a.localOffset - b.localOffset);
  for (let i = 1; i < byPosition.length; i++) {
    const before = byPosition[i - 1] as Located;
    const after = byPosition[i] as Located;
    if (before.dataStart + before.compressedSize > after.localOffset) refuse(`entries overlap: ${before.name} and ${after.name}`);
  }
  return entries;
}

interface EndRecord {
  readonly count: number;
  readonly directorySize: number;
  readonly directoryOffset: number;
}

/** Finds the end of central directory record: the last 22 bytes, unless a comment (at most 65,535 bytes) follows. */
function endRecord(data: Buffer): EndRecord {
  const lowest = Math.max(0, data.length - EOCD_SIZE - MAX_COMMENT);
  let at = -1;
  // A comment may itself hold the signature: a candidate counts only if its comment length reaches the end exactly.
  for (let i = data.length - EOCD_SIZE; i >= lowest; i--) {
    if (data.readUInt32LE(i) === EOCD_SIGNATURE && data.readUInt16LE(i + 20) === data.length - i - EOCD_SIZE) {
      at = i;
      break;
    }
  }
  if (at < 0) refuse('no end of central directory record: truncated, or not a zip');
  const disk = data.readUInt16LE(at + 4);
  const directoryDisk = data.readUInt16LE(at + 6);
  const countHere = data.readUInt16LE(at + 8);
  const count = data.readUInt16LE(at + 10);
  const directorySize = data.readUInt32LE(at + 12);
  const directoryOffset = data.readUInt32LE(at + 16);
  const locator = at >= ZIP64_LOCATOR_SIZE && data.readUInt32LE(at - ZIP64_LOCATOR_SIZE) === ZIP64_LOCATOR_SIGNATURE;
  if (locator || [disk, directoryDisk, countHere, count].includes(MAX16) || directorySize === MAX32 || directoryOffset === MAX32) {
    refuse('ZIP64 archives are not supported');
  }
  if (disk !== 0 || directoryDisk !== 0 || countHere !== count) refuse('archives split over several disks are not supported');
  // Nothing may sit between the central directory and the end record (ZIP64 records would, and are refused).
  if (directoryOffset + directorySize !== at) refuse('the central directory does not end where the end record begins');
  return { count, directorySize, directoryOffset };
}

/** The entry's name, decoded and checked. */
function entryName(raw: Buffer, extra: Buffer, flags: number): string {
  const name = flags & FLAG_UTF8 ? decodeUtf8(raw) : (unicodePath(raw, extra) ?? cp437(raw));
  if (name === '') refuse('entry with an empty name');
  if (name.includes('\0')) refuse(`entry name contains NUL: ${JSON.stringify(name)}`);
  if (name.includes('\\')) refuse(`entry name contains a backslash: ${name}`);
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) refuse(`absolute entry name: ${name}`);
  if (name.split('/').includes('..')) refuse(`entry name climbs out with "..": ${name}`);
  return name;
}

/** A loop, not /\/+$/: that regex backtracks quadratically over a long run of slashes not at the end. */
function withoutTrailingSlashes(name: string): string {
  let end = name.length;
  while (end > 0 && name.charCodeAt(end - 1) === 0x2f) end--;
  return name.slice(0, end);
}

function decodeUtf8(raw: Buffer): string {
  try {
    return utf8.decode(raw);
  } catch (error) {
    return refuse('entry name flagged UTF-8 is not valid UTF-8', error);
  }
}

function cp437(raw: Buffer): string {
  let name = '';
  for (const byte of raw) name += byte < 0x80 ? String.fromCharCode(byte) : (CP437_HIGH[byte - 0x80] ?? '');
  return name;
}

/**
 * The name from an Info-ZIP Unicode Path extra field (0x7075: version 1, CRC-32 of the header's name, the UTF-8
 * name), written by tools that keep a legacy name in the header. Only used while that CRC still matches the header's
 * name: otherwise another tool renamed the entry and the field is stale. A malformed extra area ends the search: the
 * header's own name is then used.
 */
function unicodePath(raw: Buffer, extra: Buffer): string | undefined {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    const body = extra.subarray(at + 4, at + 4 + length);
    if (body.length !== length) return undefined;
    if (id === UNICODE_PATH_FIELD && length >= 5 && body[0] === 1 && body.readUInt32LE(1) === crc32(raw)) return decodeUtf8(body.subarray(5));
    at += 4 + length;
  }
  return undefined;
}

/** Where the entry's data starts, from its local header, after checking that header against the central record. */
function locate(data: Buffer, entry: Located, dataEnd: number): number {
  const at = entry.localOffset;
  if (at + LOCAL_SIZE > dataEnd) refuse(`local header of ${entry.name} lies outside the data area`);
  if (data.readUInt32LE(at) !== LOCAL_SIGNATURE) refuse(`no local header for ${entry.name} at offset ${at}`);
  const flags = data.readUInt16LE(at + 6);
  // The local name and extra lengths may differ from the central ones (tools pad the local extra field).
  const nameLength = data.readUInt16LE(at + 26);
  const extraLength = data.readUInt16LE(at + 28);
  const start = at + LOCAL_SIZE + nameLength + extraLength;
  if (start + entry.compressedSize > dataEnd) refuse(`data of ${entry.name} runs past the data area`);
  // Readers that stream the local headers would see what these say: they must tell the same story.
  if (!data.subarray(at + LOCAL_SIZE, at + LOCAL_SIZE + nameLength).equals(entry.rawName)) refuse(`local header names another entry than ${entry.name}`);
  if (data.readUInt16LE(at + 8) !== entry.method) refuse(`local header of ${entry.name} gives another compression method`);
  if ((flags ^ entry.flags) & FLAG_ENCRYPTED) refuse(`local header of ${entry.name} disagrees on encryption`);
  // With a data descriptor the local CRC and sizes are written as 0 (the writer did not know them yet); the central
  // directory, written after the data, has them.
  if (!(flags & FLAG_DATA_DESCRIPTOR)) {
    const crc = data.readUInt32LE(at + 14);
    const compressedSize = data.readUInt32LE(at + 18);
    const size = data.readUInt32LE(at + 22);
    if (crc !== entry.crc || compressedSize !== entry.compressedSize || size !== entry.size) {
      refuse(`local header of ${entry.name} disagrees with the central directory on CRC or sizes`);
    }
  }
  return start;
}

/** The entry's data, inflated, of exactly its declared size and CRC-32. */
async function inflated(data: Buffer, entry: Located): Promise<Buffer> {
  const packed = data.subarray(entry.dataStart, entry.dataStart + entry.compressedSize);
  let bytes = packed;
  if (entry.method === METHOD_DEFLATED) {
    try {
      // maxOutputLength: a header that lies about the size cannot make zlib allocate past what it declared (at
      // least 1: zlib's minimum; an empty entry that inflates to a byte fails the size check below).
      bytes = await inflateBounded(packed, Math.max(1, entry.size));
    } catch (error) {
      const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      refuse(tooLarge ? `${entry.name} inflates past its declared ${entry.size} bytes` : `${entry.name} does not inflate`, error);
    }
  }
  if (bytes.length !== entry.size) refuse(`${entry.name} holds ${bytes.length} bytes, not its declared ${entry.size}`);
  if (crc32(bytes) !== entry.crc) refuse(`CRC-32 mismatch in ${entry.name}`);
  return bytes;
}

/** zlib's inflate on its thread pool, so a large entry does not stall the proxy's event loop. */
function inflateBounded(packed: Buffer, maxOutputLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    inflateRaw(packed, { maxOutputLength }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}
